//! An agent: one credentials source, its cache, and a background refresher.
//!
//! The refresher sleeps until the advisory window opens and refreshes then, so callers find
//! fresh credentials waiting and never wait for a refresh themselves, except on the first load
//! and inside the mandatory window (when a refresh has kept failing). After a failure it wakes
//! when the refresh backoff ends. Concurrent callers that do need a refresh share one fetch.
//!
//! Callers that want to hold credentials without asking each time use [`Snapshot`]s: each says
//! for how much *real* time it may be handed out (until the mandatory window opens), and
//! [`Agent::await_snapshot`] blocks until a newer generation exists. That is how the Java side
//! keeps its hot path free of native calls.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::cache::{CacheConfig, CredentialsCache, ProvideCredentials};
use crate::clock::{BootClock, Clock, CompressedClock, SystemBootClock, SystemClock};
use crate::config::AgentOptions;
use crate::credentials::Credentials;
use crate::env::Env;
use crate::error::CredentialsError;
use crate::imds::{ImdsClient, ImdsCredentialsProvider};
use crate::runtime::runtime;
use crate::skew::{SkewCorrectedClock, SkewEstimator};
use crate::sources::chain::{self, SourceKind};

/// Credentials plus how long they may be used without asking the agent again.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub credentials: Credentials,
    pub generation: u64,
    /// Real time from now until the mandatory window opens (zero if it is open).
    pub valid_for: Duration,
}

#[derive(Default)]
struct SignalState {
    generation: u64,
    closed: bool,
}

/// Wakes Java threads blocked in `await_snapshot` (a condvar, because they are not tokio tasks)
/// and the refresher task (a `Notify`).
#[derive(Default)]
struct Signal {
    state: Mutex<SignalState>,
    changed: Condvar,
    wake_refresher: tokio::sync::Notify,
}

impl Signal {
    fn lock(&self) -> std::sync::MutexGuard<'_, SignalState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish(&self, generation: u64) {
        self.lock().generation = generation;
        self.changed.notify_all();
        self.wake_refresher.notify_one();
    }

    fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
        self.wake_refresher.notify_one();
    }
}

pub struct Agent {
    cache: Arc<CredentialsCache>,
    clock: Arc<dyn Clock>,
    signal: Arc<Signal>,
    imds: Option<Arc<ImdsClient>>,
    refresher: tokio::task::JoinHandle<()>,
    skew: Arc<SkewEstimator>,
    source: SourceKind,
    shadowed: Arc<Mutex<Vec<SourceKind>>>,
    /// Background helpers (IMDS shadow check, profile file watch), stopped on close.
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// How often the profile files are checked for changes (real time).
const PROFILE_POLL: Duration = Duration::from_secs(5);

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent").field("source", &self.source.name()).finish_non_exhaustive()
    }
}

impl Agent {
    /// Builds an instance-role agent from options, with the process environment as fallback.
    pub fn from_options(options: &AgentOptions) -> Result<Agent, CredentialsError> {
        Self::from_options_with_env(options, Env::process())
    }

    pub fn from_options_with_env(options: &AgentOptions, env: Env) -> Result<Agent, CredentialsError> {
        // Production time advances on the boot clock between skew samples; the compressed test
        // clock is plain arithmetic on the wall clock.
        let (base, boot): (Arc<dyn Clock>, Option<Arc<dyn BootClock>>) = match options.compressed_clock {
            Some((origin, scale)) => (
                Arc::new(CompressedClock::new(origin, scale).ok_or_else(|| {
                    CredentialsError::invalid_config("clock.scale must be a number >= 1", "Use the simulator's time scale.")
                })?),
                None,
            ),
            None => (Arc::new(SystemClock), Some(Arc::new(SystemBootClock))),
        };
        // Skew is measured against the host's wall clock (what the SDKs sign with); expiry is
        // judged on the agent's clock corrected by it.
        let skew = Arc::new(SkewEstimator::new(Arc::new(SystemClock), Arc::new(SystemBootClock)));
        let clock: Arc<dyn Clock> = Arc::new(SkewCorrectedClock::new(base, skew.clone(), boot));
        let imds_disabled = options
            .imds_disabled
            .unwrap_or_else(|| env.get("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")));
        let order = options.sources.clone().unwrap_or_else(|| SourceKind::ORDER.to_vec());
        let timeout = options.attempt_timeout.unwrap_or(Duration::from_secs(1));
        let resolution = chain::resolve(&env, &options.system_properties, &order, !imds_disabled, timeout)?;
        let mut imds = ImdsClient::builder().env(env.clone()).skew_estimator(skew.clone());
        if let Some(e) = &options.endpoint {
            imds = imds.endpoint(e.clone());
        }
        if let Some(t) = options.attempt_timeout {
            imds = imds.attempt_timeout(t);
        }
        if let Some(a) = options.max_attempts {
            imds = imds.max_attempts(a);
        }
        if let Some(t) = options.token_ttl {
            imds = imds.token_ttl(t);
        }
        if let Some(d) = options.imds_disabled {
            imds = imds.disabled(d);
        }
        let config = CacheConfig { advisory_window: options.advisory_window, ..CacheConfig::default() };
        let winner = resolution.winner;
        let mut agent = match resolution.provider {
            None => {
                let client = Arc::new(imds.clone().build(clock.clone())?);
                let mut provider = ImdsCredentialsProvider::builder();
                if let Some(role) = &options.role_name {
                    provider = provider.role_name(role.clone());
                }
                let provider = provider.build(client.clone())?;
                Self::start(winner, Arc::new(provider), clock, config, Some(client), skew)?
            }
            Some(provider) => Self::start(winner, provider, clock, config, None, skew)?,
        };
        *agent.shadowed.lock().unwrap_or_else(|p| p.into_inner()) = resolution.shadowed.clone();
        let shadowed: Vec<&str> = resolution.shadowed.iter().map(|k| k.name()).collect();
        tracing::info!(source = winner.name(), shadowed = ?shadowed, "credentials source chosen");
        if !shadowed.is_empty() {
            tracing::warn!(
                source = winner.name(),
                shadowed = ?shadowed,
                "credentials from '{}' shadow other configured sources; if they are not the ones you mean to use, remove them",
                winner.name()
            );
        }
        let rt = runtime()?;
        if winner != SourceKind::Imds && !imds_disabled && order.contains(&SourceKind::Imds) {
            // Does an instance role exist that the winner hides? One quick look, in the background.
            let probe = imds.max_attempts(1).attempt_timeout(timeout.min(Duration::from_secs(1))).build(agent.clock.clone());
            if let Ok(probe) = probe {
                let shadowed = agent.shadowed.clone();
                agent.tasks.push(rt.spawn(async move {
                    if let Ok(role) = probe.get("/latest/meta-data/iam/security-credentials/", "the IAM role list").await {
                        let role = role.lines().next().unwrap_or_default().trim().to_string();
                        if !role.is_empty() {
                            shadowed.lock().unwrap_or_else(|p| p.into_inner()).push(SourceKind::Imds);
                            tracing::warn!(
                                source = winner.name(),
                                instance_role = %role,
                                "this instance has the IAM role '{role}', but credentials from '{}' shadow it: those are used \
                                 instead, and static or temporary keys there are never refreshed. Remove them to use the role",
                                winner.name()
                            );
                        }
                    }
                }));
            }
        }
        if let Some(files) = resolution.profile_files {
            // Follow an external tool that rewrites the files: refetch when they change.
            let (cache, signal) = (agent.cache.clone(), agent.signal.clone());
            agent.tasks.push(rt.spawn(async move {
                let mut seen = files.modified();
                loop {
                    tokio::time::sleep(PROFILE_POLL).await;
                    let now = files.modified();
                    if now != seen {
                        seen = now;
                        if let Some(current) = cache.peek() {
                            tracing::info!(file = %files.credentials.display(), "credentials files changed; reading them again");
                            cache.invalidate(current.access_key_id());
                            signal.wake_refresher.notify_one();
                        }
                    }
                }
            }));
        }
        Ok(agent)
    }

    /// The source that won the chain.
    pub fn source(&self) -> SourceKind {
        self.source
    }

    /// Later sources that are configured too (IMDS appears once the background check found a role).
    pub fn shadowed(&self) -> Vec<SourceKind> {
        self.shadowed.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Starts an agent over any source; `kind` is the chain link it stands for, `skew` the
    /// estimator that `clock` is corrected by (and that SDK hooks feed).
    pub fn start(
        kind: SourceKind,
        source: Arc<dyn ProvideCredentials>,
        clock: Arc<dyn Clock>,
        config: CacheConfig,
        imds: Option<Arc<ImdsClient>>,
        skew: Arc<SkewEstimator>,
    ) -> Result<Agent, CredentialsError> {
        let rt = runtime()?;
        let signal = Arc::new(Signal::default());
        let listener = signal.clone();
        let cache =
            Arc::new(CredentialsCache::new(source, clock.clone(), config).with_update_listener(Box::new(move |g| listener.publish(g))));
        let refresher = rt.spawn(run_refresher(cache.clone(), clock.clone(), signal.clone()));
        Ok(Agent { cache, clock, signal, imds, refresher, skew, source: kind, shadowed: Default::default(), tasks: Vec::new() })
    }

    pub fn is_closed(&self) -> bool {
        self.signal.lock().closed
    }

    fn ensure_open(&self) -> Result<(), CredentialsError> {
        if self.is_closed() {
            Err(CredentialsError::Closed)
        } else {
            Ok(())
        }
    }

    /// Credentials, refreshing first when the policy says so. Blocks the calling thread; must not
    /// be called from inside the runtime.
    pub fn get_blocking(&self) -> Result<Snapshot, CredentialsError> {
        self.ensure_open()?;
        let outcome = runtime()?.block_on(self.cache.get());
        let credentials = outcome.result?;
        self.ensure_open()?;
        Ok(self.snapshot_of(credentials))
    }

    /// Forces a refresh of the current credentials (as if AWS had rejected them), within the
    /// refresh backoff rules, and returns what the cache holds afterwards.
    pub fn refresh_blocking(&self) -> Result<Snapshot, CredentialsError> {
        self.ensure_open()?;
        if let Some(current) = self.cache.peek() {
            self.cache.invalidate(current.access_key_id());
        }
        self.get_blocking()
    }

    /// Marks credentials rejected by AWS; the refresher fetches new ones at once (backoff allowing).
    pub fn invalidate(&self, access_key_id: &str) -> Result<bool, CredentialsError> {
        self.ensure_open()?;
        let matched = self.cache.invalidate(access_key_id);
        if matched {
            self.signal.wake_refresher.notify_one();
        }
        Ok(matched)
    }

    /// Blocks up to `timeout` for credentials of a generation other than `known_generation`.
    /// `Ok(None)` on timeout; `Err(Closed)` once the agent is closed.
    pub fn await_snapshot(&self, known_generation: u64, timeout: Duration) -> Result<Option<Snapshot>, CredentialsError> {
        let guard = self.signal.lock();
        let (guard, _) = self
            .signal
            .changed
            .wait_timeout_while(guard, timeout, |s| !s.closed && s.generation == known_generation)
            .unwrap_or_else(|p| p.into_inner());
        if guard.closed {
            return Err(CredentialsError::Closed);
        }
        if guard.generation == known_generation {
            return Ok(None);
        }
        drop(guard);
        Ok(self.cache.peek().map(|c| self.snapshot_of(c)))
    }

    fn snapshot_of(&self, credentials: Credentials) -> Snapshot {
        let now = self.clock.now();
        let generation = self.cache.stats().generation;
        let until = match self.cache.usable_until() {
            Some((cached, until)) if cached.same_issue(&credentials) => until,
            // Invalidated, or replaced meanwhile: let the caller come back at once.
            _ => Some(now),
        };
        let valid_for = match until {
            None => Duration::MAX,
            Some(t) => self.clock.real_duration(t.duration_since(now).unwrap_or_default()),
        };
        Snapshot { credentials, generation, valid_for }
    }

    /// Feeds one AWS `Date` observation taken by a caller (the SDK hooks): the server's date and
    /// when, on this host's wall clock, the request was sent and answered (all epoch millis).
    pub fn record_server_time(&self, server_date_ms: i64, sent_ms: i64, received_ms: i64) -> Result<bool, CredentialsError> {
        self.ensure_open()?;
        let at = |ms: i64| match u64::try_from(ms) {
            Ok(ms) => Ok(std::time::UNIX_EPOCH + Duration::from_millis(ms)),
            Err(_) => Err(CredentialsError::invalid_config(format!("{ms} is not a time after 1970"), "Pass epoch milliseconds.")),
        };
        Ok(self.skew.record(at(server_date_ms)?, at(sent_ms)?, at(received_ms)?))
    }

    /// AWS time minus this host's wall clock, in milliseconds (0 before any sample).
    pub fn clock_offset_ms(&self) -> i64 {
        self.skew.offset_ms()
    }

    /// Stops the refresher and wakes every waiter. Idempotent.
    pub fn close(&self) {
        self.signal.close();
        self.refresher.abort();
        for task in &self.tasks {
            task.abort();
        }
    }

    /// Counters and state as JSON; never a secret.
    pub fn stats_json(&self) -> String {
        let stats = self.cache.stats();
        let current = self.cache.peek();
        let imds = self.imds.as_ref().map(|c| c.stats()).unwrap_or_default();
        let skew = self.skew.estimate();
        serde_json::json!({
            "source": self.source.name(),
            "shadowed": self.shadowed().iter().map(|k| k.name()).collect::<Vec<_>>(),
            "generation": stats.generation,
            "refreshes": stats.refreshes,
            "failures": stats.failures,
            "sourceCalls": stats.source_calls,
            "rateLimited": stats.rate_limited,
            "imdsTokenRequests": imds.token_requests,
            "imdsMetadataRequests": imds.metadata_requests,
            "imdsRetries": imds.retries,
            "accessKeyId": current.as_ref().map(|c| c.key_id_for_logs()),
            "expiration": current.as_ref().and_then(|c| c.expiration()).map(crate::cache::format_time),
            "advisoryWindowSeconds": self.cache.advisory_window().map(|w| w.as_secs()),
            "lastError": stats.last_error,
            "clockSkew": {
                "offsetMillis": skew.offset_ms,
                "samples": skew.samples.len(),
                "lastChangedEpochMillis": skew.last_changed
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_millis() as u64),
            },
            "closed": self.is_closed(),
        })
        .to_string()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.close();
    }
}

async fn run_refresher(cache: Arc<CredentialsCache>, clock: Arc<dyn Clock>, signal: Arc<Signal>) {
    // Never spin: after a look that could not refresh, wait at least this long (clock time).
    const MIN_PAUSE: Duration = Duration::from_secs(1);
    loop {
        if signal.lock().closed {
            return;
        }
        let Some(at) = cache.next_refresh_at() else {
            // Nothing loaded yet: the first load is a caller's; wait for it.
            signal.wake_refresher.notified().await;
            continue;
        };
        let now = clock.now();
        if at > now {
            let wait = clock.real_duration(at.duration_since(now).unwrap_or_default());
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = signal.wake_refresher.notified() => continue,
            }
        }
        let outcome = cache.get().await;
        if !outcome.refreshed {
            let pause = clock.real_duration(MIN_PAUSE);
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = signal.wake_refresher.notified() => {}
            }
        }
    }
}
