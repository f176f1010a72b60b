//! The agent (cache + background refresher + snapshots) against the in-process simulator on a
//! compressed clock: 600x, so a one-hour credential lives six real seconds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use freshcreds_core::config::AgentOptions;
use freshcreds_core::env::Env;
use freshcreds_core::{Agent, CredentialsError, ErrorKind};
use freshcreds_sim::{SimConfig, Simulator};

const SCALE: f64 = 600.0;

struct Fixture {
    sim: Simulator,
    _runtime: tokio::runtime::Runtime,
}

fn simulator() -> Fixture {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let config = SimConfig {
        time_scale: SCALE,
        lifetime: Duration::from_secs(3600),
        rotate_before: Duration::from_secs(1200),
        ..SimConfig::default()
    };
    let sim = runtime.block_on(Simulator::start(config)).expect("simulator");
    Fixture { sim, _runtime: runtime }
}

fn agent_for(sim: &Simulator) -> Agent {
    let origin = sim.clock_origin().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_millis().to_string();
    let options =
        AgentOptions::from_pairs(&[("endpoint", sim.base_url()), ("clock.originEpochMillis", origin), ("clock.scale", SCALE.to_string())])
            .expect("valid options");
    Agent::from_options_with_env(&options, Env::empty()).expect("agent")
}

#[test]
fn imds_down_at_first_load_is_a_clear_error() {
    let options = AgentOptions::from_pairs(&[("endpoint", "http://127.0.0.1:9"), ("maxAttempts", "2"), ("attemptTimeoutMillis", "200")])
        .expect("valid");
    let agent = Agent::from_options_with_env(&options, Env::empty()).expect("agent builds without contacting IMDS");
    let error = agent.get_blocking().expect_err("nothing listens on port 9");
    assert_eq!(error.kind(), ErrorKind::CredentialsUnavailable);
    let message = error.to_string();
    assert!(message.contains("could not reach the instance metadata service at http://127.0.0.1:9 after 2 attempt(s)"), "{message}");
    assert!(message.contains("NO_PROXY"), "{message}");
}

#[test]
fn the_refresher_follows_rotations_before_anyone_asks() {
    let fx = simulator();
    let agent = agent_for(&fx.sim);
    let first = agent.get_blocking().expect("first load");
    assert_eq!(first.generation, 1);
    let mut seen = vec![first.credentials.access_key_id().to_string()];
    let mut generation = first.generation;
    for _ in 0..2 {
        let next = agent.await_snapshot(generation, Duration::from_secs(15)).expect("open").expect("a rotation within 15 s");
        assert!(next.generation > generation);
        generation = next.generation;
        let key = next.credentials.access_key_id().to_string();
        assert!(!seen.contains(&key), "a new key each rotation");
        seen.push(key);
        // The new credentials are good for most of their life: the refresh came early.
        let left = next.credentials.expiration().and_then(|e| e.duration_since(fx.sim.sim_now()).ok()).unwrap_or_default();
        assert!(left > Duration::from_secs(20 * 60), "refreshed with {left:?} left");
    }
    let stats = fx.sim.stats();
    for (generation, gets) in &stats.credential_gets_by_generation {
        assert_eq!(*gets, 1, "exactly one fetch of generation {generation}: {stats:?}");
    }
    assert_eq!(stats.token_puts, 1, "one IMDS token for all refreshes: {stats:?}");
}

#[test]
fn a_snapshot_is_valid_until_the_mandatory_window() {
    let fx = simulator();
    let agent = agent_for(&fx.sim);
    let snapshot = agent.get_blocking().expect("load");
    let expiry = snapshot.credentials.expiration().expect("expiring");
    let until_mandatory = expiry.duration_since(fx.sim.sim_now()).expect("future") - Duration::from_secs(60);
    let expected = until_mandatory.div_f64(SCALE);
    let diff = snapshot.valid_for.abs_diff(expected);
    assert!(diff < Duration::from_millis(200), "valid for {:?}, expected about {expected:?}", snapshot.valid_for);
}

#[test]
fn invalidation_brings_new_credentials_at_once() {
    let fx = simulator();
    let agent = agent_for(&fx.sim);
    let first = agent.get_blocking().expect("load");
    fx.sim.rotate_now();
    let started = Instant::now();
    assert!(agent.invalidate(first.credentials.access_key_id()).expect("open"));
    let next = agent.await_snapshot(first.generation, Duration::from_secs(5)).expect("open").expect("refreshed");
    assert_ne!(next.credentials.access_key_id(), first.credentials.access_key_id());
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert!(!agent.invalidate("ASIANOTTHECURRENTKEY").expect("open"), "a stale key id changes nothing");
}

#[test]
fn closing_wakes_waiters_and_refuses_further_calls() {
    let fx = simulator();
    let agent = Arc::new(agent_for(&fx.sim));
    let snapshot = agent.get_blocking().expect("load");
    let waiter = {
        let agent = agent.clone();
        std::thread::spawn(move || agent.await_snapshot(snapshot.generation, Duration::from_secs(30)))
    };
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    agent.close();
    let woke = waiter.join().expect("no panic");
    assert!(matches!(woke, Err(CredentialsError::Closed)), "{woke:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(matches!(agent.get_blocking(), Err(CredentialsError::Closed)));
    assert!(matches!(agent.invalidate("x"), Err(CredentialsError::Closed)));
    agent.close(); // idempotent
}
