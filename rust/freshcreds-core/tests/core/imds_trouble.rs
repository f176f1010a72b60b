//! IMDS in trouble: throttled for a long stretch while 256 threads ask for credentials.
//! The agent keeps serving what it has, the IMDS request rate stays bounded by the refresh
//! backoff, and no caller waits longer than one refresh attempt.

use freshcreds_core::cache::{RECOVERY_MAX_FETCHES_PER_WINDOW, RECOVERY_RATE_WINDOW};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use freshcreds_core::config::AgentOptions;
use freshcreds_core::env::Env;
use freshcreds_core::Agent;
use freshcreds_sim::{SimConfig, Simulator};

const SCALE: f64 = 600.0;

#[test]
fn throttled_imds_with_256_threads_stays_bounded_and_nobody_fails() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let config = SimConfig {
        time_scale: SCALE,
        lifetime: Duration::from_secs(3600),
        rotate_before: Duration::from_secs(1200),
        ..SimConfig::default()
    };
    let sim = runtime.block_on(Simulator::start(config)).expect("simulator");
    let origin = sim.clock_origin().duration_since(std::time::UNIX_EPOCH).expect("epoch").as_millis().to_string();
    let options = AgentOptions::from_pairs(&[
        ("endpoint", sim.base_url()),
        ("clock.originEpochMillis", origin),
        ("clock.scale", SCALE.to_string()),
        ("maxAttempts", "3".to_string()),
    ])
    .expect("options");
    let agent = Arc::new(Agent::from_options_with_env(&options, Env::empty()).expect("agent"));
    let first = agent.get_blocking().expect("first load");

    // From now on IMDS answers 429 to everything, through the advisory window and past expiry.
    sim.faults().set_imds_status_override(Some(429));
    let throttle_started = sim.sim_now();
    let before = sim.stats().imds_requests_total;
    let throttled_for = Duration::from_secs(8); // 80 simulated minutes
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let slowest_ns = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..256)
        .map(|_| {
            let (agent, stop, calls, slowest_ns) = (agent.clone(), stop.clone(), calls.clone(), slowest_ns.clone());
            let expected = first.credentials.access_key_id().to_string();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let snapshot = agent.get_blocking().expect("cached credentials are served during the throttle");
                    slowest_ns.fetch_max(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    assert_eq!(snapshot.credentials.access_key_id(), expected);
                    calls.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        })
        .collect();
    std::thread::sleep(throttled_for);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("no caller failed");
    }
    let requests = sim.stats().imds_requests_total - before;

    // Bound: each fetch is at most 3 tries plus one token try each. While the credentials are
    // good, at most one fetch per refresh backoff (>= 300 simulated s), plus the one in flight;
    // from the mandatory window on (they expire inside the throttle), the refresher's recovery
    // schedule: at most RECOVERY_MAX_FETCHES_PER_WINDOW per RECOVERY_RATE_WINDOW, plus one.
    let throttled_sim = throttled_for.mul_f64(SCALE);
    let expiry = first.credentials.expiration().expect("IMDS credentials expire");
    let good_for = expiry.duration_since(throttle_started).unwrap_or_default().saturating_sub(Duration::from_secs(60)).min(throttled_sim);
    let recovering_for = throttled_sim.saturating_sub(good_for);
    let backoff_fetches = good_for.as_secs() / 300 + 1;
    let recovery_fetches = if recovering_for.is_zero() {
        0
    } else {
        RECOVERY_MAX_FETCHES_PER_WINDOW as u64 * (recovering_for.as_secs() / RECOVERY_RATE_WINDOW.as_secs() + 1)
    };
    let bound = 2 * 3 * (backoff_fetches + recovery_fetches);
    assert!(requests <= bound, "{requests} IMDS requests in {throttled_for:?} (bound {bound})");
    assert!(requests >= 3, "the agent kept trying: {requests}");
    let slowest = Duration::from_nanos(slowest_ns.load(Ordering::Relaxed));
    assert!(slowest < Duration::from_secs(2), "a caller waited {slowest:?}");
    eprintln!(
        "256 threads, {} calls, {requests} IMDS requests (bound {bound}: {backoff_fetches} fetches under the spec's backoff, {recovery_fetches} under recovery), slowest call {slowest:?}",
        calls.load(Ordering::Relaxed)
    );

    // IMDS recovers: the agent picks up new credentials by itself.
    sim.faults().set_imds_status_override(None);
    let next = agent.await_snapshot(first.generation, Duration::from_secs(5)).expect("open").expect("recovered");
    assert_ne!(next.credentials.access_key_id(), first.credentials.access_key_id());
}
