//! Container credentials: ECS task roles and EKS Pod Identity.
//!
//! Endpoint: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on `http://169.254.170.2`) or
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI`. As in the SDKs, a full URI must be HTTPS, or HTTP to a
//! loopback address, the ECS address 169.254.170.2 or the EKS addresses 169.254.170.23 and
//! `[fd00:ec2::23]`. The chain checks this when it resolves, so a bad URI is skipped with a
//! message naming the variable and the chain moves on, as the SDKs' chains do; the fetching itself
//! (authorization token from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, read on every fetch because
//! EKS rotates it, or `AWS_CONTAINER_AUTHORIZATION_TOKEN`; retries; HTTPS) is aws-config's
//! `EcsCredentialsProvider`, wrapped in freshcreds' cache.

use std::net::IpAddr;
use std::time::Duration;

use url::Url;

use crate::env::Env;
use crate::error::CredentialsError;

use super::aws_config_source::AwsConfigSource;

const ECS_HOST: &str = "http://169.254.170.2";

/// Resolution-time view of the container source.
pub struct ContainerProvider;

impl ContainerProvider {
    /// `None` when neither container variable is set; an error naming the variable when the
    /// endpoint is one the SDKs refuse.
    pub fn from_env(env: &Env, timeout: Duration) -> Option<Result<AwsConfigSource, CredentialsError>> {
        let (text, from) = match (env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"), env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
            (Some(relative), _) => (format!("{ECS_HOST}{relative}"), "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
            (None, Some(full)) => (full, "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            (None, None) => return None,
        };
        Some(validate(&text, from).map(|()| AwsConfigSource::container(env, timeout)))
    }
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

    fn build(uri: &str) -> Result<AwsConfigSource, CredentialsError> {
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
}
