//! One error type for the whole agent.
//!
//! Every message says what went wrong *and what to do about it*, because it ends up in a Java
//! stack trace read by someone on call. No message ever contains a secret, a session token, an
//! IMDS token or a response body (bodies can hold credentials).
//!
//! Errors are either *recoverable* (the source may answer next time: timeouts, refused
//! connections, 5xx, 429, malformed or stale answers), which the cache rides out with the
//! credentials it holds and a refresh backoff, or *non-recoverable* (configuration problems, no
//! role attached), which the cache raises at once and remembers for a few seconds.

use std::time::Duration;

/// Which Java exception class an error maps to (see the bridge crates' tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Credentials could not be obtained or understood.
    CredentialsUnavailable,
    /// An option or environment variable has a value that cannot work.
    InvalidConfiguration,
    /// The agent was closed, or the handle never named one.
    Closed,
    /// A bug in freshcreds (a caught panic, a poisoned lock).
    Internal,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "IMDS is disabled (AWS_EC2_METADATA_DISABLED=true or the imdsDisabled option), so \
         instance-role credentials cannot be fetched. Unset it, or configure another credential source."
    )]
    ImdsDisabled,

    #[error(
        "could not reach the instance metadata service at {endpoint} after {attempts} attempt(s) \
         ({detail}). On EC2, check that the IMDS endpoint is enabled for the instance, that no \
         HTTP proxy intercepts it (set NO_PROXY=169.254.169.254), and raise \
         AWS_METADATA_SERVICE_TIMEOUT / AWS_METADATA_SERVICE_NUM_ATTEMPTS if IMDS is slow or throttled.{hint}"
    )]
    ImdsUnreachable { endpoint: String, attempts: u32, detail: String, hint: &'static str },

    #[error(
        "the instance metadata service at {endpoint} answered HTTP {status} for {what} after \
         {attempts} attempt(s). {fix}"
    )]
    ImdsHttpStatus { endpoint: String, what: &'static str, status: u16, attempts: u32, fix: &'static str },

    #[error(
        "no IAM role is attached to this instance (IMDS at {endpoint} lists no role under \
         iam/security-credentials/). Attach an instance profile to the instance, or configure another credential source."
    )]
    NoRoleAttached { endpoint: String },

    #[error(
        "IMDS at {endpoint} has no credentials for role '{role}' (HTTP 404). Check the role name \
         option, or leave it unset so the attached role is discovered."
    )]
    RoleNotFound { endpoint: String, role: String },

    #[error(
        "the instance metadata service at {endpoint} sent an unusable credentials response: \
         {problem}. This is usually transient; freshcreds keeps serving the credentials it has \
         and retries. If it persists, check what answers at that endpoint (a proxy or a fake IMDS?)."
    )]
    InvalidResponse { endpoint: String, problem: String },

    #[error(
        "the credentials source returned credentials that had already expired (at {expired_at}); \
         treated as a failed refresh. If this persists, check the instance clock (Amazon Time \
         Sync Service / NTP) and the credentials source."
    )]
    StaleCredentials { expired_at: String },

    #[error(
        "the {source_name} credentials source failed: {detail}. freshcreds keeps serving the credentials it has \
         and retries; check that source's configuration and endpoint"
    )]
    SourceFailed { source_name: &'static str, detail: String },

    #[error(
        "the {source_name} credentials source did not answer within the load timeout of {}, so this fetch was \
         abandoned. freshcreds keeps serving the credentials it has and tries again later; {fix}, or raise the \
         loadTimeout option if the source is slow but working",
        human_duration(*.timeout)
    )]
    LoadTimedOut { source_name: &'static str, timeout: Duration, fix: &'static str },

    #[error("invalid freshcreds configuration: {problem}. {fix}")]
    InvalidConfiguration { problem: String, fix: String },

    #[error("this freshcreds agent was closed (or the handle is unknown); build a new agent to get credentials")]
    Closed,

    #[error("internal error in freshcreds ({detail}); this is a bug: please report it with the stack trace")]
    Internal { detail: String },
}

impl CredentialsError {
    pub fn invalid_config(problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::InvalidConfiguration { problem: problem.into(), fix: fix.into() }
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self::Internal { detail: detail.into() }
    }

    /// Whether the source may well answer next time. Recoverable failures start the refresh
    /// backoff and leave cached credentials in service; the others are raised at once.
    pub fn is_recoverable(&self) -> bool {
        match self {
            Self::ImdsUnreachable { .. }
            | Self::InvalidResponse { .. }
            | Self::StaleCredentials { .. }
            | Self::SourceFailed { .. }
            | Self::LoadTimedOut { .. } => true,
            Self::ImdsHttpStatus { status, .. } => *status == 429 || *status >= 500 || *status == 401,
            Self::ImdsDisabled
            | Self::NoRoleAttached { .. }
            | Self::RoleNotFound { .. }
            | Self::InvalidConfiguration { .. }
            | Self::Closed
            | Self::Internal { .. } => false,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidConfiguration { .. } => ErrorKind::InvalidConfiguration,
            Self::Closed => ErrorKind::Closed,
            Self::Internal { .. } => ErrorKind::Internal,
            _ => ErrorKind::CredentialsUnavailable,
        }
    }
}

/// Formats a duration for logs in plain units: `35m47s`, `1h0m5s`, `12s`; under a second, `250ms`.
pub(crate) fn log_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// Formats an optional time left for logs: [`log_duration`], or `never` without an expiry.
pub(crate) fn log_time_left(d: Option<Duration>) -> String {
    d.map_or_else(|| "never".to_string(), log_duration)
}

/// Formats a duration for messages as whole seconds or milliseconds.
pub(crate) fn human_duration(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod log_duration_tests {
    use super::*;

    #[test]
    fn durations_in_logs_use_plain_units() {
        assert_eq!(log_duration(Duration::from_millis(2_147_600)), "35m47s");
        assert_eq!(log_duration(Duration::from_secs(3605)), "1h0m5s");
        assert_eq!(log_duration(Duration::from_secs(12)), "12s");
        assert_eq!(log_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(log_time_left(None), "never");
        assert_eq!(log_time_left(Some(Duration::from_secs(60))), "1m0s");
    }
}
