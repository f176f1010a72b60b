//! STS AssumeRole and the static key pairs over real HTTP, signed by the tests' own signer.

use std::time::Duration;

use crate::common::*;
use crate::{start, start_default};

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/app-role";

fn port(sim: &freshcreds_sim::Simulator) -> u16 {
    sim.addr().port()
}

fn assume_body(role_arn: &str, session: &str, duration: Option<&str>) -> String {
    let mut pairs = vec![("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", role_arn), ("RoleSessionName", session)];
    if let Some(d) = duration {
        pairs.push(("DurationSeconds", d));
    }
    form_body(&pairs)
}

async fn assume(sim: &freshcreds_sim::Simulator, c: &reqwest::Client, creds: &Creds, body: &str) -> Reply {
    StsCall::form(port(sim), creds, body).send(c, &sim.base_url()).await
}

#[tokio::test]
async fn static_key_assumes_a_role_whose_credentials_sts_accepts() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());

    // The static key itself is a known IAM user.
    let r = caller_identity(&c, &base, port(&sim), &static_creds()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(between(&r.body, "<Arn>", "</Arn>").as_deref(), Some("arn:aws:iam::123456789012:user/sim-static-user"));
    assert_eq!(between(&r.body, "<Account>", "</Account>").as_deref(), Some("123456789012"));
    let user_id = between(&r.body, "<UserId>", "</UserId>").expect("UserId");
    assert!(user_id.starts_with("AIDA") && user_id.len() == 21, "{user_id}");

    let r = assume(&sim, &c, &static_creds(), &assume_body(ROLE_ARN, "my-session", None)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("text/xml"));
    assert!(
        r.body.starts_with(&format!(
            "<AssumeRoleResponse xmlns=\"{}\">\n  <AssumeRoleResult>\n    <Credentials>\n      <AccessKeyId>",
            freshcreds_sim::sts::NAMESPACE
        )),
        "{}",
        r.body
    );
    for tag in [
        "</Credentials>\n    <AssumedRoleUser>",
        "</AssumedRoleUser>\n  </AssumeRoleResult>\n  <ResponseMetadata>\n    <RequestId>",
        "</RequestId>\n  </ResponseMetadata>\n</AssumeRoleResponse>\n",
    ] {
        assert!(r.body.contains(tag), "{tag} in {}", r.body);
    }
    let rid = r.header("x-amzn-requestid").expect("request id").to_string();
    assert_eq!(between(&r.body, "<RequestId>", "</RequestId>"), Some(rid));
    let issued = creds_from_xml(&r.body);
    assert!(issued.akid.starts_with("ASIA") && issued.akid.len() == 20);
    assert_eq!(issued.secret.len(), 40);
    assert!(issued.token.len() > 100);
    let exp = rfc3339_millis(&between(&r.body, "<Expiration>", "</Expiration>").expect("exp"));
    let expected = epoch_millis(sim.sim_now()) + 3600 * 1000;
    assert!((exp - expected).abs() < 5_000, "default 1 h: {exp} vs {expected}");
    assert_eq!(between(&r.body, "<Arn>", "</Arn>").as_deref(), Some("arn:aws:sts::123456789012:assumed-role/app-role/my-session"));
    let role_id = between(&r.body, "<AssumedRoleId>", "</AssumedRoleId>").expect("id");
    assert!(role_id.starts_with("AROA") && role_id.ends_with(":my-session"), "{role_id}");
    assert_eq!(role_id.len(), 21 + ":my-session".len());

    // The issued credentials work for GetCallerIdentity, which names the role and session.
    let r = caller_identity(&c, &base, port(&sim), &issued).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(between(&r.body, "<Arn>", "</Arn>").as_deref(), Some("arn:aws:sts::123456789012:assumed-role/app-role/my-session"));
    assert_eq!(between(&r.body, "<UserId>", "</UserId>"), Some(role_id.clone()));

    // Another session of the same role has the same role id; a role in another account and
    // partition, with a path, is named without the path.
    let r = assume(&sim, &c, &static_creds(), &assume_body(ROLE_ARN, "other", Some("900"))).await;
    let other_id = between(&r.body, "<AssumedRoleId>", "</AssumedRoleId>").expect("id");
    assert_eq!(other_id.split(':').next(), role_id.split(':').next());
    let r =
        assume(&sim, &c, &static_creds(), &assume_body("arn:aws-cn:iam::210987654321:role/team/deploy", "ci@build.1", Some("43200"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(between(&r.body, "<Arn>", "</Arn>").as_deref(), Some("arn:aws-cn:sts::210987654321:assumed-role/deploy/ci@build.1"));
    let far = creds_from_xml(&r.body);
    let r = caller_identity(&c, &base, port(&sim), &far).await;
    assert_eq!(between(&r.body, "<Account>", "</Account>").as_deref(), Some("210987654321"));

    // Role chaining: issued credentials assume another role (at most 1 h).
    let r = assume(&sim, &c, &issued, &assume_body("arn:aws:iam::123456789012:role/second", "chained", Some("3600"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let chained = creds_from_xml(&r.body);
    let r = caller_identity(&c, &base, port(&sim), &chained).await;
    assert_eq!(between(&r.body, "<Arn>", "</Arn>").as_deref(), Some("arn:aws:sts::123456789012:assumed-role/second/chained"));

    let s = sim.stats();
    assert_eq!(s.sts_assume_role, 4);
    assert_eq!(s.sts_ok, 1 + 4 + 3);
    assert_eq!(s.sts_calls, s.sts_ok);
}

#[tokio::test]
async fn assumed_credentials_expire_on_the_compressed_clock() {
    // 1 real s = 10 sim min: 900 s of sim time last 1.5 real s.
    let sim = start(crate::compressed(600.0, 6 * 3600, 1200)).await;
    let (base, c) = (sim.base_url(), client());
    let r = assume(&sim, &c, &static_creds(), &assume_body(ROLE_ARN, "short", Some("900"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let issued = creds_from_xml(&r.body);
    let exp = rfc3339_millis(&between(&r.body, "<Expiration>", "</Expiration>").expect("exp"));
    let expected = epoch_millis(sim.sim_now()) + 900 * 1000;
    assert!((exp - expected).abs() < 60_000, "{exp} vs {expected}");
    assert_eq!(caller_identity(&c, &base, port(&sim), &issued).await.status, 200);

    tokio::time::sleep(Duration::from_millis(1800)).await;
    let r = caller_identity(&c, &base, port(&sim), &issued).await;
    assert_eq!((r.status, r.code().as_str()), (403, "ExpiredToken"));
    // Expired credentials cannot assume a role either; the static key still can.
    let r = assume(&sim, &c, &issued, &assume_body(ROLE_ARN, "again", None)).await;
    assert_eq!(r.code(), "ExpiredToken");
    let r = assume(&sim, &c, &static_creds(), &assume_body(ROLE_ARN, "again", None)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = sim.stats();
    assert_eq!((s.sts_assume_role, s.sts_expired_token), (2, 2));
}

#[tokio::test]
async fn assume_role_errors() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let validation = |r: &Reply| {
        assert_eq!((r.status, r.code().as_str()), (400, "ValidationError"), "{}", r.body);
        assert!(r.body.contains("<Type>Sender</Type>"));
        xml_unescape(&r.message())
    };

    let r =
        assume(&sim, &c, &static_creds(), &form_body(&[("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleSessionName", "s1")]))
            .await;
    assert_eq!(
        validation(&r),
        "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
    );
    let r = assume(&sim, &c, &static_creds(), "Action=AssumeRole&Version=2011-06-15").await;
    assert_eq!(
        validation(&r),
        "2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null"
    );
    for (body, needle) in [
        (assume_body(ROLE_ARN, "x", None), "Member must have length greater than or equal to 2"),
        (assume_body(ROLE_ARN, &"s".repeat(65), None), "Member must have length less than or equal to 64"),
        (assume_body(ROLE_ARN, "a b", None), "Member must satisfy regular expression pattern: [\\w+=,.@-]*"),
        (
            assume_body(ROLE_ARN, "ok", Some("899")),
            "Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
        ),
        (assume_body(ROLE_ARN, "ok", Some("43201")), "Member must have value less than or equal to 43200"),
        (assume_body(ROLE_ARN, "ok", Some("1h")), "at 'durationSeconds'"),
        (assume_body("arn:aws:iam::1:r/x", "ok", None), "Member must have length greater than or equal to 20"),
        (assume_body("arn:aws:iam::123456789012:user/someone", "ok", None), "Request ARN is invalid"),
        (assume_body("arn:aws:iam::123456789012:role/<x>", "ok", None), "Request ARN is invalid"),
    ] {
        let msg = validation(&assume(&sim, &c, &static_creds(), &body).await);
        assert!(msg.contains(needle), "{needle} in {msg}");
    }

    // Role chaining from the instance profile is limited to 1 h.
    let (imds, _) = fetch_creds(&c, &base).await;
    let r = assume(&sim, &c, &imds, &assume_body(ROLE_ARN, "ec2", Some("7200"))).await;
    assert_eq!(validation(&r), "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.");
    let r = assume(&sim, &c, &imds, &assume_body(ROLE_ARN, "ec2", None)).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Authentication failures come first, as for GetCallerIdentity.
    let body = assume_body(ROLE_ARN, "ok", None);
    let r = send(c.post(format!("{base}/")).header("Content-Type", "application/x-www-form-urlencoded").body(body.clone())).await;
    assert_eq!((r.status, r.code().as_str()), (403, "MissingAuthenticationToken"));
    let with_token = Creds { token: "IQoJb3JpZ2luX2VjEnot-a-real-token".into(), ..static_creds() };
    let r = assume(&sim, &c, &with_token, &body).await;
    assert_eq!((r.status, r.code().as_str()), (403, "InvalidClientTokenId"), "a static key pair is used without a session token");
    let wrong_secret = Creds { secret: "x".repeat(40), ..static_creds() };
    assert_eq!(assume(&sim, &c, &wrong_secret, &body).await.code(), "SignatureDoesNotMatch");
    let mut tampered = StsCall::form(port(&sim), &static_creds(), &body);
    tampered.body = assume_body(ROLE_ARN, "ok", Some("900")).into_bytes();
    assert_eq!(tampered.send(&c, &base).await.code(), "SignatureDoesNotMatch");
    // A wrong Version is an unknown operation.
    let r = assume(&sim, &c, &static_creds(), &body.replace("2011-06-15", "2010-01-01")).await;
    assert_eq!(r.code(), "InvalidAction");

    let s = sim.stats();
    assert_eq!(s.sts_assume_role, 1);
    assert_eq!(s.sts_other_errors, 2 + 9 + 1 + 1 + 1);
    assert_eq!(s.sts_invalid_client_token_id, 1);
    assert_eq!(s.sts_signature_does_not_match, 2);
}

#[tokio::test]
async fn static_keys_can_be_registered() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let r = send(c.get(format!("{base}/_sim/static-keys"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), serde_json::json!({"access_key_ids":["AKIASIMSTATIC0000001"]}));

    let mine =
        Creds { akid: "AKIATESTUSER00000042".into(), secret: "my/Secret+Key0123456789abcdefghijklmnopq".into(), token: String::new() };
    let post = |body: String| send(c.post(format!("{base}/_sim/static-keys")).body(body));
    let r = post(format!(r#"{{"access_key_id":"{}","secret_access_key":"{}"}}"#, mine.akid, mine.secret)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), serde_json::json!({"access_key_ids":["AKIASIMSTATIC0000001","AKIATESTUSER00000042"]}));
    assert!(!r.body.contains(&mine.secret));
    let r = caller_identity(&c, &base, port(&sim), &mine).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(between(&r.body, "<Arn>", "</Arn>").as_deref(), Some("arn:aws:iam::123456789012:user/sim-static-user"));
    let r = assume(&sim, &c, &mine, &assume_body(ROLE_ARN, "mine", Some("7200"))).await;
    assert_eq!(r.status, 200, "no chaining limit for a user: {}", r.body);

    // Re-keying: the old secret stops working.
    let rekeyed = Creds { secret: "another-secret".into(), ..mine.clone() };
    sim.add_static_key(&rekeyed.akid, &rekeyed.secret).expect("re-key");
    assert_eq!(caller_identity(&c, &base, port(&sim), &mine).await.code(), "SignatureDoesNotMatch");
    assert_eq!(caller_identity(&c, &base, port(&sim), &rekeyed).await.status, 200);

    for bad in [
        r#"{"access_key_id":"AKIASHORT","secret_access_key":"s"}"#.to_string(),
        r#"{"access_key_id":"AKIAOKOKOKOKOKOK0001","secret_access_key":""}"#.to_string(),
        r#"{"access_key_id":"AKIAOKOKOKOKOKOK0001","secret_access_key":"a b"}"#.to_string(),
        r#"{"access_key_id":"AKIA-OKOKOKOKOKOK0001","secret_access_key":"s"}"#.to_string(),
        r#"{"access_key_id":"AKIAOKOKOKOKOKOK0001"}"#.to_string(),
        r#"{"access_key_id":"AKIAOKOKOKOKOKOK0001","secret_access_key":"s","user":"x"}"#.to_string(),
        "[]".to_string(),
        String::new(),
    ] {
        assert_eq!(post(bad.clone()).await.status, 400, "{bad}");
    }
    // An id the simulator issued is taken.
    let issued = sim.current_credentials().access_key_id;
    let r = post(format!(r#"{{"access_key_id":"{issued}","secret_access_key":"s"}}"#)).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(sim.static_key_ids().len(), 2);
    assert_eq!(send(c.delete(format!("{base}/_sim/static-keys"))).await.status, 405);
    // Nothing in the control API shows a static secret.
    for path in ["/_sim/stats", "/_sim/static-keys", "/_sim/config", "/_sim/faults"] {
        let body = send(c.get(format!("{base}{path}"))).await.body;
        assert!(!body.contains(&rekeyed.secret) && !body.contains("simStaticSecretKey"), "{path}");
    }
}
