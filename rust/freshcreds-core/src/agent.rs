//! An agent: the credentials source the chain chose, its cache, and a background refresher.
//!
//! [`Agent::from_options`] builds one in a few steps: the clocks (corrected by the clock-skew
//! estimate; compressed for tests), the chain ([`chain::resolve`]: the winner's source and what it
//! shadows, logged), the cache and its refresher ([`Agent::start`]), and the background helpers
//! the resolution asks for: one quick look for an instance role that the winner hides (IMDS then
//! joins the shadowed sources, with a warning), and, for a profile winner, a watch on the profile
//! files (a change invalidates the cached credentials and the refresher fetches again).
//!
//! The refresher sleeps until the advisory window opens (plus the cache's fleet jitter) and
//! refreshes then, so callers find fresh credentials waiting and rarely wait for a refresh
//! themselves: on the first load, and inside the mandatory window when refreshes have kept
//! failing. After a failure it wakes when the refresh backoff ends or, once the credentials are
//! past use, on the cache's shorter recovery schedule. Concurrent callers that do need a refresh
//! share one fetch.
//!
//! Callers that want to hold credentials without asking each time use [`Snapshot`]s: each says
//! for how much *real* time it may be handed out (until the mandatory window opens), and
//! [`Agent::await_snapshot`] blocks until a newer generation exists. That is how the Java side
//! keeps its hot path free of native calls.
//!
//! Robustness:
//! * **Close wakes everyone.** Every blocking call ([`Agent::get_blocking`],
//!   [`Agent::refresh_blocking`], [`Agent::await_snapshot`]) returns [`CredentialsError::Closed`]
//!   as soon as the agent is closed, even while a fetch is still retrying; the fetch is dropped.
//! * **Suspend.** Tokio's timer (the monotonic clock) stops while the machine sleeps; the agent's
//!   clock (boot-clock based) does not. So the refresher never sleeps longer than
//!   [`REFRESHER_MAX_SLEEP`] at a time and reads the clock again after every wake: after a resume it
//!   refreshes within one such sleep, not when the pre-suspend timer would have fired.
//! * **Supervision.** The refresher runs as a task of its own under a supervisor that restarts it
//!   after a panic (after [`REFRESHER_RESTART_DELAY`]) and counts restarts (`refresherRestarts` in
//!   [`Agent::stats_json`]). A panic in a caller's own fetch becomes an internal error.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::cache::{CacheConfig, CredentialsCache};
use crate::clock::{BootClock, Clock, CompressedClock, SystemBootClock, SystemClock};
use crate::config::AgentOptions;
use crate::credentials::Credentials;
use crate::env::Env;
use crate::error::CredentialsError;
use crate::imds::credentials::InstanceRoleProbe;
use crate::imds::{client, ImdsClient};
use crate::provider::ProvideCredentials;
use crate::runtime::runtime;
use crate::settings::Lookup;
use crate::skew::{SkewCorrectedClock, SkewEstimator};
use crate::sources::chain::{self, ChainInputs, ImdsLink, Resolution, SourceKind};
use crate::sources::profile::ProfileFiles;
use crate::sources::timeout;

/// Credentials plus how long they may be used without asking the agent again.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub credentials: Credentials,
    pub generation: u64,
    /// Real time from now until the mandatory window opens (zero if it is open).
    pub valid_for: Duration,
}

/// The longest the refresher sleeps at a time (real time, as tokio measures it). Tokio's timer
/// stops while the machine is suspended; after each wake the refresher reads the agent's clock,
/// which does not stop, again.
pub const REFRESHER_MAX_SLEEP: Duration = Duration::from_secs(60);
/// How long the supervisor waits before restarting a refresher that panicked.
pub const REFRESHER_RESTART_DELAY: Duration = Duration::from_secs(1);

/// Real-time settings of the background refresher. The defaults are the constants above; tests
/// shorten them.
#[derive(Debug, Clone)]
pub struct RefresherSettings {
    /// The longest single sleep: bounds how late a refresh can be after a suspend/resume.
    pub max_sleep: Duration,
    /// Pause before restarting the refresher after a panic.
    pub restart_delay: Duration,
}

impl Default for RefresherSettings {
    fn default() -> Self {
        Self { max_sleep: REFRESHER_MAX_SLEEP, restart_delay: REFRESHER_RESTART_DELAY }
    }
}

#[derive(Default)]
struct SignalState {
    generation: u64,
    closed: bool,
}

/// Wakes Java threads blocked in `await_snapshot` (a condvar, because they are not tokio tasks),
/// the refresher task (a `Notify`), and anything awaiting inside the runtime for the agent to close
/// (a watch channel: unlike `Notify`, it cannot miss a close that happened before the wait).
struct Signal {
    state: Mutex<SignalState>,
    changed: Condvar,
    wake_refresher: tokio::sync::Notify,
    closed_tx: tokio::sync::watch::Sender<bool>,
}

impl Default for Signal {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            changed: Condvar::new(),
            wake_refresher: tokio::sync::Notify::new(),
            closed_tx: tokio::sync::watch::Sender::new(false),
        }
    }
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
        self.closed_tx.send_replace(true);
        self.changed.notify_all();
        self.wake_refresher.notify_one();
    }

    fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Completes once the agent is closed (at once if it already is).
    async fn closed(&self) {
        let mut rx = self.closed_tx.subscribe();
        // An error means the sender is gone, which only happens as the agent is dropped.
        let _ = rx.wait_for(|closed| *closed).await;
    }
}

/// Polls a future, turning a panic inside it into `Err(message)`.
struct CatchUnwind<F: Future> {
    inner: Pin<Box<F>>,
}

impl<F: Future> CatchUnwind<F> {
    fn new(inner: F) -> Self {
        Self { inner: Box::pin(inner) }
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.get_mut().inner.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

pub struct Agent {
    cache: Arc<CredentialsCache>,
    clock: Arc<dyn Clock>,
    signal: Arc<Signal>,
    imds: Option<Arc<ImdsClient>>,
    /// The refresher's supervisor.
    refresher: tokio::task::JoinHandle<()>,
    refresher_restarts: Arc<AtomicU64>,
    skew: Arc<SkewEstimator>,
    source: SourceKind,
    shadowed: Arc<Mutex<Vec<SourceKind>>>,
    /// Background helpers (IMDS shadow check, profile file watch), stopped on close.
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// How often the profile files are checked for changes (real time).
const PROFILE_POLL: Duration = Duration::from_secs(5);

/// The clocks of an agent built from options.
pub(crate) struct AgentClocks {
    /// What expiry is judged on: the base clock corrected by `skew`.
    pub(crate) clock: Arc<dyn Clock>,
    /// The skew estimate (AWS time minus this host's wall clock), fed by IMDS and the SDK hooks.
    pub(crate) skew: Arc<SkewEstimator>,
}

impl AgentClocks {
    /// Production time advances on the boot clock between skew samples; the compressed test clock
    /// (`clock.originEpochMillis` + `clock.scale`) is plain arithmetic on the wall clock. Skew is
    /// measured against the host's wall clock (what the SDKs sign with).
    pub(crate) fn for_options(options: &AgentOptions) -> Result<Self, CredentialsError> {
        let (base, boot): (Arc<dyn Clock>, Option<Arc<dyn BootClock>>) = match options.compressed_clock {
            Some((origin, scale)) => (
                Arc::new(CompressedClock::new(origin, scale).ok_or_else(|| {
                    CredentialsError::invalid_config("clock.scale must be a number >= 1", "Use the simulator's time scale.")
                })?),
                None,
            ),
            None => (Arc::new(SystemClock), Some(Arc::new(SystemBootClock))),
        };
        let skew = Arc::new(SkewEstimator::new(Arc::new(SystemClock), Arc::new(SystemBootClock)));
        let clock: Arc<dyn Clock> = Arc::new(SkewCorrectedClock::new(base, skew.clone(), boot));
        Ok(Self { clock, skew })
    }
}

/// What the chain is resolved from, as the options (else their fallbacks in `lookup`: system
/// properties, `env`, the selected profile) say: the order, IMDS unless disabled, the profile
/// files, and the timeouts.
pub(crate) fn chain_inputs<'a>(options: &'a AgentOptions, env: &'a Env, lookup: &Lookup, clocks: &AgentClocks) -> ChainInputs<'a> {
    let imds_client = options.imds_client_builder_with(lookup.clone()).skew_estimator(clocks.skew.clone());
    let imds = (!imds_client.is_disabled()).then(|| ImdsLink {
        client: imds_client.clone(),
        role_name: options.role_name.clone(),
        clock: clocks.clock.clone(),
    });
    let attempt_timeout = options.attempt_timeout.unwrap_or(client::DEFAULT_ATTEMPT_TIMEOUT);
    // One deadline for a whole fetch from any source, so a hung process or endpoint cannot hold
    // the single-flight gate (see sources::timeout). IMDS's own budget counts its settings from
    // wherever they come; a bad one is reported when the IMDS client is built, not here.
    let load_timeout = options.load_timeout.unwrap_or_else(|| match &imds {
        Some(link) => timeout::default_load_timeout(
            link.client.resolved_attempt_timeout().unwrap_or(client::DEFAULT_ATTEMPT_TIMEOUT),
            link.client.resolved_max_attempts().unwrap_or(client::DEFAULT_MAX_ATTEMPTS),
        ),
        None => timeout::default_load_timeout(attempt_timeout, options.max_attempts.unwrap_or(client::DEFAULT_MAX_ATTEMPTS)),
    });
    ChainInputs {
        env,
        system_properties: &options.system_properties,
        profile_files: lookup.profile_files().cloned().unwrap_or_else(|| ProfileFiles::from_env(env)),
        order: options.sources.clone().unwrap_or_else(|| SourceKind::ORDER.to_vec()),
        imds,
        attempt_timeout,
        load_timeout,
    }
}

pub(crate) fn cache_config(options: &AgentOptions) -> CacheConfig {
    CacheConfig { advisory_window: options.advisory_window, ..CacheConfig::default() }
}

/// Logs the chain's choice, and a warning when the winner shadows other configured sources.
fn log_resolution(resolution: &Resolution) {
    let winner = resolution.winner;
    let shadowed: Vec<&str> = resolution.shadowed.iter().map(|k| k.name()).collect();
    tracing::info!(source = winner.name(), shadowed = %shadowed.join(","), "credentials source chosen");
    if !shadowed.is_empty() {
        tracing::warn!(
            source = winner.name(),
            shadowed = %shadowed.join(","),
            "credentials from '{}' shadow other configured sources; if they are not the ones you mean to use, remove them",
            winner.name()
        );
    }
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent").field("source", &self.source.name()).finish_non_exhaustive()
    }
}

impl Agent {
    /// Builds an agent from options, with the process environment as fallback: the chain's
    /// winner, cached and refreshed.
    pub fn from_options(options: &AgentOptions) -> Result<Agent, CredentialsError> {
        Self::from_options_with_env(options, Env::process())
    }

    /// [`Self::from_options`] with the environment given (tests pass their own).
    pub fn from_options_with_env(options: &AgentOptions, env: Env) -> Result<Agent, CredentialsError> {
        let clocks = AgentClocks::for_options(options)?;
        let lookup = Lookup::for_options(options, env.clone());
        let resolution = chain::resolve(&chain_inputs(options, &env, &lookup, &clocks))?;
        log_resolution(&resolution);
        let mut agent =
            Self::start(resolution.winner, resolution.provider, clocks.clock, cache_config(options), resolution.imds_client, clocks.skew)?;
        agent.report_shadowed(resolution.shadowed);
        if let Some(probe) = resolution.imds_probe {
            agent.probe_for_a_shadowed_instance_role(probe)?;
        }
        if let Some(files) = resolution.watch {
            agent.watch_profile_files(files)?;
        }
        Ok(agent)
    }

    /// Records the later sources that the chain found configured too.
    fn report_shadowed(&self, shadowed: Vec<SourceKind>) {
        *self.shadowed.lock().unwrap_or_else(|p| p.into_inner()) = shadowed;
    }

    /// Does an instance role exist that the winner hides? One quick look, in the background; if
    /// so, IMDS joins the shadowed sources and a warning says what to do.
    fn probe_for_a_shadowed_instance_role(&mut self, probe: InstanceRoleProbe) -> Result<(), CredentialsError> {
        let (winner, shadowed) = (self.source, self.shadowed.clone());
        self.tasks.push(runtime()?.spawn(async move {
            if let Some(role) = probe.attached_role().await {
                shadowed.lock().unwrap_or_else(|p| p.into_inner()).push(SourceKind::Imds);
                tracing::warn!(
                    source = winner.name(),
                    instance_role = %role,
                    "this instance has the IAM role '{role}', but credentials from '{}' shadow it: those are used \
                     instead, and static or temporary keys there are never refreshed. Remove them to use the role",
                    winner.name()
                );
            }
        }));
        Ok(())
    }

    /// Follows an external tool that rewrites the profile files: when their modification time
    /// changes, the cached credentials are invalidated and the refresher fetches again.
    fn watch_profile_files(&mut self, files: ProfileFiles) -> Result<(), CredentialsError> {
        let (cache, signal) = (self.cache.clone(), self.signal.clone());
        self.tasks.push(runtime()?.spawn(async move {
            // The mtime checks run on the blocking pool: the runtime has one worker, and a
            // hung network file system must not stall every agent's refresh.
            let mut seen = files.modified_async().await;
            loop {
                tokio::time::sleep(PROFILE_POLL).await;
                let now = files.modified_async().await;
                if now != seen {
                    seen = now;
                    if let Some(current) = cache.peek() {
                        tracing::info!(files = %files.describe(), "credentials files changed; reading them again");
                        cache.invalidate(current.access_key_id());
                        signal.wake_refresher.notify_one();
                    }
                }
            }
        }));
        Ok(())
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
        Self::start_with(kind, source, clock, config, imds, skew, RefresherSettings::default())
    }

    /// [`Self::start`] with the refresher's real-time settings given (tests shorten them).
    pub fn start_with(
        kind: SourceKind,
        source: Arc<dyn ProvideCredentials>,
        clock: Arc<dyn Clock>,
        config: CacheConfig,
        imds: Option<Arc<ImdsClient>>,
        skew: Arc<SkewEstimator>,
        settings: RefresherSettings,
    ) -> Result<Agent, CredentialsError> {
        let rt = runtime()?;
        let signal = Arc::new(Signal::default());
        let listener = signal.clone();
        let cache =
            Arc::new(CredentialsCache::new(source, clock.clone(), config).with_update_listener(Box::new(move |g| listener.publish(g))));
        let refresher_restarts = Arc::new(AtomicU64::new(0));
        let refresher = rt.spawn(supervise_refresher(cache.clone(), clock.clone(), signal.clone(), settings, refresher_restarts.clone()));
        Ok(Agent {
            cache,
            clock,
            signal,
            imds,
            refresher,
            refresher_restarts,
            skew,
            source: kind,
            shadowed: Default::default(),
            tasks: Vec::new(),
        })
    }

    pub fn is_closed(&self) -> bool {
        self.signal.is_closed()
    }

    /// How often the background refresher was restarted after a panic.
    pub fn refresher_restarts(&self) -> u64 {
        self.refresher_restarts.load(Ordering::Relaxed)
    }

    fn ensure_open(&self) -> Result<(), CredentialsError> {
        if self.is_closed() {
            Err(CredentialsError::Closed)
        } else {
            Ok(())
        }
    }

    /// Credentials, refreshing first when the policy says so. Blocks the calling thread; must not
    /// be called from inside the runtime. Returns `Err(Closed)` as soon as the agent is closed, even
    /// while a fetch is in progress (the fetch is then dropped).
    pub fn get_blocking(&self) -> Result<Snapshot, CredentialsError> {
        self.ensure_open()?;
        let result = runtime()?.block_on(async {
            tokio::select! {
                biased;
                _ = self.signal.closed() => Err(CredentialsError::Closed),
                outcome = CatchUnwind::new(self.cache.get()) => match outcome {
                    Ok(outcome) => outcome.result,
                    Err(panic) => Err(CredentialsError::internal(format!("panic while fetching credentials: {panic}"))),
                },
            }
        });
        let credentials = result?;
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
            "refresherRestarts": self.refresher_restarts(),
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
                "rejectedSamples": skew.rejected_samples,
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

/// Runs the refresher as a task of its own and restarts it, after `settings.restart_delay`, if it
/// panics; returns once the agent is closed.
async fn supervise_refresher(
    cache: Arc<CredentialsCache>,
    clock: Arc<dyn Clock>,
    signal: Arc<Signal>,
    settings: RefresherSettings,
    restarts: Arc<AtomicU64>,
) {
    loop {
        let task = tokio::spawn(run_refresher(cache.clone(), clock.clone(), signal.clone(), settings.clone()));
        let abort = task.abort_handle();
        let joined = tokio::select! {
            joined = task => joined,
            _ = signal.closed() => {
                abort.abort();
                return;
            }
        };
        match joined {
            // The refresher returns only once the agent is closed.
            Ok(()) => return,
            Err(e) if e.is_panic() => {
                let restarts = restarts.fetch_add(1, Ordering::Relaxed) + 1;
                let panic = panic_message(e.into_panic().as_ref());
                tracing::error!(
                    panic = %panic,
                    restarts,
                    restart_in = %crate::error::log_duration(settings.restart_delay),
                    "the background credentials refresher panicked (a bug in freshcreds, please report it); restarting it"
                );
                tokio::select! {
                    _ = tokio::time::sleep(settings.restart_delay) => {}
                    _ = signal.closed() => return,
                }
            }
            // Cancelled: the runtime is shutting down.
            Err(_) => return,
        }
    }
}

async fn run_refresher(cache: Arc<CredentialsCache>, clock: Arc<dyn Clock>, signal: Arc<Signal>, settings: RefresherSettings) {
    // Never spin: after a look that could not refresh, wait at least this long (clock time).
    const MIN_PAUSE: Duration = Duration::from_secs(1);
    loop {
        if signal.is_closed() {
            return;
        }
        let Some(at) = cache.next_refresh_at() else {
            // Nothing loaded yet: the first load is a caller's; wait for it.
            tokio::select! {
                _ = signal.wake_refresher.notified() => {}
                _ = signal.closed() => return,
            }
            continue;
        };
        let now = clock.now();
        if at > now {
            // Sleep in slices of at most `max_sleep` and read the clock again after each: tokio's
            // timer stops during a suspend, the agent's clock does not.
            let wait = clock.real_duration(at.duration_since(now).unwrap_or_default()).min(settings.max_sleep);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = signal.wake_refresher.notified() => {}
                _ = signal.closed() => return,
            }
            continue;
        }
        let outcome = tokio::select! {
            outcome = cache.get_for_refresher() => outcome,
            _ = signal.closed() => return,
        };
        if !outcome.refreshed {
            let pause = clock.real_duration(MIN_PAUSE).min(settings.max_sleep);
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = signal.wake_refresher.notified() => {}
                _ = signal.closed() => return,
            }
        }
    }
}
