//! The outage, skew, hang, expiry, truncation and revocation faults, over real HTTP.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use freshcreds_sim::{ClockInfo, FaultsConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;
use crate::{compressed, start, start_default};

const CREDS: &str = "/latest/meta-data/iam/security-credentials/freshcreds-demo-role";

fn port(sim: &freshcreds_sim::Simulator) -> u16 {
    sim.addr().port()
}

/// Whether `date` (an HTTP-date) is within `slack` of `expected`.
fn date_near(date: &str, expected: SystemTime, slack: u64) -> bool {
    (0..=2 * slack).any(|i| {
        let t = expected - Duration::from_secs(slack) + Duration::from_secs(i);
        freshcreds_sim::clock::http_date(t) == date
    })
}

fn millis_of(v: &serde_json::Value, key: &str) -> i64 {
    let s = v[key].as_str().unwrap_or_else(|| panic!("{key} missing"));
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap_or_else(|e| panic!("{key} = {s}: {e}"));
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn epoch_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).expect("after epoch").as_millis() as i64
}

async fn patch(c: &reqwest::Client, base: &str, body: &str) -> Reply {
    send(c.patch(format!("{base}/_sim/faults")).body(body.to_string())).await
}

/// Sends a bare HTTP/1.1 request and returns everything the server sends before closing.
async fn raw(addr: std::net::SocketAddr, request: &str) -> Vec<u8> {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await.expect("the server closes the connection").ok();
    out
}

#[tokio::test]
async fn clock_skew_shifts_date_header_and_sts_window() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let (creds, _) = fetch_creds(&c, &base).await;

    let r = patch(&c, &base, r#"{"aws_clock_skew_ms":-600000}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["aws_clock_skew_ms"], -600_000);
    assert_eq!(sim.faults().aws_clock_skew_ms(), -600_000);

    // AWS time is 10 minutes behind this host: Date headers (IMDS and STS) show it.
    let r = send(c.put(format!("{base}/latest/api/token")).header("X-aws-ec2-metadata-token-ttl-seconds", "60")).await;
    assert_eq!(r.status, 200);
    let expected = SystemTime::now() - Duration::from_secs(600);
    let date = r.header("date").expect("Date").to_string();
    assert!(date_near(&date, expected, 3), "IMDS Date {date}");
    let aws_now = sim.aws_now();
    let behind = SystemTime::now().duration_since(aws_now).expect("AWS time is behind");
    assert!(behind >= Duration::from_secs(599) && behind <= Duration::from_secs(601), "{behind:?}");

    // Signed with this host's clock: 10 minutes in AWS's future.
    let now = now_amz_date();
    let r = StsCall::get_caller_identity(port(&sim), &creds, &now).send(&c, &base).await;
    assert_eq!((r.status, r.code().as_str()), (403, "SignatureDoesNotMatch"));
    assert!(r.message().starts_with(&format!("Signature not yet current: {now} is still later than ")), "{}", r.message());
    let date = r.header("date").expect("Date").to_string();
    assert!(date_near(&date, SystemTime::now() - Duration::from_secs(600), 3), "STS Date {date}");
    // Signed 600 s in the past: right on AWS time.
    let back = amz_date_of(SystemTime::now() - Duration::from_secs(600));
    let r = StsCall::get_caller_identity(port(&sim), &creds, &back).send(&c, &base).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The other direction: AWS ahead by 10 minutes, a request signed now has expired.
    sim.faults().set_aws_clock_skew_ms(600_000);
    let now = now_amz_date();
    let r = StsCall::get_caller_identity(port(&sim), &creds, &now).send(&c, &base).await;
    assert_eq!(r.code(), "SignatureDoesNotMatch");
    assert!(r.message().starts_with(&format!("Signature expired: {now} is now earlier than ")), "{}", r.message());
    let ahead = amz_date_of(SystemTime::now() + Duration::from_secs(600));
    assert_eq!(StsCall::get_caller_identity(port(&sim), &creds, &ahead).send(&c, &base).await.status, 200);

    // GET /_sim/clock reports it.
    let clock: ClockInfo = serde_json::from_str(&send(c.get(format!("{base}/_sim/clock"))).await.body).expect("clock JSON");
    assert_eq!(clock.aws_clock_skew_ms, 600_000);
    assert_eq!(clock.aws_now_epoch_millis - clock.real_now_epoch_millis, 600_000);
    let v = send(c.get(format!("{base}/_sim/clock"))).await.json();
    for key in ["aws_now_epoch_millis", "aws_clock_skew_ms"] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    // Clearing the skew puts everything back.
    sim.faults().clear();
    assert_eq!(StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date()).send(&c, &base).await.status, 200);
    assert_eq!(sim.stats().sts_signature_does_not_match, 2);
}

#[tokio::test]
async fn clock_skew_moves_the_credential_timeline_unscaled() {
    // 1 real s = 10 sim min.
    let sim = start(compressed(600.0, 6 * 3600, 20 * 60)).await;
    let (base, c) = (sim.base_url(), client());
    let token = imds_token(&c, &base, 21600).await;
    sim.faults().set_aws_clock_skew_ms(-600_000);

    let clock: ClockInfo = serde_json::from_str(&send(c.get(format!("{base}/_sim/clock"))).await.body).expect("clock JSON");
    let compressed_ms = clock.origin_epoch_millis + (clock.real_now_epoch_millis - clock.origin_epoch_millis) * 600;
    let extra = clock.sim_now_epoch_millis - compressed_ms;
    assert!((extra + 600_000).abs() <= 1_200, "sim now = compressed clock - 600000 ms (unscaled), off by {extra}");
    assert_eq!(clock.aws_now_epoch_millis, clock.real_now_epoch_millis - 600_000);

    // A generation issued now is stamped on the skewed timeline (and the IMDS token, issued
    // before the skew, is still good: token TTLs ignore it).
    let before = epoch_ms(sim.clock().sim_now());
    sim.rotate_now();
    let after = epoch_ms(sim.clock().sim_now());
    let doc = imds_get(&c, &base, &token, CREDS).await;
    assert_eq!(doc.status, 200, "{}", doc.body);
    let last_updated = millis_of(&doc.json(), "LastUpdated");
    assert!(
        before - 600_000 - 1_000 <= last_updated && last_updated <= after - 600_000,
        "LastUpdated {last_updated} not in [{before}, {after}] - 600000"
    );
    let now = epoch_ms(sim.clock().sim_now());
    let skewed = epoch_ms(sim.sim_now());
    assert!((now - 600_000 - skewed).abs() <= 2_000, "{now} {skewed}");

    // Pushing AWS time past the expiration makes STS call the generation expired.
    let at_scale_1 = start(compressed(1.0, 3600, 60)).await;
    let (base1, port1) = (at_scale_1.base_url(), port(&at_scale_1));
    let (creds, _) = fetch_creds(&c, &base1).await;
    at_scale_1.faults().set_aws_clock_skew_ms(2 * 3600 * 1000);
    let signed = amz_date_of(SystemTime::now() + Duration::from_secs(2 * 3600));
    let r = StsCall::get_caller_identity(port1, &creds, &signed).send(&c, &base1).await;
    assert_eq!(r.code(), "ExpiredToken", "{}", r.body);
    at_scale_1.faults().set_aws_clock_skew_ms(0);
    let r = StsCall::get_caller_identity(port1, &creds, &now_amz_date()).send(&c, &base1).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn token_put_hang_holds_only_its_own_connection() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let token = imds_token(&c, &base, 300).await;
    let r = patch(&c, &base, r#"{"token_put_hang":true}"#).await;
    assert_eq!(r.json()["token_put_hang"], true);

    // A client with a 200 ms timeout gives up.
    let impatient = reqwest::Client::builder().no_proxy().timeout(Duration::from_millis(200)).build().expect("client");
    let t0 = Instant::now();
    let err = impatient
        .put(format!("{base}/latest/api/token"))
        .header("X-aws-ec2-metadata-token-ttl-seconds", "60")
        .send()
        .await
        .expect_err("no answer");
    assert!(err.is_timeout(), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(5));

    // A patient one keeps hanging in the background while everything else is served.
    let hung = tokio::spawn({
        let (c, base) = (c.clone(), base.clone());
        async move { c.put(format!("{base}/latest/api/token")).header("X-aws-ec2-metadata-token-ttl-seconds", "60").send().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t0 = Instant::now();
    assert_eq!(imds_get(&c, &base, &token, CREDS).await.status, 200);
    assert_eq!(send(c.get(format!("{base}/_sim/stats"))).await.status, 200);
    // STS still answers too (credentials fetched with the token from before the hang).
    let doc = imds_get(&c, &base, &token, CREDS).await.json();
    let field = |k: &str| doc[k].as_str().expect(k).to_string();
    let creds = Creds { akid: field("AccessKeyId"), secret: field("SecretAccessKey"), token: field("Token") };
    let r = StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date()).send(&c, &base).await;
    assert_eq!(r.status, 200);
    assert!(t0.elapsed() < Duration::from_secs(3), "nothing waited for the hang");
    assert!(!hung.is_finished(), "the hung PUT is still waiting");
    assert_eq!(sim.stats().token_put_hangs, 2);

    // Turning the fault off answers new PUTs (the hung one stays hung until the server stops).
    sim.faults().set_token_put_hang(false);
    imds_token(&c, &base, 60).await;
    drop(sim);
    let outcome =
        tokio::time::timeout(Duration::from_secs(10), hung).await.expect("dropping the simulator ends the hung connection").expect("task");
    assert!(outcome.is_err(), "no answer, the connection just closed");
}

#[tokio::test]
async fn imds_down_closes_connections_without_an_answer() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let token = imds_token(&c, &base, 300).await;
    let r = send(c.post(format!("{base}/_sim/faults")).body(r#"{"imds_down":true}"#)).await;
    assert_eq!(r.status, 200);
    assert!(sim.faults().imds_down());

    let got = raw(sim.addr(), "PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n").await;
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
    let got = raw(sim.addr(), &format!("GET {CREDS} HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token: {token}\r\n\r\n")).await;
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
    let err = c.get(format!("{base}{CREDS}")).header("X-aws-ec2-metadata-token", &token).send().await.expect_err("connection closed");
    assert!(!err.is_timeout(), "{err}");

    // The control API and STS are not IMDS.
    assert_eq!(send(c.get(format!("{base}/_sim/stats"))).await.status, 200);
    let r = send(c.post(format!("{base}/")).body("")).await;
    assert_eq!(r.code(), "MissingAuthenticationToken");

    let s = sim.stats();
    assert!(s.imds_dropped >= 3, "{s:?}");
    assert_eq!(s.imds_dropped, s.imds_requests_total - 1, "all but the first");
    sim.faults().set_imds_down(false);
    assert_eq!(imds_get(&c, &base, &token, CREDS).await.status, 200);
}

#[tokio::test]
async fn imds_throttle_and_status_override_429_are_counted() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let token = imds_token(&c, &base, 300).await;
    patch(&c, &base, r#"{"imds_throttle":true}"#).await;
    let r = send(c.put(format!("{base}/latest/api/token")).header("X-aws-ec2-metadata-token-ttl-seconds", "60")).await;
    assert_eq!(r.status, 429);
    assert_eq!(imds_get(&c, &base, &token, CREDS).await.status, 429);
    assert_eq!(imds_get(&c, &base, &token, "/latest/meta-data/instance-id").await.status, 429);
    // The older name for the same thing still works, and counts too.
    patch(&c, &base, r#"{"imds_throttle":false,"imds_status_override":429}"#).await;
    assert_eq!(imds_get(&c, &base, &token, CREDS).await.status, 429);
    // Throttling wins over another status override.
    patch(&c, &base, r#"{"imds_throttle":true,"imds_status_override":500}"#).await;
    assert_eq!(imds_get(&c, &base, &token, CREDS).await.status, 429);
    patch(&c, &base, r#"{"imds_throttle":null,"imds_status_override":null}"#).await;
    assert_eq!(imds_get(&c, &base, &token, CREDS).await.status, 200);
    let s = sim.stats();
    assert_eq!(s.imds_throttled, 5);
    assert_eq!(s.imds_requests_total, 7);
    assert_eq!((s.token_puts, s.imds_gets), (2, 5));
}

#[tokio::test]
async fn expired_looking_credentials_are_still_accepted_by_sts() {
    // 1 real s = 1 sim h; lifetime 1 h.
    let sim = start(compressed(3600.0, 3600, 60)).await;
    let (base, c) = (sim.base_url(), client());
    sim.faults().set_serve_expired_credentials(true);
    let before = epoch_ms(sim.sim_now());
    let (creds, doc) = fetch_creds(&c, &base).await;
    let after = epoch_ms(sim.sim_now());
    let current = sim.current_credentials();
    assert_eq!(creds.akid, current.access_key_id);
    assert_eq!(creds.token, current.session_token);
    let expiration = millis_of(&doc, "Expiration");
    assert!(
        before - 300_000 - 1_000 <= expiration && expiration <= after - 300_000,
        "Expiration = sim now - 5 min: {expiration} not in [{before}, {after}] - 300000"
    );
    assert_eq!(StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date()).send(&c, &base).await.status, 200);

    // Past the real expiration too, the current generation is accepted while the fault is on…
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(sim.sim_now() > current.expiration);
    let r = StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date()).send(&c, &base).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // …and not once it is off.
    patch(&c, &base, r#"{"serve_expired_credentials":false}"#).await;
    let r = StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date()).send(&c, &base).await;
    assert_eq!(r.code(), "ExpiredToken");
    // Nor for a generation that is no longer current.
    sim.faults().set_serve_expired_credentials(true);
    sim.rotate_now();
    let r = StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date()).send(&c, &base).await;
    assert_eq!(r.code(), "ExpiredToken");
    let s = sim.stats();
    assert_eq!((s.sts_ok, s.sts_expired_token), (2, 2));
    assert_eq!(s.credential_gets_by_generation.get(&1), Some(&1));
}

#[tokio::test]
async fn truncated_credentials_body() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let token = imds_token(&c, &base, 300).await;
    let full = imds_get(&c, &base, &token, CREDS).await;
    sim.faults().set_credentials_truncate(true);
    let cut = imds_get(&c, &base, &token, CREDS).await;
    assert_eq!(cut.status, 200);
    assert_eq!(cut.body.len(), full.body.len() / 2);
    assert!(full.body.starts_with(&cut.body));
    assert_eq!(cut.header("content-length"), Some(cut.body.len().to_string().as_str()));
    assert!(serde_json::from_str::<serde_json::Value>(&cut.body).is_err());
    // It halves an overridden body as well.
    sim.faults().set_credentials_body_override(Some("0123456789".to_string()));
    assert_eq!(imds_get(&c, &base, &token, CREDS).await.body, "01234");
    sim.faults().clear();
    assert_eq!(imds_get(&c, &base, &token, CREDS).await.body, full.body);
    let s = sim.stats();
    assert_eq!(s.credential_gets, 4);
    assert_eq!(s.credential_gets_by_generation.get(&1), Some(&2), "truncated documents are not counted as served");
}

/// `no_instance_profile`: the role list and the credentials answer 404; the token and other
/// metadata still work, as on an instance without an instance profile.
#[tokio::test]
async fn no_instance_profile_answers_404_for_the_role_list_and_the_credentials() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let token = imds_token(&c, &base, 300).await;
    sim.faults().set_no_instance_profile(true);
    assert_eq!(imds_get(&c, &base, &token, "/latest/meta-data/iam/security-credentials/").await.status, 404);
    assert_eq!(imds_get(&c, &base, &token, CREDS).await.status, 404);
    assert_eq!(imds_get(&c, &base, &token, "/latest/meta-data/instance-id").await.status, 200);
    let r = patch(&c, &base, r#"{"no_instance_profile":null}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(imds_get(&c, &base, &token, CREDS).await.status, 200);
}

#[tokio::test]
async fn revocation_gets_expired_token_and_rotates_early() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let (first, _) = fetch_creds(&c, &base).await;
    let call = |creds: &Creds| {
        let (c, base, p) = (c.clone(), base.clone(), port(&sim));
        let creds = creds.clone();
        async move { StsCall::get_caller_identity(p, &creds, &now_amz_date()).send(&c, &base).await }
    };
    assert_eq!(call(&first).await.status, 200);

    let r = send(c.post(format!("{base}/_sim/revoke"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["generation"], 2);
    let r = call(&first).await;
    assert_eq!((r.status, r.code().as_str()), (403, "ExpiredToken"));
    assert_eq!(r.message(), "The security token included in the request is expired");
    let (second, doc) = fetch_creds(&c, &base).await;
    assert_ne!(second.akid, first.akid);
    assert_eq!(doc["AccessKeyId"].as_str(), Some(sim.current_credentials().access_key_id.as_str()));
    assert_eq!(call(&second).await.status, 200);

    // In-process, and the serve_expired exemption does not cover revoked generations.
    sim.faults().set_serve_expired_credentials(true);
    sim.revoke_current();
    assert_eq!(call(&second).await.code(), "ExpiredToken");
    let (third, _) = fetch_creds(&c, &base).await;
    assert_eq!(call(&third).await.status, 200);

    let s = sim.stats();
    assert_eq!(s.generation, 3);
    assert_eq!(s.rotations, 2);
    assert_eq!((s.sts_revoked_rejections, s.sts_expired_token), (2, 2));
    assert_eq!(s.sts_ok, 3);
    assert_eq!(send(c.get(format!("{base}/_sim/revoke"))).await.status, 405);
}

#[tokio::test]
async fn patch_changes_only_the_given_faults() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let r = send(c.post(format!("{base}/_sim/faults")).body(r#"{"imds_delay_ms":1,"credentials_status_override":503}"#)).await;
    assert_eq!(r.status, 200);
    let r = patch(&c, &base, r#"{"imds_throttle":true,"aws_clock_skew_ms":-5}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let want = FaultsConfig {
        imds_delay_ms: 1,
        credentials_status_override: Some(503),
        imds_throttle: true,
        aws_clock_skew_ms: -5,
        ..FaultsConfig::default()
    };
    assert_eq!(serde_json::from_str::<FaultsConfig>(&r.body).expect("json"), want);
    assert_eq!(sim.faults().get(), want);

    // Every field of the GET document, with its name.
    let v = send(c.get(format!("{base}/_sim/faults"))).await.json();
    let mut keys: Vec<&str> = v.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "aws_clock_skew_ms",
            "credentials_body_override",
            "credentials_status_override",
            "credentials_truncate",
            "imds_delay_ms",
            "imds_down",
            "imds_status_override",
            "imds_throttle",
            "no_instance_profile",
            "serve_expired_credentials",
            "token_put_hang",
        ]
    );

    for bad in [
        r#"{"imds_status_override":99}"#,
        r#"{"aws_clock_skew_ms":99999999999999}"#,
        r#"{"imds_down":"yes"}"#,
        r#"{"typo":true}"#,
        "[]",
        "{",
    ] {
        assert_eq!(patch(&c, &base, bad).await.status, 400, "{bad}");
    }
    assert_eq!(sim.faults().get(), want, "bad patches change nothing");

    // An empty patch changes nothing; null resets a field.
    assert_eq!(patch(&c, &base, "").await.status, 200);
    assert_eq!(patch(&c, &base, "{}").await.status, 200);
    assert_eq!(sim.faults().get(), want);
    let r = patch(&c, &base, r#"{"credentials_status_override":null,"imds_delay_ms":null}"#).await;
    assert_eq!(r.status, 200);
    assert_eq!(sim.faults().get(), FaultsConfig { imds_throttle: true, aws_clock_skew_ms: -5, ..FaultsConfig::default() });
    // POST still replaces everything.
    send(c.post(format!("{base}/_sim/faults")).body(r#"{"imds_down":true}"#)).await;
    assert_eq!(sim.faults().get(), FaultsConfig { imds_down: true, ..FaultsConfig::default() });
    let r = send(c.delete(format!("{base}/_sim/faults"))).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, POST, PATCH"));
}
