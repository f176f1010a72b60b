use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_freshcreds-sim");

fn spawn(args: &[&str]) -> (Child, serde_json::Value, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn freshcreds-sim");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read line");
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("bad line {line:?}: {e}"));
    (child, v, line)
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("freshcreds-sim did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn prints_one_listening_line_and_exits_on_stdin_eof() {
    let (mut child, v, line) = spawn(&["--port", "0", "--time-scale", "600", "--lifetime-secs", "3600", "--role-name", "bin-role"]);
    let port = v["port"].as_u64().expect("port");
    assert!(
        line.starts_with(&format!(
            "{{\"event\":\"listening\",\"port\":{port},\"base_url\":\"http://127.0.0.1:{port}\",\"origin_epoch_millis\":"
        )),
        "{line}"
    );
    assert!(line.trim_end().ends_with(",\"time_scale\":600.0}"), "{line}");
    let base = v["base_url"].as_str().expect("base_url").to_string();
    let c = client();
    let clock = send(c.get(format!("{base}/_sim/clock"))).await.json();
    assert_eq!(clock["time_scale"], 600.0);
    assert_eq!(clock["origin_epoch_millis"], v["origin_epoch_millis"]);
    let (_, doc) = fetch_creds(&c, &base).await;
    let token = imds_token(&c, &base, 60).await;
    assert_eq!(imds_get(&c, &base, &token, "/latest/meta-data/iam/security-credentials/").await.body, "bin-role");
    assert!(doc["AccessKeyId"].as_str().expect("akid").starts_with("ASIA"));

    drop(child.stdin.take()); // EOF
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status}");
}

#[cfg(unix)]
#[tokio::test]
async fn exits_cleanly_on_sigterm_and_sigint() {
    for signal in ["-TERM", "-INT"] {
        let (mut child, v, _) = spawn(&["--ignore-stdin"]);
        assert_eq!(v["time_scale"], 1.0);
        let killed = Command::new("kill").args([signal, &child.id().to_string()]).status().expect("kill");
        assert!(killed.success());
        let status = wait_exit(&mut child, Duration::from_secs(10));
        assert!(status.success(), "{signal}: {status}");
    }
}

#[test]
fn bad_arguments_exit_with_status_2() {
    for args in [&["--port", "x"][..], &["--time-scale", "-1"], &["--what"]] {
        let out = Command::new(BIN).args(args).stdin(Stdio::null()).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage:"));
    }
}

#[tokio::test]
async fn script_flag_starts_a_script() {
    let dir = std::env::temp_dir();
    let good = dir.join(format!("freshcreds-sim-script-{}.json", std::process::id()));
    std::fs::write(&good, r#"{"steps":[{"at_sim_secs":0,"faults":{"imds_throttle":true}},{"at_sim_secs":1e8,"revoke":true}]}"#)
        .expect("write script");
    let good_path = good.to_string_lossy().into_owned();
    let (mut child, v, _) = spawn(&["--time-scale", "60", "--script", &good_path]);
    let base = v["base_url"].as_str().expect("base_url").to_string();
    let c = client();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let s = send(c.get(format!("{base}/_sim/script"))).await.json();
        if s["steps_applied"] == 1 || Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status["steps_total"], 2, "{status}");
    assert_eq!(status["steps_applied"], 1, "{status}");
    assert_eq!(status["running"], true);
    let r = send(c.put(format!("{base}/latest/api/token")).header("X-aws-ec2-metadata-token-ttl-seconds", "60")).await;
    assert_eq!(r.status, 429);
    drop(child.stdin.take());
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());

    // A missing or invalid script file is a bad argument.
    let bad = dir.join(format!("freshcreds-sim-bad-script-{}.json", std::process::id()));
    std::fs::write(&bad, r#"{"steps":[{"at_sim_secs":2},{"at_sim_secs":1}]}"#).expect("write");
    for path in [bad.to_string_lossy().into_owned(), dir.join("freshcreds-sim-no-such-script.json").to_string_lossy().into_owned()] {
        let out = Command::new(BIN).args(["--script", &path]).stdin(Stdio::null()).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{path}");
        assert!(out.stdout.is_empty());
        assert!(String::from_utf8_lossy(&out.stderr).contains("--script"));
    }
    let _ = std::fs::remove_file(good);
    let _ = std::fs::remove_file(bad);
}
