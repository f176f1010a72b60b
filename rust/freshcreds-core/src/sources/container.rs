//! Container credentials: ECS task roles and EKS Pod Identity.
//!
//! Endpoint: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on `http://169.254.170.2`) or
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI`. As in the SDKs, a full URI must be HTTPS, or HTTP to a
//! loopback address, the ECS address 169.254.170.2 or the EKS addresses 169.254.170.23 and
//! `[fd00:ec2::23]`; anything else is refused before any request is sent, since the request
//! carries an authorization token. The token is `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read on
//! every fetch: EKS rotates it) or `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
//!
//! This build speaks plain HTTP only; an HTTPS full URI is refused with a message saying so.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;
use zeroize::Zeroizing;

use crate::backoff;
use crate::cache::{CredentialsFuture, ProvideCredentials};
use crate::credentials::Credentials;
use crate::env::Env;
use crate::error::CredentialsError;
use crate::imds::credentials::parse_credentials_document;

const ECS_HOST: &str = "http://169.254.170.2";
const ATTEMPTS: u32 = 3;

#[derive(Debug)]
pub struct ContainerProvider {
    url: Url,
    token: Option<Zeroizing<String>>,
    token_file: Option<String>,
    http: reqwest::Client,
}

impl ContainerProvider {
    /// `None` when neither container variable is set.
    pub fn from_env(env: &Env, timeout: Duration) -> Option<Result<Self, CredentialsError>> {
        let (text, from) = match (env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"), env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
            (Some(relative), _) => (format!("{ECS_HOST}{relative}"), "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
            (None, Some(full)) => (full, "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            (None, None) => return None,
        };
        Some(Self::build(&text, from, env, timeout))
    }

    fn build(text: &str, from: &str, env: &Env, timeout: Duration) -> Result<Self, CredentialsError> {
        let url = Url::parse(text).map_err(|e| {
            CredentialsError::invalid_config(format!("{from}='{text}' is not a URL: {e}"), "Set it to the container credentials endpoint.")
        })?;
        let allowed_http_host = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback() || ip.octets() == [169, 254, 170, 2] || ip.octets() == [169, 254, 170, 23],
            Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.segments() == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23],
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        match url.scheme() {
            "http" if allowed_http_host => {}
            "https" => {
                return Err(CredentialsError::invalid_config(
                    format!("{from}='{text}' is HTTPS, which this freshcreds build cannot call"),
                    "Use the ECS or EKS agent's HTTP endpoint, or pin another source.",
                ))
            }
            _ => {
                return Err(CredentialsError::invalid_config(
                    format!("{from}='{text}' is neither HTTPS nor HTTP to a loopback, ECS or EKS address"),
                    "The SDKs refuse such endpoints because the request carries an authorization token; fix the variable.",
                ))
            }
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| CredentialsError::internal(format!("HTTP client setup failed: {e}")))?;
        Ok(Self {
            url,
            token: env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN").map(Zeroizing::new),
            token_file: env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
            http,
        })
    }

    fn token(&self) -> Result<Option<Zeroizing<String>>, CredentialsError> {
        match &self.token_file {
            // Recoverable: the file is rotated in place, and a moment without it must not throw
            // away credentials that are still good.
            Some(path) => std::fs::read_to_string(path).map(|t| Some(Zeroizing::new(t.trim().to_string()))).map_err(|e| {
                CredentialsError::SourceFailed {
                    source_name: "container",
                    detail: format!(
                        "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE '{path}' ({e}); check that the token file is mounted into the container"
                    ),
                }
            }),
            None => Ok(self.token.clone()),
        }
    }

    fn unusable(&self, problem: String) -> CredentialsError {
        CredentialsError::InvalidResponse { endpoint: self.url.to_string(), problem }
    }

    async fn load(&self) -> Result<Credentials, CredentialsError> {
        let token = self.token()?;
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            let mut request = self.http.get(self.url.clone());
            if let Some(t) = &token {
                request = request.header(reqwest::header::AUTHORIZATION, t.as_str());
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => {
                    let body = Zeroizing::new(response.text().await.map_err(|e| self.unusable(format!("the answer was cut off: {e}")))?);
                    if body.len() > crate::imds::client::MAX_BODY_BYTES {
                        return Err(self.unusable("the answer is larger than 64 KiB".into()));
                    }
                    return parse_credentials_document(&body, false, "container").map_err(|p| self.unusable(p));
                }
                Ok(response) if matches!(response.status().as_u16(), 401 | 403) => {
                    return Err(CredentialsError::invalid_config(
                        format!("the container credentials endpoint {} refused the authorization token (HTTP {})", self.url, response.status().as_u16()),
                        "Check AWS_CONTAINER_AUTHORIZATION_TOKEN / AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.",
                    ))
                }
                Ok(response) if response.status().as_u16() == 429 || response.status().is_server_error() => {
                    last = format!("HTTP {}", response.status().as_u16());
                }
                Ok(response) => return Err(self.unusable(format!("HTTP {}", response.status().as_u16()))),
                Err(e) => last = if e.is_timeout() { "timed out".to_string() } else { "connection refused or unreachable".to_string() },
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(backoff::full_jitter(attempt, Duration::from_millis(100), Duration::from_secs(1))).await;
            }
        }
        Err(CredentialsError::ImdsUnreachable { endpoint: self.url.to_string(), attempts: ATTEMPTS, detail: last, hint: " (container credentials endpoint)" })
    }
}

impl ProvideCredentials for ContainerProvider {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(self.load())
    }

    fn name(&self) -> &'static str {
        "container"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(uri: &str) -> Result<ContainerProvider, CredentialsError> {
        ContainerProvider::from_env(&Env::from_pairs([("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri)]), Duration::from_secs(1)).expect("configured")
    }

    #[test]
    fn full_uris_are_limited_like_the_sdks() {
        assert!(build("http://127.0.0.1:8080/creds").is_ok());
        assert!(build("http://localhost/creds").is_ok());
        assert!(build("http://169.254.170.23/v1/credentials").is_ok());
        let e = build("http://10.0.0.5/creds").expect_err("not loopback");
        assert!(e.to_string().contains("neither HTTPS nor HTTP to a loopback"), "{e}");
        assert!(build("https://example.test/creds").expect_err("no TLS here").to_string().contains("HTTPS"));
        assert!(ContainerProvider::from_env(&Env::empty(), Duration::from_secs(1)).is_none());
    }
}
