//! An overall deadline on every fetch, whatever the source.
//!
//! The sources' own timeouts bound single steps (one HTTP attempt, one connect), not a whole
//! fetch: a `credential_process` that never exits, or an STS endpoint that accepts a connection
//! and never answers, would otherwise hold the cache's single-flight lock forever, and every
//! caller would queue behind it. [`LoadTimeout`] abandons such a fetch after the load timeout and
//! returns a recoverable error, so the cache treats it as an ordinary failed refresh (it keeps
//! serving what it has and backs off; that policy is the cache's, not this wrapper's).

use std::sync::Arc;
use std::time::Duration;

use crate::error::CredentialsError;
use crate::provider::{CredentialsFuture, ProvideCredentials};

/// The default load timeout: 5 s, the AWS SDK for Rust's identity-cache default.
///
/// It has to outlast each source's own retry budget, so that a source's specific error (which
/// names the endpoint and what it answered) wins over this generic one whenever the source gives
/// up by itself:
/// - IMDS: 1 s per attempt × 3 attempts, plus full-jitter backoff of at most 0.1 s + 0.2 s,
///   is 3.3 s for one request; a dead or throttling IMDS is reported in that time.
/// - container: 1 s per attempt × 3 attempts, the same backoff (see [`super::container`]).
/// - STS and SSO (web identity, `role_arn`, SSO profiles): the clients' connect timeout is 2 s
///   and an attempt is cut at half the load timeout (see [`super::aws_config_source`]), so a
///   connection that hangs once is retried once before this deadline.
///
/// A healthy source answers in tens of milliseconds, so 5 s never cuts a working one short,
/// and a caller that blocks on the first load waits at most that long for an answer.
pub const DEFAULT_LOAD_TIMEOUT: Duration = Duration::from_secs(5);

/// The load timeout to use when none is configured, given IMDS's per-attempt timeout and number
/// of attempts: [`DEFAULT_LOAD_TIMEOUT`], or IMDS's own budget for one request if a user raised
/// those options past it (so a slow IMDS that the user allowed for is not cut short).
pub fn default_load_timeout(imds_attempt_timeout: Duration, imds_max_attempts: u32) -> Duration {
    DEFAULT_LOAD_TIMEOUT.max(crate::imds::client::request_budget(imds_attempt_timeout, imds_max_attempts))
}

/// What to check when a source is too slow, by source name.
fn fix_for(source_name: &str) -> &'static str {
    match source_name {
        "imds" => {
            "check that the instance metadata service answers from here (hop limit for containers, no HTTP proxy for 169.254.169.254)"
        }
        "container" => {
            "check that the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI) answers from here"
        }
        "webIdentity" => {
            "check that STS (AWS_ENDPOINT_URL_STS, or the regional STS endpoint through any proxy or VPC endpoint) answers from here"
        }
        "profile" => {
            "if the profile runs a credential_process, check that the command finishes in time; if it assumes a role or uses \
             IAM Identity Center, check that STS or the SSO portal answers from here"
        }
        _ => "check that the source answers",
    }
}

/// A source whose every fetch is abandoned after `timeout`.
pub struct LoadTimeout {
    inner: Arc<dyn ProvideCredentials>,
    timeout: Duration,
}

impl LoadTimeout {
    pub fn new(inner: Arc<dyn ProvideCredentials>, timeout: Duration) -> Self {
        Self { inner, timeout }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl std::fmt::Debug for LoadTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadTimeout").field("source", &self.inner.name()).field("timeout", &self.timeout).finish()
    }
}

impl ProvideCredentials for LoadTimeout {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(async move {
            match tokio::time::timeout(self.timeout, self.inner.provide_credentials()).await {
                Ok(result) => result,
                // Dropping the inner future cancels its HTTP requests. A credential_process that
                // aws-config started is not killed by that (it exits by itself later).
                Err(_) => Err(CredentialsError::LoadTimedOut {
                    source_name: self.inner.name(),
                    timeout: self.timeout,
                    fix: fix_for(self.inner.name()),
                }),
            }
        })
    }

    fn name(&self) -> &'static str {
        self.inner.name()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::cache::{CacheConfig, CredentialsCache};
    use crate::clock::SystemClock;

    /// A source that never answers, like an STS endpoint that accepted the connection and hung.
    struct Hung;

    impl ProvideCredentials for Hung {
        fn provide_credentials(&self) -> CredentialsFuture<'_> {
            Box::pin(std::future::pending())
        }
        fn name(&self) -> &'static str {
            "webIdentity"
        }
    }

    /// Two callers share the single-flight fetch of a hung source: both get the timeout error
    /// within about the load timeout, instead of queueing behind the fetch forever.
    #[test]
    fn concurrent_callers_of_a_hung_source_both_return_within_the_load_timeout() {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let timeout = Duration::from_millis(300);
        let source = Arc::new(LoadTimeout::new(Arc::new(Hung), timeout));
        let cache = Arc::new(CredentialsCache::new(source, Arc::new(SystemClock), CacheConfig::default()));
        let started = Instant::now();
        let outcomes = runtime.block_on(async {
            let (a, b) = (cache.clone(), cache.clone());
            let first = tokio::spawn(async move { a.get().await });
            let second = tokio::spawn(async move { b.get().await });
            // The guard only keeps a failing test from hanging; the assertion is on the elapsed time.
            tokio::time::timeout(Duration::from_secs(10), async { (first.await, second.await) }).await
        });
        let elapsed = started.elapsed();
        let (first, second) = outcomes.expect("both callers returned");
        for outcome in [first.expect("task"), second.expect("task")] {
            let error = outcome.result.expect_err("a hung source gives no credentials");
            assert!(error.is_recoverable(), "a timed-out fetch is an ordinary failed refresh: {error:?}");
            let text = error.to_string();
            assert!(text.contains("webIdentity") && text.contains("300ms") && text.contains("STS"), "{text}");
        }
        assert!(elapsed < timeout + Duration::from_millis(700), "took {elapsed:?}");
        assert_eq!(cache.stats().source_calls, 1, "the second caller shared the first one's fetch");
    }

    #[test]
    fn the_default_covers_imds_retries() {
        assert_eq!(default_load_timeout(Duration::from_secs(1), 3), DEFAULT_LOAD_TIMEOUT);
        assert!(Duration::from_millis(3300) < DEFAULT_LOAD_TIMEOUT, "IMDS's default budget fits in the default");
        assert_eq!(default_load_timeout(Duration::from_secs(4), 2), Duration::from_millis(8100));
    }
}
