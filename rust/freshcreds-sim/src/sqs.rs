//! A minimal Amazon SQS endpoint (AWS JSON 1.0 protocol) at `/`, with the same SigV4 verification
//! as [`crate::sts`], so that an application using a real SQS client — the AWS SDK for Java v2
//! speaks JSON to SQS since 2.21.19 — gets verified answers: `ListQueues` and `GetQueueUrl` of one
//! queue, [`QUEUE_NAME`], that exists in every account.
//!
//! Requests are `POST /` with `X-Amz-Target: AmazonSQS.<Operation>`,
//! `Content-Type: application/x-amz-json-1.0` and a JSON object body (an empty body counts as
//! `{}`). The server routes every request to `/` whose `X-Amz-Target` starts with `AmazonSQS.`
//! here; every other request to `/` is STS. Bodies over 64 KiB → 413.
//!
//! Every answer is `application/x-amz-json-1.0` with an `x-amzn-RequestId` header. In order:
//!
//! 1. a method other than POST → 405 `MethodNotAllowed` (with `Allow: POST`);
//! 2. checks 1–6 of [`crate::sts`], with the credential scope's service `sqs` instead of `sts`
//!    (a request signed for `sts` → 403 `SignatureDoesNotMatch` "Credential should be scoped to
//!    correct service: 'sqs'. "): `MissingAuthenticationToken`, `IncompleteSignature`,
//!    `SignatureDoesNotMatch`, `InvalidClientTokenId`, `ExpiredToken`, with STS's statuses and
//!    messages;
//! 3. a body that is not a JSON object, or a parameter of the wrong JSON type → 400
//!    `SerializationException`;
//! 4. the operation:
//!    * `AmazonSQS.ListQueues` → 200 `{"QueueUrls":["http://HOST/ACCOUNT/freshcreds-sample"]}`,
//!      HOST being the request's `Host` header and ACCOUNT the caller's account (123456789012, or
//!      the account of an assumed role); with a `QueueNamePrefix` the name does not start with →
//!      200 `{}` (SQS leaves `QueueUrls` out when it is empty). `MaxResults` and `NextToken` are
//!      ignored;
//!    * `AmazonSQS.GetQueueUrl` with `"QueueName":"freshcreds-sample"` → 200 `{"QueueUrl":"…"}`
//!      (same URL); another name → 400 `QueueDoesNotExist`; no `QueueName` → 400
//!      `MissingParameter`;
//!    * any other `AmazonSQS.…` target → 400 `UnknownOperationException`.
//!
//! Errors have SQS's JSON shape — a body `{"__type":"…","message":"…"}` and an
//! `x-amzn-query-error: CODE;Sender` header (`Receiver` for 5xx). SQS is "AWS query compatible":
//! the SDKs take the error code from that header (the Java SDK v2's `awsErrorDetails().errorCode()`
//! is the part before `;`), so the codes an application sees are the same as over the query
//! protocol, and the same as STS's:
//!
//! | failure | status | `x-amzn-query-error` | `__type` |
//! | --- | --- | --- | --- |
//! | checks 1–6, 405, 413, unreadable body | STS's | STS's code, e.g. `ExpiredToken;Sender` | `com.amazon.coral.service#CODE`, `ExpiredTokenException` for `ExpiredToken` |
//! | bad JSON | 400 | `SerializationException;Sender` | `com.amazon.coral.service#SerializationException` |
//! | unknown target | 400 | `InvalidAction;Sender` | `com.amazon.coral.service#UnknownOperationException` |
//! | unknown queue | 400 | `AWS.SimpleQueueService.NonExistentQueue;Sender` | `com.amazonaws.sqs#QueueDoesNotExist` |
//! | no `QueueName` | 400 | `MissingParameter;Sender` | `com.amazonaws.sqs#MissingParameter` |
//!
//! Counters: `sqs_calls` counts every request routed here; each answer adds to exactly one of
//! `sqs_ok` and `sqs_errors`; `sqs_expired_token` additionally counts the `ExpiredToken` answers
//! (expired or revoked credentials). SQS requests never touch the `sts_*` counters.

use hyper::body::Incoming;
use hyper::header::{HeaderValue, HOST};
use hyper::http::request::Parts;
use hyper::{Method, Request, StatusCode};
use serde_json::{json, Map, Value};

use crate::http::{aws_response, method_not_allowed, read_body, Resp, MAX_BODY};
use crate::query::StsError;
use crate::state::{request_id, Principal, Shared, ACCOUNT};
use crate::sts;

/// The header that names the operation.
pub const TARGET_HEADER: &str = "x-amz-target";
/// What the `X-Amz-Target` of an SQS request starts with.
pub const TARGET_PREFIX: &str = "AmazonSQS.";
/// The content type of SQS's JSON protocol, requests and answers.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// The service name SQS requests must be signed for (credential scope).
pub const SERVICE: &str = "sqs";
/// The one queue, which exists in every account.
pub const QUEUE_NAME: &str = "freshcreds-sample";

/// Whether a request to `/` is for SQS: its `X-Amz-Target` starts with [`TARGET_PREFIX`].
pub(crate) fn is_sqs_request<B>(req: &Request<B>) -> bool {
    req.headers().get(TARGET_HEADER).is_some_and(|v| v.as_bytes().starts_with(TARGET_PREFIX.as_bytes()))
}

/// An SQS error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SqsError {
    status: StatusCode,
    /// The code in `x-amzn-query-error` (what the SDKs report).
    query_code: &'static str,
    /// `__type`.
    type_name: String,
    message: String,
}

impl SqsError {
    fn new(status: StatusCode, query_code: &'static str, type_name: impl Into<String>, message: impl Into<String>) -> SqsError {
        SqsError { status, query_code, type_name: type_name.into(), message: message.into() }
    }

    fn serialization(message: impl Into<String>) -> SqsError {
        SqsError::new(StatusCode::BAD_REQUEST, "SerializationException", "com.amazon.coral.service#SerializationException", message)
    }
}

impl From<StsError> for SqsError {
    fn from(err: StsError) -> SqsError {
        let name = if err.code == "ExpiredToken" { "ExpiredTokenException" } else { err.code };
        SqsError::new(err.status, err.code, format!("com.amazon.coral.service#{name}"), err.message)
    }
}

fn json_response(status: StatusCode, request_id: &str, body: &Value, note: &'static str) -> Resp {
    aws_response(status, CONTENT_TYPE, request_id, body.to_string(), note)
}

fn error_response(shared: &Shared, request_id: &str, err: SqsError) -> Resp {
    shared.count(|s| {
        s.sqs_errors += 1;
        if err.query_code == "ExpiredToken" {
            s.sqs_expired_token += 1;
        }
    });
    let body = json!({ "__type": err.type_name, "message": err.message });
    let mut resp = json_response(err.status, request_id, &body, err.query_code);
    let fault = if err.status.is_server_error() { "Receiver" } else { "Sender" };
    if let Ok(v) = HeaderValue::from_str(&format!("{};{fault}", err.query_code)) {
        resp.headers_mut().insert("x-amzn-query-error", v);
    }
    resp
}

fn ok_response(shared: &Shared, request_id: &str, body: &Value) -> Resp {
    shared.count(|s| s.sqs_ok += 1);
    json_response(StatusCode::OK, request_id, body, "OK")
}

pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Resp {
    shared.count(|s| s.sqs_calls += 1);
    let rid = request_id();
    let not_allowed = |status| error_response(shared, &rid, StsError::new(status, "MethodNotAllowed", "Only POST is supported.").into());
    if let Some(resp) = method_not_allowed(req.method(), &[Method::POST], not_allowed) {
        return resp;
    }
    match answer(shared, req).await {
        Ok(body) => ok_response(shared, &rid, &body),
        Err(err) => error_response(shared, &rid, err),
    }
}

async fn answer(shared: &Shared, req: Request<Incoming>) -> Result<Value, SqsError> {
    let (parts, body) = req.into_parts();
    let body = read_body(body, &parts.headers, MAX_BODY).await.map_err(StsError::from)?;
    let key = sts::verify(shared, &parts, &body, SERVICE)?;
    let input = parse_input(&body)?;
    let target = parts.headers.get(TARGET_HEADER).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).unwrap_or_default();
    let account = match &key.principal {
        Principal::RoleSession(session) => session.account.as_str(),
        Principal::InstanceRole | Principal::StaticUser => ACCOUNT,
    };
    let url = queue_url(&parts, account);
    match target.strip_prefix(TARGET_PREFIX).unwrap_or("") {
        "ListQueues" => {
            let prefix = string_param(&input, "QueueNamePrefix")?.unwrap_or("");
            Ok(if QUEUE_NAME.starts_with(prefix) { json!({ "QueueUrls": [url] }) } else { json!({}) })
        }
        "GetQueueUrl" => match string_param(&input, "QueueName")? {
            Some(QUEUE_NAME) => Ok(json!({ "QueueUrl": url })),
            Some(_) => Err(SqsError::new(
                StatusCode::BAD_REQUEST,
                "AWS.SimpleQueueService.NonExistentQueue",
                "com.amazonaws.sqs#QueueDoesNotExist",
                "The specified queue does not exist.",
            )),
            None => Err(SqsError::new(
                StatusCode::BAD_REQUEST,
                "MissingParameter",
                "com.amazonaws.sqs#MissingParameter",
                "The request must contain the parameter QueueName.",
            )),
        },
        _ => Err(SqsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            "com.amazon.coral.service#UnknownOperationException",
            format!("The operation {target} is not supported."),
        )),
    }
}

/// The request body as a JSON object; an empty (or all-whitespace) body is `{}`.
fn parse_input(body: &[u8]) -> Result<Map<String, Value>, SqsError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(SqsError::serialization("The request body must be a JSON object.")),
        Err(_) => Err(SqsError::serialization("The request body is not valid JSON.")),
    }
}

/// A string parameter: `None` when absent or `null`, an error when of another JSON type.
fn string_param<'a>(input: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, SqsError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(SqsError::serialization(format!("{name} must be a string."))),
    }
}

/// `http://HOST/ACCOUNT/freshcreds-sample`, HOST from the (signed) `Host` header when it looks like
/// a host, else `127.0.0.1`.
fn queue_url(parts: &Parts, account: &str) -> String {
    let host = parts
        .headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b)))
        .unwrap_or("127.0.0.1");
    format!("http://{host}/{account}/{QUEUE_NAME}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sts_errors_map_to_the_query_compatible_shape() {
        let err: SqsError = StsError::new(StatusCode::FORBIDDEN, "ExpiredToken", "expired").into();
        assert_eq!((err.query_code, err.type_name.as_str()), ("ExpiredToken", "com.amazon.coral.service#ExpiredTokenException"));
        let err: SqsError = StsError::new(StatusCode::FORBIDDEN, "InvalidClientTokenId", "invalid").into();
        assert_eq!(err.type_name, "com.amazon.coral.service#InvalidClientTokenId");
        assert_eq!((err.status, err.message.as_str()), (StatusCode::FORBIDDEN, "invalid"));
    }

    #[test]
    fn input_parsing() {
        assert!(parse_input(b"").expect("empty").is_empty());
        assert!(parse_input(b" {} ").expect("object").is_empty());
        for bad in [&b"[]"[..], b"null", b"{", b"\"x\""] {
            assert_eq!(parse_input(bad).expect_err("not an object").query_code, "SerializationException");
        }
        let input = parse_input(br#"{"QueueName":"q","MaxResults":5,"QueueNamePrefix":null}"#).expect("object");
        assert_eq!(string_param(&input, "QueueName").expect("string"), Some("q"));
        assert_eq!(string_param(&input, "QueueNamePrefix").expect("null"), None);
        assert_eq!(string_param(&input, "Absent").expect("absent"), None);
        assert!(string_param(&input, "MaxResults").is_err());
    }
}
