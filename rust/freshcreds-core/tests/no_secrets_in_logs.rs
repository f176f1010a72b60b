//! Fails if any secret access key, session token or IMDS token reaches the logs, at TRACE level,
//! through loads, refreshes, invalidation, failed refreshes and bad bodies.

use std::time::Duration;

use freshcreds_core::config::AgentOptions;
use freshcreds_core::env::Env;
use freshcreds_core::Agent;
use freshcreds_sim::{SimConfig, Simulator};

#[path = "support/log_capture.rs"]
mod log_capture;
use log_capture::Captured;

#[test]
fn no_secret_ever_reaches_the_logs() {
    let captured = Captured::install_at_trace();

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let sim = runtime.block_on(Simulator::start(SimConfig::default())).expect("simulator");
    let options = AgentOptions::from_pairs(&[("endpoint", sim.base_url().as_str()), ("maxAttempts", "1")]).expect("options");
    let agent = Agent::from_options_with_env(&options, Env::empty()).expect("agent");

    let mut secrets = Vec::new();
    let first = agent.get_blocking().expect("load");
    secrets.push(first.credentials.secret_access_key().to_string());
    secrets.push(first.credentials.session_token().unwrap_or_default().to_string());

    // A rotation, picked up through invalidation.
    sim.rotate_now();
    agent.invalidate(first.credentials.access_key_id()).expect("open");
    let second = agent.await_snapshot(first.generation, Duration::from_secs(5)).expect("open").expect("refreshed");
    secrets.push(second.credentials.secret_access_key().to_string());
    secrets.push(second.credentials.session_token().unwrap_or_default().to_string());

    // A refresh that fails on a body holding a secret, then on HTTP 500.
    let current = sim.current_credentials();
    sim.faults()
        .set_credentials_body_override(Some(format!("{{\"Code\":\"Success\",\"SecretAccessKey\":\"{}\"", current.secret_access_key)));
    let _ = agent.refresh_blocking();
    sim.faults().set_credentials_body_override(None);
    sim.faults().set_imds_status_override(Some(500));
    let _ = agent.refresh_blocking();
    let _ = agent.stats_json();
    agent.close();
    secrets.push(current.secret_access_key.clone());
    secrets.push(current.session_token.clone());

    let logs = captured.text();
    assert!(logs.contains("loaded new credentials"), "the test must actually capture the agent's logs:\n{logs}");
    let ours: Vec<&str> = logs.lines().filter(|l| l.contains("freshcreds_core")).collect();
    assert!(!ours.iter().any(|l| l.contains("Some(")), "durations in freshcreds' logs are plain, not Debug output:\n{logs}");
    assert!(logs.contains("refresh failed") || logs.contains("credentials source failed"), "failures were logged:\n{logs}");
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        assert!(!logs.contains(secret.as_str()), "a secret reached the logs:\n{logs}");
    }
    assert!(!logs.contains(&first.credentials.access_key_id().to_string()), "full access key ids are abbreviated in logs");
    assert!(!agent.stats_json().contains(&secrets[0]));
}
