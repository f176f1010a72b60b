//! The doctor against the simulator on 127.0.0.1, one injected fault per test: each names its
//! fault and the fix; a healthy simulator (with a host root whose chrony uses Amazon Time Sync)
//! passes. The host's files come from a temporary root, the kernel clock is given; nothing leaves
//! loopback (IMDS and STS are the simulator's, the environment is the test's own).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use freshcreds_core::doctor::timesync::KernelClock;
use freshcreds_core::doctor::{run, Inputs, Report, Status};
use freshcreds_core::env::Env;
use freshcreds_sim::{SimConfig, Simulator};

const SECRET_IN_PROXY_URL: &str = "proxyPassw0rd";

fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!("freshcreds-doctor-{name}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A host whose chronyd runs and uses Amazon Time Sync (or, with `amazon_time_sync` false, a pool).
fn host_root(amazon_time_sync: bool) -> PathBuf {
    let root = temp_dir("root");
    write(&root, "proc/412/comm", "chronyd\n");
    let source =
        if amazon_time_sync { "server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4" } else { "pool 2.debian.pool.ntp.org iburst" };
    write(&root, "etc/chrony.conf", &format!("# chrony\n{source}\ndriftfile /var/lib/chrony/drift\n"));
    root
}

async fn simulator() -> Simulator {
    Simulator::start(SimConfig::default()).await.expect("simulator starts")
}

/// Inputs for a healthy host: IMDS and STS on the simulator, an empty home, a synchronised kernel
/// clock; `env` adds variables.
fn inputs(sim: &Simulator, root: PathBuf, env: &[(&str, &str)]) -> Inputs {
    let home = temp_dir("home");
    write(&home, ".aws/config", "");
    write(&home, ".aws/credentials", "");
    let mut vars: HashMap<String, String> = [("HOME", home.display().to_string()), ("AWS_REGION", "us-east-1".to_string())]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut inputs = Inputs::new(vec![("endpoint".to_string(), sim.base_url()), ("attemptTimeoutMillis".to_string(), "400".to_string())]);
    inputs.env = Env::from_fn(move |k| vars.get(k).cloned());
    inputs.root = root;
    inputs.kernel_clock = Some(KernelClock { synchronized: true, estimated_error_us: 2_000, maximum_error_us: 20_000 });
    inputs.call_sts = true;
    inputs.sts_endpoint = Some(sim.base_url());
    inputs.probe_spacing = Duration::from_millis(20);
    inputs
}

fn check<'a>(report: &'a Report, id: &str) -> &'a freshcreds_core::doctor::Check {
    report.check(id).unwrap_or_else(|| panic!("no {id} check in:\n{}", report.to_text()))
}

fn assert_status(report: &Report, id: &str, status: Status) {
    assert_eq!(check(report, id).status, status, "{id}:\n{}", report.to_text());
}

fn assert_fix_contains(report: &Report, id: &str, part: &str) {
    let fix = check(report, id).fix.clone().unwrap_or_default();
    assert!(fix.contains(part), "{id}'s fix lacks '{part}':\n{}", report.to_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_simulator_passes_every_check() {
    let sim = simulator().await;
    let report = run(inputs(&sim, host_root(true), &[])).await;
    for c in &report.checks {
        assert_eq!(c.status, Status::Pass, "{}:\n{}", c.id, report.to_text());
    }
    assert_eq!(report.exit_code(), 0);
    for id in [
        "settings",
        "chain.source",
        "chain.temporary_keys",
        "proxy.env",
        "imds.token",
        "imds.role",
        "imds.credentials",
        "imds.throttling",
        "credentials",
        "sts.call",
        "clock.offset",
        "clock.kernel",
        "clock.daemon",
    ] {
        check(&report, id);
    }
    assert!(check(&report, "imds.role").finding.contains("freshcreds-demo-role"), "{}", report.to_text());
    assert!(check(&report, "sts.call").finding.contains("succeeded"), "{}", report.to_text());
    // The instance role's secret and token went through IMDS, the parser and the signer: neither
    // reaches the report.
    let issued = sim.current_credentials();
    for text in [report.to_text(), report.to_json()] {
        assert!(!text.contains(&issued.secret_access_key) && !text.contains(&issued.session_token), "a secret in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_keys_in_the_environment_shadowing_the_role_are_named_with_the_fix() {
    let sim = simulator().await;
    let env = [
        ("AWS_ACCESS_KEY_ID", "ASIAENVIRONMENTKEY01"),
        ("AWS_SECRET_ACCESS_KEY", "environmentSecret0000000000000000000001"),
        ("AWS_SESSION_TOKEN", "environmentSessionToken000000000000001"),
    ];
    let mut inputs = inputs(&sim, host_root(true), &env);
    inputs.call_sts = false;
    let report = run(inputs).await;
    assert_status(&report, "chain.source", Status::Warn);
    assert!(
        check(&report, "chain.source").finding.contains("shadow this instance's IAM role 'freshcreds-demo-role'"),
        "{}",
        report.to_text()
    );
    assert_fix_contains(&report, "chain.source", "unset AWS_ACCESS_KEY_ID");
    assert_status(&report, "chain.temporary_keys", Status::Fail);
    assert_eq!(report.exit_code(), 2);
    let json = report.to_json();
    assert!(!json.contains("environmentSecret") && !json.contains("environmentSessionToken"), "a secret in:\n{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_variable_that_would_catch_imds_is_named_with_the_no_proxy_value() {
    let sim = simulator().await;
    let proxy = format!("http://ops:{SECRET_IN_PROXY_URL}@proxy.invalid:3128");
    let report = run(inputs(&sim, host_root(true), &[("HTTP_PROXY", &proxy)])).await;
    assert_status(&report, "proxy.env", Status::Warn);
    assert_fix_contains(&report, "proxy.env", "NO_PROXY=127.0.0.1");
    // freshcreds itself never takes the proxy: IMDS still answers.
    assert_status(&report, "imds.credentials", Status::Pass);
    assert!(!report.to_json().contains(SECRET_IN_PROXY_URL) && !report.to_text().contains(SECRET_IN_PROXY_URL));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_put_lost_in_a_container_is_the_hop_limit() {
    let sim = simulator().await;
    sim.faults().set_token_put_hang(true);
    let root = host_root(true);
    write(&root, ".dockerenv", "");
    let report = run(inputs(&sim, root, &[])).await;
    assert_status(&report, "imds.token", Status::Fail);
    let finding = &check(&report, "imds.token").finding;
    assert!(finding.contains("hop limit") && finding.contains("container (/.dockerenv exists)"), "{}", report.to_text());
    assert_fix_contains(&report, "imds.token", "--http-put-response-hop-limit 2");
    assert_eq!(report.exit_code(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_role_list_means_no_instance_profile() {
    let sim = simulator().await;
    sim.faults().set_no_instance_profile(true);
    let report = run(inputs(&sim, host_root(true), &[])).await;
    assert_status(&report, "imds.role", Status::Fail);
    assert!(check(&report, "imds.role").finding.contains("no instance profile is attached"), "{}", report.to_text());
    assert_fix_contains(&report, "imds.role", "associate-iam-instance-profile");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_is_counted_and_blamed_on_other_processes() {
    let sim = simulator().await;
    sim.faults().set_imds_throttle(true);
    let report = run(inputs(&sim, host_root(true), &[])).await;
    assert_status(&report, "imds.token", Status::Fail);
    assert_status(&report, "imds.throttling", Status::Warn);
    let throttling = check(&report, "imds.throttling");
    assert!(throttling.details["throttled"].as_u64().unwrap_or(0) >= 3, "{}", report.to_text());
    assert!(throttling.finding.contains("other processes"), "{}", report.to_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_ten_minutes_fast_fails_the_offset_and_the_signed_call() {
    let sim = simulator().await;
    sim.faults().set_aws_clock_skew_ms(-600_000);
    let report = run(inputs(&sim, host_root(true), &[])).await;
    assert_status(&report, "clock.offset", Status::Fail);
    let offset = check(&report, "clock.offset");
    assert!(offset.finding.contains("ahead of AWS time"), "{}", report.to_text());
    let measured = offset.details["imds_offset_ms"].as_i64().unwrap_or(0);
    assert!((-610_000..=-590_000).contains(&measured), "IMDS offset {measured} ms:\n{}", report.to_text());
    assert_status(&report, "sts.call", Status::Fail);
    assert!(check(&report, "sts.call").finding.contains("Signature not yet current"), "{}", report.to_text());
    assert_fix_contains(&report, "clock.offset", "169.254.169.123");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chrony_without_amazon_time_sync_is_a_warning_with_the_server_line() {
    let sim = simulator().await;
    let report = run(inputs(&sim, host_root(false), &[])).await;
    assert_status(&report, "clock.daemon", Status::Warn);
    assert_fix_contains(&report, "clock.daemon", "server 169.254.169.123");
    assert_eq!(report.exit_code(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_credentials_from_imds_fail() {
    let sim = simulator().await;
    sim.faults().set_serve_expired_credentials(true);
    let mut inputs = inputs(&sim, host_root(true), &[]);
    inputs.call_sts = false;
    let report = run(inputs).await;
    assert_status(&report, "credentials", Status::Fail);
    assert!(check(&report, "credentials").finding.contains("expired"), "{}", report.to_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_shorter_lived_than_the_advisory_window_are_a_warning() {
    // 4-minute credentials: under the smallest advisory window (5 min), so every fetch is already due.
    let cfg = SimConfig { lifetime: Duration::from_secs(240), rotate_before: Duration::from_secs(10), ..SimConfig::default() };
    let sim = Simulator::start(cfg).await.expect("simulator starts");
    let mut inputs = inputs(&sim, host_root(true), &[]);
    inputs.call_sts = false;
    let report = run(inputs).await;
    assert_status(&report, "credentials", Status::Warn);
    assert!(check(&report, "credentials").finding.contains("shorter than the advisory window"), "{}", report.to_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_setting_is_named_with_where_it_came_from() {
    let sim = simulator().await;
    let report = run(inputs(&sim, host_root(true), &[("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "lots")])).await;
    assert_status(&report, "settings", Status::Fail);
    assert!(check(&report, "settings").finding.contains("AWS_METADATA_SERVICE_NUM_ATTEMPTS"), "{}", report.to_text());
}

/// The binary: `--json` prints the documented schema and exits with the worst status; a wrong
/// command line exits 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_the_json_schema_and_exits_with_the_worst_status() {
    let sim = simulator().await;
    let root = host_root(true);
    let home = temp_dir("bin-home");
    let endpoint = sim.base_url();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_freshcreds-doctor"))
            .args(["--json", "--root", &root.display().to_string(), "--sts-endpoint", &endpoint])
            .env_clear()
            .env("HOME", home.display().to_string())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint)
            .output()
            .expect("runs")
    })
    .await
    .expect("joins");
    let text = String::from_utf8_lossy(&output.stdout);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"));
    assert_eq!(json["schema"], "freshcreds-doctor/1");
    let checks = json["checks"].as_array().expect("checks");
    let worst = checks
        .iter()
        .map(|c| match c["status"].as_str() {
            Some("pass") => 0,
            Some("warn") => 1,
            Some("fail") => 2,
            other => panic!("bad status {other:?} in {c}"),
        })
        .max()
        .expect("some checks");
    for c in checks {
        assert!(c["id"].is_string() && c["finding"].is_string() && c["details"].is_object(), "{c}");
        assert!(c["fix"].is_null() || c["fix"].is_string(), "{c}");
    }
    assert_eq!(json["exit_code"], worst);
    assert_eq!(output.status.code(), Some(worst), "{text}");
    let ids: Vec<&str> = checks.iter().filter_map(|c| c["id"].as_str()).collect();
    for id in ["imds.token", "imds.credentials", "sts.call", "clock.offset", "clock.daemon"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let usage = std::process::Command::new(env!("CARGO_BIN_EXE_freshcreds-doctor")).arg("--bogus").output().expect("runs");
    assert_eq!(usage.status.code(), Some(3));
}
