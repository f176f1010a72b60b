use std::time::{Duration, SystemTime, UNIX_EPOCH};

use freshcreds_sim::{ClockInfo, FaultsConfig, SimConfig, Stats};

use crate::common::*;
use crate::{start, start_default};

#[tokio::test]
async fn stats_rotate_and_reset() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    fetch_creds(&c, &base).await;

    let r = send(c.get(format!("{base}/_sim/stats"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    for key in [
        "token_puts",
        "imds_gets",
        "role_list_gets",
        "credential_gets",
        "generation",
        "rotations",
        "credential_gets_by_generation",
        "sts_calls",
        "sts_ok",
        "sts_expired_token",
        "sts_signature_does_not_match",
        "sts_invalid_client_token_id",
        "sts_other_errors",
        "imds_requests_total",
        "imds_throttled",
        "imds_dropped",
        "token_put_hangs",
        "sts_revoked_rejections",
        "container_gets",
        "container_auth_failures",
        "container_generation",
        "container_rotations",
        "sts_assume_role",
        "sts_assume_role_with_web_identity",
        "sso_gets",
        "sso_unauthorized",
        "sqs_calls",
        "sqs_ok",
        "sqs_errors",
        "sqs_expired_token",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    assert_eq!(v.as_object().map(|o| o.len()), Some(30));
    let stats: Stats = serde_json::from_value(v).expect("Stats deserializes");
    assert_eq!(stats, sim.stats());
    assert_eq!((stats.token_puts, stats.imds_gets, stats.role_list_gets, stats.credential_gets), (1, 2, 1, 1));
    assert_eq!(stats.generation, 1);

    let r = send(c.post(format!("{base}/_sim/rotate"))).await;
    assert_eq!(r.status, 200);
    let stats: Stats = serde_json::from_str(&r.body).expect("stats");
    assert_eq!((stats.generation, stats.rotations), (2, 1));
    let (_, doc) = fetch_creds(&c, &base).await;
    assert_eq!(doc["AccessKeyId"].as_str(), Some(sim.current_credentials().access_key_id.as_str()));
    assert_eq!(sim.stats().credential_gets_by_generation.get(&2), Some(&1));

    let r = send(c.post(format!("{base}/_sim/reset-stats"))).await;
    assert_eq!(r.status, 200);
    let stats: Stats = serde_json::from_str(&r.body).expect("stats");
    assert_eq!(stats, Stats { generation: 2, container_generation: 1, ..Stats::default() });

    assert_eq!(send(c.get(format!("{base}/_sim/rotate"))).await.status, 405);
    assert_eq!(send(c.post(format!("{base}/_sim/stats"))).await.status, 405);
    assert_eq!(send(c.get(format!("{base}/_sim/nope"))).await.status, 404);
    // Nothing in the control API leaks secrets.
    let creds = sim.current_credentials();
    for path in ["/_sim/stats", "/_sim/clock", "/_sim/faults"] {
        let body = send(c.get(format!("{base}{path}"))).await.body;
        assert!(!body.contains(&creds.secret_access_key) && !body.contains(&creds.session_token));
    }
    assert!(!format!("{creds:?}").contains(&creds.secret_access_key));
}

#[tokio::test]
async fn clock_endpoint_reports_the_compressed_clock() {
    let sim = start(SimConfig { time_scale: 600.0, ..SimConfig::default() }).await;
    let (base, c) = (sim.base_url(), client());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let clock: ClockInfo = serde_json::from_str(&send(c.get(format!("{base}/_sim/clock"))).await.body).expect("clock JSON");
    assert_eq!(clock.time_scale, 600.0);
    let origin_ms = sim.clock_origin().duration_since(UNIX_EPOCH).expect("after epoch").as_millis() as i64;
    assert_eq!(clock.origin_epoch_millis, origin_ms);
    let real_elapsed = clock.real_now_epoch_millis - clock.origin_epoch_millis;
    let sim_elapsed = clock.sim_now_epoch_millis - clock.origin_epoch_millis;
    assert!(real_elapsed >= 100);
    assert!((sim_elapsed - real_elapsed * 600).abs() <= 1200, "{sim_elapsed} vs {real_elapsed}");
    let sim_now = sim.sim_now();
    let real_now = SystemTime::now();
    assert!(sim_now > real_now + Duration::from_secs(50), "sim time runs ahead");
}

#[tokio::test]
async fn faults_over_http() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let post = |body: &'static str| send(c.post(format!("{base}/_sim/faults")).body(body));

    let r = post(r#"{"imds_status_override":500,"imds_delay_ms":5,"credentials_body_override":"not json"}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let cfg: FaultsConfig = serde_json::from_str(&r.body).expect("faults JSON");
    assert_eq!(cfg.imds_status_override, Some(500));
    assert_eq!(sim.faults().imds_status_override(), Some(500));
    assert_eq!(sim.faults().imds_delay_ms(), 5);
    assert_eq!(sim.faults().credentials_body_override().as_deref(), Some("not json"));
    let r = send(c.put(format!("{base}/latest/api/token")).header("X-aws-ec2-metadata-token-ttl-seconds", "60")).await;
    assert_eq!(r.status, 500);
    let got: FaultsConfig = serde_json::from_str(&send(c.get(format!("{base}/_sim/faults"))).await.body).expect("json");
    assert_eq!(got, cfg);

    for bad in [r#"{"imds_status_override":700}"#, r#"{"imds_status_override":"x"}"#, r#"{"typo":1}"#, "{", "[]"] {
        assert_eq!(post(bad).await.status, 400, "{bad}");
    }
    assert_eq!(sim.faults().get(), cfg, "bad requests change nothing");

    assert_eq!(post("{}").await.status, 200);
    assert_eq!(sim.faults().get(), FaultsConfig::default());
    post(r#"{"credentials_status_override":429}"#).await;
    let token = imds_token(&c, &base, 60).await;
    let r = imds_get(&c, &base, &token, "/latest/meta-data/iam/security-credentials/freshcreds-demo-role").await;
    assert_eq!(r.status, 429);
    assert_eq!(post("").await.status, 200, "an empty body clears");
    assert_eq!(sim.faults().get(), FaultsConfig::default());
    assert_eq!(send(c.delete(format!("{base}/_sim/faults"))).await.status, 405);
}

#[tokio::test]
async fn config_is_validated_and_drop_stops_the_server() {
    for bad in [
        SimConfig { time_scale: 0.0, ..SimConfig::default() },
        SimConfig { time_scale: f64::INFINITY, ..SimConfig::default() },
        SimConfig { lifetime: Duration::ZERO, ..SimConfig::default() },
        SimConfig { role_name: "bad/role".to_string(), ..SimConfig::default() },
    ] {
        assert!(freshcreds_sim::Simulator::start(bad).await.is_err());
    }
    let sim = start(SimConfig { role_name: "other-role".to_string(), ..SimConfig::default() }).await;
    let (base, c) = (sim.base_url(), client());
    let token = imds_token(&c, &base, 60).await;
    assert_eq!(imds_get(&c, &base, &token, "/latest/meta-data/iam/security-credentials/").await.body, "other-role");
    let addr = sim.addr();
    drop(sim);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "listener closed");
    // A second simulator can run next to others, each on its own port.
    let a = start_default().await;
    let b = start_default().await;
    assert_ne!(a.addr().port(), b.addr().port());
}

#[tokio::test]
async fn sources_config_over_http() {
    use freshcreds_sim::SourcesConfig;
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let url = format!("{base}/_sim/config");

    let r = send(c.get(&url)).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        serde_json::json!({
            "container_auth_token": "sim-container-token",
            "web_identity_token": null,
            "sso_access_token": null,
        })
    );
    assert_eq!(serde_json::from_str::<SourcesConfig>(&r.body).expect("config"), SourcesConfig::default());

    // PATCH: only the fields given; null = none.
    let r = send(c.patch(&url).body(r#"{"sso_access_token":"sso","container_auth_token":null}"#)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let now: SourcesConfig = serde_json::from_str(&r.body).expect("config");
    assert_eq!(now.container_auth_token, None);
    assert_eq!(now.sso_access_token.as_deref(), Some("sso"));
    assert_eq!(sim.sources().get(), now);

    // POST: a missing field takes its default, null is none.
    let r = send(c.post(&url).body(r#"{"web_identity_token":"w"}"#)).await;
    assert_eq!(
        r.json(),
        serde_json::json!({
            "container_auth_token": "sim-container-token",
            "web_identity_token": "w",
            "sso_access_token": null,
        })
    );
    let before = sim.sources().get();
    for bad in [
        r#"{"typo":1}"#,
        r#"{"sso_access_token":""}"#,
        r#"{"sso_access_token":" lead"}"#,
        r#"{"container_auth_token":"line\nbreak"}"#,
        r#"{"container_auth_token":5}"#,
        "[]",
        "{",
    ] {
        assert_eq!(send(c.post(&url).body(bad)).await.status, 400, "POST {bad}");
        assert_eq!(send(c.patch(&url).body(bad)).await.status, 400, "PATCH {bad}");
    }
    assert_eq!(sim.sources().get(), before, "bad requests change nothing");
    assert_eq!(send(c.post(&url)).await.status, 200, "an empty body restores the defaults");
    assert_eq!(sim.sources().get(), SourcesConfig::default());
    assert_eq!(send(c.delete(&url)).await.status, 405);
    // Clearing the faults leaves the config alone, and the other way round.
    sim.sources().set_sso_access_token(Some("kept".into())).expect("valid");
    assert_eq!(send(c.post(format!("{base}/_sim/faults")).body("{}")).await.status, 200);
    assert_eq!(sim.sources().sso_access_token().as_deref(), Some("kept"));
}
