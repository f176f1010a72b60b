use std::time::{Duration, Instant};

use freshcreds_sim::SimConfig;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::common::*;
use crate::{compressed, start, start_default};

const CREDS: &str = "/latest/meta-data/iam/security-credentials/";

#[tokio::test]
async fn token_put_ttl_and_401_paths() {
    let sim = start_default().await;
    let base = sim.base_url();
    let c = client();

    let r = send(c.put(format!("{base}/latest/api/token")).header("X-aws-ec2-metadata-token-ttl-seconds", "21600")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 56);
    assert_eq!(r.header("x-aws-ec2-metadata-token-ttl-seconds"), Some("21600"));
    assert_eq!(r.header("server"), Some("EC2ws"));
    let date = r.header("date").expect("Date header");
    assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
    let token = r.body;

    for bad in ["0", "21601", "-1", "abc", "1.5", "+60", ""] {
        let r = send(c.put(format!("{base}/latest/api/token")).header("X-aws-ec2-metadata-token-ttl-seconds", bad)).await;
        assert_eq!(r.status, 400, "ttl {bad:?}");
    }
    let r = send(c.put(format!("{base}/latest/api/token"))).await;
    assert_eq!(r.status, 400, "missing TTL");
    let r = send(
        c.put(format!("{base}/latest/api/token"))
            .header("X-aws-ec2-metadata-token-ttl-seconds", "60")
            .header("X-Forwarded-For", "127.0.0.1"),
    )
    .await;
    assert_eq!(r.status, 403, "X-Forwarded-For");
    let r = send(c.get(format!("{base}/latest/api/token"))).await;
    assert_eq!(r.status, 405);

    let r = send(c.get(format!("{base}{CREDS}"))).await;
    assert_eq!(r.status, 401, "no token");
    assert_eq!(r.header("server"), Some("EC2ws"));
    assert!(r.header("date").is_some());
    let r = imds_get(&c, &base, "not-a-token", CREDS).await;
    assert_eq!(r.status, 401, "unknown token");
    let r = imds_get(&c, &base, &token, CREDS).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "freshcreds-demo-role");
    let r = imds_get(&c, &base, &token, "/latest/meta-data/iam/security-credentials").await;
    assert_eq!((r.status, r.body.as_str()), (200, "freshcreds-demo-role"));
    let r = imds_get(&c, &base, &token, &format!("{CREDS}some-other-role")).await;
    assert_eq!(r.status, 404);
    let r = imds_get(&c, &base, &token, "/latest/meta-data/nope").await;
    assert_eq!(r.status, 404);
    let r = send(c.get(format!("{base}{CREDS}")).header("X-aws-ec2-metadata-token", &token).header("X-Forwarded-For", "127.0.0.1")).await;
    assert_eq!(r.status, 403);
    let r = send(c.post(format!("{base}{CREDS}")).header("X-aws-ec2-metadata-token", &token)).await;
    assert_eq!(r.status, 405);
    let r = imds_get(&c, &base, &token, "/latest/meta-data/instance-id").await;
    assert_eq!(r.body, "i-0123456789abcdef0");

    let s = sim.stats();
    assert_eq!(s.token_puts, 10);
    assert_eq!(s.imds_gets, 9); // GETs of /latest/..., including the 405 on the token path
    assert_eq!(s.role_list_gets, 2);
    assert_eq!(s.credential_gets, 0);
}

#[tokio::test]
async fn token_expires_on_sim_clock() {
    // 1 real ms = 3.6 sim s, so a 1 s token is dead almost at once, a 6 h token lives ~6 real s.
    let sim = start(SimConfig { time_scale: 3600.0, ..SimConfig::default() }).await;
    let base = sim.base_url();
    let c = client();
    let short = imds_token(&c, &base, 1).await;
    let long = imds_token(&c, &base, 21600).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(imds_get(&c, &base, &short, CREDS).await.status, 401);
    assert_eq!(imds_get(&c, &base, &long, CREDS).await.status, 200);
}

fn parse_time(v: &serde_json::Value, key: &str) -> OffsetDateTime {
    let s = v[key].as_str().unwrap_or_else(|| panic!("{key} missing"));
    assert!(s.len() == 20 && s.ends_with('Z'), "{key} = {s}");
    OffsetDateTime::parse(s, &Rfc3339).expect("RFC 3339")
}

#[tokio::test]
async fn credentials_document_and_lazy_rotation() {
    // 1 real s = 30 sim min; lifetime 1 h (2 real s); rotation 20 min before expiry (1.33 real s).
    let sim = start(compressed(1800.0, 3600, 1200)).await;
    let base = sim.base_url();
    let c = client();
    let token = imds_token(&c, &base, 21600).await;

    let r = imds_get(&c, &base, &token, &format!("{CREDS}freshcreds-demo-role")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("server"), Some("EC2ws"));
    let v = r.json();
    let keys: Vec<&str> = v.as_object().expect("object").keys().map(String::as_str).collect();
    let mut expected = vec!["AccessKeyId", "Code", "Expiration", "LastUpdated", "SecretAccessKey", "Token", "Type"];
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(v["Code"], "Success");
    assert_eq!(v["Type"], "AWS-HMAC");
    let akid1 = v["AccessKeyId"].as_str().expect("akid").to_string();
    assert!(akid1.starts_with("ASIA") && akid1.len() == 20);
    assert!(akid1.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    assert_eq!(v["SecretAccessKey"].as_str().expect("secret").len(), 40);
    assert!(v["Token"].as_str().expect("token").len() >= 250);
    let issued = parse_time(&v, "LastUpdated");
    let expires = parse_time(&v, "Expiration");
    let lifetime = expires - issued;
    assert!((3599..=3601).contains(&lifetime.whole_seconds()), "{lifetime}");
    let origin = OffsetDateTime::from(sim.clock_origin());
    assert!((issued - origin).whole_seconds().abs() <= 1);

    // Still the same generation well before the rotation point.
    let v = imds_get(&c, &base, &token, &format!("{CREDS}freshcreds-demo-role")).await.json();
    assert_eq!(v["AccessKeyId"], akid1.as_str());

    // Past expiration - rotate_before: the next request gets generation 2.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let v = imds_get(&c, &base, &token, &format!("{CREDS}freshcreds-demo-role")).await.json();
    let akid2 = v["AccessKeyId"].as_str().expect("akid").to_string();
    assert_ne!(akid2, akid1);
    let issued2 = parse_time(&v, "LastUpdated");
    assert!(issued2 - issued >= time::Duration::minutes(40), "{issued2} vs {issued}");
    assert_eq!(sim.current_credentials().access_key_id, akid2);
    assert_eq!(sim.current_credentials().generation, 2);

    let s = sim.stats();
    assert_eq!(s.credential_gets, 3);
    assert_eq!(s.generation, 2);
    assert_eq!(s.rotations, 1);
    assert_eq!(s.credential_gets_by_generation.get(&1), Some(&2));
    assert_eq!(s.credential_gets_by_generation.get(&2), Some(&1));
    let json = serde_json::to_value(&s).expect("stats JSON");
    assert_eq!(json["credential_gets_by_generation"]["1"], 2);
}

#[tokio::test]
async fn faults_status_delay_and_bad_body() {
    let sim = start_default().await;
    let base = sim.base_url();
    let c = client();
    let token = imds_token(&c, &base, 300).await;
    let creds_url = format!("{CREDS}freshcreds-demo-role");

    sim.faults().set_imds_status_override(Some(500));
    let r = send(c.put(format!("{base}/latest/api/token")).header("X-aws-ec2-metadata-token-ttl-seconds", "60")).await;
    assert_eq!(r.status, 500);
    assert_eq!(imds_get(&c, &base, &token, &creds_url).await.status, 500);
    sim.faults().set_imds_status_override(Some(429));
    assert_eq!(imds_get(&c, &base, &token, CREDS).await.status, 429);
    sim.faults().set_imds_status_override(None);
    assert_eq!(imds_get(&c, &base, &token, CREDS).await.status, 200);

    sim.faults().set_credentials_body_override(Some("{\"Code\":\"Success\",".to_string()));
    let r = imds_get(&c, &base, &token, &creds_url).await;
    assert_eq!((r.status, r.body.as_str()), (200, "{\"Code\":\"Success\","));
    sim.faults().set_credentials_body_override(None);
    sim.faults().set_credentials_status_override(Some(503));
    assert_eq!(imds_get(&c, &base, &token, &creds_url).await.status, 503);
    assert_eq!(imds_get(&c, &base, &token, CREDS).await.status, 200, "only credentials are affected");
    sim.faults().clear();
    assert_eq!(imds_get(&c, &base, &token, &creds_url).await.status, 200);

    sim.faults().set_imds_delay_ms(300);
    let t0 = Instant::now();
    assert_eq!(imds_get(&c, &base, &token, CREDS).await.status, 200);
    assert!(t0.elapsed() >= Duration::from_millis(300));
    sim.faults().set_imds_delay_ms(0);

    let s = sim.stats();
    assert_eq!(s.credential_gets, 2, "body override + the healthy one");
    assert_eq!(s.credential_gets_by_generation.get(&1), Some(&1));
}

#[tokio::test]
async fn rotate_now_forces_a_new_generation() {
    let sim = start_default().await;
    let c = client();
    let (first, _) = fetch_creds(&c, &sim.base_url()).await;
    sim.rotate_now();
    let (second, _) = fetch_creds(&c, &sim.base_url()).await;
    assert_ne!(first.akid, second.akid);
    assert_eq!(sim.stats().generation, 2);
    assert_eq!(sim.stats().rotations, 1);
}
