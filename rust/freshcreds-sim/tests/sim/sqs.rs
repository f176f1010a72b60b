//! The SQS endpoint (AWS JSON 1.0) over real HTTP, signed by the tests' own signer.

use std::time::Duration;

use crate::common::*;
use crate::{compressed, start, start_default};

const LIST_QUEUES: &str = "AmazonSQS.ListQueues";
const GET_QUEUE_URL: &str = "AmazonSQS.GetQueueUrl";

fn port(sim: &freshcreds_sim::Simulator) -> u16 {
    sim.addr().port()
}

async fn sqs(sim: &freshcreds_sim::Simulator, c: &reqwest::Client, creds: &Creds, target: &str, body: &str) -> Reply {
    StsCall::sqs(port(sim), creds, &now_amz_date(), target, body, "sqs").send(c, &sim.base_url()).await
}

/// Checks SQS's JSON error shape and returns the `x-amzn-query-error` code.
fn sqs_error(r: &Reply, status: u16, type_name: &str) -> String {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.0"));
    assert_eq!(r.header("x-amzn-requestid").map(str::len), Some(36));
    let v = r.json();
    assert_eq!(v["__type"].as_str(), Some(type_name), "{}", r.body);
    assert!(v["message"].is_string(), "{}", r.body);
    assert_eq!(v.as_object().map(|o| o.len()), Some(2), "{}", r.body);
    let header = r.header("x-amzn-query-error").expect("x-amzn-query-error").to_string();
    let (code, fault) = header.split_once(';').expect("CODE;FAULT");
    assert_eq!(fault, "Sender");
    code.to_string()
}

#[tokio::test]
async fn list_queues_with_imds_credentials_answers_the_sample_queue() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let (creds, _) = fetch_creds(&c, &base).await;
    let url = format!("http://127.0.0.1:{}/123456789012/freshcreds-sample", port(&sim));

    let r = sqs(&sim, &c, &creds, LIST_QUEUES, "{}").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.0"));
    assert_eq!(r.header("x-amzn-requestid").map(str::len), Some(36));
    assert!(r.header("x-amzn-query-error").is_none());
    assert_eq!(r.json(), serde_json::json!({ "QueueUrls": [url] }));

    // A matching prefix lists it, another lists nothing; an empty body counts as `{}`.
    let r = sqs(&sim, &c, &creds, LIST_QUEUES, r#"{"QueueNamePrefix":"freshcreds","MaxResults":10}"#).await;
    assert_eq!(r.json(), serde_json::json!({ "QueueUrls": [url] }));
    let r = sqs(&sim, &c, &creds, LIST_QUEUES, r#"{"QueueNamePrefix":"other"}"#).await;
    assert_eq!((r.status, r.json()), (200, serde_json::json!({})));
    assert_eq!(sqs(&sim, &c, &creds, LIST_QUEUES, "").await.status, 200);

    let r = sqs(&sim, &c, &creds, GET_QUEUE_URL, r#"{"QueueName":"freshcreds-sample"}"#).await;
    assert_eq!((r.status, r.json()), (200, serde_json::json!({ "QueueUrl": url })));

    // Static keys (no session token) and an assumed role in another account work too; the queue
    // URL names the caller's account.
    assert_eq!(sqs(&sim, &c, &static_creds(), LIST_QUEUES, "{}").await.status, 200);
    let body = form_body(&[
        ("Action", "AssumeRole"),
        ("Version", "2011-06-15"),
        ("RoleArn", "arn:aws:iam::210987654321:role/app"),
        ("RoleSessionName", "sqs-app"),
    ]);
    let r = StsCall::form(port(&sim), &static_creds(), &body).send(&c, &base).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = sqs(&sim, &c, &creds_from_xml(&r.body), GET_QUEUE_URL, r#"{"QueueName":"freshcreds-sample"}"#).await;
    assert_eq!(r.json()["QueueUrl"].as_str(), Some(format!("http://127.0.0.1:{}/210987654321/freshcreds-sample", port(&sim)).as_str()));

    let s = sim.stats();
    assert_eq!((s.sqs_calls, s.sqs_ok, s.sqs_errors, s.sqs_expired_token), (7, 7, 0, 0));
    assert_eq!((s.sts_calls, s.sts_ok), (1, 1), "only the AssumeRole went to STS");
}

#[tokio::test]
async fn a_request_signed_for_another_service_or_tampered_does_not_match() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let (creds, _) = fetch_creds(&c, &base).await;

    let r = StsCall::sqs(port(&sim), &creds, &now_amz_date(), LIST_QUEUES, "{}", "sts").send(&c, &base).await;
    assert_eq!(sqs_error(&r, 403, "com.amazon.coral.service#SignatureDoesNotMatch"), "SignatureDoesNotMatch");
    assert_eq!(r.json()["message"].as_str(), Some("Credential should be scoped to correct service: 'sqs'. "));

    // STS still wants `sts`, with its own message.
    let call = StsCall::signed(port(&sim), &creds, &now_amz_date(), "POST", "", GCI_BODY.as_bytes(), "sqs");
    let r = call.send(&c, &base).await;
    assert_eq!((r.status, r.code().as_str()), (403, "SignatureDoesNotMatch"));
    assert_eq!(xml_unescape(&r.message()), "Credential should be scoped to correct service: 'sts'. ");

    // A tampered body, a tampered target and a wrong secret.
    let mut call = StsCall::sqs(port(&sim), &creds, &now_amz_date(), GET_QUEUE_URL, r#"{"QueueName":"freshcreds-sample"}"#, "sqs");
    call.body = br#"{"QueueName":"freshcreds-sampl3"}"#.to_vec();
    let r = call.send(&c, &base).await;
    assert_eq!(sqs_error(&r, 403, "com.amazon.coral.service#SignatureDoesNotMatch"), "SignatureDoesNotMatch");
    assert!(r.json()["message"].as_str().is_some_and(|m| m.starts_with("The request signature we calculated does not match")));
    let mut call = StsCall::sqs(port(&sim), &creds, &now_amz_date(), LIST_QUEUES, "{}", "sqs");
    call.set_header("X-Amz-Target", "AmazonSQS.PurgeQueue");
    assert_eq!(sqs_error(&call.send(&c, &base).await, 403, "com.amazon.coral.service#SignatureDoesNotMatch"), "SignatureDoesNotMatch");
    let wrong = Creds { secret: "x".repeat(40), ..creds.clone() };
    let r = sqs(&sim, &c, &wrong, LIST_QUEUES, "{}").await;
    assert_eq!(sqs_error(&r, 403, "com.amazon.coral.service#SignatureDoesNotMatch"), "SignatureDoesNotMatch");

    let s = sim.stats();
    assert_eq!((s.sqs_calls, s.sqs_ok, s.sqs_errors), (4, 0, 4));
    assert_eq!((s.sts_calls, s.sts_signature_does_not_match), (1, 1));
}

#[tokio::test]
async fn expired_or_revoked_credentials_get_expired_token() {
    // 1 real s = 1 sim h; lifetime 1 h.
    let sim = start(compressed(3600.0, 3600, 60)).await;
    let (base, c) = (sim.base_url(), client());
    let (creds, _) = fetch_creds(&c, &base).await;
    assert_eq!(sqs(&sim, &c, &creds, LIST_QUEUES, "{}").await.status, 200);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let r = sqs(&sim, &c, &creds, LIST_QUEUES, "{}").await;
    assert_eq!(sqs_error(&r, 403, "com.amazon.coral.service#ExpiredTokenException"), "ExpiredToken");
    assert_eq!(r.json()["message"].as_str(), Some("The security token included in the request is expired"));

    // The next generation works until it is revoked.
    let (fresh, _) = fetch_creds(&c, &base).await;
    assert_ne!(fresh.akid, creds.akid);
    assert_eq!(sqs(&sim, &c, &fresh, LIST_QUEUES, "{}").await.status, 200);
    sim.revoke_current();
    let r = sqs(&sim, &c, &fresh, GET_QUEUE_URL, r#"{"QueueName":"freshcreds-sample"}"#).await;
    assert_eq!(sqs_error(&r, 403, "com.amazon.coral.service#ExpiredTokenException"), "ExpiredToken");

    let s = sim.stats();
    assert_eq!((s.sqs_calls, s.sqs_ok, s.sqs_errors, s.sqs_expired_token), (4, 2, 2, 2));
    assert_eq!((s.sts_calls, s.sts_expired_token, s.sts_revoked_rejections), (0, 0, 0), "SQS leaves the STS counters alone");
}

#[tokio::test]
async fn unsigned_garbled_or_unknown_credentials_are_refused() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let (creds, _) = fetch_creds(&c, &base).await;

    let unsigned = c
        .post(format!("{base}/"))
        .header("X-Amz-Target", LIST_QUEUES)
        .header("Content-Type", "application/x-amz-json-1.0")
        .header("X-Amz-Date", now_amz_date())
        .body("{}");
    let r = send(unsigned).await;
    assert_eq!(sqs_error(&r, 403, "com.amazon.coral.service#MissingAuthenticationToken"), "MissingAuthenticationToken");
    assert_eq!(r.json()["message"].as_str(), Some("Request is missing Authentication Token"));

    let garbled =
        c.post(format!("{base}/")).header("X-Amz-Target", LIST_QUEUES).header("Authorization", "AWS4-HMAC-SHA256 Credential=x").body("{}");
    let r = send(garbled).await;
    assert_eq!(sqs_error(&r, 403, "com.amazon.coral.service#IncompleteSignature"), "IncompleteSignature");

    let unknown = Creds { akid: "ASIAAAAAAAAAAAAAAAAA".to_string(), ..creds.clone() };
    let r = sqs(&sim, &c, &unknown, LIST_QUEUES, "{}").await;
    assert_eq!(sqs_error(&r, 403, "com.amazon.coral.service#InvalidClientTokenId"), "InvalidClientTokenId");
    assert_eq!(r.json()["message"].as_str(), Some("The security token included in the request is invalid."));
    let wrong_token = Creds { token: format!("{}x", creds.token), ..creds.clone() };
    let r = sqs(&sim, &c, &wrong_token, LIST_QUEUES, "{}").await;
    assert_eq!(sqs_error(&r, 403, "com.amazon.coral.service#InvalidClientTokenId"), "InvalidClientTokenId");

    let r = send(c.get(format!("{base}/")).header("X-Amz-Target", LIST_QUEUES)).await;
    assert_eq!(sqs_error(&r, 405, "com.amazon.coral.service#MethodNotAllowed"), "MethodNotAllowed");
    assert_eq!(r.header("allow"), Some("POST"));

    let s = sim.stats();
    assert_eq!((s.sqs_calls, s.sqs_errors, s.sqs_ok, s.sts_calls), (5, 5, 0, 0));
}

#[tokio::test]
async fn unknown_targets_queues_and_bodies_are_errors() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let (creds, _) = fetch_creds(&c, &base).await;

    for target in ["AmazonSQS.SendMessage", "AmazonSQS.", "AmazonSQS.listqueues"] {
        let r = sqs(&sim, &c, &creds, target, "{}").await;
        assert_eq!(sqs_error(&r, 400, "com.amazon.coral.service#UnknownOperationException"), "InvalidAction", "{target}");
    }
    let r = sqs(&sim, &c, &creds, GET_QUEUE_URL, r#"{"QueueName":"nope"}"#).await;
    assert_eq!(sqs_error(&r, 400, "com.amazonaws.sqs#QueueDoesNotExist"), "AWS.SimpleQueueService.NonExistentQueue");
    assert_eq!(r.json()["message"].as_str(), Some("The specified queue does not exist."));
    let r = sqs(&sim, &c, &creds, GET_QUEUE_URL, "{}").await;
    assert_eq!(sqs_error(&r, 400, "com.amazonaws.sqs#MissingParameter"), "MissingParameter");
    for body in ["[]", "{", r#"{"QueueName":7}"#] {
        let r = sqs(&sim, &c, &creds, GET_QUEUE_URL, body).await;
        assert_eq!(sqs_error(&r, 400, "com.amazon.coral.service#SerializationException"), "SerializationException", "{body}");
    }
    let big = format!(r#"{{"QueueNamePrefix":"{}"}}"#, "a".repeat(64 * 1024));
    let r = sqs(&sim, &c, &creds, LIST_QUEUES, &big).await;
    assert_eq!(sqs_error(&r, 413, "com.amazon.coral.service#RequestEntityTooLarge"), "RequestEntityTooLarge");

    // Another service's target is not SQS: STS answers it (in XML).
    let mut call = StsCall::get_caller_identity(port(&sim), &creds, &now_amz_date());
    call.set_header("X-Amz-Target", "DynamoDB_20120810.ListTables");
    let r = call.send(&c, &base).await;
    assert_eq!((r.status, r.header("content-type")), (200, Some("text/xml")));

    let s = sim.stats();
    assert_eq!((s.sqs_calls, s.sqs_errors, s.sqs_ok), (9, 9, 0));
    assert_eq!((s.sts_calls, s.sts_ok), (1, 1));
}
