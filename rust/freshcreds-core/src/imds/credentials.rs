//! Instance-role credentials from IMDS.
//!
//! One refresh is two metadata calls on a warm client (role name once, then credentials) and,
//! once per token TTL, a token PUT. The role name is remembered after discovery and discovered
//! again only if IMDS stops knowing it (a new instance profile).
//!
//! During an AWS-side outage IMDS can hand out credentials whose `Expiration` has already passed.
//! As the AWS SDKs do, they are then used for a little longer (5 to 10 minutes from now, with a
//! warning in the log) rather than refused, since AWS may still accept them and nothing better is
//! to be had; the cache keeps asking IMDS for new ones meanwhile.
//!
//! The credentials document is parsed by [`crate::credentials_document`], under the same rules as
//! the container source's; a document it refuses is a typed [`CredentialsError::InvalidResponse`]
//! that says which part was wrong, never what the body held.
//!
//! [`InstanceRoleProbe`] is the chain's one quick look, when another source won, for an instance
//! role that the winner hides (see [`crate::sources::chain`]).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::client::{ImdsClient, ImdsClientBuilder};
use crate::clock::Clock;
use crate::credentials::Credentials;
use crate::credentials_document;
use crate::error::CredentialsError;
use crate::provider::{CredentialsFuture, ProvideCredentials};

pub(crate) const ROLE_LIST_PATH: &str = "/latest/meta-data/iam/security-credentials/";

#[derive(Debug)]
pub struct ImdsCredentialsProvider {
    client: Arc<ImdsClient>,
    configured_role: Option<String>,
    discovered_role: Mutex<Option<String>>,
}

#[derive(Debug, Default)]
pub struct ImdsCredentialsProviderBuilder {
    role_name: Option<String>,
}

impl ImdsCredentialsProviderBuilder {
    /// Use this role instead of discovering the attached one.
    pub fn role_name(mut self, role: impl Into<String>) -> Self {
        self.role_name = Some(role.into());
        self
    }

    pub fn build(self, client: Arc<ImdsClient>) -> Result<ImdsCredentialsProvider, CredentialsError> {
        if let Some(role) = &self.role_name {
            if role.is_empty() || role.contains('/') || role.chars().any(char::is_whitespace) {
                return Err(CredentialsError::invalid_config(
                    format!("'{role}' is not an IAM role name"),
                    "Use the role's name (not its ARN), or leave the option unset to discover it.",
                ));
            }
        }
        Ok(ImdsCredentialsProvider { client, configured_role: self.role_name, discovered_role: Mutex::new(None) })
    }
}

impl ImdsCredentialsProvider {
    pub fn builder() -> ImdsCredentialsProviderBuilder {
        ImdsCredentialsProviderBuilder::default()
    }

    pub fn client(&self) -> &Arc<ImdsClient> {
        &self.client
    }

    async fn role(&self) -> Result<String, CredentialsError> {
        if let Some(role) = &self.configured_role {
            return Ok(role.clone());
        }
        if let Some(role) = self.discovered_role.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(role);
        }
        let listing = match self.client.get(ROLE_LIST_PATH, "the IAM role list").await {
            Err(CredentialsError::ImdsHttpStatus { status: 404, .. }) => {
                return Err(CredentialsError::NoRoleAttached { endpoint: self.client.endpoint().to_string() })
            }
            other => other?,
        };
        let role = listing
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
            .ok_or_else(|| CredentialsError::NoRoleAttached { endpoint: self.client.endpoint().to_string() })?;
        *self.discovered_role.lock().unwrap_or_else(|p| p.into_inner()) = Some(role.clone());
        Ok(role)
    }

    async fn load(&self) -> Result<Credentials, CredentialsError> {
        let role = self.role().await?;
        let path = format!("{ROLE_LIST_PATH}{role}");
        let body = match self.client.get(&path, "the role's credentials").await {
            Err(CredentialsError::ImdsHttpStatus { status: 404, .. }) => {
                // The role may have been swapped: discover it again next time.
                self.discovered_role.lock().unwrap_or_else(|p| p.into_inner()).take();
                return Err(CredentialsError::RoleNotFound { endpoint: self.client.endpoint().to_string(), role });
            }
            other => other?,
        };
        let credentials = parse_credentials(&body)
            .map_err(|problem| CredentialsError::InvalidResponse { endpoint: self.client.endpoint().to_string(), problem })?;
        Ok(extend_if_expired(credentials, self.client.clock().now()))
    }
}

impl ProvideCredentials for ImdsCredentialsProvider {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(self.load())
    }

    fn name(&self) -> &'static str {
        "imds"
    }
}

/// Parses the IMDS credentials document ([`credentials_document::parse`] for the `imds` source).
/// The error says what was wrong, never what was there.
pub fn parse_credentials(body: &str) -> Result<Credentials, String> {
    credentials_document::parse(body, "imds")
}

/// Credentials IMDS served already expired get 5–10 more minutes (see the module docs).
fn extend_if_expired(credentials: Credentials, now: SystemTime) -> Credentials {
    match credentials.expiration() {
        Some(expiry) if expiry <= now => {
            let extension = crate::backoff::uniform(Duration::from_secs(300), Duration::from_secs(600));
            tracing::warn!(
                access_key_id = %credentials.key_id_for_logs(),
                extended_by = %crate::error::log_duration(extension),
                "IMDS served credentials that have already expired (this happens during AWS-side outages); \
                 using them a little longer and retrying for new ones"
            );
            Credentials::new(
                credentials.access_key_id(),
                credentials.secret_access_key(),
                credentials.session_token().map(str::to_string),
                Some(now + extension),
                credentials.source(),
            )
        }
        _ => credentials,
    }
}

/// One quick look for an instance role, for the chain's shadowing report: a client that makes one
/// attempt per request, of at most a second, so that on a machine without IMDS the look ends soon
/// (and it runs in the background anyway).
#[derive(Debug)]
pub struct InstanceRoleProbe {
    client: ImdsClient,
}

impl InstanceRoleProbe {
    /// A probe over the client `imds` describes, cut to one attempt of at most `attempt_timeout`
    /// (and at most a second).
    pub fn new(imds: ImdsClientBuilder, attempt_timeout: Duration, clock: Arc<dyn Clock>) -> Result<Self, CredentialsError> {
        let client = imds.max_attempts(1).attempt_timeout(attempt_timeout.min(Duration::from_secs(1))).build(clock)?;
        Ok(Self { client })
    }

    /// The attached role's name (the first line of the role list), or `None` when IMDS does not
    /// answer or lists no role.
    pub async fn attached_role(&self) -> Option<String> {
        let listing = self.client.get(ROLE_LIST_PATH, "the IAM role list").await.ok()?;
        let role = listing.lines().next().unwrap_or_default().trim().to_string();
        (!role.is_empty()).then_some(role)
    }
}
