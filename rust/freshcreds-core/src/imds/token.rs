//! The IMDSv2 session token: fetched with `PUT /latest/api/token`, kept, and renewed shortly
//! before its TTL runs out (the Java SDKs fetch one per request).
//!
//! A token is renewed when less than `1/RENEW_FRACTION` of its TTL (at most
//! [`MAX_RENEW_MARGIN`]) is left, and at once after a 401 (see [`ImdsClient::get`]). Its expiry is
//! judged on the client's injected clock. Callers that need a token at the same time wait for one
//! renewal instead of each sending a PUT.

use std::time::{Duration, SystemTime};

use http::Method;
use zeroize::Zeroizing;

use super::client::{AttemptError, ImdsClient};
use crate::error::{human_duration, CredentialsError};

pub(crate) const TOKEN_PATH: &str = "/latest/api/token";
pub(super) const TOKEN_TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
pub(super) const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// How messages name the token request.
pub(super) const TOKEN_WHAT: &str = "the IMDSv2 session token";

/// The TTL asked for when none is configured: the longest IMDS grants.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(21_600);
/// The shortest TTL IMDS grants.
pub const MIN_TOKEN_TTL: Duration = Duration::from_secs(1);
/// The longest TTL IMDS grants (6 hours).
pub const MAX_TOKEN_TTL: Duration = Duration::from_secs(21_600);
/// A token is renewed when less than `ttl / RENEW_FRACTION` of it is left...
pub const RENEW_FRACTION: u32 = 10;
/// ...or less than this, whichever is shorter.
pub const MAX_RENEW_MARGIN: Duration = Duration::from_secs(300);

/// Refuses a TTL that IMDS would not grant.
pub(super) fn check_ttl(ttl: Duration) -> Result<Duration, CredentialsError> {
    if (MIN_TOKEN_TTL..=MAX_TOKEN_TTL).contains(&ttl) {
        return Ok(ttl);
    }
    Err(CredentialsError::invalid_config(
        format!("an IMDS token TTL of {} is out of range", human_duration(ttl)),
        format!("IMDS accepts {} to {} seconds.", MIN_TOKEN_TTL.as_secs(), MAX_TOKEN_TTL.as_secs()),
    ))
}

/// When a token fetched at `requested_at` with `ttl` is renewed. A clock near the end of time (a
/// broken compressed clock) renews every time instead of panicking.
fn renew_at(requested_at: SystemTime, ttl: Duration) -> SystemTime {
    let margin = (ttl / RENEW_FRACTION).min(MAX_RENEW_MARGIN);
    requested_at.checked_add(ttl.saturating_sub(margin)).unwrap_or(requested_at)
}

struct CachedToken {
    value: Zeroizing<String>,
    renew_at: SystemTime,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken").field("value", &"** redacted **").field("renew_at", &self.renew_at).finish()
    }
}

/// The token a client holds, and the TTL it asks for.
#[derive(Debug)]
pub(super) struct TokenCache {
    ttl: Duration,
    slot: tokio::sync::Mutex<Option<CachedToken>>,
}

impl TokenCache {
    pub(super) fn new(ttl: Duration) -> Self {
        Self { ttl, slot: tokio::sync::Mutex::new(None) }
    }

    pub(super) fn ttl(&self) -> Duration {
        self.ttl
    }
}

impl ImdsClient {
    /// Forgets the token, so the next request fetches a new one (after a 401).
    pub(super) async fn drop_token(&self) {
        *self.tokens().slot.lock().await = None;
    }

    /// The cached session token, renewed when close to its TTL.
    pub(super) async fn token(&self) -> Result<Zeroizing<String>, CredentialsError> {
        let tokens = self.tokens();
        let mut slot = tokens.slot.lock().await;
        if let Some(cached) = slot.as_ref() {
            if self.clock().now() < cached.renew_at {
                return Ok(cached.value.clone());
            }
        }
        let requested_at = self.clock().now();
        // The token mutex is held across these retries on purpose (callers wait for one renewal
        // instead of each sending PUTs); `with_retries` ends within `max_attempts`.
        let value = self
            .with_retries(|| self.attempt(Method::PUT, TOKEN_PATH, None), is_worth_another_put)
            .await
            .map_err(|(failure, attempts)| self.token_error(failure, attempts))?;
        if value.trim().is_empty() {
            return Err(CredentialsError::InvalidResponse {
                endpoint: self.endpoint().to_string(),
                problem: "the session token answer is empty".into(),
            });
        }
        *slot = Some(CachedToken { value: value.clone(), renew_at: renew_at(requested_at, tokens.ttl) });
        tracing::debug!(ttl = %crate::error::log_duration(tokens.ttl), "fetched a new IMDSv2 session token");
        Ok(value)
    }

    /// The error for a token PUT that failed for good.
    fn token_error(&self, failure: AttemptError, attempts: u32) -> CredentialsError {
        let endpoint = self.endpoint().to_string();
        match failure {
            AttemptError::Transient(detail) => self.unreachable(attempts, detail, true),
            AttemptError::TooLarge => {
                CredentialsError::InvalidResponse { endpoint, problem: "the session token answer is too large".into() }
            }
            AttemptError::Unauthorized => CredentialsError::ImdsHttpStatus {
                endpoint,
                what: TOKEN_WHAT,
                status: 401,
                attempts,
                fix: "Real IMDS never answers 401 to the token PUT, so something else answers at this endpoint (a proxy \
                      or a service that is not IMDS): check the endpoint option or AWS_EC2_METADATA_SERVICE_ENDPOINT.",
            },
            AttemptError::Status(403) => CredentialsError::ImdsHttpStatus {
                endpoint,
                what: TOKEN_WHAT,
                status: 403,
                attempts,
                fix: "IMDS is turned off for this instance (http-endpoint disabled), or the request was forwarded: enable it with `aws ec2 modify-instance-metadata-options --http-endpoint enabled`.",
            },
            AttemptError::Status(status) => self.status_error(TOKEN_WHAT, status, attempts),
            // The PUT needs no token; nothing else gives this.
            AttemptError::NoToken(error) => error,
        }
    }
}

/// Real IMDS never answers 401 to the PUT (it needs no token); whatever does may be restarting,
/// so a 401 is retried like a 5xx, within the same budget.
fn is_worth_another_put(failure: &AttemptError) -> bool {
    match failure {
        AttemptError::Unauthorized | AttemptError::Transient(_) => true,
        AttemptError::Status(status) => super::client::is_retryable(*status),
        AttemptError::TooLarge | AttemptError::NoToken(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_renewed_a_tenth_of_its_ttl_early_but_at_most_five_minutes() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(renew_at(t0, Duration::from_secs(100)), t0 + Duration::from_secs(90));
        assert_eq!(renew_at(t0, DEFAULT_TOKEN_TTL), t0 + DEFAULT_TOKEN_TTL - MAX_RENEW_MARGIN);
        assert!(check_ttl(MIN_TOKEN_TTL).is_ok() && check_ttl(MAX_TOKEN_TTL).is_ok());
        let error = check_ttl(MAX_TOKEN_TTL + Duration::from_secs(1)).expect_err("too long");
        assert!(error.to_string().contains("IMDS accepts 1 to 21600 seconds."), "{error}");
        assert!(check_ttl(Duration::ZERO).is_err());
    }
}
