//! The sources freshcreds takes from aws-config, over real HTTP against the simulator: web
//! identity (AssumeRoleWithWebIdentity), a role_arn profile (AssumeRole signed with a static
//! source profile), credential_process, container credentials (ECS token, EKS token file), and
//! their failures.
//!
//! aws-config's STS client reads its endpoint from the process environment, so this test binary
//! sets `AWS_ENDPOINT_URL_STS` to the simulator (one test function: nothing runs in parallel).

use std::path::PathBuf;

use freshcreds_core::config::AgentOptions;
use freshcreds_core::env::Env;
use freshcreds_core::sources::chain::SourceKind;
use freshcreds_core::{Agent, ErrorKind};
use freshcreds_sim::{SimConfig, Simulator};

fn env_of(pairs: Vec<(&str, String)>) -> Env {
    let map: std::collections::HashMap<String, String> = pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    Env::from_fn(move |k| map.get(k).cloned())
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("freshcreds-awscfg-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

fn no_imds() -> AgentOptions {
    AgentOptions::from_pairs(&[("imdsDisabled", "true")]).expect("options")
}

#[test]
fn web_identity_role_arn_profiles_and_credential_process_through_the_simulator() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let sim = runtime.block_on(Simulator::start(SimConfig::default())).expect("simulator");
    // aws-config's STS client takes its endpoint from the process environment.
    std::env::set_var("AWS_ENDPOINT_URL_STS", sim.base_url());
    std::env::set_var("AWS_REGION", "us-east-1");
    for var in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"] {
        std::env::remove_var(var);
    }
    let region = ("AWS_REGION", "us-east-1".to_string());

    // Web identity.
    let dir = scratch("wi");
    let token_file = dir.join("token");
    std::fs::write(&token_file, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXBwIn0.").expect("token");
    let env = env_of(vec![
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.display().to_string()),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa-app".to_string()),
        ("AWS_ROLE_SESSION_NAME", "pod-1".to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/c".to_string()),
        ("AWS_CONFIG_FILE", "/nonexistent/f".to_string()),
        region.clone(),
    ]);
    let agent = Agent::from_options_with_env(&no_imds(), env).expect("agent");
    assert_eq!(agent.source(), SourceKind::WebIdentity);
    let creds = agent.get_blocking().expect("web identity credentials").credentials;
    assert!(creds.access_key_id().starts_with("ASIA"), "{creds:?}");
    assert!(creds.expiration().is_some());
    assert_eq!(sim.stats().sts_assume_role_with_web_identity, 1);

    // A missing token file: a clear error naming the variable, and the chain moves on.
    let env = env_of(vec![
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token".to_string()),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa-app".to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/c".to_string()),
        ("AWS_CONFIG_FILE", "/nonexistent/f".to_string()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", sim.base_url()),
    ]);
    let agent = Agent::from_options_with_env(&AgentOptions::default(), env).expect("moves on to IMDS");
    assert_eq!(agent.source(), SourceKind::Imds);

    // role_arn + source_profile with the simulator's static keys: AssumeRole signed with them.
    let dir = scratch("role");
    std::fs::write(
        dir.join("credentials"),
        "[base]\naws_access_key_id = AKIASIMSTATIC0000001\naws_secret_access_key = simStaticSecretKey0000000000000000000001\n",
    )
    .expect("credentials");
    std::fs::write(
        dir.join("config"),
        "[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = base\nregion = us-east-1\n",
    )
    .expect("config");
    let profile_env = |profile: &str| {
        env_of(vec![
            ("AWS_PROFILE", profile.to_string()),
            ("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials").display().to_string()),
            ("AWS_CONFIG_FILE", dir.join("config").display().to_string()),
            region.clone(),
        ])
    };
    let agent = Agent::from_options_with_env(&no_imds(), profile_env("app")).expect("agent");
    assert_eq!(agent.source(), SourceKind::Profile);
    let creds = agent.get_blocking().expect("assumed role credentials").credentials;
    assert!(creds.access_key_id().starts_with("ASIA"));
    assert!(creds.session_token().is_some() && creds.expiration().is_some());
    assert_eq!(sim.stats().sts_assume_role, 1);

    // credential_process: good output, a failing command, and garbage.
    let mut config = std::fs::read_to_string(dir.join("config")).expect("read");
    config.push_str(
        "[profile proc]\ncredential_process = printf '{\"Version\":1,\"AccessKeyId\":\"AKIAPROCESS000000001\",\"SecretAccessKey\":\"s\",\"SessionToken\":\"t\",\"Expiration\":\"2099-01-01T00:00:00Z\"}'\n\
         [profile fails]\ncredential_process = sh -c 'echo broken >&2; exit 3'\n\
         [profile garbage]\ncredential_process = echo this-is-not-json\n",
    );
    std::fs::write(dir.join("config"), config).expect("config");
    let agent = Agent::from_options_with_env(&no_imds(), profile_env("proc")).expect("agent");
    assert_eq!(agent.get_blocking().expect("process credentials").credentials.access_key_id(), "AKIAPROCESS000000001");
    container_credentials(&sim);
    sso_profile(&sim);

    // freshcreds' own words for process failures: the exit code, never the stderr ("broken").
    for (profile, expected) in [("fails", "exited with code 3"), ("garbage", "not credential_process JSON")] {
        let agent = Agent::from_options_with_env(&no_imds(), profile_env(profile)).expect("agent");
        let error = agent.get_blocking().expect_err(profile);
        assert!(error.to_string().contains(expected) && error.to_string().contains("profile"), "{profile}: {error}");
        assert!(!error.to_string().contains("broken"), "{profile}: {error}");
        assert!(matches!(error.kind(), ErrorKind::CredentialsUnavailable | ErrorKind::InvalidConfiguration), "{profile}: {error:?}");
    }
}

/// aws-config's container provider reads the process environment; the chain reads the same values.
fn container_credentials(sim: &Simulator) {
    let uri = format!("{}/container/credentials", sim.base_url());
    let set = |pairs: &[(&str, &str)]| {
        for var in ["AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] {
            std::env::remove_var(var);
        }
        let mut env =
            vec![("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/c".to_string()), ("AWS_CONFIG_FILE", "/nonexistent/f".to_string())];
        for (k, v) in pairs {
            std::env::set_var(k, v);
            env.push((k, v.to_string()));
        }
        env_of(env)
    };

    // ECS: the token in a variable.
    let env = set(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri), ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "sim-container-token")]);
    let agent = Agent::from_options_with_env(&no_imds(), env).expect("agent");
    assert_eq!(agent.source(), SourceKind::Container);
    let creds = agent.get_blocking().expect("container credentials").credentials;
    assert_eq!(creds.access_key_id(), sim.current_container_credentials().access_key_id);
    assert!(creds.expiration().is_some());

    // EKS Pod Identity: the token in a file, read on every fetch.
    let token_file = scratch("eks").join("token");
    std::fs::write(&token_file, "sim-container-token").expect("token file");
    let path = token_file.display().to_string();
    let env = set(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri), ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &path)]);
    let agent = Agent::from_options_with_env(&no_imds(), env).expect("agent");
    assert_eq!(
        agent.get_blocking().expect("token from the file").credentials.access_key_id(),
        sim.current_container_credentials().access_key_id
    );

    // A wrong token: a clear error, no crash.
    let env = set(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri), ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong")]);
    let agent = Agent::from_options_with_env(&no_imds(), env).expect("agent");
    let error = agent.get_blocking().expect_err("wrong token");
    assert!(error.to_string().contains("container"), "{error}");

    // An endpoint the SDKs refuse: skipped with the variable named, the chain moves on.
    let env = set(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.10/creds")]);
    let options = AgentOptions::from_pairs(&[("endpoint", sim.base_url().as_str())]).expect("options");
    let agent = Agent::from_options_with_env(&options, env).expect("moves on");
    assert_eq!(agent.source(), SourceKind::Imds);
    set(&[]);
}

/// An IAM Identity Center profile: aws-config reads the cached portal token under
/// `$HOME/.aws/sso/cache` and calls GetRoleCredentials, here on the simulator.
fn sso_profile(sim: &Simulator) {
    let home = scratch("sso-home");
    let start_url = "https://freshcreds-test.awsapps.example/start";
    let hash = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("printf %s '{start_url}' | sha1sum | cut -d' ' -f1"))
        .output()
        .expect("sha1sum");
    let hash = String::from_utf8_lossy(&hash.stdout).trim().to_string();
    let cache = home.join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).expect("mkdir");
    std::fs::write(
        cache.join(format!("{hash}.json")),
        format!("{{\"accessToken\":\"sim-sso-token\",\"expiresAt\":\"2099-01-01T00:00:00Z\",\"region\":\"us-east-1\",\"startUrl\":\"{start_url}\"}}"),
    )
    .expect("token cache");
    let config = home.join("config");
    std::fs::write(
        &config,
        format!("[profile sso]\nsso_start_url = {start_url}\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = SimSsoRole\n"),
    )
    .expect("config");
    std::env::set_var("HOME", &home);
    std::env::set_var("AWS_ENDPOINT_URL_SSO", sim.base_url());
    let env = env_of(vec![
        ("AWS_PROFILE", "sso".to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/c".to_string()),
        ("AWS_CONFIG_FILE", config.display().to_string()),
        ("HOME", home.display().to_string()),
    ]);
    let agent = Agent::from_options_with_env(&no_imds(), env).expect("agent");
    assert_eq!(agent.source(), SourceKind::Profile);
    let creds = agent.get_blocking().expect("SSO role credentials").credentials;
    assert!(creds.expiration().is_some() && creds.session_token().is_some());
    assert_eq!(sim.stats().sso_gets, 1);
}
