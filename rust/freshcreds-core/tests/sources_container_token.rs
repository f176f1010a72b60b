//! Container credentials with the authorization token as real deployments write it: a token file
//! that ends with a newline (EKS Pod Identity, or `echo token > file`), a variable with trailing
//! whitespace, and a token file rotated between fetches. Against the simulator on 127.0.0.1.
//!
//! The variables are set in the agent's `Env` and, for the same values, in the process
//! environment: aws-config's container provider (which freshcreds used before) read only the
//! latter, so this test fails on the token and not on a missing variable without the fix. One
//! test function: nothing else in this binary touches the environment.

use freshcreds_core::config::AgentOptions;
use freshcreds_core::env::Env;
use freshcreds_core::sources::chain::{resolve, ChainInputs, SourceKind, SystemProperties};
use freshcreds_core::Agent;
use freshcreds_sim::{SimConfig, Simulator};

const VARS: [&str; 3] =
    ["AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"];

fn set(pairs: &[(&str, &str)]) -> Env {
    for var in VARS {
        std::env::remove_var(var);
    }
    let mut map: std::collections::HashMap<String, String> = [
        ("AWS_SHARED_CREDENTIALS_FILE".to_string(), "/nonexistent/c".to_string()),
        ("AWS_CONFIG_FILE".to_string(), "/nonexistent/f".to_string()),
    ]
    .into();
    for (k, v) in pairs {
        std::env::set_var(k, v);
        map.insert(k.to_string(), v.to_string());
    }
    Env::from_fn(move |k| map.get(k).cloned())
}

#[test]
fn container_tokens_with_trailing_newlines_are_trimmed_and_token_files_are_reread() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let sim = runtime.block_on(Simulator::start(SimConfig::default())).expect("simulator");
    let uri = format!("{}/container/credentials", sim.base_url());
    let options = AgentOptions::from_pairs(&[("imdsDisabled", "true")]).expect("options");
    let dir = std::env::temp_dir().join(format!("freshcreds-container-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let token_file = dir.join("token");
    let path = token_file.display().to_string();

    // EKS Pod Identity: the token file ends with a newline.
    std::fs::write(&token_file, "sim-container-token\n").expect("token file");
    let env = set(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri), ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &path)]);
    let agent = Agent::from_options_with_env(&options, env.clone()).expect("agent");
    assert_eq!(agent.source(), SourceKind::Container);
    let creds = agent.get_blocking().expect("the token file's newline is trimmed").credentials;
    assert_eq!(creds.access_key_id(), sim.current_container_credentials().access_key_id);
    agent.close();

    // The file is read on every fetch: a wrong token is refused, the rotated right one works.
    let props = SystemProperties::default();
    let resolution = resolve(&ChainInputs::new(&env, &props)).expect("resolves");
    assert_eq!(resolution.winner, SourceKind::Container);
    let provider = resolution.provider;
    std::fs::write(&token_file, "wrong-token\r\n").expect("token file");
    let error = runtime.block_on(provider.provide_credentials()).expect_err("a wrong token");
    let text = error.to_string();
    assert!(text.contains("HTTP 403") && text.contains("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"), "{text}");
    assert!(!text.contains("wrong-token") && !format!("{error:?}").contains("wrong-token"), "the token is never shown: {text}");
    std::fs::write(&token_file, "  sim-container-token \n\n").expect("token file");
    assert!(runtime.block_on(provider.provide_credentials()).is_ok(), "the rotated token is read");

    // ECS: the token in a variable, with trailing whitespace.
    let env = set(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri), ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "sim-container-token\n")]);
    let agent = Agent::from_options_with_env(&options, env).expect("agent");
    assert_eq!(
        agent.get_blocking().expect("the variable is trimmed").credentials.access_key_id(),
        sim.current_container_credentials().access_key_id
    );
    agent.close();
    assert!(sim.stats().container_gets >= 3);
    set(&[]);
}
