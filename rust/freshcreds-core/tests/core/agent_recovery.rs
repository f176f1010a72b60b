//! The agent's refresher through an outage that outlasts the credentials, on a compressed clock
//! (60x: a simulated minute is a real second): it keeps trying on the recovery schedule (bounded)
//! and has fresh credentials within 30 simulated seconds of the source's return, instead of
//! waiting out the specification's 300–600 s backoff.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use freshcreds_core::cache::{CacheConfig, CredentialsFuture, ProvideCredentials, RECOVERY_MAX_FETCHES_PER_WINDOW, RECOVERY_RATE_WINDOW};
use freshcreds_core::clock::{Clock, CompressedClock, ManualBootClock, ManualClock, SystemClock};
use freshcreds_core::skew::SkewEstimator;
use freshcreds_core::sources::chain::SourceKind;
use freshcreds_core::{Agent, Credentials, CredentialsError};

const SCALE: f64 = 60.0;
const LIFETIME: Duration = Duration::from_secs(3 * 60);

struct Flaky {
    clock: Arc<dyn Clock>,
    up: AtomicBool,
    calls: AtomicU32,
}

struct Source(Arc<Flaky>);

impl ProvideCredentials for Source {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        let n = self.0.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let result = if self.0.up.load(Ordering::SeqCst) {
            Ok(Credentials::new(format!("AKID-{n}"), "secret", Some("token".into()), Some(self.0.clock.now() + LIFETIME), "flaky"))
        } else {
            Err(CredentialsError::ImdsUnreachable { endpoint: "flaky".into(), attempts: 1, detail: "down".into(), hint: "" })
        };
        Box::pin(async move { result })
    }

    fn name(&self) -> &'static str {
        "flaky"
    }
}

fn sim_secs(from: SystemTime, to: SystemTime) -> f64 {
    to.duration_since(from).map(|d| d.as_secs_f64()).unwrap_or_default()
}

#[test]
fn after_an_outage_longer_than_the_credentials_fresh_ones_arrive_within_30_simulated_seconds() {
    let clock: Arc<dyn Clock> = Arc::new(CompressedClock::new(SystemClock.now(), SCALE).expect("scale"));
    let flaky = Arc::new(Flaky { clock: clock.clone(), up: AtomicBool::new(true), calls: AtomicU32::new(0) });
    let skew = Arc::new(SkewEstimator::new(Arc::new(ManualClock::new(SystemClock.now())), Arc::new(ManualBootClock::default())));
    let agent =
        Agent::start(SourceKind::Imds, Arc::new(Source(flaky.clone())), clock.clone(), CacheConfig::default(), None, skew).expect("agent");
    let first = agent.get_blocking().expect("first load");
    let expiry = first.credentials.expiration().expect("expiring");

    // The source goes down for 6 simulated minutes: the credentials (3 minutes) expire meanwhile.
    flaky.up.store(false, Ordering::SeqCst);
    let down_at = clock.now();
    let outage = Duration::from_secs(6 * 60);
    std::thread::sleep(outage.div_f64(SCALE));
    let calls_in_outage = flaky.calls.load(Ordering::SeqCst) - 1;
    assert!(clock.now() > expiry + Duration::from_secs(120), "the outage outlasted the credentials");
    // Before the mandatory window: the specification's attempt (one); from the mandatory window
    // on (`expiry - 60 s`): at most 2 per 30 s.
    let recovering_for = sim_secs(expiry - Duration::from_secs(60), clock.now());
    let bound = 1 + (RECOVERY_MAX_FETCHES_PER_WINDOW as f64 * (recovering_for / RECOVERY_RATE_WINDOW.as_secs_f64()).ceil()) as u32;
    assert!(calls_in_outage <= bound, "{calls_in_outage} source calls in the outage (bound {bound})");
    assert!(calls_in_outage >= 4, "the refresher kept trying: {calls_in_outage} calls");
    // Nothing newer meanwhile, and callers got the expired credentials (static stability).
    let served = agent.get_blocking().expect("served");
    assert_eq!(served.credentials.access_key_id(), first.credentials.access_key_id());

    // The source is back: new credentials within 30 simulated seconds (plus scheduling slack).
    flaky.up.store(true, Ordering::SeqCst);
    let up_at = clock.now();
    let next = agent
        .await_snapshot(first.generation, Duration::from_secs(2))
        .expect("open")
        .expect("fresh credentials after the outage, without waiting out a 300-600 s backoff");
    let took = sim_secs(up_at, clock.now());
    assert!(took <= 40.0, "fresh credentials {took:.1} simulated seconds after the source came back");
    assert_ne!(next.credentials.access_key_id(), first.credentials.access_key_id());
    eprintln!(
        "outage of {:.0} sim s: {calls_in_outage} source calls (bound {bound}); fresh credentials {took:.1} sim s after recovery",
        sim_secs(down_at, up_at)
    );
    agent.close();
}
