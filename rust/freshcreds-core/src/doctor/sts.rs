//! `--call-sts`: one `GetCallerIdentity` signed with the credentials the chain found, on this
//! host's clock, as the application's SDK would sign it. It tells apart the three answers the
//! article is about: `ExpiredToken` (the credentials are stale), `SignatureDoesNotMatch` with
//! "Signature expired" / "Signature not yet current" (the clock is off by more than 5 minutes) and
//! `SignatureDoesNotMatch` otherwise (the secret does not belong to the key). The answer's `Date`
//! header gives the clock's offset from AWS time.
//!
//! One attempt, no retry: the SDKs' retry after a skewed signature would hide the skew. AWS's
//! message is shown only up to its first line and with the credentials cut out, since a
//! `SignatureDoesNotMatch` message can quote the canonical request.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_sts::config::{BehaviorVersion, Region, SharedCredentialsProvider};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

use super::Check;
use crate::clock::Clock;
use crate::env::{self as env_vars, Env};
use crate::provider::ProvideCredentials;

/// The deadline of the one call.
pub const DEFAULT_STS_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest part of AWS's error message shown.
const MAX_MESSAGE_CHARS: usize = 200;

/// The host clock as the SDK's time source: the signature carries this host's idea of now.
#[derive(Debug)]
struct HostTime(Arc<dyn Clock>);

impl aws_smithy_async::time::TimeSource for HostTime {
    fn now(&self) -> SystemTime {
        self.0.now()
    }
}

/// Keeps the answer's `Date` header.
#[derive(Debug, Default, Clone)]
struct DateHeader(Arc<Mutex<Option<String>>>);

impl Intercept for DateHeader {
    fn name(&self) -> &'static str {
        "freshcreds-doctor-date"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(date) = context.response().headers().get("date") {
            *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(date.to_string());
        }
        Ok(())
    }
}

/// Makes the call; returns the check and the offset (AWS time minus this host's clock, ms) that
/// the answer's `Date` implies.
pub async fn call(
    provider: &dyn ProvideCredentials,
    env: &Env,
    endpoint: Option<&str>,
    host_clock: Arc<dyn Clock>,
) -> (Check, Option<i64>) {
    let credentials = match provider.provide_credentials().await {
        Ok(c) => c,
        Err(e) => {
            return (Check::fail("sts.call", format!("no credentials to sign with: {e}"), "Fix the chain first (chain.source)."), None)
        }
    };
    let region = env.get(env_vars::AWS_REGION).or_else(|| env.get(env_vars::AWS_DEFAULT_REGION)).unwrap_or_else(|| "us-east-1".to_string());
    let endpoint = endpoint.map(str::to_string).or_else(|| env.get(env_vars::AWS_ENDPOINT_URL_STS));
    let secrets: Vec<String> = [Some(credentials.secret_access_key().to_string()), credentials.session_token().map(str::to_string)]
        .into_iter()
        .flatten()
        .collect();
    let aws_credentials = aws_sdk_sts::config::Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        credentials.session_token().map(str::to_string),
        credentials.expiration(),
        "freshcreds-doctor",
    );
    let date = DateHeader::default();
    let mut config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.clone()))
        .credentials_provider(SharedCredentialsProvider::new(aws_credentials))
        .http_client(crate::sources::aws_config_source::HTTPS_CLIENT.clone())
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .timeout_config(TimeoutConfig::builder().operation_timeout(DEFAULT_STS_TIMEOUT).build())
        .time_source(HostTime(host_clock.clone()))
        .interceptor(date.clone());
    if let Some(url) = &endpoint {
        config = config.endpoint_url(url);
    }
    let client = aws_sdk_sts::Client::from_conf(config.build());
    let sent = host_clock.now();
    let result = client.get_caller_identity().send().await;
    let received = host_clock.now();
    // Measured as the agent measures IMDS's Date headers (round trip, the header's truncation).
    let offset = date
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_deref()
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .and_then(|server| crate::skew::measure(server, sent, received))
        .map(|sample| sample.offset_ms)
        .filter(|&offset_ms| offset_ms != i64::MAX);
    let at = endpoint.clone().unwrap_or_else(|| format!("STS in {region}"));
    let check = match result {
        Ok(identity) => Check::pass(
            "sts.call",
            format!(
                "GetCallerIdentity at {at} succeeded as {} (signed with '{}' credentials)",
                identity.arn().unwrap_or("?"),
                credentials.source()
            ),
        )
        .detail("arn", identity.arn().map(str::to_string)),
        Err(SdkError::ServiceError(e)) => {
            let code = e.err().code().unwrap_or("Unknown").to_string();
            let message = shown_message(e.err().message().unwrap_or_default(), &secrets);
            classify(&code, &message, &at, offset).detail("code", code).detail("message", message)
        }
        Err(other) => Check::fail(
            "sts.call",
            format!("GetCallerIdentity at {at} got no answer: {}", shown_message(&DisplayErrorContext(&other).to_string(), &secrets)),
            "Check the network path to STS (security groups, proxy, VPC endpoint) or pass --sts-endpoint.",
        ),
    };
    (check.detail("endpoint", at).detail("offset_ms", offset), offset)
}

/// The check for an STS error code.
fn classify(code: &str, message: &str, at: &str, offset_ms: Option<i64>) -> Check {
    let skew = offset_ms
        .map(|o| {
            format!(" (AWS's Date implies this host's clock is {} s {})", o.unsigned_abs() / 1000, if o > 0 { "behind" } else { "ahead" })
        })
        .unwrap_or_default();
    match code {
        "ExpiredToken" => Check::fail(
            "sts.call",
            format!("STS at {at} answered ExpiredToken: the credentials are expired{skew}"),
            "The credentials were not refreshed: if they come from the instance role, see the imds and clock checks; if from keys in the environment, a system property or a file, remove those (chain.temporary_keys).",
        ),
        "SignatureDoesNotMatch" if message.starts_with("Signature expired") || message.starts_with("Signature not yet current") => Check::fail(
            "sts.call",
            format!("STS at {at} refused the request's time: {message}{skew}"),
            "This host's clock is more than 5 minutes off: synchronise it (clock checks below) with Amazon Time Sync, 169.254.169.123.",
        ),
        "SignatureDoesNotMatch" => Check::fail(
            "sts.call",
            format!("STS at {at} answered SignatureDoesNotMatch: the secret key does not belong to the access key id{skew}"),
            "Replace the keys of the winning source, or remove them so the instance role is used.",
        ),
        _ => Check::fail("sts.call", format!("STS at {at} answered {code}: {message}{skew}"), "Follow AWS's message; the IAM policy may deny sts:GetCallerIdentity."),
    }
}

/// AWS's message up to its first line and [`MAX_MESSAGE_CHARS`], with any secret cut out.
fn shown_message(message: &str, secrets: &[String]) -> String {
    let mut shown: String = message.lines().next().unwrap_or_default().chars().take(MAX_MESSAGE_CHARS).collect();
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        shown = shown.replace(secret.as_str(), "** redacted **");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_keep_their_first_line_and_lose_every_secret() {
        let secrets = vec!["wJalrXUtnFEMI/K7MDENG".to_string()];
        let shown = shown_message("The request signature we calculated does not match wJalrXUtnFEMI/K7MDENG\nCanonical: x", &secrets);
        assert_eq!(shown, "The request signature we calculated does not match ** redacted **");
    }

    #[test]
    fn skewed_signatures_are_told_apart_from_wrong_secrets_and_expired_tokens() {
        let expired = classify("SignatureDoesNotMatch", "Signature expired: 20260101T000000Z is now earlier than ...", "x", Some(-600_000));
        assert!(expired.finding.contains("refused the request's time") && expired.finding.contains("600 s ahead"), "{}", expired.finding);
        assert!(classify("SignatureDoesNotMatch", "The request signature ...", "x", None).finding.contains("does not belong"));
        assert!(classify("ExpiredToken", "The security token included in the request is expired", "x", None).finding.contains("expired"));
    }
}
