//! IMDSv2 HTTP client; the session token it sends is kept and renewed by [`super::token`].
//!
//! Configuration: the builder's setting first, then its fallbacks as the SDKs order them (Java
//! system property, environment variable, profile key: [`Lookup`]), then the `DEFAULT_*` constants
//! here; the options table in [`crate::config`] (and the table generated from it in
//! `DEVELOPERS.md`) lists them with their ranges.
//!
//! IMDSv2 only: a failed token PUT is an error, never a fallback to unauthenticated IMDSv1 GETs. So
//! the SDKs' `AWS_EC2_METADATA_V1_DISABLED` / `aws.disableEc2MetadataV1` / `ec2_metadata_v1_disabled`
//! is always in effect here and is not read.
//!
//! Every request, the token PUT included, goes through one retry loop (`with_retries`): up to
//! `max_attempts` attempts, with full-jitter backoff between them.
//!
//! The HTTP client is hyper's (the same hyper that aws-config's HTTPS client runs on, so one HTTP
//! stack is linked). It never uses a proxy (a proxy in front of IMDS answers 404 or caches) and
//! never follows a redirect (real IMDS does not redirect; following one would hand the session
//! token to whatever answers there). Each attempt, connect to last body byte, has one deadline.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use url::Url;
use zeroize::{Zeroize, Zeroizing};

use super::token::{self, TokenCache, DEFAULT_TOKEN_TTL, TOKEN_HEADER, TOKEN_TTL_HEADER};
use crate::backoff;
use crate::clock::Clock;
use crate::config::{fallback, keys, spoken_duration};
use crate::env::Env;
use crate::error::{human_duration, CredentialsError};
use crate::settings::{Lookup, Origin};
use crate::skew::SkewEstimator;

/// The largest body the client reads from IMDS.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The EC2 instance metadata address (IPv4).
pub const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
/// The EC2 instance metadata address in IPv6 mode (Nitro instances).
pub const DEFAULT_ENDPOINT_IPV6: &str = "http://[fd00:ec2::254]";
/// The per-attempt timeout when none is configured (the SDKs' default).
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// Attempts per request when none is configured (the SDKs' default).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
pub const MIN_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1);
/// Longer than any IMDS answer takes; bounded so a typo cannot hang a refresh for days.
pub const MAX_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3600);
pub const MAX_ATTEMPTS: u32 = 20;
/// Full-jitter backoff between attempts: the ceiling starts here and doubles per retry...
pub const RETRY_BASE: Duration = Duration::from_millis(100);
/// ...up to this.
pub const RETRY_CAP: Duration = Duration::from_secs(2);
/// The most characters of a setting's value an error message repeats.
const MAX_SHOWN_CHARS: usize = 40;

/// Which default endpoint IMDS is reached on when none is set (`endpointMode`,
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointMode {
    Ipv4,
    Ipv6,
}

impl EndpointMode {
    /// The names the setting takes (any case), as the SDKs spell them.
    pub const NAMES: [&'static str; 2] = ["IPv4", "IPv6"];

    /// `IPv4` or `IPv6`, any case.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.eq_ignore_ascii_case(Self::NAMES[0]) {
            Some(Self::Ipv4)
        } else if text.eq_ignore_ascii_case(Self::NAMES[1]) {
            Some(Self::Ipv6)
        } else {
            None
        }
    }

    pub fn default_endpoint(self) -> &'static str {
        match self {
            Self::Ipv4 => DEFAULT_ENDPOINT,
            Self::Ipv6 => DEFAULT_ENDPOINT_IPV6,
        }
    }
}

/// Whether the fallbacks turn IMDS off: the first of `aws.disableEc2Metadata`,
/// `com.amazonaws.sdk.disableEc2Metadata` and `AWS_EC2_METADATA_DISABLED` that is set, `true` (any
/// case) meaning off.
pub fn disabled_by(lookup: &Lookup) -> bool {
    lookup.get(&fallback::IMDS_DISABLED).is_some_and(|found| found.value.trim().eq_ignore_ascii_case("true"))
}

/// The longest one request can take with these settings: every attempt timing out, and the
/// longest backoff before each retry. (The default load timeout is raised to this.)
pub fn request_budget(attempt_timeout: Duration, max_attempts: u32) -> Duration {
    let attempts = max_attempts.max(1);
    let backoff: Duration = (1..attempts).map(|retry| backoff::full_jitter_ceiling(retry, RETRY_BASE, RETRY_CAP)).sum();
    attempt_timeout.saturating_mul(attempts).saturating_add(backoff)
}

type HttpClient = hyper_util::client::legacy::Client<HttpConnector, Empty<Bytes>>;

#[derive(Debug)]
pub struct ImdsClient {
    endpoint: Url,
    http: HttpClient,
    attempt_timeout: Duration,
    max_attempts: u32,
    clock: Arc<dyn Clock>,
    tokens: TokenCache,
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

#[derive(Debug, Default, Clone)]
pub struct ImdsClientBuilder {
    endpoint: Option<String>,
    endpoint_mode: Option<EndpointMode>,
    token_ttl: Option<Duration>,
    attempt_timeout: Option<Duration>,
    max_attempts: Option<u32>,
    disabled: Option<bool>,
    lookup: Option<Lookup>,
    skew: Option<Arc<SkewEstimator>>,
}

impl ImdsClientBuilder {
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }
    /// The default endpoint's family, used only when no endpoint is set anywhere.
    pub fn endpoint_mode(mut self, mode: EndpointMode) -> Self {
        self.endpoint_mode = Some(mode);
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
    /// Where unset options fall back to: these variables only (no system properties, no profile).
    pub fn env(mut self, env: Env) -> Self {
        self.lookup = Some(Lookup::env_only(env));
        self
    }
    /// Where unset options fall back to: system properties, variables and the selected profile
    /// (the process environment alone by default).
    pub fn lookup(mut self, lookup: Lookup) -> Self {
        self.lookup = Some(lookup);
        self
    }

    fn fallbacks(&self) -> Lookup {
        self.lookup.clone().unwrap_or_else(|| Lookup::env_only(Env::process()))
    }

    /// Whether IMDS is off: the option, else the first fallback set ([`disabled_by`]).
    pub fn is_disabled(&self) -> bool {
        self.disabled.unwrap_or_else(|| disabled_by(&self.fallbacks()))
    }

    /// The endpoint: the option, else its fallbacks; when none is set anywhere, the default of the
    /// endpoint mode (the option, else its fallbacks, else IPv4). An endpoint set anywhere wins over
    /// a mode set anywhere, as in the SDKs. Checked: an http URL with a host.
    pub fn resolved_endpoint(&self) -> Result<Url, CredentialsError> {
        let lookup = self.fallbacks();
        let (text, from) = match &self.endpoint {
            Some(e) => (e.clone(), Origin::Option(keys::ENDPOINT)),
            None => match lookup.get(&fallback::ENDPOINT) {
                Some(found) => (found.value, found.from),
                None => {
                    let mode = match self.endpoint_mode {
                        Some(mode) => mode,
                        None => match lookup.get(&fallback::ENDPOINT_MODE) {
                            Some(found) => EndpointMode::parse(&found.value).ok_or_else(|| {
                                CredentialsError::invalid_config(
                                    format!("{} is not an IMDS endpoint mode", found.from.assignment(&shown(&found.value))),
                                    format!("Set {} to IPv4 or IPv6, or unset it.", found.from),
                                )
                            })?,
                            None => EndpointMode::Ipv4,
                        },
                    };
                    (mode.default_endpoint().to_string(), Origin::Default)
                }
            },
        };
        parse_endpoint(&text, &from)
    }

    /// The timeout of one attempt: the option, else its fallbacks (seconds), else the default.
    pub fn resolved_attempt_timeout(&self) -> Result<Duration, CredentialsError> {
        match self.attempt_timeout {
            Some(t) if (MIN_ATTEMPT_TIMEOUT..=MAX_ATTEMPT_TIMEOUT).contains(&t) => Ok(t),
            Some(t) => Err(CredentialsError::invalid_config(
                format!("an IMDS attempt timeout of {} (the {} option) is out of range", human_duration(t), keys::ATTEMPT_TIMEOUT_MILLIS),
                format!(
                    "Use {} to {} ({} is the SDK default).",
                    spoken_duration(MIN_ATTEMPT_TIMEOUT),
                    spoken_duration(MAX_ATTEMPT_TIMEOUT),
                    spoken_duration(DEFAULT_ATTEMPT_TIMEOUT)
                ),
            )),
            None => match self.fallbacks().get(&fallback::ATTEMPT_TIMEOUT) {
                Some(found) => parse_seconds(&found.value, &found.from),
                None => Ok(DEFAULT_ATTEMPT_TIMEOUT),
            },
        }
    }

    /// Attempts per request: the option, else its fallbacks, else the default.
    pub fn resolved_max_attempts(&self) -> Result<u32, CredentialsError> {
        match self.max_attempts {
            Some(a) if (1..=MAX_ATTEMPTS).contains(&a) => Ok(a),
            Some(a) => Err(CredentialsError::invalid_config(
                format!("{a} IMDS attempts (the {} option) is out of range", keys::MAX_ATTEMPTS),
                format!("Use between 1 and {MAX_ATTEMPTS} attempts."),
            )),
            None => match self.fallbacks().get(&fallback::MAX_ATTEMPTS) {
                Some(found) => parse_attempts(&found.value, &found.from),
                None => Ok(DEFAULT_MAX_ATTEMPTS),
            },
        }
    }

    pub fn build(self, clock: Arc<dyn Clock>) -> Result<ImdsClient, CredentialsError> {
        if self.is_disabled() {
            return Err(CredentialsError::ImdsDisabled);
        }
        let endpoint = self.resolved_endpoint()?;
        let attempt_timeout = self.resolved_attempt_timeout()?;
        let max_attempts = self.resolved_max_attempts()?;
        let token_ttl = token::check_ttl(self.token_ttl.unwrap_or(DEFAULT_TOKEN_TTL))?;
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(attempt_timeout));
        connector.set_nodelay(true);
        // https endpoints are already refused by `parse_endpoint`; the connector refuses them too,
        // so nothing can reach it but plain http.
        connector.enforce_http(true);
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).pool_max_idle_per_host(1).build(connector);
        Ok(ImdsClient {
            endpoint,
            http,
            attempt_timeout,
            max_attempts,
            clock,
            tokens: TokenCache::new(token_ttl),
            stats: Default::default(),
            skew: self.skew,
        })
    }
}

fn parse_endpoint(text: &str, from: &Origin) -> Result<Url, CredentialsError> {
    let url = Url::parse(text.trim()).map_err(|e| {
        CredentialsError::invalid_config(
            format!("the IMDS endpoint '{text}' (from {from}) is not a URL: {e}"),
            "Use a URL such as http://169.254.169.254 or http://[fd00:ec2::254].",
        )
    })?;
    match url.scheme() {
        "http" if url.host().is_some() => Ok(url),
        // Refused here rather than at the first request, so the mistake shows when the agent is
        // built, with the fix, instead of as an unreachable IMDS later.
        "https" => Err(CredentialsError::invalid_config(
            format!("the IMDS endpoint '{text}' (from {from}) is https, which IMDS does not serve"),
            "Use http:// instead, e.g. http://169.254.169.254 or http://[fd00:ec2::254]: IMDS is plain HTTP on a \
             link-local address that only the instance can reach, so it has no certificate.",
        )),
        _ => Err(CredentialsError::invalid_config(
            format!("the IMDS endpoint '{text}' (from {from}) is not an http URL with a host"),
            "Use a URL such as http://169.254.169.254 (IMDS is plain HTTP, reachable only from the instance).",
        )),
    }
}

/// A setting's value as messages show it: environment values are not secret, but may be long.
fn shown(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() > MAX_SHOWN_CHARS {
        format!("{}...", text.chars().take(MAX_SHOWN_CHARS).collect::<String>())
    } else {
        text.to_string()
    }
}

/// `AWS_METADATA_SERVICE_TIMEOUT` (and its system property and profile key): seconds, possibly
/// fractional, within what the client can use (0 would never connect; NaN, infinities and huge
/// values would panic in `Duration`).
fn parse_seconds(text: &str, name: &Origin) -> Result<Duration, CredentialsError> {
    let fix = || {
        format!(
            "Set {name} to a number of seconds from {} to {} (e.g. 1 or 2.5; {} is the SDK default), or unset it.",
            MIN_ATTEMPT_TIMEOUT.as_secs_f64(),
            MAX_ATTEMPT_TIMEOUT.as_secs(),
            DEFAULT_ATTEMPT_TIMEOUT.as_secs_f64()
        )
    };
    let seconds =
        text.trim().parse::<f64>().ok().filter(|s| !s.is_nan()).ok_or_else(|| {
            CredentialsError::invalid_config(format!("{} is not a number of seconds", name.assignment(&shown(text))), fix())
        })?;
    if !(MIN_ATTEMPT_TIMEOUT.as_secs_f64()..=MAX_ATTEMPT_TIMEOUT.as_secs_f64()).contains(&seconds) {
        return Err(CredentialsError::invalid_config(format!("{} is out of range", name.assignment(&shown(text))), fix()));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `AWS_METADATA_SERVICE_NUM_ATTEMPTS` (and its profile key): a whole number from 1 to [`MAX_ATTEMPTS`].
fn parse_attempts(text: &str, name: &Origin) -> Result<u32, CredentialsError> {
    let fix = || {
        format!(
            "Set {name} to a whole number of attempts from 1 to {MAX_ATTEMPTS} ({DEFAULT_MAX_ATTEMPTS} is the SDK default), or unset it."
        )
    };
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CredentialsError::invalid_config(format!("{} is not a whole number", name.assignment(&shown(text))), fix()));
    }
    // Whole but possibly beyond any integer type: anything that does not parse is out of range too.
    trimmed
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_ATTEMPTS).contains(n))
        .ok_or_else(|| CredentialsError::invalid_config(format!("{} is out of range", name.assignment(&shown(text))), fix()))
}

/// A response body as it is read, kept so that no copy of a secret is left behind in freed
/// memory: the buffer is sized from `Content-Length` when there is one, and otherwise grown by
/// hand (a new zeroizing buffer, a copy, the old one zeroized as it is dropped) instead of by
/// `Vec`'s reallocation, which frees the old block as it was. At most [`MAX_BODY_BYTES`].
///
/// hyper's own read buffers are outside this; they hold each chunk only until it is copied here.
/// Public for the allocator-level test in `tests/imds_zeroize.rs`, not for use.
#[doc(hidden)]
pub struct BodyBuffer {
    bytes: Zeroizing<Vec<u8>>,
}

/// Why a [`BodyBuffer`] refused a body.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    NotUtf8,
}

/// The first buffer for a body of unknown length: most IMDS answers (a role name, a token, a
/// credentials document of about 1.3 KiB) fit or need one growth.
const INITIAL_BODY_CAPACITY: usize = 2048;

impl BodyBuffer {
    /// `declared_length` is the `Content-Length`, if the answer had one.
    pub fn new(declared_length: Option<u64>) -> Result<Self, BodyError> {
        let capacity = match declared_length {
            Some(len) => usize::try_from(len).ok().filter(|len| *len <= MAX_BODY_BYTES).ok_or(BodyError::TooLarge)?,
            None => INITIAL_BODY_CAPACITY,
        };
        Ok(Self { bytes: Zeroizing::new(Vec::with_capacity(capacity)) })
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<(), BodyError> {
        let needed = self.bytes.len().checked_add(chunk.len()).filter(|n| *n <= MAX_BODY_BYTES).ok_or(BodyError::TooLarge)?;
        if needed > self.bytes.capacity() {
            let capacity = needed.max(self.bytes.capacity().saturating_mul(2)).min(MAX_BODY_BYTES);
            let mut grown = Zeroizing::new(Vec::with_capacity(capacity));
            grown.extend_from_slice(&self.bytes);
            // The old buffer is zeroized here, as it is dropped.
            self.bytes = grown;
        }
        // Within capacity: no reallocation, so no stray copy.
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// The body as text, moved (not copied) into the returned string.
    pub fn into_string(mut self) -> Result<Zeroizing<String>, BodyError> {
        let bytes = std::mem::take(&mut *self.bytes);
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Zeroizing::new(text)),
            Err(e) => {
                // The error owns the bytes: overwrite them before they are freed.
                e.into_bytes().zeroize();
                Err(BodyError::NotUtf8)
            }
        }
    }
}

impl std::fmt::Debug for BodyBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyBuffer").field("len", &self.bytes.len()).finish_non_exhaustive()
    }
}

/// Why one [`ImdsClient::probe`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// An HTTP answer other than 200.
    Status(u16),
    /// No HTTP answer: refused, reset, timed out (the detail says which).
    Unreachable(String),
}

/// Why one attempt failed.
pub(super) enum AttemptError {
    /// Worth another attempt.
    Transient(String),
    /// The token was refused: fetch a new one and try again.
    Unauthorized,
    Status(u16),
    TooLarge,
    /// No session token could be had for the request: that failure, final (the token fetch has
    /// already used its own attempts).
    NoToken(CredentialsError),
}

impl From<BodyError> for AttemptError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => Self::TooLarge,
            BodyError::NotUtf8 => Self::Transient("the answer is not UTF-8".into()),
        }
    }
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

    pub(super) fn tokens(&self) -> &TokenCache {
        &self.tokens
    }

    /// `GET` a metadata path with a valid session token. Returns the body (at most 64 KiB) on
    /// 200, or an error for other statuses (`what` names the request in messages).
    pub async fn get(&self, path: &str, what: &'static str) -> Result<Zeroizing<String>, CredentialsError> {
        let renewed = AtomicBool::new(false);
        let is_worth_another_get = |failure: &AttemptError| match failure {
            AttemptError::Transient(_) => true,
            AttemptError::Status(status) => is_retryable(*status),
            AttemptError::Unauthorized | AttemptError::TooLarge | AttemptError::NoToken(_) => false,
        };
        self.with_retries(|| self.get_once(path, &renewed), is_worth_another_get).await.map_err(|(failure, attempts)| match failure {
            AttemptError::NoToken(error) => error,
            AttemptError::Unauthorized => self.status_error(what, 401, attempts),
            AttemptError::TooLarge => CredentialsError::InvalidResponse {
                endpoint: self.endpoint().to_string(),
                problem: format!("the {what} answer is larger than {} KiB", MAX_BODY_BYTES / 1024),
            },
            AttemptError::Status(status) => self.status_error(what, status, attempts),
            AttemptError::Transient(detail) => self.unreachable(attempts, detail, false),
        })
    }

    /// One request, one attempt: no retry and no token handling, the token (if any) given by the
    /// caller. For `doctor`, which reports each step (the token PUT, a tokenless GET, the role
    /// list) on its own; the agent uses [`Self::get`].
    pub async fn probe(&self, method: Method, path: &str, token: Option<&str>) -> Result<Zeroizing<String>, ProbeError> {
        self.attempt(method, path, token).await.map_err(|failure| match failure {
            AttemptError::Unauthorized => ProbeError::Status(401),
            AttemptError::Status(status) => ProbeError::Status(status),
            AttemptError::TooLarge => ProbeError::Unreachable(format!("the answer is larger than {} KiB", MAX_BODY_BYTES / 1024)),
            AttemptError::Transient(detail) => ProbeError::Unreachable(detail),
            AttemptError::NoToken(error) => ProbeError::Unreachable(error.to_string()),
        })
    }

    /// One attempt at a `GET`. A 401 means the token expired or IMDS restarted: the first one in a
    /// call renews the token and asks again within the same attempt (a renewal is not a retry of
    /// a failure), so only a second 401 reaches the retry loop, which gives up on it.
    async fn get_once(&self, path: &str, renewed: &AtomicBool) -> Result<Zeroizing<String>, AttemptError> {
        let token = self.token().await.map_err(AttemptError::NoToken)?;
        match self.attempt(Method::GET, path, Some(&token)).await {
            Err(AttemptError::Unauthorized) if !renewed.swap(true, Ordering::Relaxed) => {
                self.drop_token().await;
                let token = self.token().await.map_err(AttemptError::NoToken)?;
                self.attempt(Method::GET, path, Some(&token)).await
            }
            result => result,
        }
    }

    /// The one retry loop, for metadata GETs and token PUTs alike: runs `attempt` until it
    /// succeeds, fails in a way `is_worth_another` refuses, or `max_attempts` attempts are spent,
    /// pausing with full-jitter backoff between attempts. A failure comes back with the number
    /// of attempts made. It always ends within `max_attempts` (the token PUT relies on this: it
    /// holds the token mutex across it).
    pub(super) async fn with_retries<T, F: Future<Output = Result<T, AttemptError>>>(
        &self,
        mut attempt: impl FnMut() -> F,
        is_worth_another: impl Fn(&AttemptError) -> bool,
    ) -> Result<T, (AttemptError, u32)> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(failure) if attempts >= self.max_attempts || !is_worth_another(&failure) => return Err((failure, attempts)),
                Err(_) => self.pause_before_retry(attempts).await,
            }
        }
    }

    async fn pause_before_retry(&self, attempt: u32) {
        self.count(|s| s.retries += 1);
        // On the injected clock's scale: in compressed time (the simulator, the soak) a real 200 ms
        // pause would be minutes of credential life; with the system clock this is the same pause.
        tokio::time::sleep(self.clock.real_duration(backoff::full_jitter(attempt, RETRY_BASE, RETRY_CAP))).await;
    }

    pub(super) async fn attempt(&self, method: Method, path: &str, token: Option<&str>) -> Result<Zeroizing<String>, AttemptError> {
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
            None => request.header(TOKEN_TTL_HEADER, self.tokens.ttl().as_secs().to_string()),
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
        let mut body = BodyBuffer::new(declared_length).map_err(AttemptError::from)?;
        let mut incoming = response.into_body();
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|e| AttemptError::Transient(format!("the answer was cut off: {}", error_chain(&e))))?;
            if let Some(chunk) = frame.data_ref() {
                body.push(chunk).map_err(AttemptError::from)?;
            }
        }
        body.into_string().map_err(AttemptError::from)
    }

    pub(super) fn status_error(&self, what: &'static str, status: u16, attempts: u32) -> CredentialsError {
        let fix = match status {
            429 => "IMDS is throttling this instance: too many metadata calls. freshcreds caches and backs off; look for other processes polling IMDS.",
            401 => "IMDS refused a fresh session token; check what answers at the endpoint.",
            404 => "The path does not exist on this endpoint; check the endpoint option.",
            s if s >= 500 => "IMDS is having trouble; freshcreds retries with backoff.",
            _ => "Check the endpoint option and what answers there.",
        };
        CredentialsError::ImdsHttpStatus { endpoint: self.endpoint().to_string(), what, status, attempts, fix }
    }

    pub(super) fn unreachable(&self, attempts: u32, detail: String, token_request: bool) -> CredentialsError {
        let hint = if token_request && detail.contains("timed out") {
            " The IMDSv2 token PUT timing out inside a container usually means the hop limit is 1: \
             run `aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2 --http-endpoint enabled`."
        } else {
            ""
        };
        CredentialsError::ImdsUnreachable { endpoint: self.endpoint().to_string(), attempts, detail, hint }
    }
}

/// Throttling and server errors are worth another attempt; other statuses are answers.
pub(super) fn is_retryable(status: u16) -> bool {
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
    use crate::env;

    fn build(env: Env) -> Result<ImdsClient, CredentialsError> {
        ImdsClient::builder().env(env).build(Arc::new(SystemClock))
    }

    #[test]
    fn the_article_s_environment_knobs_are_honoured() {
        let client = build(Env::from_pairs([
            (env::AWS_EC2_METADATA_SERVICE_ENDPOINT, "http://127.0.0.1:1234/"),
            (env::AWS_METADATA_SERVICE_TIMEOUT, "10"),
            (env::AWS_METADATA_SERVICE_NUM_ATTEMPTS, "5"),
        ]))
        .expect("valid");
        assert_eq!(client.endpoint(), "http://127.0.0.1:1234");
        assert_eq!(client.attempt_timeout, Duration::from_secs(10));
        assert_eq!(client.max_attempts, 5);
    }

    #[test]
    fn options_win_over_the_environment() {
        let client = ImdsClient::builder()
            .env(Env::from_pairs([
                (env::AWS_EC2_METADATA_SERVICE_ENDPOINT, "http://127.0.0.1:1"),
                (env::AWS_METADATA_SERVICE_NUM_ATTEMPTS, "5"),
            ]))
            .endpoint("http://127.0.0.1:2")
            .max_attempts(2)
            .build(Arc::new(SystemClock))
            .expect("valid");
        assert_eq!(client.endpoint(), "http://127.0.0.1:2");
        assert_eq!(client.max_attempts, 2);
    }

    #[test]
    fn imds_can_be_disabled_from_the_environment() {
        let error = build(Env::from_pairs([(env::AWS_EC2_METADATA_DISABLED, "true")])).expect_err("disabled");
        assert!(matches!(error, CredentialsError::ImdsDisabled));
        assert!(!error.is_recoverable());
        assert!(build(Env::from_pairs([(env::AWS_EC2_METADATA_DISABLED, "false")])).is_ok());
    }

    #[test]
    fn bad_settings_name_the_variable_and_the_fix() {
        for (name, value, expected) in [
            (env::AWS_METADATA_SERVICE_TIMEOUT, "soon", "AWS_METADATA_SERVICE_TIMEOUT='soon'"),
            (env::AWS_METADATA_SERVICE_NUM_ATTEMPTS, "many", "AWS_METADATA_SERVICE_NUM_ATTEMPTS='many'"),
            (env::AWS_METADATA_SERVICE_NUM_ATTEMPTS, "0", "out of range"),
            (env::AWS_EC2_METADATA_SERVICE_ENDPOINT, "metadata address", "not a URL"),
            (env::AWS_EC2_METADATA_SERVICE_ENDPOINT, "ftp://127.0.0.1", "not an http URL"),
            (env::AWS_EC2_METADATA_SERVICE_ENDPOINT, "https://127.0.0.1", "is https"),
        ] {
            let error = build(Env::from_pairs([(name, value)])).expect_err(value);
            assert!(matches!(error, CredentialsError::InvalidConfiguration { .. }), "{error:?}");
            assert!(error.to_string().contains(expected), "{name}={value}: {error}");
        }
    }

    /// Negative, huge, non-finite and non-numeric values of the two numeric knobs: each refused
    /// when the client is built, with a message that names the variable, the value and the fix.
    #[test]
    fn numeric_knobs_out_of_range_or_not_numbers_are_refused_with_the_variable_and_the_fix() {
        const T: &str = env::AWS_METADATA_SERVICE_TIMEOUT;
        const N: &str = env::AWS_METADATA_SERVICE_NUM_ATTEMPTS;
        let cases: &[(&str, &str, &str)] = &[
            (T, "-1", "out of range"),
            (T, "-0.5", "out of range"),
            (T, "0", "out of range"),
            (T, "1e-300", "out of range"),
            (T, "1e309", "out of range"),
            (T, "inf", "out of range"),
            (T, "-inf", "out of range"),
            (T, "999999999999", "out of range"),
            (T, "3600.5", "out of range"),
            (T, "NaN", "not a number"),
            (T, "soon", "not a number"),
            (T, "1s", "not a number"),
            (N, "-1", "out of range"),
            (N, "0", "out of range"),
            (N, "21", "out of range"),
            (N, "999999999999", "out of range"),
            (N, "99999999999999999999999999999999999999999", "out of range"),
            (N, "1e309", "not a whole number"),
            (N, "NaN", "not a whole number"),
            (N, "2.5", "not a whole number"),
            (N, "three", "not a whole number"),
        ];
        for (name, value, expected) in cases {
            let error = build(Env::from_fn(move |n| (n == *name).then(|| value.to_string()))).expect_err(value);
            let message = error.to_string();
            assert!(matches!(error, CredentialsError::InvalidConfiguration { .. }), "{name}={value}: {error:?}");
            let shown = &value[..value.len().min(40)];
            assert!(message.contains(&format!("{name}='{shown}")), "{name}={value}: names the variable and value: {message}");
            assert!(message.contains(expected), "{name}={value}: says '{expected}': {message}");
            assert!(message.contains(&format!("Set {name} to")), "{name}={value}: says what to do: {message}");
        }
        // The edges of the ranges are accepted.
        for (name, value) in [(T, "0.001"), (T, "3600"), (T, " 2.5 "), (N, "1"), (N, "20"), (N, "+3")] {
            assert!(build(Env::from_pairs([(name, value)])).is_ok(), "{name}={value}");
        }
    }

    #[test]
    fn out_of_range_options_are_refused_too() {
        let build = |b: ImdsClientBuilder| b.env(Env::empty()).build(Arc::new(SystemClock));
        for timeout in [Duration::ZERO, Duration::from_secs(3601), Duration::MAX] {
            let error = build(ImdsClient::builder().attempt_timeout(timeout)).expect_err("timeout");
            assert!(error.to_string().contains("attemptTimeoutMillis"), "{error}");
        }
        for attempts in [0, 21, u32::MAX] {
            let error = build(ImdsClient::builder().max_attempts(attempts)).expect_err("attempts");
            assert!(error.to_string().contains("maxAttempts"), "{error}");
        }
    }

    #[test]
    fn an_https_endpoint_is_refused_at_configuration_time_with_what_to_do() {
        for (builder, from) in [
            (ImdsClient::builder().env(Env::empty()).endpoint("https://127.0.0.1:1234"), "the endpoint option"),
            (
                ImdsClient::builder().env(Env::from_pairs([(env::AWS_EC2_METADATA_SERVICE_ENDPOINT, "https://[fd00:ec2::254]")])),
                env::AWS_EC2_METADATA_SERVICE_ENDPOINT,
            ),
        ] {
            let error = builder.build(Arc::new(SystemClock)).expect_err("https");
            let message = error.to_string();
            assert!(matches!(error, CredentialsError::InvalidConfiguration { .. }), "{error:?}");
            assert!(message.contains(from), "{message}");
            assert!(message.contains("is https"), "{message}");
            assert!(message.contains("Use http:// instead"), "{message}");
        }
    }

    /// `sources::timeout` computes the same budget for the default load timeout.
    #[test]
    fn the_request_budget_is_every_attempt_timing_out_plus_the_longest_backoffs() {
        assert_eq!(request_budget(DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_MAX_ATTEMPTS), Duration::from_millis(3300));
        assert_eq!(request_budget(Duration::from_secs(2), 1), Duration::from_secs(2));
        for (timeout, attempts) in
            [(DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_MAX_ATTEMPTS), (Duration::from_secs(3), 5), (MAX_ATTEMPT_TIMEOUT, MAX_ATTEMPTS)]
        {
            assert_eq!(
                crate::sources::timeout::default_load_timeout(timeout, attempts),
                crate::sources::timeout::DEFAULT_LOAD_TIMEOUT.max(request_budget(timeout, attempts)),
                "{timeout:?} x {attempts}"
            );
        }
    }

    #[test]
    fn a_body_buffer_with_a_declared_length_is_allocated_once_and_exactly() {
        let mut body = BodyBuffer::new(Some(5000)).expect("within the limit");
        assert_eq!(body.capacity(), 5000);
        let first = body.bytes.as_ptr();
        for _ in 0..5 {
            body.push(&[b'a'; 1000]).expect("fits");
        }
        assert_eq!(body.bytes.as_ptr(), first, "never reallocated");
        assert_eq!(body.into_string().expect("utf8").len(), 5000);
        assert_eq!(BodyBuffer::new(Some(MAX_BODY_BYTES as u64 + 1)).map(|_| ()), Err(BodyError::TooLarge));
        assert_eq!(BodyBuffer::new(Some(u64::MAX)).map(|_| ()), Err(BodyError::TooLarge));
    }

    #[test]
    fn a_body_buffer_without_a_length_grows_to_the_limit_and_no_further() {
        let mut body = BodyBuffer::new(None).expect("no length");
        for _ in 0..MAX_BODY_BYTES / 1000 {
            body.push(&[b'x'; 1000]).expect("fits");
        }
        body.push(&vec![b'y'; MAX_BODY_BYTES % 1000]).expect("exactly the limit");
        assert_eq!(body.len(), MAX_BODY_BYTES);
        assert!(body.capacity() <= MAX_BODY_BYTES, "never allocates past the limit: {}", body.capacity());
        assert_eq!(body.push(b"z"), Err(BodyError::TooLarge));
        let text = body.into_string().expect("utf8");
        assert_eq!(text.len(), MAX_BODY_BYTES);
        assert!(text.ends_with('y'));
        let mut bad = BodyBuffer::new(None).expect("no length");
        bad.push(&[0xff, 0xfe]).expect("fits");
        assert_eq!(bad.into_string().map(|_| ()), Err(BodyError::NotUtf8));
    }
}
