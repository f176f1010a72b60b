//! The agent's lifecycle and robustness, with scripted sources and injected clocks:
//! close wakes every blocked call, the refresher survives a suspend/resume and a panic.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime};

use freshcreds_core::agent::RefresherSettings;
use freshcreds_core::cache::{CacheConfig, CredentialsFuture, ProvideCredentials};
use freshcreds_core::clock::{BootClock, Clock, ManualBootClock, ManualClock};
use freshcreds_core::skew::{SkewCorrectedClock, SkewEstimator};
use freshcreds_core::sources::chain::SourceKind;
use freshcreds_core::{Agent, Credentials, CredentialsError, ErrorKind};

const ONE_HOUR: Duration = Duration::from_secs(3600);

fn start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// What the n-th call (from 1) of a [`Scripted`] source does.
type Script = Box<dyn Fn(u32, SystemTime) -> Option<Result<Credentials, CredentialsError>> + Send + Sync>;

/// A source run by a script: `None` from the script means "never answer".
struct Scripted {
    clock: Arc<dyn Clock>,
    calls: AtomicU32,
    script: Script,
}

impl Scripted {
    fn new(clock: Arc<dyn Clock>, script: Script) -> Arc<Self> {
        Arc::new(Self { clock, calls: AtomicU32::new(0), script })
    }
}

struct Source(Arc<Scripted>);

impl ProvideCredentials for Source {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        let n = self.0.calls.fetch_add(1, Ordering::SeqCst) + 1;
        match (self.0.script)(n, self.0.clock.now()) {
            Some(result) => Box::pin(async move { result }),
            None => Box::pin(std::future::pending()) as Pin<Box<dyn Future<Output = _> + Send>>,
        }
    }

    fn name(&self) -> &'static str {
        "scripted"
    }
}

fn one_hour_credentials(n: u32, now: SystemTime) -> Option<Result<Credentials, CredentialsError>> {
    Some(Ok(Credentials::new(format!("AKID-{n}"), "secret", Some("token".into()), Some(now + ONE_HOUR), "scripted")))
}

fn skew() -> Arc<SkewEstimator> {
    Arc::new(SkewEstimator::new(Arc::new(ManualClock::new(start())), Arc::new(ManualBootClock::default())))
}

fn quick() -> RefresherSettings {
    RefresherSettings { max_sleep: Duration::from_millis(50), restart_delay: Duration::from_millis(50) }
}

fn agent(source: Arc<Scripted>, clock: Arc<dyn Clock>, settings: RefresherSettings) -> Arc<Agent> {
    Arc::new(
        Agent::start_with(SourceKind::Imds, Arc::new(Source(source)), clock, CacheConfig::default(), None, skew(), settings)
            .expect("agent"),
    )
}

/// Runs `call` on a thread; closes the agent once the source was contacted; the call must come
/// back with `Closed` within a second.
fn assert_close_wakes<T: Send + 'static + std::fmt::Debug>(
    what: &str,
    call: impl FnOnce(&Agent) -> Result<T, CredentialsError> + Send + 'static,
) {
    let clock: Arc<ManualClock> = Arc::new(ManualClock::new(start()));
    let source = Scripted::new(clock.clone(), Box::new(|_, _| None));
    let agent = agent(source.clone(), clock, quick());
    let (tx, rx) = mpsc::channel();
    let caller = agent.clone();
    std::thread::spawn(move || {
        let _ = tx.send(call(&caller));
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while source.calls.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "{what}: the source was never asked");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(rx.try_recv().is_err(), "{what}: returned although the source never answers");
    let closed_at = Instant::now();
    agent.close();
    let result = rx.recv_timeout(Duration::from_secs(1)).unwrap_or_else(|_| panic!("{what}: still blocked 1 s after close"));
    assert!(matches!(result, Err(CredentialsError::Closed)), "{what}: {result:?}");
    assert!(closed_at.elapsed() < Duration::from_secs(1));
}

#[test]
fn close_wakes_a_caller_blocked_on_a_fetch_that_never_answers() {
    assert_close_wakes("get_blocking", |agent| agent.get_blocking().map(|s| s.generation));
}

#[test]
fn close_wakes_a_forced_refresh_blocked_on_a_fetch_that_never_answers() {
    assert_close_wakes("refresh_blocking", |agent| agent.refresh_blocking().map(|s| s.generation));
}

#[test]
fn close_wakes_a_snapshot_waiter_while_the_first_load_hangs() {
    let clock: Arc<ManualClock> = Arc::new(ManualClock::new(start()));
    let source = Scripted::new(clock.clone(), Box::new(|_, _| None));
    let agent = agent(source.clone(), clock, quick());
    let (tx, rx) = mpsc::channel();
    for kind in ["get", "await"] {
        let (agent, tx) = (agent.clone(), tx.clone());
        std::thread::spawn(move || {
            let result = match kind {
                "get" => agent.get_blocking().map(|_| ()),
                _ => agent.await_snapshot(0, Duration::from_secs(30)).map(|_| ()),
            };
            let _ = tx.send((kind, result));
        });
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);
    let closed_at = Instant::now();
    agent.close();
    for _ in 0..2 {
        let (kind, result) = rx.recv_timeout(Duration::from_secs(1)).expect("every blocked call returns within 1 s of close");
        assert!(matches!(result, Err(CredentialsError::Closed)), "{kind}: {result:?}");
    }
    assert!(closed_at.elapsed() < Duration::from_secs(1));
}

#[test]
fn after_a_suspend_the_refresher_refreshes_within_one_capped_sleep() {
    // The agent's clock as in production: anchored on the wall clock, advancing on the boot clock.
    let wall = Arc::new(ManualClock::new(start()));
    let boot = Arc::new(ManualBootClock::default());
    let skew = Arc::new(SkewEstimator::new(wall.clone(), boot.clone()));
    let clock: Arc<dyn Clock> = Arc::new(SkewCorrectedClock::new(wall.clone(), skew.clone(), Some(boot.clone() as Arc<dyn BootClock>)));
    let source = Scripted::new(clock.clone(), Box::new(one_hour_credentials));
    let agent = Arc::new(
        Agent::start_with(SourceKind::Imds, Arc::new(Source(source.clone())), clock.clone(), CacheConfig::default(), None, skew, quick())
            .expect("agent"),
    );
    let first = agent.get_blocking().expect("first load");
    assert_eq!(first.generation, 1);
    // Let the refresher go to sleep until the advisory window (45+ minutes away).
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);

    // Suspend for 58 minutes: tokio's timer did not run, the boot clock (and the wall clock) did.
    boot.advance(Duration::from_secs(58 * 60));
    wall.advance(Duration::from_secs(58 * 60));
    let resumed = Instant::now();
    let next = agent.await_snapshot(first.generation, Duration::from_secs(2)).expect("open");
    let next = next.expect("refreshed within one capped sleep after the resume");
    assert!(next.generation > first.generation);
    assert_ne!(next.credentials.access_key_id(), first.credentials.access_key_id());
    assert!(resumed.elapsed() < Duration::from_secs(1), "took {:?}", resumed.elapsed());
    agent.close();
}

#[test]
fn a_panicking_refresher_is_restarted_and_refresh_goes_on() {
    let clock = Arc::new(ManualClock::new(start()));
    let source = Scripted::new(
        clock.clone(),
        Box::new(|n, now| {
            if n == 2 {
                panic!("injected panic in the credentials source");
            }
            one_hour_credentials(n, now)
        }),
    );
    let agent = agent(source.clone(), clock.clone(), quick());
    let first = agent.get_blocking().expect("first load");
    assert_eq!(agent.refresher_restarts(), 0);

    // Into the advisory window: the refresher's fetch panics, it is restarted, refreshes.
    clock.advance(Duration::from_secs(50 * 60));
    let next = agent.await_snapshot(first.generation, Duration::from_secs(3)).expect("open");
    let next = next.expect("background refresh continued after the panic");
    assert_ne!(next.credentials.access_key_id(), first.credentials.access_key_id());
    assert_eq!(source.calls.load(Ordering::SeqCst), 3, "the panicking call and one more");
    assert_eq!(agent.refresher_restarts(), 1);
    let stats: serde_json::Value = serde_json::from_str(&agent.stats_json()).expect("JSON");
    assert_eq!(stats["refresherRestarts"], 1, "{stats}");
    // Callers never saw the panic.
    assert_eq!(agent.get_blocking().expect("served").credentials.access_key_id(), next.credentials.access_key_id());

    // And the refresher keeps working after its restart.
    clock.advance(Duration::from_secs(50 * 60));
    let third = agent.await_snapshot(next.generation, Duration::from_secs(3)).expect("open").expect("another refresh");
    assert!(third.generation > next.generation);
    assert_eq!(agent.refresher_restarts(), 1);
    agent.close();
}

#[test]
fn a_panic_in_a_callers_own_fetch_is_an_internal_error() {
    let clock = Arc::new(ManualClock::new(start()));
    let source = Scripted::new(
        clock.clone(),
        Box::new(|n, now| {
            if n == 1 {
                panic!("injected panic in the credentials source");
            }
            one_hour_credentials(n, now)
        }),
    );
    let agent = agent(source, clock, quick());
    let error = agent.get_blocking().expect_err("the fetch panicked");
    assert_eq!(error.kind(), ErrorKind::Internal, "{error}");
    assert!(error.to_string().contains("injected panic"), "{error}");
    assert_eq!(agent.get_blocking().expect("the next call fetches again").credentials.access_key_id(), "AKID-2");
    agent.close();
}
