//! The IAM Identity Center (SSO) portal's GetRoleCredentials over real HTTP.

use std::time::Duration;

use crate::common::*;
use crate::{start, start_default};

const TOKEN_HEADER: &str = "x-amz-sso_bearer_token";

fn port(sim: &freshcreds_sim::Simulator) -> u16 {
    sim.addr().port()
}

async fn get_role_credentials(c: &reqwest::Client, base: &str, query: &str, token: Option<&str>) -> Reply {
    let mut req = c.get(format!("{base}/federation/credentials?{query}"));
    if let Some(t) = token {
        req = req.header(TOKEN_HEADER, t);
    }
    send(req).await
}

fn creds_of(r: &Reply) -> (Creds, i64) {
    let v = r.json();
    let rc = &v["roleCredentials"];
    let s = |k: &str| rc[k].as_str().unwrap_or_else(|| panic!("{k} missing in {v}")).to_string();
    (
        Creds { akid: s("accessKeyId"), secret: s("secretAccessKey"), token: s("sessionToken") },
        rc["expiration"].as_i64().expect("expiration in epoch millis"),
    )
}

#[tokio::test]
async fn role_credentials_are_issued_and_accepted_by_sts() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let r = get_role_credentials(&c, &base, "role_name=ReadOnly&account_id=111122223333", Some("aoa-sim-access-token")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v.as_object().map(|o| o.len()), Some(1));
    assert_eq!(v["roleCredentials"].as_object().map(|o| o.len()), Some(4));
    let (creds, expiration) = creds_of(&r);
    assert!(creds.akid.starts_with("ASIA") && creds.akid.len() == 20);
    let expected = epoch_millis(sim.sim_now()) + 3600 * 1000;
    assert!((expiration - expected).abs() < 5_000, "{expiration} vs {expected}");

    let r = caller_identity(&c, &base, port(&sim), &creds).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let arn = between(&r.body, "<Arn>", "</Arn>").expect("Arn");
    let prefix = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReadOnly_";
    assert!(arn.starts_with(prefix) && arn.ends_with("/sim-sso-user"), "{arn}");
    let hash = &arn[prefix.len()..arn.len() - "/sim-sso-user".len()];
    assert!(hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()), "{hash}");
    assert_eq!(between(&r.body, "<Account>", "</Account>").as_deref(), Some("111122223333"));

    // Each call issues a new session; percent-encoded parameters are decoded.
    let r = get_role_credentials(&c, &base, "account_id=111122223333&role_name=Power%2BUser", Some("t")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (second, _) = creds_of(&r);
    assert_ne!(second.akid, creds.akid);
    let r = caller_identity(&c, &base, port(&sim), &second).await;
    assert!(between(&r.body, "<Arn>", "</Arn>").expect("Arn").contains("/AWSReservedSSO_Power+User_"));

    let s = sim.stats();
    assert_eq!((s.sso_gets, s.sso_unauthorized, s.sts_ok), (2, 0, 2));
}

#[tokio::test]
async fn unauthorized_and_bad_requests() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let q = "role_name=ReadOnly&account_id=111122223333";
    let unauthorized = |r: &Reply| {
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(r.header("x-amzn-errortype"), Some("UnauthorizedException"));
        assert_eq!(r.json()["__type"], "UnauthorizedException");
        assert!(r.json()["message"].is_string());
        assert!(!r.body.contains("accessKeyId"));
    };
    unauthorized(&get_role_credentials(&c, &base, q, None).await);
    unauthorized(&get_role_credentials(&c, &base, q, Some("")).await);

    // A configured access token must match.
    let r = send(c.patch(format!("{base}/_sim/config")).body(r#"{"sso_access_token":"the-token"}"#)).await;
    assert_eq!(r.status, 200);
    unauthorized(&get_role_credentials(&c, &base, q, Some("another")).await);
    assert_eq!(get_role_credentials(&c, &base, q, Some("the-token")).await.status, 200);

    let bad_request = |r: &Reply| {
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.header("x-amzn-errortype"), Some("InvalidRequestException"));
    };
    for query in [
        "role_name=ReadOnly",
        "account_id=111122223333",
        "",
        "role_name=ReadOnly&account_id=1111",
        "role_name=ReadOnly&account_id=11112222333x",
        "role_name=Read%2FOnly&account_id=111122223333",
    ] {
        bad_request(&get_role_credentials(&c, &base, query, Some("the-token")).await);
    }
    let r = send(c.post(format!("{base}/federation/credentials?{q}")).header(TOKEN_HEADER, "the-token")).await;
    assert_eq!(r.status, 405);
    let r = send(c.get(format!("{base}/federation/other")).header(TOKEN_HEADER, "the-token")).await;
    assert_eq!(r.status, 404);

    let s = sim.stats();
    assert_eq!((s.sso_gets, s.sso_unauthorized), (1, 3));
}

#[tokio::test]
async fn role_credentials_expire_on_the_compressed_clock() {
    // 1 real s = 30 sim min: the 1 h SSO session lasts 2 real s.
    let sim = start(crate::compressed(1800.0, 6 * 3600, 1200)).await;
    let (base, c) = (sim.base_url(), client());
    let r = get_role_credentials(&c, &base, "role_name=R&account_id=123456789012", Some("t")).await;
    let (creds, _) = creds_of(&r);
    assert_eq!(caller_identity(&c, &base, port(&sim), &creds).await.status, 200);
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let r = caller_identity(&c, &base, port(&sim), &creds).await;
    assert_eq!((r.status, r.code().as_str()), (403, "ExpiredToken"));
}

/// Raw bytes nobody would send on the new routes: answered, never a crash.
#[tokio::test]
async fn garbage_on_the_new_routes_is_answered() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let cases: [(&[u8], &str); 5] = [
        (
            b"GET /container/credentials HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: \xff\xfe\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 403",
        ),
        (
            b"GET /container/%ff%00/../x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 401",
        ),
        (
            b"GET /federation/credentials?role_name=%ff%fe&account_id=%zz&&=&role_name HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amz-sso_bearer_token: \xff\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 400",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 94\r\nConnection: close\r\n\r\nAction=AssumeRoleWithWebIdentity&RoleArn=%ff&RoleSessionName=%00%00&WebIdentityToken=%ff.%ff.x",
            "HTTP/1.1 400",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 70\r\nConnection: close\r\n\r\nAction=AssumeRoleWithWebIdentity&RoleArn=x&DurationSeconds=99999999999",
            "HTTP/1.1 400",
        ),
    ];
    for (request, status_line) in cases {
        let mut s = tokio::net::TcpStream::connect(sim.addr()).await.expect("connect");
        s.write_all(request).await.expect("write");
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await.expect("answered").ok();
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with(status_line), "{status_line}: {text}");
    }
    // Still serving.
    let r = get_role_credentials(&c, &base, "role_name=R&account_id=123456789012", Some("t")).await;
    assert_eq!(r.status, 200);
}
