use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;
use crate::{compressed, start, start_default};

fn port(sim: &freshcreds_sim::Simulator) -> u16 {
    sim.addr().port()
}

#[tokio::test]
async fn good_request_is_answered_with_the_caller_identity() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let (creds, _) = fetch_creds(&c, &base).await;
    let r = StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date()).send(&c, &base).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("text/xml"));
    let rid = r.header("x-amzn-requestid").expect("request id").to_string();
    assert_eq!(rid.len(), 36);
    assert!(r.body.starts_with(&format!("<GetCallerIdentityResponse xmlns=\"{}\">", freshcreds_sim::sts::NAMESPACE)));
    assert_eq!(
        between(&r.body, "<Arn>", "</Arn>").as_deref(),
        Some("arn:aws:sts::123456789012:assumed-role/freshcreds-demo-role/i-0123456789abcdef0")
    );
    assert_eq!(between(&r.body, "<UserId>", "</UserId>").as_deref(), Some("AROASIMULATOR:i-0123456789abcdef0"));
    assert_eq!(between(&r.body, "<Account>", "</Account>").as_deref(), Some("123456789012"));
    assert_eq!(between(&r.body, "<RequestId>", "</RequestId>"), Some(rid));

    // SDK v1 style: user-agent signed, no spaces after the commas, untidy whitespace in a value.
    let amz = now_amz_date();
    let headers = vec![
        ("Host".to_string(), format!("127.0.0.1:{}", port(&sim))),
        ("X-Amz-Date".to_string(), amz.clone()),
        ("X-Amz-Security-Token".to_string(), creds.token.clone()),
        ("User-Agent".to_string(), "aws-sdk-java/1.12.700  Linux/6.1   OpenJDK_64-Bit_Server_VM".to_string()),
        ("Content-Type".to_string(), "application/x-www-form-urlencoded; charset=utf-8".to_string()),
        ("amz-sdk-retry".to_string(), "0/0/500".to_string()),
    ];
    let auth = authorization("POST", "/", "", &headers, GCI_BODY.as_bytes(), &creds.akid, &creds.secret, "us-east-1", "sts", &amz)
        .replace(", ", ",");
    let mut req = c.post(format!("{base}/")).body(GCI_BODY).header("Authorization", auth);
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let r = send(req).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The query-string form (GET) verifies too.
    let call = StsCall::signed(port(&sim), &creds, &now_amz_date(), "GET", "Action=GetCallerIdentity&Version=2011-06-15", b"", "sts");
    let r = call.send(&c, &base).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let s = sim.stats();
    assert_eq!((s.sts_calls, s.sts_ok), (3, 3));
}

#[tokio::test]
async fn other_methods_are_not_allowed() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let r = send(c.put(format!("{base}/")).body("Action=GetCallerIdentity&Version=2011-06-15")).await;
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.code(), "MethodNotAllowed");
    assert_eq!(r.header("allow"), Some("GET, POST"));
    assert!(r.header("x-amzn-requestid").is_some());
    let s = sim.stats();
    assert_eq!((s.sts_calls, s.sts_other_errors, s.sts_ok), (1, 1, 0));
}

#[tokio::test]
async fn tampered_body_does_not_match() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let (creds, _) = fetch_creds(&c, &base).await;
    let mut call = StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date());
    call.body = GCI_BODY.replace("GetCallerIdentity", "GetCallerIdentitY").into_bytes();
    let r = call.send(&c, &base).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.code(), "SignatureDoesNotMatch");
    assert!(r.message().starts_with("The request signature we calculated does not match the signature you provided."));
    assert!(r.body.contains("<Type>Sender</Type>"));
    assert!(r.body.starts_with(&format!("<ErrorResponse xmlns=\"{}\">", freshcreds_sim::sts::NAMESPACE)));
    assert_eq!(r.header("content-type"), Some("text/xml"));
    assert!(r.header("x-amzn-requestid").is_some());

    // A tampered signed header, and a lying x-amz-content-sha256.
    let mut call = StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date());
    call.set_header("amz-sdk-request", "attempt=2; max=4");
    assert_eq!(call.send(&c, &base).await.code(), "SignatureDoesNotMatch");
    let mut call = StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date());
    call.set_header("x-amz-content-sha256", &"0".repeat(64));
    assert_eq!(call.send(&c, &base).await.code(), "SignatureDoesNotMatch");
    // Signed for another service.
    let call = StsCall::signed(port(&sim), &creds, &now_amz_date(), "POST", "", GCI_BODY.as_bytes(), "iam");
    assert_eq!(call.send(&c, &base).await.code(), "SignatureDoesNotMatch");
    // Signed with the wrong secret.
    let wrong = Creds { secret: "x".repeat(40), ..creds.clone() };
    assert_eq!(StsCall::get_caller_identity(port(&sim), &wrong, &now_amz_date()).send(&c, &base).await.code(), "SignatureDoesNotMatch");

    assert_eq!(sim.stats().sts_signature_does_not_match, 5);
    assert_eq!(sim.stats().sts_ok, 0);
}

#[tokio::test]
async fn old_or_future_x_amz_date_is_refused() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let (creds, _) = fetch_creds(&c, &base).await;
    let old = amz_date_of(SystemTime::now() - Duration::from_secs(600));
    let r = StsCall::get_caller_identity(port(&sim), &creds, &old).send(&c, &base).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.code(), "SignatureDoesNotMatch");
    let msg = r.message();
    assert!(msg.starts_with(&format!("Signature expired: {old} is now earlier than ")), "{msg}");
    assert!(msg.ends_with(" - 5 min.)"), "{msg}");

    let future = amz_date_of(SystemTime::now() + Duration::from_secs(600));
    let r = StsCall::get_caller_identity(port(&sim), &creds, &future).send(&c, &base).await;
    assert_eq!(r.code(), "SignatureDoesNotMatch");
    assert!(r.message().contains(&format!("{future} is still later than ")), "{}", r.message());

    // Four minutes off is fine, and the check runs on the real clock, not the sim clock.
    let near = amz_date_of(SystemTime::now() - Duration::from_secs(240));
    assert_eq!(StsCall::get_caller_identity(port(&sim), &creds, &near).send(&c, &base).await.status, 200);
    assert_eq!(sim.stats().sts_signature_does_not_match, 2);
}

#[tokio::test]
async fn wrong_missing_or_unknown_credentials_are_invalid() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let (creds, _) = fetch_creds(&c, &base).await;

    let wrong_token = Creds { token: format!("{}x", creds.token), ..creds.clone() };
    let r = StsCall::get_caller_identity(port(&sim), &wrong_token, &now_amz_date()).send(&c, &base).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.code(), "InvalidClientTokenId");
    assert_eq!(r.message(), "The security token included in the request is invalid.");

    // No token at all (signed without it).
    let mut call = StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date());
    call.remove_header("x-amz-security-token");
    let headers: Vec<(String, String)> = call.headers.iter().filter(|(k, _)| k != "Authorization").cloned().collect();
    let amz = headers.iter().find(|(k, _)| k == "X-Amz-Date").map(|(_, v)| v.clone()).expect("date");
    let auth = authorization("POST", "/", "", &headers, &call.body, &creds.akid, &creds.secret, "us-east-1", "sts", &amz);
    call.set_header("Authorization", &auth);
    assert_eq!(call.send(&c, &base).await.code(), "InvalidClientTokenId");

    // The token of another generation.
    sim.rotate_now();
    let (newer, _) = fetch_creds(&c, &base).await;
    let mixed = Creds { token: newer.token.clone(), ..creds.clone() };
    assert_eq!(StsCall::get_caller_identity(port(&sim), &mixed, &now_amz_date()).send(&c, &base).await.code(), "InvalidClientTokenId");

    // An access key the simulator never issued.
    let unknown = Creds { akid: "ASIAAAAAAAAAAAAAAAAA".to_string(), ..creds.clone() };
    let r = StsCall::get_caller_identity(port(&sim), &unknown, &now_amz_date()).send(&c, &base).await;
    assert_eq!(r.code(), "InvalidClientTokenId");

    // The older, rotated-away generation is still valid until it expires.
    assert_eq!(StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date()).send(&c, &base).await.status, 200);
    assert_eq!(StsCall::get_caller_identity(port(&sim), &newer, &now_amz_date()).send(&c, &base).await.status, 200);

    let s = sim.stats();
    assert_eq!((s.sts_invalid_client_token_id, s.sts_ok, s.sts_calls), (4, 2, 6));
}

#[tokio::test]
async fn expired_generation_gets_expired_token() {
    // 1 real s = 1 sim h; lifetime 1 h.
    let sim = start(compressed(3600.0, 3600, 60)).await;
    let (base, c) = (sim.base_url(), client());
    let (creds, _) = fetch_creds(&c, &base).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let r = StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date()).send(&c, &base).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.code(), "ExpiredToken");
    assert_eq!(r.message(), "The security token included in the request is expired");

    // IMDS hands out a fresh generation, which works.
    let (fresh, _) = fetch_creds(&c, &base).await;
    assert_ne!(fresh.akid, creds.akid);
    assert_eq!(StsCall::get_caller_identity(port(&sim), &fresh, &now_amz_date()).send(&c, &base).await.status, 200);
    let s = sim.stats();
    assert_eq!((s.sts_expired_token, s.sts_ok), (1, 1));
}

#[tokio::test]
async fn missing_or_garbled_authorization_and_bad_actions() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let (creds, _) = fetch_creds(&c, &base).await;

    let r = send(c.post(format!("{base}/")).header("Content-Type", "application/x-www-form-urlencoded").body(GCI_BODY)).await;
    assert_eq!((r.status, r.code().as_str()), (403, "MissingAuthenticationToken"));

    for garbled in [
        "AWS4-HMAC-SHA256",
        "Bearer abc",
        "AWS4-HMAC-SHA256 Credential=ASIA/20150830/us-east-1/sts, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=ASIA/20150830/us-east-1/sts/aws4_request, Signature=00",
        "AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f, SignedHeaders=host, Signature=<>&",
    ] {
        let r = send(c.post(format!("{base}/")).header("Authorization", garbled).header("X-Amz-Date", now_amz_date()).body(GCI_BODY)).await;
        assert_eq!((r.status, r.code().as_str()), (403, "IncompleteSignature"), "{garbled}");
    }
    // Host not signed; X-Amz-Date missing or malformed.
    let mut call = StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date());
    let auth = call.headers.iter().find(|(k, _)| k == "Authorization").map(|(_, v)| v.replace(";host;", ";")).expect("auth");
    call.set_header("Authorization", &auth);
    assert_eq!(call.send(&c, &base).await.code(), "IncompleteSignature");
    let mut call = StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date());
    call.remove_header("x-amz-date");
    assert_eq!(call.send(&c, &base).await.code(), "IncompleteSignature");
    let mut call = StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date());
    call.set_header("x-amz-date", "2015-08-30T12:36:00Z");
    assert_eq!(call.send(&c, &base).await.code(), "IncompleteSignature");

    // Other actions, properly signed.
    let amz = now_amz_date();
    let call = StsCall::signed(port(&sim), &creds, &amz, "POST", "", b"Action=GetSessionToken&Version=2011-06-15", "sts");
    let r = call.send(&c, &base).await;
    assert_eq!((r.status, r.code().as_str()), (400, "InvalidAction"));
    assert_eq!(r.message(), "Could not find operation GetSessionToken for version 2011-06-15");
    let call = StsCall::signed(port(&sim), &creds, &amz, "POST", "", b"Action=%3Cx%3E&Version=1", "sts");
    let r = call.send(&c, &base).await;
    assert_eq!(r.code(), "InvalidAction");
    assert!(r.body.contains("&lt;x&gt;"), "{}", r.body);
    let call = StsCall::signed(port(&sim), &creds, &amz, "POST", "", b"Version=2011-06-15", "sts");
    assert_eq!(call.send(&c, &base).await.code(), "InvalidAction");

    let s = sim.stats();
    assert_eq!(s.sts_other_errors, 1 + 5 + 3 + 3);
    assert_eq!(s.sts_calls, s.sts_other_errors);
}

#[tokio::test]
async fn body_size_limit() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let (creds, _) = fetch_creds(&c, &base).await;

    // Exactly 64 KiB is accepted.
    let mut body = format!("{GCI_BODY}&Pad=");
    body.push_str(&"a".repeat(64 * 1024 - body.len()));
    assert_eq!(body.len(), 64 * 1024);
    let call = StsCall::signed(port(&sim), &creds, &now_amz_date(), "POST", "", body.as_bytes(), "sts");
    let r = call.send(&c, &base).await;
    assert_eq!(r.status, 200, "{}", r.body);

    body.push('a');
    let call = StsCall::signed(port(&sim), &creds, &now_amz_date(), "POST", "", body.as_bytes(), "sts");
    assert_eq!(call.send(&c, &base).await.status, 413);
    let huge = vec![b'a'; 1024 * 1024];
    let r = send(c.post(format!("{base}/")).body(huge)).await;
    assert_eq!(r.status, 413);
    assert_eq!(sim.stats().sts_other_errors, 2);
}

/// Raw garbage on the socket never takes the server down.
#[tokio::test]
async fn garbage_requests_do_not_hurt_the_server() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let garbage: [&[u8]; 7] = [
        b"\x00\x01\x02\x03\r\n\r\n",
        b"GET /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1\r\nX-aws-ec2-metadata-token-ttl-seconds: \xff\xfe\r\n\r\n",
        b"PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1\r\nX-aws-ec2-metadata-token-ttl-seconds: \xff\xfe\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: AWS4-HMAC-SHA256 \xc3\x28\r\nX-Amz-Date: \xe2\x82\r\nContent-Length: 3\r\n\r\nabc",
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999999999999999\r\n\r\nabc",
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /_sim/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\n{\"a\":",
    ];
    for g in garbage {
        let mut s = tokio::net::TcpStream::connect(sim.addr()).await.expect("connect");
        let _ = s.write_all(g).await;
        let _ = s.shutdown().await;
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    }
    let (creds, _) = fetch_creds(&c, &base).await;
    assert_eq!(StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date()).send(&c, &base).await.status, 200);
    let r = send(c.get(format!("{base}/nothing-here"))).await;
    assert_eq!(r.status, 404);
}
