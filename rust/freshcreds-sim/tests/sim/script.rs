//! Fault scripts on the compressed clock.

use std::time::{Duration, Instant};

use freshcreds_sim::{FaultsConfig, FaultsPatch, Script, ScriptStatus, ScriptStep};

use crate::common::*;
use crate::{compressed, start, start_default};

async fn status(c: &reqwest::Client, base: &str) -> ScriptStatus {
    let r = send(c.get(format!("{base}/_sim/script"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

async fn wait_applied(c: &reqwest::Client, base: &str, n: usize, within: Duration) -> ScriptStatus {
    let deadline = Instant::now() + within;
    loop {
        let s = status(c, base).await;
        if s.steps_applied >= n {
            return s;
        }
        assert!(Instant::now() < deadline, "only {} steps applied: {s:?}", s.steps_applied);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn script_steps_fire_in_order_on_the_compressed_clock() {
    // 1 real s = 10 sim min.
    let sim = start(compressed(600.0, 6 * 3600, 20 * 60)).await;
    let (base, c) = (sim.base_url(), client());
    let (first, _) = fetch_creds(&c, &base).await;

    let before = status(&c, &base).await;
    assert!(!before.running && before.steps_total == 0 && before.elapsed_sim_secs.is_none());

    let script = r#"{"steps":[
        {"at_sim_secs":0,"faults":{"imds_throttle":true}},
        {"at_sim_secs":360,"faults":{"imds_throttle":null,"aws_clock_skew_ms":-600000}},
        {"at_sim_secs":720,"revoke":true},
        {"at_sim_secs":1080,"faults":{"imds_down":true},"rotate":true}
    ]}"#;
    let t0 = Instant::now();
    let r = send(c.post(format!("{base}/_sim/script")).body(script)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let posted: ScriptStatus = serde_json::from_str(&r.body).expect("status JSON");
    assert_eq!(posted.steps_total, 4);
    assert!(posted.running);

    // Step 0 fires at once; the rest wait for the sim clock.
    let s = wait_applied(&c, &base, 1, Duration::from_secs(5)).await;
    if t0.elapsed() < Duration::from_millis(500) {
        assert_eq!(s.steps_applied, 1, "{s:?}");
        assert_eq!(s.next_at_sim_secs, Some(360.0));
        assert!(sim.faults().imds_throttle());
        assert_eq!(sim.stats().generation, 1);
    }

    let done = wait_applied(&c, &base, 4, Duration::from_secs(20)).await;
    assert!(t0.elapsed() >= Duration::from_millis(1800), "1080 sim s = 1.8 real s");
    assert!(!done.running && !done.cancelled);
    assert_eq!(done.next_at_sim_secs, None);
    let mut prev = 0.0;
    for (i, step) in done.steps.iter().enumerate() {
        let at = step.applied_at_sim_secs.expect("applied");
        assert!(step.applied);
        assert!(at >= step.at_sim_secs, "step {i} early: {at} < {}", step.at_sim_secs);
        assert!(at >= prev, "step {i} out of order");
        prev = at;
    }
    assert!(done.steps[2].revoke && done.steps[3].rotate);
    assert!(done.elapsed_sim_secs.expect("started") >= 1080.0);

    // The net effect of all four steps.
    assert_eq!(sim.faults().get(), FaultsConfig { aws_clock_skew_ms: -600_000, imds_down: true, ..FaultsConfig::default() });
    let stats = sim.stats();
    assert_eq!((stats.generation, stats.rotations), (3, 2));
    sim.faults().clear();
    let r = StsCall::get_caller_identity(sim.addr().port(), &first, &now_amz_date()).send(&c, &base).await;
    assert_eq!(r.code(), "ExpiredToken", "generation 1 was revoked");
    assert_eq!(sim.stats().sts_revoked_rejections, 1);
}

#[tokio::test]
async fn script_replace_cancel_and_validation() {
    let sim = start(compressed(600.0, 6 * 3600, 20 * 60)).await;
    let (base, c) = (sim.base_url(), client());

    // In-process: one step now, one far away.
    sim.run_script(Script {
        steps: vec![
            ScriptStep {
                at_sim_secs: 0.0,
                faults: Some(FaultsPatch { imds_delay_ms: Some(Some(3)), ..FaultsPatch::default() }),
                ..ScriptStep::default()
            },
            ScriptStep { at_sim_secs: 1_000_000.0, revoke: true, ..ScriptStep::default() },
        ],
    })
    .expect("valid script");
    let s = wait_applied(&c, &base, 1, Duration::from_secs(5)).await;
    assert!(s.running);
    assert_eq!(s.next_at_sim_secs, Some(1_000_000.0));
    assert_eq!(sim.faults().imds_delay_ms(), 3);

    // Invalid scripts are refused and leave the running one alone.
    for bad in [
        r#"{"steps":[{"at_sim_secs":5},{"at_sim_secs":1}]}"#,
        r#"{"steps":[{"at_sim_secs":-1}]}"#,
        r#"{"steps":[{"at_sim_secs":1,"faults":{"imds_status_override":700}}]}"#,
        r#"{"steps":[{"at_sim_secs":1,"faults":{"nope":true}}]}"#,
        r#"{"steps":[{"at_sim_secs":1,"explode":true}]}"#,
        r#"{"steps":[{}]}"#,
        r#"{}"#,
        "[]",
        "{",
    ] {
        let r = send(c.post(format!("{base}/_sim/script")).body(bad)).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(r.json()["error"].is_string());
    }
    assert!(sim.run_script(Script { steps: vec![ScriptStep { at_sim_secs: f64::NAN, ..ScriptStep::default() }] }).is_err());
    let s = sim.script_status();
    assert!(s.running && s.steps_total == 2);

    // Cancelling keeps the applied faults and never applies the rest.
    let r = send(c.delete(format!("{base}/_sim/script"))).await;
    assert_eq!(r.status, 200);
    let s: ScriptStatus = serde_json::from_str(&r.body).expect("json");
    assert!(!s.running && s.cancelled);
    assert_eq!(s.steps_applied, 1);
    assert_eq!(sim.faults().imds_delay_ms(), 3);

    // A new script replaces the old one; its times count from its own start.
    let r = send(c.post(format!("{base}/_sim/script")).body(r#"{"steps":[{"at_sim_secs":60,"faults":{"imds_delay_ms":null}}]}"#)).await;
    assert_eq!(r.status, 200);
    let s = wait_applied(&c, &base, 1, Duration::from_secs(5)).await;
    assert!(!s.cancelled && !s.running);
    assert_eq!(s.steps_total, 1);
    assert_eq!(sim.faults().get(), FaultsConfig::default());
    assert_eq!(sim.stats().generation, 1, "the far revoke never ran");

    // Posting an empty body (no steps) just stops whatever runs.
    sim.run_script(Script { steps: vec![ScriptStep { at_sim_secs: 1e6, rotate: true, ..ScriptStep::default() }] }).expect("valid");
    assert!(sim.script_status().running);
    let r = send(c.post(format!("{base}/_sim/script")).body("")).await;
    assert_eq!(r.status, 200);
    let s = sim.script_status();
    assert_eq!((s.running, s.steps_total), (false, 0));
    sim.cancel_script();
    assert_eq!(send(c.put(format!("{base}/_sim/script"))).await.status, 405);
}

#[tokio::test]
async fn dropping_the_simulator_stops_its_script() {
    let sim = start_default().await;
    sim.run_script(Script { steps: vec![ScriptStep { at_sim_secs: 0.2, rotate: true, ..ScriptStep::default() }] }).expect("valid");
    let addr = sim.addr();
    drop(sim);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
