//! The default chain through a whole agent: which source wins, what it shadows (including an
//! instance role found over real HTTP on the simulator), and files followed when they change.

use std::time::{Duration, Instant};

use freshcreds_core::config::AgentOptions;
use freshcreds_core::env::Env;
use freshcreds_core::sources::chain::SourceKind;
use freshcreds_core::Agent;
use freshcreds_sim::{SimConfig, Simulator};

fn simulator() -> (Simulator, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let sim = runtime.block_on(Simulator::start(SimConfig::default())).expect("simulator");
    (sim, runtime)
}

fn env_of(pairs: Vec<(String, String)>) -> Env {
    let map: std::collections::HashMap<String, String> = pairs.into_iter().collect();
    Env::from_fn(move |k| map.get(k).cloned())
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn environment_keys_win_and_the_instance_role_they_shadow_is_reported() {
    let (sim, _rt) = simulator();
    let env = env_of(vec![
        ("AWS_ACCESS_KEY_ID".into(), "AKIAENVIRONMENT00001".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "env-secret".into()),
        ("AWS_SESSION_TOKEN".into(), "env-token".into()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT".into(), sim.base_url()),
        ("AWS_SHARED_CREDENTIALS_FILE".into(), "/nonexistent/credentials".into()),
        ("AWS_CONFIG_FILE".into(), "/nonexistent/config".into()),
    ]);
    let agent = Agent::from_options_with_env(&AgentOptions::default(), env).expect("agent");
    assert_eq!(agent.source(), SourceKind::Environment);
    let snapshot = agent.get_blocking().expect("credentials");
    assert_eq!(snapshot.credentials.access_key_id(), "AKIAENVIRONMENT00001");
    wait_for("the IMDS shadow check", || agent.shadowed().contains(&SourceKind::Imds));
    assert!(agent.stats_json().contains("\"shadowed\":[\"imds\"]"), "{}", agent.stats_json());
    assert_eq!(sim.stats().credential_gets, 0, "the shadow check lists roles, it does not fetch credentials");
}

#[test]
fn profile_keys_are_followed_when_the_file_changes() {
    let dir = std::env::temp_dir().join(format!("freshcreds-chain-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let credentials = dir.join("credentials");
    std::fs::write(
        &credentials,
        "[default]\naws_access_key_id = AKIAFILEFIRST0000001\naws_secret_access_key = s1\naws_session_token = t1\n",
    )
    .expect("write");
    std::fs::write(dir.join("config"), "").expect("write");
    let env = env_of(vec![
        ("AWS_SHARED_CREDENTIALS_FILE".into(), credentials.display().to_string()),
        ("AWS_CONFIG_FILE".into(), dir.join("config").display().to_string()),
    ]);
    let options = AgentOptions::from_pairs(&[("imdsDisabled", "true")]).expect("options");
    let agent = Agent::from_options_with_env(&options, env).expect("agent");
    assert_eq!(agent.source(), SourceKind::Profile);
    let first = agent.get_blocking().expect("credentials");
    assert_eq!(first.credentials.access_key_id(), "AKIAFILEFIRST0000001");
    // An external tool rewrites the file (mtime granularity can be a second: make it differ).
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(
        &credentials,
        "[default]\naws_access_key_id = AKIAFILESECOND000002\naws_secret_access_key = s2\naws_session_token = t2\n",
    )
    .expect("rewrite");
    let next = agent.await_snapshot(first.generation, Duration::from_secs(10)).expect("open").expect("the change was followed");
    assert_eq!(next.credentials.access_key_id(), "AKIAFILESECOND000002");

    // AWS rejects the keys (the SDK hooks report ExpiredToken): the file is read again at once,
    // without waiting for the periodic check.
    std::fs::write(
        &credentials,
        "[default]\naws_access_key_id = AKIAFILETHIRD0000003\naws_secret_access_key = s3\naws_session_token = t3\n",
    )
    .expect("rewrite");
    let started = Instant::now();
    assert!(agent.invalidate("AKIAFILESECOND000002").expect("open"));
    let third = agent.await_snapshot(next.generation, Duration::from_secs(3)).expect("open").expect("re-read after the rejection");
    assert_eq!(third.credentials.access_key_id(), "AKIAFILETHIRD0000003");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[test]
fn a_pinned_source_ignores_the_rest_of_the_chain() {
    let (sim, _rt) = simulator();
    let env = env_of(vec![("AWS_ACCESS_KEY_ID".into(), "AKIAENV".into()), ("AWS_SECRET_ACCESS_KEY".into(), "s".into())]);
    let options = AgentOptions::from_pairs(&[("source", "imds"), ("endpoint", sim.base_url().as_str())]).expect("options");
    let agent = Agent::from_options_with_env(&options, env).expect("agent");
    assert_eq!(agent.source(), SourceKind::Imds);
    assert_eq!(agent.get_blocking().expect("credentials").credentials.access_key_id(), sim.current_credentials().access_key_id);
    assert!(agent.shadowed().is_empty());
    let e = AgentOptions::from_pairs(&[("source", "imds,nowhere")]).expect_err("unknown source");
    assert!(e.to_string().contains("unknown credential source 'nowhere'"), "{e}");
}

/// A credentials file over the 1 MiB cap is refused with its name and the cap, and the chain
/// moves on (here to nothing: IMDS is disabled); the same keys in a normal file work.
#[test]
fn an_oversized_credentials_file_is_refused_and_a_normal_one_works() {
    let dir = std::env::temp_dir().join(format!("freshcreds-chain-oversize-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let credentials = dir.join("credentials");
    let keys = "[default]\naws_access_key_id = AKIAOVERSIZE00000001\naws_secret_access_key = s\n";
    let mut big = keys.to_string();
    big.push_str(&"# not a credentials file\n".repeat(50_000));
    std::fs::write(&credentials, &big).expect("write");
    let env = env_of(vec![
        ("AWS_SHARED_CREDENTIALS_FILE".into(), credentials.display().to_string()),
        ("AWS_CONFIG_FILE".into(), dir.join("config").display().to_string()),
    ]);
    let options = AgentOptions::from_pairs(&[("imdsDisabled", "true")]).expect("options");
    let e = Agent::from_options_with_env(&options, env.clone()).expect_err("refused");
    let text = e.to_string();
    assert!(text.contains(&credentials.display().to_string()) && text.contains("larger than 1024 KiB"), "{text}");
    std::fs::write(&credentials, keys).expect("write");
    let agent = Agent::from_options_with_env(&options, env).expect("a normal file");
    assert_eq!(agent.get_blocking().expect("credentials").credentials.access_key_id(), "AKIAOVERSIZE00000001");
}

/// The SDK settings through a whole agent: `aws.disableEc2Metadata` (as the Java library passes
/// it) turns IMDS off although the environment points at the simulator, so nothing is configured;
/// the builder's `imdsDisabled=false` wins over it; the profile that `aws.profile` selects in the
/// file that `configFile` names gives the endpoint, which `aws.ec2MetadataServiceEndpoint` beats.
#[test]
fn sdk_settings_from_system_properties_options_and_profile_reach_the_agent() {
    let (sim, _rt) = simulator();
    let dir = std::env::temp_dir().join(format!("freshcreds-chain-settings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let config = dir.join("config");
    std::fs::write(&config, format!("[profile app]\nec2_metadata_service_endpoint = {}\n", sim.base_url())).expect("write");
    let env = || {
        env_of(vec![
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT".into(), sim.base_url()),
            ("AWS_SHARED_CREDENTIALS_FILE".into(), "/nonexistent/credentials".into()),
            ("AWS_CONFIG_FILE".into(), "/nonexistent/config".into()),
        ])
    };
    let disabled = AgentOptions::from_pairs(&[("systemProperties.disableEc2Metadata", "true")]).expect("valid");
    let error = Agent::from_options_with_env(&disabled, env()).expect_err("IMDS is off and nothing else is configured");
    assert!(error.to_string().contains("no credential source is configured"), "{error}");
    let enabled = AgentOptions::from_pairs(&[("systemProperties.disableEc2Metadata", "true"), ("imdsDisabled", "false")]).expect("valid");
    let agent = Agent::from_options_with_env(&enabled, env()).expect("the option wins");
    assert_eq!(agent.source(), SourceKind::Imds);
    assert_eq!(agent.get_blocking().expect("credentials").credentials.access_key_id(), sim.current_credentials().access_key_id);
    agent.close();
    assert_eq!(sim.stats().credential_gets, 1, "only the agent with IMDS on asked it");

    // The endpoint from the selected profile (the variable points at a closed port).
    let closed =
        || env_of(vec![("AWS_SHARED_CREDENTIALS_FILE".into(), "/nonexistent/credentials".into()), ("HOME".into(), "/nonexistent".into())]);
    let profile =
        AgentOptions::from_pairs(&[("systemProperties.profile", "app"), ("configFile", &config.display().to_string())]).expect("valid");
    let agent = Agent::from_options_with_env(&profile, closed()).expect("agent");
    assert_eq!(agent.get_blocking().expect("credentials from the profile's endpoint").credentials.source(), "imds");
    agent.close();
    let property_wins = AgentOptions::from_pairs(&[
        ("systemProperties.profile", "app"),
        ("configFile", &config.display().to_string()),
        ("systemProperties.ec2MetadataServiceEndpoint", "http://127.0.0.1:9"),
        ("maxAttempts", "1"),
        ("attemptTimeoutMillis", "300"),
    ])
    .expect("valid");
    let agent = Agent::from_options_with_env(&property_wins, closed()).expect("agent");
    let error = agent.get_blocking().expect_err("the property's closed port wins over the profile");
    assert!(error.to_string().contains("http://127.0.0.1:9"), "{error}");
    assert_eq!(sim.stats().credential_gets, 2);
}
