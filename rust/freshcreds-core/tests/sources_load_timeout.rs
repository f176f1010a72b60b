//! The load timeout: a fetch that never ends (a `credential_process` that sleeps, an STS endpoint
//! that accepts the connection and never answers) fails within about the load timeout with a
//! recoverable error that names the source, the timeout and the fix.
//!
//! Network: the only endpoint is a listener on 127.0.0.1 started here. aws-config's STS client
//! reads its endpoint from the process environment, so every test of this binary first points
//! `AWS_ENDPOINT_URL_STS` (and the shared files) there, through one `Once`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once, OnceLock};
use std::time::{Duration, Instant};

use freshcreds_core::env::Env;
use freshcreds_core::error::CredentialsError;
use freshcreds_core::sources::chain::{resolve, ChainInputs, SourceKind, SystemProperties};

const LOAD_TIMEOUT: Duration = Duration::from_millis(1500);
/// How much later than the load timeout a failure may come (scheduling on a shared machine).
const SLACK: Duration = Duration::from_millis(1500);

/// Connections the hung "STS" accepted (and holds, never answering).
static STS_CONNECTIONS: OnceLock<Arc<AtomicUsize>> = OnceLock::new();

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                seen.fetch_add(1, Ordering::SeqCst);
                held.push(stream); // accepted, never read from nor answered
            }
        });
        let _ = STS_CONNECTIONS.set(count);
        std::env::set_var("AWS_ENDPOINT_URL_STS", format!("http://127.0.0.1:{port}"));
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/config");
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials");
        for var in ["AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"] {
            std::env::remove_var(var);
        }
    });
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("freshcreds-loadtimeout-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

fn env_of(pairs: Vec<(&str, String)>) -> Env {
    let map: std::collections::HashMap<String, String> = pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    Env::from_fn(move |k| map.get(k).cloned())
}

/// Resolves `env` to `expected` and fetches once, with a guard far past the load timeout so a
/// missing deadline fails the test instead of hanging it. The error and how long it took.
fn fetch_once(env: &Env, expected: SourceKind) -> (CredentialsError, Duration) {
    let props = SystemProperties::default();
    let resolution = resolve(&ChainInputs { load_timeout: LOAD_TIMEOUT, ..ChainInputs::new(env, &props) }).expect("resolves");
    assert_eq!(resolution.winner, expected);
    let provider = resolution.provider;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let started = Instant::now();
    let result = runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(20), provider.provide_credentials()).await })
        .expect("the fetch ended within 20 s");
    let elapsed = started.elapsed();
    runtime.shutdown_background();
    (result.expect_err("no credentials from a source that never answers"), elapsed)
}

#[test]
fn a_credential_process_that_sleeps_fails_within_the_load_timeout() {
    setup();
    let dir = scratch("process");
    std::fs::write(dir.join("config"), "[profile slow]\ncredential_process = sleep 40\n").expect("config");
    let env = env_of(vec![
        ("AWS_PROFILE", "slow".to_string()),
        ("AWS_CONFIG_FILE", dir.join("config").display().to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", dir.join("none").display().to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
    ]);
    let (error, elapsed) = fetch_once(&env, SourceKind::Profile);
    assert!(elapsed < LOAD_TIMEOUT + SLACK, "took {elapsed:?}");
    assert!(elapsed >= LOAD_TIMEOUT - Duration::from_millis(50), "gave up before the load timeout: {elapsed:?}");
    assert!(matches!(error, CredentialsError::LoadTimedOut { source_name: "profile", .. }), "{error:?}");
    assert!(error.is_recoverable(), "an ordinary failed refresh: {error:?}");
    let text = error.to_string();
    for expected in ["profile credentials source", "1500ms", "credential_process", "loadTimeout"] {
        assert!(text.contains(expected), "'{expected}' missing from: {text}");
    }
}

#[test]
fn web_identity_against_an_sts_that_never_answers_fails_within_the_load_timeout() {
    setup();
    let dir = scratch("wi");
    let token = dir.join("token");
    std::fs::write(&token, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhcHAifQ.").expect("token");
    let env = env_of(vec![
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa-app".to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/c".to_string()),
        ("AWS_CONFIG_FILE", "/nonexistent/f".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
    ]);
    let before = STS_CONNECTIONS.get().map(|c| c.load(Ordering::SeqCst)).unwrap_or_default();
    let (error, elapsed) = fetch_once(&env, SourceKind::WebIdentity);
    let after = STS_CONNECTIONS.get().map(|c| c.load(Ordering::SeqCst)).unwrap_or_default();
    assert!(after > before, "the STS request went to the loopback listener");
    assert!(elapsed < LOAD_TIMEOUT + SLACK, "took {elapsed:?}");
    assert!(error.is_recoverable(), "an ordinary failed refresh: {error:?}");
    let text = error.to_string();
    // Either deadline may fire first: the load timeout, or the STS client's operation timeout
    // (set to the load timeout); both name the source.
    assert!(text.contains("webIdentity"), "{text}");
    if let CredentialsError::LoadTimedOut { .. } = error {
        assert!(text.contains("1500ms") && text.contains("STS") && text.contains("loadTimeout"), "{text}");
    }
}
