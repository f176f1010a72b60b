//! The IMDSv2 client and the instance-role source over real HTTP on 127.0.0.1, against the
//! in-process simulator.

use std::sync::Arc;
use std::time::Duration;

use freshcreds_core::cache::{CacheConfig, CredentialsCache, ProvideCredentials};
use freshcreds_core::clock::{Clock, CompressedClock, SystemClock};
use freshcreds_core::env::{self, Env};
use freshcreds_core::imds::{ImdsClient, ImdsCredentialsProvider};
use freshcreds_core::CredentialsError;
use freshcreds_sim::{SimConfig, Simulator};

async fn sim(config: SimConfig) -> Simulator {
    Simulator::start(config).await.expect("simulator starts on 127.0.0.1")
}

fn provider(
    endpoint: &str,
    clock: Arc<dyn Clock>,
    configure: impl FnOnce(freshcreds_core::imds::ImdsClientBuilder) -> freshcreds_core::imds::ImdsClientBuilder,
) -> ImdsCredentialsProvider {
    let builder = configure(ImdsClient::builder().env(Env::empty()).endpoint(endpoint));
    let client = Arc::new(builder.build(clock).expect("valid client"));
    ImdsCredentialsProvider::builder().build(client).expect("valid provider")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_serves_many_requests_and_the_role_is_discovered_once() {
    let sim = sim(SimConfig::default()).await;
    let provider = provider(&sim.base_url(), Arc::new(SystemClock), |b| b);
    for _ in 0..3 {
        let creds = provider.provide_credentials().await.expect("credentials");
        assert_eq!(creds.access_key_id(), sim.current_credentials().access_key_id);
    }
    let stats = sim.stats();
    assert_eq!(stats.token_puts, 1, "the token is reused: {stats:?}");
    assert_eq!(stats.role_list_gets, 1, "the role is remembered: {stats:?}");
    assert_eq!(stats.credential_gets, 3);
    assert_eq!(provider.client().stats().token_requests, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_renewed_before_its_ttl_runs_out() {
    // 100x compressed time: a 10-second token lives 100 ms of real time.
    let sim = sim(SimConfig { time_scale: 100.0, ..SimConfig::default() }).await;
    let clock: Arc<dyn Clock> = Arc::new(CompressedClock::new(sim.clock_origin(), 100.0).expect("scale"));
    let provider = provider(&sim.base_url(), clock, |b| b.token_ttl(Duration::from_secs(10)));
    provider.provide_credentials().await.expect("first");
    provider.provide_credentials().await.expect("second, same token");
    assert_eq!(sim.stats().token_puts, 1);
    tokio::time::sleep(Duration::from_millis(120)).await;
    provider.provide_credentials().await.expect("after the TTL");
    let stats = sim.stats();
    assert_eq!(stats.token_puts, 2, "renewed once the TTL neared its end: {stats:?}");
    // One role listing and three credential reads, none refused for an expired token.
    assert_eq!(stats.imds_gets, 4, "renewed before IMDS refused it: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_throttling_are_retried_within_the_attempt_budget() {
    for status in [500u16, 503, 429] {
        let sim = sim(SimConfig::default()).await;
        sim.faults().set_imds_status_override(Some(status));
        let provider = provider(&sim.base_url(), Arc::new(SystemClock), |b| b.max_attempts(3));
        let error = provider.provide_credentials().await.expect_err("IMDS fails");
        match &error {
            CredentialsError::ImdsHttpStatus { status: s, attempts: 3, .. } if *s == status => {}
            other => panic!("HTTP {status}: unexpected {other:?}"),
        }
        assert!(error.is_recoverable());
        assert_eq!(sim.stats().token_puts, 3, "three attempts at the token for HTTP {status}");
        assert_eq!(provider.client().stats().retries, 2);
        // And once IMDS recovers, the same provider works.
        sim.faults().set_imds_status_override(None);
        provider.provide_credentials().await.expect("recovered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_is_unreachable_with_a_message_that_says_what_to_do() {
    let provider = provider("http://127.0.0.1:9", Arc::new(SystemClock), |b| b.max_attempts(2).attempt_timeout(Duration::from_millis(300)));
    let error = provider.provide_credentials().await.expect_err("nothing listens on port 9");
    let message = error.to_string();
    assert!(matches!(error, CredentialsError::ImdsUnreachable { attempts: 2, .. }), "{error:?}");
    assert!(message.contains("http://127.0.0.1:9"), "{message}");
    assert!(message.contains(env::AWS_METADATA_SERVICE_NUM_ATTEMPTS), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_bodies_are_typed_errors_over_http() {
    let sim = sim(SimConfig::default()).await;
    let provider = provider(&sim.base_url(), Arc::new(SystemClock), |b| b.max_attempts(1));
    let secret = sim.current_credentials().secret_access_key;
    let good = serde_json::json!({
        "Code": "Success", "LastUpdated": "2026-11-30T01:00:00Z", "Type": "AWS-HMAC",
        "AccessKeyId": "ASIAEXAMPLE000000001", "SecretAccessKey": secret, "Token": "tok", "Expiration": "2026-11-30T07:00:00Z"
    })
    .to_string();
    let huge = format!("{{\"Code\":\"Success\",\"Pad\":\"{}\"}}", "x".repeat(70 * 1024));
    let cases = [
        ("<html>proxy error</html>".to_string(), "not JSON"),
        (good[..good.len() / 2].to_string(), "not JSON"),
        (good.replace("Success", "Failure"), "Code is 'Failure'"),
        (good.replace("\"Token\":\"tok\",", ""), "Token is missing"),
        (good.replace("2026-11-30T07:00:00Z", "soon"), "Expiration 'soon'"),
        (huge, "larger than 64 KiB"),
    ];
    for (body, expected) in cases {
        sim.faults().set_credentials_body_override(Some(body));
        let error = provider.provide_credentials().await.expect_err(expected);
        let message = error.to_string();
        assert!(matches!(error, CredentialsError::InvalidResponse { .. }), "{expected}: {error:?}");
        assert!(message.contains(expected), "{expected}: {message}");
        assert!(!message.contains(&secret), "the message must not carry the body: {message}");
        assert!(error.is_recoverable());
    }
}

/// The instance-role document without `Code` is accepted (the SDKs accept it; the container
/// document never has one); a `Code` other than `Success` is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_without_code_is_accepted_and_one_with_code_not_success_is_refused() {
    let sim = sim(SimConfig::default()).await;
    let provider = provider(&sim.base_url(), Arc::new(SystemClock), |b| b.max_attempts(1));
    let document = |code: Option<&str>| {
        let mut doc = serde_json::json!({
            "LastUpdated": "2026-11-30T01:00:00Z", "Type": "AWS-HMAC", "AccessKeyId": "ASIANOCODE0000000001",
            "SecretAccessKey": "secret", "Token": "tok", "Expiration": "2999-11-30T07:00:00Z"
        });
        if let Some(code) = code {
            doc["Code"] = serde_json::Value::from(code);
        }
        doc.to_string()
    };
    sim.faults().set_credentials_body_override(Some(document(None)));
    let creds = provider.provide_credentials().await.expect("no Code is accepted");
    assert_eq!(creds.access_key_id(), "ASIANOCODE0000000001");
    sim.faults().set_credentials_body_override(Some(document(Some("Success"))));
    provider.provide_credentials().await.expect("Code Success is accepted");
    for code in ["Failure", "InvalidRole"] {
        sim.faults().set_credentials_body_override(Some(document(Some(code))));
        let error = provider.provide_credentials().await.expect_err(code);
        assert!(matches!(error, CredentialsError::InvalidResponse { .. }), "{code}: {error:?}");
        assert!(error.to_string().contains(&format!("Code is '{code}'")), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_fetch() {
    let sim = sim(SimConfig::default()).await;
    let source = Arc::new(provider(&sim.base_url(), Arc::new(SystemClock), |b| b));
    let cache = Arc::new(CredentialsCache::new(source, Arc::new(SystemClock), CacheConfig::default()));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get().await.result.map(|c| c.access_key_id().to_string()) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("joined").expect("credentials"), sim.current_credentials().access_key_id);
    }
    let stats = sim.stats();
    assert_eq!(stats.credential_gets, 1, "64 callers, one fetch: {stats:?}");
    assert_eq!(stats.token_puts, 1);
}
