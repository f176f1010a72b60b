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
//! The credentials document must be JSON with `Code` = `Success` and non-empty `AccessKeyId`,
//! `SecretAccessKey`, `Token` and an RFC 3339 `Expiration`; anything else is a typed
//! [`CredentialsError::InvalidResponse`] that says which part was wrong, never what the body held.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::client::ImdsClient;
use crate::cache::{CredentialsFuture, ProvideCredentials};
use crate::credentials::Credentials;
use crate::error::CredentialsError;

const ROLE_LIST_PATH: &str = "/latest/meta-data/iam/security-credentials/";

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

/// Parses the IMDS credentials document. The error says what was wrong, never what was there.
pub fn parse_credentials(body: &str) -> Result<Credentials, String> {
    parse_credentials_document(body, true, "imds")
}

/// Parses an IMDS- or container-style credentials document (`Code` is only checked when
/// `require_code`; container endpoints do not send it).
pub fn parse_credentials_document(body: &str, require_code: bool, source: &'static str) -> Result<Credentials, String> {
    let doc: Value = serde_json::from_str(body).map_err(|e| {
        // serde_json's syntax errors name a line and column, never content.
        format!("the body is not JSON ({} at line {} column {})", classify(&e), e.line(), e.column())
    })?;
    let obj = doc.as_object().ok_or("the body is JSON but not an object")?;
    let text = |field: &str| -> Result<&str, String> {
        match obj.get(field) {
            None | Some(Value::Null) => Err(format!("the field {field} is missing")),
            Some(Value::String(s)) if s.is_empty() => Err(format!("the field {field} is empty")),
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(_) => Err(format!("the field {field} is not a string")),
        }
    };
    let code = if require_code { text("Code")? } else { "Success" };
    if code != "Success" {
        // The code is a status word such as "Failure", not a secret; cap it anyway.
        let shown: String = code.chars().take(40).collect();
        return Err(format!("Code is '{shown}', not 'Success'"));
    }
    let access_key_id = text("AccessKeyId")?;
    let secret = text("SecretAccessKey")?;
    let token = text("Token")?;
    let expiration_text = text("Expiration")?;
    let expiration = parse_rfc3339(expiration_text).ok_or_else(|| {
        let shown: String = expiration_text.chars().take(40).collect();
        format!("Expiration '{shown}' is not an RFC 3339 time")
    })?;
    Ok(Credentials::new(access_key_id, secret, Some(token.to_string()), Some(expiration), source))
}

/// Credentials IMDS served already expired get 5–10 more minutes (see the module docs).
fn extend_if_expired(credentials: Credentials, now: SystemTime) -> Credentials {
    match credentials.expiration() {
        Some(expiry) if expiry <= now => {
            let extension = crate::backoff::uniform(Duration::from_secs(300), Duration::from_secs(600));
            tracing::warn!(
                access_key_id = %credentials.key_id_for_logs(),
                extended_by = ?extension,
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

fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "it ends early",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "read error",
    }
}

pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok().map(SystemTime::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"Code":"Success","LastUpdated":"2026-11-30T01:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIAEXAMPLE000000001","SecretAccessKey":"SECRET-SHOULD-NOT-LEAK","Token":"TOKEN-SHOULD-NOT-LEAK","Expiration":"2026-11-30T07:00:00Z"}"#;

    #[test]
    fn parses_the_ec2_document() {
        let c = parse_credentials(GOOD).expect("valid");
        assert_eq!(c.access_key_id(), "ASIAEXAMPLE000000001");
        assert_eq!(c.secret_access_key(), "SECRET-SHOULD-NOT-LEAK");
        assert_eq!(c.session_token(), Some("TOKEN-SHOULD-NOT-LEAK"));
        assert_eq!(c.expiration(), parse_rfc3339("2026-11-30T07:00:00Z"));
    }

    #[test]
    fn each_bad_body_gives_a_typed_error_that_names_the_problem_and_no_secret() {
        let cases: &[(&str, &str)] = &[
            ("not json at all SECRET-SHOULD-NOT-LEAK", "not JSON"),
            (r#"{"Code":"Success","AccessKeyId":"A"#, "not JSON"),
            ("[1,2]", "not an object"),
            (&GOOD.replace("\"Success\"", "\"Failure\""), "Code is 'Failure'"),
            (&GOOD.replace("\"AccessKeyId\"", "\"Other\""), "AccessKeyId is missing"),
            (&GOOD.replace("\"SecretAccessKey\":\"SECRET-SHOULD-NOT-LEAK\"", "\"SecretAccessKey\":\"\""), "SecretAccessKey is empty"),
            (&GOOD.replace("\"Token\":\"TOKEN-SHOULD-NOT-LEAK\"", "\"Token\":42"), "Token is not a string"),
            (&GOOD.replace("2026-11-30T07:00:00Z", "tomorrow"), "Expiration 'tomorrow' is not an RFC 3339 time"),
        ];
        for (body, expected) in cases {
            let err = parse_credentials(body).expect_err(body);
            assert!(err.contains(expected), "{body} -> {err}");
            assert!(!err.contains("SHOULD-NOT-LEAK"), "{err}");
        }
    }
}
