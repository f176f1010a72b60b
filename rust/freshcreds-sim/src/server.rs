//! The HTTP/1.1 server: accept loop, routing, common headers, request bodies and request logging.
//!
//! * Routing: `/latest` and `/latest/...` → IMDS; `/_sim/...` → control API; `/` with an
//!   `X-Amz-Target: AmazonSQS.…` header → SQS; any other `/` → STS; `/container/...` → container
//!   credentials; `/federation/...` → SSO portal; anything else → 404.
//! * Every response gets `Date` (AWS time = real time + the `aws_clock_skew_ms` fault, HTTP-date)
//!   and `Server: EC2ws`.
//! * A handler can instead ask for the connection to be closed without any answer
//!   ([`DropConnection`], used by the `imds_down` and `token_put_hang` faults): the service
//!   returns an error, on which hyper closes the connection without writing a response.
//! * Connections run in a `JoinSet` owned by the accept task, so aborting that task (dropping the
//!   [`crate::Simulator`]) closes every connection too.
//! * With logging on, one line per request goes to stderr: method, path (never the query string,
//!   headers or bodies, so no secrets or tokens), status and, for STS and SQS, the outcome code.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, DATE, SERVER};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::clock::http_date;
use crate::state::Shared;
use crate::{container, control, imds, sqs, sso, sts};

pub(crate) type Resp = Response<Full<Bytes>>;

/// The largest request body accepted (STS, SQS and control API).
pub const MAX_BODY: usize = 64 * 1024;
/// How much of an oversized body is read and discarded before answering 413.
const DRAIN_CAP: usize = 8 * 1024 * 1024;

/// "Close this connection without answering."
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for DropConnection {}

/// A short outcome note attached to a response for the request log (e.g. an STS error code).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogNote(pub &'static str);

/// Builds a response with a body and content type.
pub(crate) fn response(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// A `text/plain` response.
pub(crate) fn text(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    response(status, "text/plain", body)
}

/// An `application/json` response.
pub(crate) fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Resp {
    match serde_json::to_vec(value) {
        Ok(body) => response(status, "application/json", body),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("serialization failed: {e}")),
    }
}

/// A status from a number, or 500 when it is not a usable final status.
pub(crate) fn status_or_500(code: u16) -> StatusCode {
    match StatusCode::from_u16(code) {
        Ok(s) if (200..=599).contains(&code) => s,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub(crate) enum BodyError {
    TooLarge,
    Failed,
}

/// Reads a request body of at most `limit` bytes. An oversized body is drained (up to a cap) so
/// the client reliably receives the 413 instead of a connection reset.
pub(crate) async fn read_body(mut body: Incoming, headers: &HeaderMap, limit: usize) -> Result<Bytes, BodyError> {
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|s| s.trim().parse::<u64>().ok());
    let mut too_large = declared.is_some_and(|n| n > limit as u64);
    if declared.is_some_and(|n| n > DRAIN_CAP as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut buf = BytesMut::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Failed)?;
        if let Ok(data) = frame.into_data() {
            total = total.saturating_add(data.len());
            if total > limit {
                too_large = true;
                buf.clear();
            }
            if !too_large {
                buf.extend_from_slice(&data);
            }
            if total > DRAIN_CAP {
                break;
            }
        }
    }
    if too_large {
        Err(BodyError::TooLarge)
    } else {
        Ok(buf.freeze())
    }
}

async fn route(shared: &Arc<Shared>, req: Request<Incoming>) -> Result<Resp, DropConnection> {
    let path = req.uri().path();
    if path == "/latest" || path.starts_with("/latest/") {
        imds::handle(shared, req).await
    } else if path == "/_sim" || path.starts_with("/_sim/") {
        Ok(control::handle(shared, req).await)
    } else if path == "/" && sqs::is_sqs_request(&req) {
        Ok(sqs::handle(shared, req).await)
    } else if path == "/" {
        Ok(sts::handle(shared, req).await)
    } else if path.starts_with(container::PREFIX) {
        Ok(container::handle(shared, &req))
    } else if path == "/federation" || path.starts_with("/federation/") {
        Ok(sso::handle(shared, &req))
    } else {
        Ok(text(StatusCode::NOT_FOUND, "Not Found"))
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Resp, DropConnection> {
    let log = shared.log_requests.then(|| (req.method().clone(), req.uri().path().to_string()));
    let mut resp = match route(&shared, req).await {
        Ok(resp) => resp,
        Err(drop) => {
            if let Some((method, path)) = log {
                eprintln!("freshcreds-sim: {method} {path} dropped");
            }
            return Err(drop);
        }
    };
    let date = http_date(shared.aws_now());
    if let Ok(v) = HeaderValue::from_str(&date) {
        resp.headers_mut().insert(DATE, v);
    }
    resp.headers_mut().insert(SERVER, HeaderValue::from_static("EC2ws"));
    if let Some((method, path)) = log {
        let note = resp.extensions().get::<LogNote>().map(|n| format!(" {}", n.0)).unwrap_or_default();
        eprintln!("freshcreds-sim: {method} {path} {}{note}", resp.status().as_u16());
    }
    Ok(resp)
}

/// Accepts connections until the task is aborted.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                if shared.log_requests {
                    eprintln!("freshcreds-sim: accept failed: {e}");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(shared.clone(), req));
            let _ =
                hyper::server::conn::http1::Builder::new().timer(TokioTimer::new()).serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
