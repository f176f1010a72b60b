//! STS AssumeRoleWithWebIdentity (unsigned) over real HTTP.

use std::time::Duration;

use crate::common::*;
use crate::{start, start_default};

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/eks-pod-role";

fn port(sim: &freshcreds_sim::Simulator) -> u16 {
    sim.addr().port()
}

fn b64url(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// An (unsigned, unverifiable) JWT with these claims, like an EKS service account token.
fn jwt(claims: &serde_json::Value) -> String {
    format!("{}.{}.{}", b64url(br#"{"alg":"RS256","kid":"sim"}"#), b64url(claims.to_string().as_bytes()), b64url(b"not-a-signature"))
}

fn body(role_arn: Option<&str>, session: &str, token: Option<&str>, duration: Option<&str>) -> String {
    let mut pairs = vec![("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15")];
    if let Some(a) = role_arn {
        pairs.push(("RoleArn", a));
    }
    pairs.push(("RoleSessionName", session));
    if let Some(t) = token {
        pairs.push(("WebIdentityToken", t));
    }
    if let Some(d) = duration {
        pairs.push(("DurationSeconds", d));
    }
    form_body(&pairs)
}

/// Sent like the SDKs send it: unsigned, form-encoded.
async fn call(c: &reqwest::Client, base: &str, body: String) -> Reply {
    send(c.post(format!("{base}/")).header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8").body(body)).await
}

#[tokio::test]
async fn unsigned_web_identity_gives_credentials_sts_accepts() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let token = jwt(&serde_json::json!({
        "sub": "system:serviceaccount:default:my-app",
        "aud": ["sts.sim.test"],
        "iss": "https://oidc.sim.test/id/SIM",
        "exp": 4_000_000_000u64,
    }));
    let r = call(&c, &base, body(Some(ROLE_ARN), "pod-session", Some(&token), None)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("text/xml"));
    assert!(
        r.body.starts_with(&format!(
            "<AssumeRoleWithWebIdentityResponse xmlns=\"{}\">\n  <AssumeRoleWithWebIdentityResult>\n",
            freshcreds_sim::sts::NAMESPACE
        )),
        "{}",
        r.body
    );
    assert!(r.body.contains("</RequestId>\n  </ResponseMetadata>\n</AssumeRoleWithWebIdentityResponse>\n"), "{}", r.body);
    assert_eq!(
        between(&r.body, "<SubjectFromWebIdentityToken>", "</SubjectFromWebIdentityToken>").as_deref(),
        Some("system:serviceaccount:default:my-app")
    );
    assert_eq!(between(&r.body, "<Audience>", "</Audience>").as_deref(), Some("sts.sim.test"));
    assert_eq!(between(&r.body, "<Provider>", "</Provider>").as_deref(), Some("https://oidc.sim.test/id/SIM"));
    assert_eq!(between(&r.body, "<Arn>", "</Arn>").as_deref(), Some("arn:aws:sts::123456789012:assumed-role/eks-pod-role/pod-session"));
    let role_id = between(&r.body, "<AssumedRoleId>", "</AssumedRoleId>").expect("id");
    assert!(role_id.starts_with("AROA") && role_id.ends_with(":pod-session"));
    let exp = rfc3339_millis(&between(&r.body, "<Expiration>", "</Expiration>").expect("exp"));
    let expected = epoch_millis(sim.sim_now()) + 3600 * 1000;
    assert!((exp - expected).abs() < 5_000, "{exp} vs {expected}");
    let issued = creds_from_xml(&r.body);

    let r = caller_identity(&c, &base, port(&sim), &issued).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(between(&r.body, "<Arn>", "</Arn>").as_deref(), Some("arn:aws:sts::123456789012:assumed-role/eks-pod-role/pod-session"));
    assert_eq!(between(&r.body, "<UserId>", "</UserId>"), Some(role_id));

    // A token that is not a JWT: a default subject, no Audience / Provider.
    let r = call(&c, &base, body(Some(ROLE_ARN), "s2", Some("opaque-token"), Some("900"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        between(&r.body, "<SubjectFromWebIdentityToken>", "</SubjectFromWebIdentityToken>").as_deref(),
        Some("sim-web-identity-subject")
    );
    assert!(!r.body.contains("<Audience>") && !r.body.contains("<Provider>"));

    // A query-string request and a (needlessly) signed one are fine too.
    let q = body(Some(ROLE_ARN), "s3", Some("t"), None);
    assert_eq!(send(c.post(format!("{base}/?{q}"))).await.status, 200);
    let signed = StsCall::form(port(&sim), &static_creds(), &body(Some(ROLE_ARN), "s4", Some("t"), None));
    assert_eq!(signed.send(&c, &base).await.status, 200);

    let s = sim.stats();
    assert_eq!(s.sts_assume_role_with_web_identity, 4);
    assert_eq!((s.sts_ok, s.sts_calls, s.sts_assume_role), (5, 5, 0));
}

#[tokio::test]
async fn configured_token_missing_fields_and_expiry() {
    // 1 real s = 10 sim min.
    let sim = start(crate::compressed(600.0, 6 * 3600, 1200)).await;
    let (base, c) = (sim.base_url(), client());

    let r = send(c.patch(format!("{base}/_sim/config")).body(r#"{"web_identity_token":"expected-token"}"#)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(&c, &base, body(Some(ROLE_ARN), "sess", Some("other-token"), None)).await;
    assert_eq!((r.status, r.code().as_str()), (400, "InvalidIdentityToken"));
    assert!(r.message().starts_with("The web identity token that was passed could not be validated by AWS."));
    assert!(r.body.contains("<Type>Sender</Type>"));
    let r = call(&c, &base, body(Some(ROLE_ARN), "ok", Some("expected-token"), Some("900"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let issued = creds_from_xml(&r.body);
    assert_eq!(caller_identity(&c, &base, port(&sim), &issued).await.status, 200);

    // Back to "any non-empty token".
    sim.sources().set_web_identity_token(None).expect("valid");
    assert_eq!(call(&c, &base, body(Some(ROLE_ARN), "sess", Some("other-token"), None)).await.status, 200);

    let validation = |r: &Reply| {
        assert_eq!((r.status, r.code().as_str()), (400, "ValidationError"), "{}", r.body);
        xml_unescape(&r.message())
    };
    let r = call(&c, &base, body(Some(ROLE_ARN), "sess", None, None)).await;
    assert_eq!(
        validation(&r),
        "1 validation error detected: Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null"
    );
    let r = call(&c, &base, body(Some(ROLE_ARN), "sess", Some(""), None)).await;
    assert!(
        validation(&r).contains("at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 1")
    );
    let r = call(&c, &base, body(None, "sess", Some("t"), None)).await;
    assert!(validation(&r).contains("Value null at 'roleArn'"));
    let r = call(&c, &base, body(Some("arn:aws:iam::123456789012:policy/nope"), "sess", Some("t"), None)).await;
    assert_eq!(validation(&r), "Request ARN is invalid");
    let r = call(&c, &base, body(Some(ROLE_ARN), "sess", Some("t"), Some("100"))).await;
    assert!(validation(&r).contains("greater than or equal to 900"));
    // Another Version is not the unsigned action: it needs a signature like everything else.
    let r = call(&c, &base, body(Some(ROLE_ARN), "sess", Some("t"), None).replace("2011-06-15", "2099-01-01")).await;
    assert_eq!((r.status, r.code().as_str()), (403, "MissingAuthenticationToken"));

    // 900 s of sim time = 1.5 real s.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let r = caller_identity(&c, &base, port(&sim), &issued).await;
    assert_eq!((r.status, r.code().as_str()), (403, "ExpiredToken"));

    let s = sim.stats();
    assert_eq!(s.sts_assume_role_with_web_identity, 2);
    assert_eq!(s.sts_other_errors, 1 + 5 + 1);
    assert_eq!(s.sts_expired_token, 1);
}
