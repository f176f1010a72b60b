//! The recovery schedule (see `cache.rs`): once the cached credentials are expired, inside the
//! mandatory window or invalidated, the background refresher retries a failing source on a
//! capped, jittered schedule (next attempt never more than 30 s away, at most 2 fetches in any
//! 30 s) instead of waiting out the specification's 300–600 s backoff. Callers keep the
//! specification's behaviour (`tests/conformance.rs`). All on a manual clock: no sleeping.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use freshcreds_core::cache::{
    CacheConfig, CredentialsCache, CredentialsFuture, ProvideCredentials, RECOVERY_BACKOFF_CAP, RECOVERY_MAX_FETCHES_PER_WINDOW,
    RECOVERY_RATE_WINDOW,
};
use freshcreds_core::clock::{Clock, ManualClock};
use freshcreds_core::{Credentials, CredentialsError};

const START: Duration = Duration::from_secs(1_800_000_000);
const SIX_HOURS: Duration = Duration::from_secs(6 * 3600);

/// A source that fails while `up` is false and issues 6-hour credentials otherwise.
#[derive(Debug)]
struct Flaky {
    clock: Arc<ManualClock>,
    up: AtomicBool,
    calls: AtomicU32,
}

impl Flaky {
    fn new(clock: Arc<ManualClock>, up: bool) -> Arc<Self> {
        Arc::new(Self { clock, up: AtomicBool::new(up), calls: AtomicU32::new(0) })
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

struct Source(Arc<Flaky>);

impl ProvideCredentials for Source {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        let n = self.0.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let result = if self.0.up.load(Ordering::SeqCst) {
            Ok(Credentials::new(format!("AKID-FRESH-{n}"), "secret", Some("token".into()), Some(self.0.clock.now() + SIX_HOURS), "flaky"))
        } else {
            Err(CredentialsError::ImdsUnreachable { endpoint: "flaky".into(), attempts: 3, detail: "down".into(), hint: "" })
        };
        Box::pin(async move { result })
    }

    fn name(&self) -> &'static str {
        "flaky"
    }
}

fn start() -> SystemTime {
    SystemTime::UNIX_EPOCH + START
}

/// A cache holding credentials that expire `expires_in` from the start (negative: expired).
fn cache_with(expires_in_secs: i64, up: bool) -> (Arc<ManualClock>, Arc<Flaky>, CredentialsCache) {
    let clock = Arc::new(ManualClock::new(start()));
    let flaky = Flaky::new(clock.clone(), up);
    let cache = CredentialsCache::new(Arc::new(Source(flaky.clone())), clock.clone(), CacheConfig::default());
    let expiry = if expires_in_secs >= 0 {
        start() + Duration::from_secs(expires_in_secs as u64)
    } else {
        start() - Duration::from_secs(expires_in_secs.unsigned_abs())
    };
    cache.seed(Credentials::new("AKID-CACHED", "secret", Some("token".into()), Some(expiry), "seed"), expiry - SIX_HOURS);
    (clock, flaky, cache)
}

fn secs_between(from: SystemTime, to: SystemTime) -> f64 {
    to.duration_since(from).map(|d| d.as_secs_f64()).unwrap_or_else(|e| -e.duration().as_secs_f64())
}

/// Drives the cache as the agent's refresher does (sleep until `next_refresh_at`, then ask) for
/// `outage`, checking every gap; returns the source calls made within that time.
async fn ride_out_outage(clock: &ManualClock, flaky: &Flaky, cache: &CredentialsCache, outage: Duration) -> u32 {
    let began = clock.now();
    let calls_before = flaky.calls();
    loop {
        let now = clock.now();
        let at = cache.next_refresh_at().expect("credentials are cached");
        let gap = secs_between(now, at);
        assert!(gap <= RECOVERY_BACKOFF_CAP.as_secs_f64(), "next attempt {gap:.1} s away while serving expired credentials");
        if at > now {
            clock.set(at);
        }
        if clock.now() >= began + outage {
            return flaky.calls() - calls_before;
        }
        // Callers meanwhile keep the specification's backoff: served, rate limited, never a fetch.
        let calls = flaky.calls();
        let caller = cache.get().await;
        assert!(caller.rate_limited && !caller.source_contacted, "a caller fetched during the backoff");
        assert_eq!(caller.result.expect("cached credentials served").access_key_id(), "AKID-CACHED");
        assert_eq!(flaky.calls(), calls);

        let outcome = cache.get_for_refresher().await;
        assert!(outcome.source_contacted, "the refresher was held back at its own next_refresh_at");
        assert_eq!(outcome.result.expect("static stability").access_key_id(), "AKID-CACHED");
    }
}

#[tokio::test]
async fn expired_credentials_and_a_failing_source_are_retried_within_30_s_and_boundedly() {
    // Bound: at most RECOVERY_MAX_FETCHES_PER_WINDOW (2) fetches start in any RECOVERY_RATE_WINDOW
    // (30 s), so at most 40 in 10 minutes; and since no gap exceeds 30 s, at least 19 after the first.
    let ten_minutes = Duration::from_secs(600);
    let bound = (RECOVERY_MAX_FETCHES_PER_WINDOW as u64 * ten_minutes.as_secs() / RECOVERY_RATE_WINDOW.as_secs()) as u32;
    assert_eq!(bound, 40);
    let mut counts = Vec::new();
    for _ in 0..20 {
        let (clock, flaky, cache) = cache_with(-60, false);
        // The failure that starts it (a caller's: the specification's backoff begins).
        let first = cache.get().await;
        assert!(first.source_contacted);
        assert_eq!(first.result.expect("expired credentials served").access_key_id(), "AKID-CACHED");
        let calls = ride_out_outage(&clock, &flaky, &cache, ten_minutes).await;
        assert!(calls <= bound, "{calls} source calls in 10 minutes of outage (bound {bound})");
        assert!(calls >= 19, "only {calls} source calls in 10 minutes: the schedule is slower than 30 s");
        counts.push(calls);

        // The source recovers: fresh credentials at the next attempt, within 30 s.
        flaky.up.store(true, Ordering::SeqCst);
        let recovered_at = clock.now();
        let at = cache.next_refresh_at().expect("cached");
        if at > clock.now() {
            clock.set(at);
        }
        let outcome = cache.get_for_refresher().await;
        assert!(outcome.refreshed, "the refresher brought new credentials");
        assert!(secs_between(recovered_at, clock.now()) <= 30.0, "{:.1} s after recovery", secs_between(recovered_at, clock.now()));
        assert!(cache.get().await.result.expect("fresh").access_key_id().starts_with("AKID-FRESH-"));
        // Fresh credentials: back to the advisory schedule, hours away.
        let next = cache.next_refresh_at().expect("cached");
        assert!(secs_between(clock.now(), next) > 3600.0);
    }
    eprintln!("source calls per 10 simulated minutes of outage (bound {bound}): {counts:?}");
}

#[tokio::test]
async fn the_mandatory_window_and_invalidated_credentials_use_the_recovery_schedule_too() {
    // 30 s left: inside the mandatory window.
    let (clock, flaky, cache) = cache_with(30, false);
    assert!(cache.get_for_refresher().await.source_contacted);
    let gap = secs_between(clock.now(), cache.next_refresh_at().expect("cached"));
    assert!(gap <= 30.0, "next attempt in {gap:.1} s");
    assert!(ride_out_outage(&clock, &flaky, &cache, Duration::from_secs(120)).await >= 4);

    // Valid for hours, but AWS rejected them.
    let (clock, _flaky, cache) = cache_with(3 * 3600, false);
    assert!(cache.invalidate("AKID-CACHED"));
    assert!(cache.get().await.source_contacted);
    let gap = secs_between(clock.now(), cache.next_refresh_at().expect("cached"));
    assert!(gap <= 30.0, "next attempt in {gap:.1} s");
}

#[tokio::test]
async fn outside_the_mandatory_window_the_specification_backoff_stays() {
    // In the advisory window with 30 minutes left: a failed refresh backs off 300–600 s, for the
    // refresher as for callers.
    let (clock, flaky, cache) = cache_with(30 * 60, false);
    assert!(cache.get_for_refresher().await.source_contacted);
    let failed_at = clock.now();
    let gap = secs_between(failed_at, cache.next_refresh_at().expect("cached"));
    assert!((300.0..=600.0).contains(&gap), "next attempt in {gap:.1} s");
    clock.advance(Duration::from_secs(60));
    let outcome = cache.get_for_refresher().await;
    assert!(outcome.rate_limited && !outcome.source_contacted);
    assert_eq!(flaky.calls(), 1);

    // 5 minutes left: the backoff would run past the mandatory window's start, so the refresher
    // looks again exactly there, not 5–10 minutes later.
    let (clock, _flaky, cache) = cache_with(5 * 60, false);
    assert!(cache.get_for_refresher().await.source_contacted);
    let at = cache.next_refresh_at().expect("cached");
    assert_eq!(at, start() + Duration::from_secs(5 * 60 - 60));
    clock.set(at);
    assert!(cache.get_for_refresher().await.source_contacted, "the refresher retries once the mandatory window opens");
}
