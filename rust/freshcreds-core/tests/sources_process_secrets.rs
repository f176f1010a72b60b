//! What aws-config's sources must not let out, captured at TRACE like `no_secrets_in_logs.rs`:
//! - a failing `credential_process` that prints a secret on stderr: the error (Display, Debug),
//!   the stats' lastError and the logs carry its exit code, never its stderr;
//! - a web identity exchange with the simulator's STS: neither the web identity token nor the
//!   credentials STS answers reach the logs (aws-smithy logs requests and responses at TRACE, with
//!   the bodies redacted: this guards that it stays so under the log guard freshcreds puts around
//!   aws-config's fetches).
//!
//! One test function: it installs the global subscriber and sets `AWS_ENDPOINT_URL_STS` (aws-config
//! reads it from the process environment) to the simulator on 127.0.0.1.

use std::path::PathBuf;

use freshcreds_core::config::AgentOptions;
use freshcreds_core::env::Env;
use freshcreds_core::Agent;
use freshcreds_sim::{SimConfig, Simulator};

#[path = "support/log_capture.rs"]
mod log_capture;
use log_capture::Captured;

fn env_of(pairs: Vec<(&str, String)>) -> Env {
    let map: std::collections::HashMap<String, String> = pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    Env::from_fn(move |k| map.get(k).cloned())
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("freshcreds-procsecrets-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

#[test]
fn process_stderr_and_sts_exchanges_never_reach_errors_stats_or_logs() {
    let captured = Captured::install_at_trace();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let sim = runtime.block_on(Simulator::start(SimConfig::default())).expect("simulator");
    std::env::set_var("AWS_ENDPOINT_URL_STS", sim.base_url());
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/config");
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials");
    let no_imds = AgentOptions::from_pairs(&[("imdsDisabled", "true")]).expect("options");

    // A credential_process that prints a secret on stderr and exits 1.
    let dir = scratch("process");
    std::fs::write(dir.join("config"), "[profile leaky]\ncredential_process = sh -c 'echo SECRETSECRET >&2; exit 1'\n").expect("config");
    let env = env_of(vec![
        ("AWS_PROFILE", "leaky".to_string()),
        ("AWS_CONFIG_FILE", dir.join("config").display().to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", dir.join("none").display().to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
    ]);
    let agent = Agent::from_options_with_env(&no_imds, env).expect("agent");
    let error = agent.get_blocking().expect_err("the process fails");
    let (shown, debug, stats) = (error.to_string(), format!("{error:?}"), agent.stats_json());
    assert!(shown.contains("exited with code 1") && shown.contains("profile 'leaky'"), "{shown}");
    assert!(debug.contains("exited with code 1"), "{debug}");
    for (what, text) in [("Display", &shown), ("Debug", &debug), ("stats", &stats)] {
        assert!(!text.contains("SECRETSECRET"), "the process's stderr reached the error's {what}: {text}");
    }
    assert!(stats.contains("exited with code 1"), "lastError holds the failure: {stats}");
    agent.close();

    // Web identity through the simulator's STS: the token goes out, credentials come back.
    let dir = scratch("wi");
    let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ3ZWItaWRlbnRpdHktdG9rZW4tc2VjcmV0In0.";
    std::fs::write(dir.join("token"), token).expect("token");
    let env = env_of(vec![
        ("AWS_WEB_IDENTITY_TOKEN_FILE", dir.join("token").display().to_string()),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa-app".to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/c".to_string()),
        ("AWS_CONFIG_FILE", "/nonexistent/f".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
    ]);
    let agent = Agent::from_options_with_env(&no_imds, env).expect("agent");
    let creds = agent.get_blocking().expect("web identity credentials").credentials;
    agent.close();
    assert_eq!(sim.stats().sts_assume_role_with_web_identity, 1);

    let logs = captured.text();
    assert!(logs.contains("exited with code 1"), "the test must capture the failure's log line:\n{logs}");
    assert!(logs.contains("loaded new credentials"), "the test must capture the agent's logs:\n{logs}");
    assert!(!logs.contains("SECRETSECRET"), "the process's stderr reached the logs:\n{logs}");
    let secrets = [creds.secret_access_key().to_string(), creds.session_token().unwrap_or_default().to_string(), token.to_string()];
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        assert!(!logs.contains(secret.as_str()), "a secret reached the logs ({} chars):\n{logs}", secret.len());
    }
}
