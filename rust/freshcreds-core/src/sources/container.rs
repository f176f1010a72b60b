//! Container credentials: ECS task roles and EKS Pod Identity.
//!
//! Endpoint: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on `http://169.254.170.2`) or
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI`. As in the SDKs, a full URI must be HTTPS, or HTTP to a
//! loopback address, the ECS address 169.254.170.2 or the EKS addresses 169.254.170.23 and
//! `[fd00:ec2::23]`. The chain checks this when it resolves, so a bad URI is skipped with a
//! message naming the variable and the chain moves on, as the SDKs' chains do.
//!
//! The authorization token comes from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (EKS Pod
//! Identity; read again on every fetch because EKS rotates it) or else
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN` (ECS). Both are trimmed, as the SDKs do: a token file
//! written with `echo` ends with a newline, which is not allowed in an HTTP header and which
//! aws-config's own container provider rejects. That, and reading the variables from the
//! agent's [`Env`] rather than the process environment the chain did not look at, is why this
//! fetch is freshcreds' own: a GET with the token, up to [`MAX_ATTEMPTS`] attempts of the
//! per-attempt timeout each (timeouts, refused connections, 5xx and 429 are retried with
//! backoff), then the credentials document, parsed by the parser IMDS uses
//! ([`crate::credentials_document`]: no `Code` needed, a `Code` other than `Success` refused, and
//! such a document retried like a 5xx). It uses the same hyper/rustls-on-ring stack as aws-config's
//! clients, so HTTPS full URIs work and no second TLS stack is linked.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use aws_smithy_http_client::tls;
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::display::DisplayErrorContext;
use http_body_util::BodyExt;
use once_cell::sync::Lazy;
use url::Url;
use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::credentials_document;
use crate::env::{self as env_vars, Env};
use crate::error::{human_duration, CredentialsError};
use crate::provider::{CredentialsFuture, ProvideCredentials};

use super::off_the_runtime;

const ECS_HOST: &str = "http://169.254.170.2";

/// Attempts per fetch, as the SDKs' standard retry mode.
pub const MAX_ATTEMPTS: u32 = 3;
// The backoff between attempts is the IMDS client's: full jitter from 100 ms, capped at 2 s.
use crate::imds::client::{RETRY_BASE, RETRY_CAP};
/// A credentials document is about a kilobyte; anything far bigger is not one.
const MAX_BODY: usize = 64 * 1024;
/// EKS Pod Identity tokens are JWTs of a kilobyte or two.
const MAX_TOKEN_FILE: u64 = 64 * 1024;

const TOKEN_FILE_VAR: &str = env_vars::AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
const TOKEN_VAR: &str = env_vars::AWS_CONTAINER_AUTHORIZATION_TOKEN;

/// The HTTP(S) connector every container fetch uses: rustls on ring over hyper, as the aws-config
/// clients (see `aws_config_source`). Without a proxy: container endpoints are local.
static CONNECTOR: Lazy<Connector> =
    Lazy::new(|| Connector::builder().tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring)).build());

/// Where the authorization token comes from.
enum Token {
    None,
    /// Read on every fetch (EKS rotates the file).
    File(PathBuf),
    /// Already trimmed and checked.
    Value(Zeroizing<String>),
}

/// Container credentials (ECS, EKS Pod Identity).
pub struct ContainerProvider {
    url: String,
    token: Token,
    attempt_timeout: Duration,
}

impl std::fmt::Debug for ContainerProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let token = match &self.token {
            Token::None => "none".to_string(),
            Token::File(path) => format!("file {}", path.display()),
            Token::Value(_) => "** redacted **".to_string(),
        };
        f.debug_struct("ContainerProvider")
            .field("url", &self.url)
            .field("token", &token)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish()
    }
}

impl ContainerProvider {
    /// `None` when neither container variable is set; an error naming the variable when the
    /// endpoint is one the SDKs refuse, or the token variable holds something no header can carry.
    /// `attempt_timeout` bounds each HTTP attempt (connect and answer).
    pub fn from_env(env: &Env, attempt_timeout: Duration) -> Option<Result<ContainerProvider, CredentialsError>> {
        let (text, from) =
            match (env.get(env_vars::AWS_CONTAINER_CREDENTIALS_RELATIVE_URI), env.get(env_vars::AWS_CONTAINER_CREDENTIALS_FULL_URI)) {
                (Some(relative), _) => (format!("{ECS_HOST}{}", relative.trim()), env_vars::AWS_CONTAINER_CREDENTIALS_RELATIVE_URI),
                (None, Some(full)) => (full.trim().to_string(), env_vars::AWS_CONTAINER_CREDENTIALS_FULL_URI),
                (None, None) => return None,
            };
        Some(Self::build(env, text, from, attempt_timeout))
    }

    fn build(env: &Env, url: String, from: &str, attempt_timeout: Duration) -> Result<ContainerProvider, CredentialsError> {
        validate(&url, from)?;
        let token = match (env.get(TOKEN_FILE_VAR), env.get(TOKEN_VAR)) {
            (Some(file), _) => Token::File(PathBuf::from(file.trim())),
            (None, Some(value)) => Token::Value(Zeroizing::new(checked_token(&value, TOKEN_VAR)?)),
            (None, None) => Token::None,
        };
        Ok(ContainerProvider { url, token, attempt_timeout: attempt_timeout.max(Duration::from_millis(1)) })
    }

    /// The token for this fetch: the file is read (off the runtime's worker thread) every time.
    async fn token(&self) -> Result<Option<Zeroizing<String>>, CredentialsError> {
        match &self.token {
            Token::None => Ok(None),
            Token::Value(v) => Ok(Some(v.clone())),
            Token::File(path) => {
                let path = path.clone();
                off_the_runtime(
                    move || read_token_file(&path),
                    |e| Err(CredentialsError::internal(format!("the token file read failed: {e}"))),
                )
                .await
                .map(Some)
            }
        }
    }

    async fn load(&self) -> Result<Credentials, CredentialsError> {
        let token = self.token().await?;
        let mut attempt = 1;
        loop {
            let result = match tokio::time::timeout(self.attempt_timeout, self.attempt(token.as_deref().map(String::as_str))).await {
                Ok(result) => result,
                Err(_) => Err(Failure::Transient(format!("no answer within {}", human_duration(self.attempt_timeout)))),
            };
            match result {
                Ok(credentials) => return Ok(credentials),
                Err(Failure::Final(detail)) => return Err(self.failed(detail, attempt)),
                Err(Failure::Transient(detail)) if attempt >= MAX_ATTEMPTS => return Err(self.failed(detail, attempt)),
                Err(Failure::Transient(detail)) => {
                    tracing::debug!(url = %self.url, attempt, problem = %detail, "container credentials attempt failed; retrying");
                }
            }
            tokio::time::sleep(crate::backoff::full_jitter(attempt, RETRY_BASE, RETRY_CAP)).await;
            attempt += 1;
        }
    }

    fn failed(&self, detail: String, attempts: u32) -> CredentialsError {
        CredentialsError::SourceFailed { source_name: "container", detail: format!("{} after {attempts} attempt(s): {detail}", self.url) }
    }

    /// One GET. The error text names the problem, never the token or the body.
    async fn attempt(&self, token: Option<&str>) -> Result<Credentials, Failure> {
        let mut request = http::Request::builder().method("GET").uri(self.url.as_str()).header("accept", "application/json");
        if let Some(token) = token {
            let mut value = http::HeaderValue::from_str(token)
                .map_err(|_| Failure::Final("the authorization token is not a valid header value".into()))?;
            value.set_sensitive(true);
            request = request.header(http::header::AUTHORIZATION, value);
        }
        let request = request
            .body(SdkBody::empty())
            .map_err(|e| Failure::Final(format!("the request could not be built ({e})")))
            .and_then(|r| HttpRequest::try_from(r).map_err(|e| Failure::Final(format!("the request could not be built ({e})"))))?;
        let response =
            CONNECTOR.call(request).await.map_err(|e| Failure::Transient(format!("the request failed ({})", DisplayErrorContext(&e))))?;
        let status = response.status().as_u16();
        let body = http_body_util::Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|_| Failure::Transient("the answer could not be read (or is larger than 64 KiB)".into()))?
            .to_bytes();
        match status {
            200 => {
                let text = std::str::from_utf8(&body).map_err(|_| Failure::Transient("the answer is not UTF-8 text".into()))?;
                credentials_document::parse(text, "container")
                    .map_err(|problem| Failure::Transient(format!("the credentials document is unusable: {problem}")))
            }
            401 | 403 => Err(Failure::Final(format!(
                "the endpoint refused the authorization token (HTTP {status}); check {TOKEN_FILE_VAR} (EKS Pod Identity) or {TOKEN_VAR} (ECS)"
            ))),
            429 | 500..=599 => Err(Failure::Transient(format!("the endpoint answered HTTP {status}"))),
            _ => Err(Failure::Final(format!("the endpoint answered HTTP {status}"))),
        }
    }
}

enum Failure {
    /// Worth another attempt.
    Transient(String),
    Final(String),
}

impl ProvideCredentials for ContainerProvider {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(self.load())
    }

    fn name(&self) -> &'static str {
        "container"
    }
}

/// A token as the SDKs use it: surrounding whitespace (the newline a file ends with) removed; what
/// is left must fit in an HTTP header. Messages never show the token.
fn checked_token(raw: &str, from: &str) -> Result<String, CredentialsError> {
    let token = raw.trim();
    if token.is_empty() {
        return Err(CredentialsError::invalid_config(format!("{from} is empty"), "Set it to the container authorization token."));
    }
    if http::HeaderValue::from_str(token).is_err() {
        return Err(CredentialsError::invalid_config(
            format!("{from} holds characters an HTTP header cannot carry (control characters or a line break inside the token)"),
            "Write the token alone, on one line.",
        ));
    }
    Ok(token.to_string())
}

fn read_token_file(path: &std::path::Path) -> Result<Zeroizing<String>, CredentialsError> {
    use std::io::Read;
    let named = || format!("{TOKEN_FILE_VAR} '{}'", path.display());
    let file = std::fs::File::open(path).map_err(|e| CredentialsError::SourceFailed {
        source_name: "container",
        detail: format!("cannot read {} ({e}); check that the token is mounted into the container", named()),
    })?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_TOKEN_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CredentialsError::SourceFailed { source_name: "container", detail: format!("cannot read {} ({e})", named()) })?;
    if bytes.len() as u64 > MAX_TOKEN_FILE {
        return Err(CredentialsError::invalid_config(
            format!("{} is larger than {} KiB, so it is not a token", named(), MAX_TOKEN_FILE / 1024),
            "Point the variable at the token file.",
        ));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CredentialsError::invalid_config(format!("{} is not UTF-8 text", named()), "Point the variable at the token file."))?;
    checked_token(text, &named()).map(Zeroizing::new)
}

fn validate(text: &str, from: &str) -> Result<(), CredentialsError> {
    let url = Url::parse(text).map_err(|e| {
        CredentialsError::invalid_config(format!("{from}='{text}' is not a URL: {e}"), "Set it to the container credentials endpoint.")
    })?;
    let allowed_http_host = match url.host() {
        Some(url::Host::Ipv4(ip)) => {
            IpAddr::V4(ip).is_loopback() || ip.octets() == [169, 254, 170, 2] || ip.octets() == [169, 254, 170, 23]
        }
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.segments() == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23],
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if allowed_http_host => Ok(()),
        _ => Err(CredentialsError::invalid_config(
            format!("{from}='{text}' is neither HTTPS nor HTTP to a loopback, ECS or EKS address"),
            "The SDKs refuse such endpoints because the request carries an authorization token; fix the variable.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(uri: &str) -> Result<ContainerProvider, CredentialsError> {
        ContainerProvider::from_env(&Env::from_pairs([("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri)]), Duration::from_secs(1))
            .expect("configured")
    }

    #[test]
    fn full_uris_are_limited_like_the_sdks() {
        assert!(build("http://127.0.0.1:8080/creds").is_ok());
        assert!(build("http://localhost/creds").is_ok());
        assert!(build("http://169.254.170.23/v1/credentials").is_ok());
        let e = build("http://10.0.0.5/creds").expect_err("not loopback");
        assert!(e.to_string().contains("neither HTTPS nor HTTP to a loopback"), "{e}");
        assert!(build("https://example.test/creds").is_ok(), "HTTPS anywhere is allowed");
        assert!(ContainerProvider::from_env(&Env::empty(), Duration::from_secs(1)).is_none());
    }

    /// EKS Pod Identity's IPv6 agent address is allowed over plain HTTP, and only that one
    /// address of its prefix. The validation function alone: nothing connects.
    #[test]
    fn the_eks_pod_identity_ipv6_address_is_allowed() {
        let from = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
        assert!(validate("http://[fd00:ec2::23]/v1/credentials", from).is_ok());
        assert!(validate("http://[fd00:ec2:0:0:0:0:0:23]:80/v1/credentials", from).is_ok(), "the long form is the same address");
        assert!(validate("http://[::1]:8080/creds", from).is_ok());
        for refused in ["http://[fd00:ec2::24]/v1/credentials", "http://[fd00:ec3::23]/v1/credentials", "http://[2001:db8::23]/creds"] {
            let e = validate(refused, from).expect_err(refused);
            assert!(e.to_string().contains(from), "{e}");
        }
    }

    #[test]
    fn tokens_are_trimmed_and_never_shown() {
        assert_eq!(checked_token("  sim-token\n", "X").expect("trimmed"), "sim-token");
        assert_eq!(checked_token("sim-token\r\n", "X").expect("trimmed"), "sim-token");
        let e = checked_token("SECRETSECRET\nsecond line", "X").expect_err("a line break inside");
        assert!(!format!("{e} {e:?}").contains("SECRETSECRET"), "{e}");
        let env = Env::from_pairs([
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "SECRETSECRET\n"),
        ]);
        let provider = ContainerProvider::from_env(&env, Duration::from_secs(1)).expect("configured").expect("usable");
        assert!(matches!(&provider.token, Token::Value(v) if v.as_str() == "SECRETSECRET"));
        assert!(!format!("{provider:?}").contains("SECRETSECRET"));
    }
}
