//! IMDSv2 HTTP client with a cached session token.
//!
//! Configuration, option first, then environment, then default:
//! | what | option | environment | default |
//! | --- | --- | --- | --- |
//! | endpoint | `endpoint` | `AWS_EC2_METADATA_SERVICE_ENDPOINT` | `http://169.254.169.254` |
//! | per-attempt timeout | `attempt_timeout` | `AWS_METADATA_SERVICE_TIMEOUT` (seconds) | 1 s |
//! | attempts | `max_attempts` | `AWS_METADATA_SERVICE_NUM_ATTEMPTS` | 3 |
//! | token TTL | `token_ttl` | — | 21600 s |
//! | disabled | `disabled` | `AWS_EC2_METADATA_DISABLED=true` | false |
//!
//! A token is renewed when less than a tenth of its TTL (at most 5 minutes) is left, and at once
//! after a 401. Its expiry is judged on the injected clock.
//!
//! The HTTP client is hyper's (the same hyper that aws-config's HTTPS client runs on, so one HTTP
//! stack is linked). It never uses a proxy (a proxy in front of IMDS answers 404 or caches) and
//! never follows a redirect (real IMDS does not redirect; following one would hand the session
//! token to whatever answers there). Each attempt, connect to last body byte, has one deadline.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use url::Url;
use zeroize::Zeroizing;

use crate::backoff;
use crate::clock::Clock;
use crate::env::Env;
use crate::error::{human_duration, CredentialsError};
use crate::skew::SkewEstimator;

/// The largest body the client reads from IMDS.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
const TOKEN_PATH: &str = "/latest/api/token";
const TOKEN_TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
const RETRY_BASE: Duration = Duration::from_millis(100);
const RETRY_CAP: Duration = Duration::from_secs(2);

type HttpClient = hyper_util::client::legacy::Client<HttpConnector, Empty<Bytes>>;

#[derive(Debug)]
pub struct ImdsClient {
    endpoint: Url,
    http: HttpClient,
    token_ttl: Duration,
    attempt_timeout: Duration,
    max_attempts: u32,
    clock: Arc<dyn Clock>,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    stats: std::sync::Mutex<ImdsStats>,
    skew: Option<Arc<SkewEstimator>>,
}

/// Request counters (no secrets).
#[derive(Debug, Clone, Default)]
pub struct ImdsStats {
    pub token_requests: u64,
    pub metadata_requests: u64,
    pub retries: u64,
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

#[derive(Debug, Default, Clone)]
pub struct ImdsClientBuilder {
    endpoint: Option<String>,
    token_ttl: Option<Duration>,
    attempt_timeout: Option<Duration>,
    max_attempts: Option<u32>,
    disabled: Option<bool>,
    env: Option<Env>,
    skew: Option<Arc<SkewEstimator>>,
}

impl ImdsClientBuilder {
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = Some(ttl);
        self
    }
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = Some(disabled);
        self
    }
    /// Feeds every response's `Date` header to this estimator.
    pub fn skew_estimator(mut self, skew: Arc<SkewEstimator>) -> Self {
        self.skew = Some(skew);
        self
    }
    /// Where unset options fall back to (the process environment by default).
    pub fn env(mut self, env: Env) -> Self {
        self.env = Some(env);
        self
    }

    pub fn build(self, clock: Arc<dyn Clock>) -> Result<ImdsClient, CredentialsError> {
        let env = self.env.unwrap_or_else(Env::process);
        let disabled = match self.disabled {
            Some(d) => d,
            None => env.get("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        };
        if disabled {
            return Err(CredentialsError::ImdsDisabled);
        }
        let (endpoint_text, endpoint_from) = match self.endpoint {
            Some(e) => (e, "the endpoint option"),
            None => match env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") {
                Some(e) => (e, "AWS_EC2_METADATA_SERVICE_ENDPOINT"),
                None => (DEFAULT_ENDPOINT.to_string(), "the default"),
            },
        };
        let endpoint = parse_endpoint(&endpoint_text, endpoint_from)?;

        let attempt_timeout = match self.attempt_timeout {
            Some(t) => t,
            None => match env.get("AWS_METADATA_SERVICE_TIMEOUT") {
                Some(v) => parse_seconds(&v, "AWS_METADATA_SERVICE_TIMEOUT")?,
                None => Duration::from_secs(1),
            },
        };
        if attempt_timeout.is_zero() {
            return Err(CredentialsError::invalid_config(
                "the IMDS attempt timeout is zero",
                "Use a timeout of at least 1 ms (1 s is the SDK default).",
            ));
        }
        let max_attempts = match self.max_attempts {
            Some(a) => a,
            None => match env.get("AWS_METADATA_SERVICE_NUM_ATTEMPTS") {
                Some(v) => v.trim().parse::<u32>().map_err(|_| {
                    CredentialsError::invalid_config(
                        format!("AWS_METADATA_SERVICE_NUM_ATTEMPTS='{v}' is not a whole number"),
                        "Set it to the number of attempts, e.g. 3.",
                    )
                })?,
                None => 3,
            },
        };
        if !(1..=20).contains(&max_attempts) {
            return Err(CredentialsError::invalid_config(
                format!("{max_attempts} IMDS attempts is out of range"),
                "Use between 1 and 20 attempts.",
            ));
        }
        let token_ttl = self.token_ttl.unwrap_or(Duration::from_secs(21_600));
        if token_ttl < Duration::from_secs(1) || token_ttl > Duration::from_secs(21_600) {
            return Err(CredentialsError::invalid_config(
                format!("an IMDS token TTL of {} is out of range", human_duration(token_ttl)),
                "IMDS accepts 1 to 21600 seconds.",
            ));
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(attempt_timeout));
        connector.set_nodelay(true);
        // https endpoints are refused by the connector with a clear error rather than sent in clear.
        connector.enforce_http(true);
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).pool_max_idle_per_host(1).build(connector);
        Ok(ImdsClient {
            endpoint,
            http,
            token_ttl,
            attempt_timeout,
            max_attempts,
            clock,
            token: tokio::sync::Mutex::new(None),
            stats: Default::default(),
            skew: self.skew,
        })
    }
}

fn parse_endpoint(text: &str, from: &str) -> Result<Url, CredentialsError> {
    let url = Url::parse(text.trim()).map_err(|e| {
        CredentialsError::invalid_config(
            format!("the IMDS endpoint '{text}' (from {from}) is not a URL: {e}"),
            "Use a URL such as http://169.254.169.254 or http://[fd00:ec2::254].",
        )
    })?;
    if url.scheme() != "http" || url.host().is_none() {
        return Err(CredentialsError::invalid_config(
            format!("the IMDS endpoint '{text}' (from {from}) is not an http URL with a host"),
            "Use a URL such as http://169.254.169.254 (IMDS is plain HTTP, reachable only from the instance).",
        ));
    }
    Ok(url)
}

fn parse_seconds(text: &str, name: &str) -> Result<Duration, CredentialsError> {
    text.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s > 0.0 && *s <= 3600.0).map(Duration::from_secs_f64).ok_or_else(|| {
        CredentialsError::invalid_config(
            format!("{name}='{text}' is not a number of seconds"),
            format!("Set {name} to seconds, e.g. 1 or 2.5."),
        )
    })
}

enum AttemptError {
    /// Worth another attempt.
    Transient(String),
    /// The token was refused: fetch a new one and try again.
    Unauthorized,
    Status(u16),
    TooLarge,
}

impl ImdsClient {
    pub fn builder() -> ImdsClientBuilder {
        ImdsClientBuilder::default()
    }

    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str().trim_end_matches('/')
    }

    /// The clock the client (and its credentials source) judges time on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn stats(&self) -> ImdsStats {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn count(&self, f: impl FnOnce(&mut ImdsStats)) {
        f(&mut self.stats.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// `GET` a metadata path with a valid session token. Returns the body (at most 64 KiB) on
    /// 200, or an error for other statuses (`what` names the request in messages).
    pub async fn get(&self, path: &str, what: &'static str) -> Result<Zeroizing<String>, CredentialsError> {
        let mut attempt = 0;
        let mut refreshed_token = false;
        loop {
            attempt += 1;
            let token = self.token().await?;
            let result = self.attempt(Method::GET, path, Some(&token)).await;
            match result {
                Ok(body) => return Ok(body),
                Err(AttemptError::Unauthorized) if !refreshed_token => {
                    // The token expired or IMDS restarted: get a new one, once.
                    refreshed_token = true;
                    self.drop_token().await;
                    attempt -= 1;
                }
                Err(AttemptError::Unauthorized) => return Err(self.status_error(what, 401, attempt)),
                Err(AttemptError::Status(status)) if !is_retryable(status) || attempt >= self.max_attempts => {
                    return Err(self.status_error(what, status, attempt));
                }
                Err(AttemptError::Transient(detail)) if attempt >= self.max_attempts => {
                    return Err(self.unreachable(attempt, detail, false));
                }
                Err(AttemptError::TooLarge) => {
                    return Err(CredentialsError::InvalidResponse {
                        endpoint: self.endpoint().to_string(),
                        problem: format!("the {what} answer is larger than {} KiB", MAX_BODY_BYTES / 1024),
                    });
                }
                Err(_) => self.pause_before_retry(attempt).await,
            }
        }
    }

    async fn pause_before_retry(&self, attempt: u32) {
        self.count(|s| s.retries += 1);
        tokio::time::sleep(backoff::full_jitter(attempt, RETRY_BASE, RETRY_CAP)).await;
    }

    async fn drop_token(&self) {
        *self.token.lock().await = None;
    }

    /// The cached session token, renewed when close to its TTL. Callers that need a token at
    /// the same time wait for one renewal instead of each sending a PUT.
    async fn token(&self) -> Result<Zeroizing<String>, CredentialsError> {
        let mut slot = self.token.lock().await;
        if let Some(cached) = slot.as_ref() {
            if self.clock.now() < cached.renew_at {
                return Ok(cached.value.clone());
            }
        }
        let requested_at = self.clock.now();
        let mut attempt = 0;
        let value = loop {
            attempt += 1;
            match self.attempt(Method::PUT, TOKEN_PATH, None).await {
                Ok(value) => break value,
                Err(AttemptError::Status(403)) => {
                    return Err(CredentialsError::ImdsHttpStatus {
                        endpoint: self.endpoint().to_string(),
                        what: "the IMDSv2 session token",
                        status: 403,
                        attempts: attempt,
                        fix: "IMDS is turned off for this instance (http-endpoint disabled), or the request was forwarded: enable it with `aws ec2 modify-instance-metadata-options --http-endpoint enabled`.",
                    })
                }
                Err(AttemptError::Status(status)) if !is_retryable(status) || attempt >= self.max_attempts => {
                    return Err(self.status_error("the IMDSv2 session token", status, attempt));
                }
                Err(AttemptError::Transient(detail)) if attempt >= self.max_attempts => {
                    return Err(self.unreachable(attempt, detail, true));
                }
                Err(AttemptError::TooLarge) => {
                    return Err(CredentialsError::InvalidResponse {
                        endpoint: self.endpoint().to_string(),
                        problem: "the session token answer is too large".into(),
                    })
                }
                Err(_) => self.pause_before_retry(attempt).await,
            }
        };
        if value.trim().is_empty() {
            return Err(CredentialsError::InvalidResponse {
                endpoint: self.endpoint().to_string(),
                problem: "the session token answer is empty".into(),
            });
        }
        let margin = (self.token_ttl / 10).min(Duration::from_secs(300));
        let renew_at = requested_at + self.token_ttl - margin;
        *slot = Some(CachedToken { value: value.clone(), renew_at });
        tracing::debug!(ttl = ?self.token_ttl, "fetched a new IMDSv2 session token");
        Ok(value)
    }

    async fn attempt(&self, method: Method, path: &str, token: Option<&str>) -> Result<Zeroizing<String>, AttemptError> {
        match tokio::time::timeout(self.attempt_timeout, self.attempt_without_deadline(method, path, token)).await {
            Ok(result) => result,
            Err(_) => Err(AttemptError::Transient(format!("timed out after {}", human_duration(self.attempt_timeout)))),
        }
    }

    async fn attempt_without_deadline(&self, method: Method, path: &str, token: Option<&str>) -> Result<Zeroizing<String>, AttemptError> {
        let url = self.endpoint.join(path).map_err(|e| AttemptError::Transient(format!("bad path {path}: {e}")))?;
        let is_token_request = token.is_none();
        let request = http::Request::builder().method(method).uri(url.as_str());
        let request = match token {
            Some(t) => request.header(TOKEN_HEADER, t),
            None => request.header(TOKEN_TTL_HEADER, self.token_ttl.as_secs().to_string()),
        };
        let request = request.body(Empty::<Bytes>::new()).map_err(|e| AttemptError::Transient(format!("bad request for {path}: {e}")))?;
        self.count(|s| if is_token_request { s.token_requests += 1 } else { s.metadata_requests += 1 });
        let sent = self.skew.as_ref().map(|s| s.host_now());
        let response =
            self.http.request(request).await.map_err(|e| AttemptError::Transient(describe_send_error(&e, self.attempt_timeout)))?;
        if let (Some(skew), Some(sent)) = (&self.skew, sent) {
            let date = response.headers().get(http::header::DATE).and_then(|v| v.to_str().ok());
            skew.record_header(date, sent, skew.host_now());
        }
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            return Err(AttemptError::Unauthorized);
        }
        if status != StatusCode::OK {
            return Err(AttemptError::Status(status.as_u16()));
        }
        let declared_length =
            response.headers().get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        if declared_length.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
            return Err(AttemptError::TooLarge);
        }
        let mut incoming = response.into_body();
        let mut body = Zeroizing::new(Vec::with_capacity(1024));
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|e| AttemptError::Transient(format!("the answer was cut off: {}", error_chain(&e))))?;
            if let Some(chunk) = frame.data_ref() {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(AttemptError::TooLarge);
                }
                body.extend_from_slice(chunk);
            }
        }
        let text = std::str::from_utf8(&body).map_err(|_| AttemptError::Transient("the answer is not UTF-8".into()))?;
        Ok(Zeroizing::new(text.to_string()))
    }

    fn status_error(&self, what: &'static str, status: u16, attempts: u32) -> CredentialsError {
        let fix = match status {
            429 => "IMDS is throttling this instance: too many metadata calls. freshcreds caches and backs off; look for other processes polling IMDS.",
            401 => "IMDS refused a fresh session token; check what answers at the endpoint.",
            404 => "The path does not exist on this endpoint; check the endpoint option.",
            s if s >= 500 => "IMDS is having trouble; freshcreds retries with backoff.",
            _ => "Check the endpoint option and what answers there.",
        };
        CredentialsError::ImdsHttpStatus { endpoint: self.endpoint().to_string(), what, status, attempts, fix }
    }

    fn unreachable(&self, attempts: u32, detail: String, token_request: bool) -> CredentialsError {
        let hint = if token_request && detail.contains("timed out") {
            " The IMDSv2 token PUT timing out inside a container usually means the hop limit is 1: \
             run `aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2 --http-endpoint enabled`."
        } else {
            ""
        };
        CredentialsError::ImdsUnreachable { endpoint: self.endpoint().to_string(), attempts, detail, hint }
    }
}

fn is_retryable(status: u16) -> bool {
    status == 429 || status >= 500
}

fn describe_send_error(e: &hyper_util::client::legacy::Error, timeout: Duration) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
            || s.to_string().contains("timed out")
        {
            return format!("timed out after {}", human_duration(timeout));
        }
        source = s.source();
    }
    if e.is_connect() {
        format!("connection refused or unreachable ({})", error_chain(e))
    } else {
        error_chain(e)
    }
}

/// An error and its sources on one line. hyper's messages name the connection and the failure,
/// never headers or bodies, so no token or credential can appear here.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    fn build(env: Env) -> Result<ImdsClient, CredentialsError> {
        ImdsClient::builder().env(env).build(Arc::new(SystemClock))
    }

    #[test]
    fn the_article_s_environment_knobs_are_honoured() {
        let client = build(Env::from_pairs([
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1234/"),
            ("AWS_METADATA_SERVICE_TIMEOUT", "10"),
            ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "5"),
        ]))
        .expect("valid");
        assert_eq!(client.endpoint(), "http://127.0.0.1:1234");
        assert_eq!(client.attempt_timeout, Duration::from_secs(10));
        assert_eq!(client.max_attempts, 5);
    }

    #[test]
    fn options_win_over_the_environment() {
        let client = ImdsClient::builder()
            .env(Env::from_pairs([("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1"), ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "5")]))
            .endpoint("http://127.0.0.1:2")
            .max_attempts(2)
            .build(Arc::new(SystemClock))
            .expect("valid");
        assert_eq!(client.endpoint(), "http://127.0.0.1:2");
        assert_eq!(client.max_attempts, 2);
    }

    #[test]
    fn imds_can_be_disabled_from_the_environment() {
        let error = build(Env::from_pairs([("AWS_EC2_METADATA_DISABLED", "true")])).expect_err("disabled");
        assert!(matches!(error, CredentialsError::ImdsDisabled));
        assert!(!error.is_recoverable());
        assert!(build(Env::from_pairs([("AWS_EC2_METADATA_DISABLED", "false")])).is_ok());
    }

    #[test]
    fn bad_settings_name_the_variable_and_the_fix() {
        for (name, value, expected) in [
            ("AWS_METADATA_SERVICE_TIMEOUT", "soon", "AWS_METADATA_SERVICE_TIMEOUT='soon'"),
            ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "many", "AWS_METADATA_SERVICE_NUM_ATTEMPTS='many'"),
            ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "0", "out of range"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "metadata address", "not a URL"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ftp://127.0.0.1", "not an http URL"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "https://127.0.0.1", "not an http URL"),
        ] {
            let error = build(Env::from_pairs([(name, value)])).expect_err(value);
            assert!(matches!(error, CredentialsError::InvalidConfiguration { .. }), "{error:?}");
            assert!(error.to_string().contains(expected), "{name}={value}: {error}");
        }
    }
}
