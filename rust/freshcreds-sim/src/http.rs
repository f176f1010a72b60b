//! HTTP building blocks shared by the handlers and the server: the response type, response
//! builders, the request-body reader, the 405 answer and the request-log note.
//!
//! * [`response`], [`text`] and [`json`] build a response with a body and content type;
//!   [`aws_response`] adds the `x-amzn-RequestId` header and a [`LogNote`], as STS and SQS answer.
//! * [`method_not_allowed`] is the one place a handler's method check lives: a method outside the allowed set
//!   gets 405 with an `Allow` header listing the set and the handler's own error body.
//! * [`read_body`] reads a request body of at most a limit ([`MAX_BODY`] for every handler), and
//!   drains an oversized one so that the client reliably receives the 413.
//! * A handler that wants its connection closed without any answer returns [`DropConnection`].
//!
//! This module knows nothing of the simulator's state or services.

use std::fmt;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Response, StatusCode};

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

/// An AWS service answer: [`response`] plus the `x-amzn-RequestId` header and a [`LogNote`] for
/// the request log.
pub(crate) fn aws_response(
    status: StatusCode,
    content_type: &'static str,
    request_id: &str,
    body: impl Into<Bytes>,
    note: &'static str,
) -> Resp {
    let mut resp = response(status, content_type, body);
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp.extensions_mut().insert(LogNote(note));
    resp
}

/// A status from a number, or 500 when it is not a usable final status.
pub(crate) fn status_or_500(code: u16) -> StatusCode {
    match StatusCode::from_u16(code) {
        Ok(s) if (200..=599).contains(&code) => s,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The method check: `None` when `method` is one of `allowed`, else the 405 answer — the body
/// `error` builds (in the handler's own error shape; it is given the 405 status) with an `Allow`
/// header listing `allowed`.
pub(crate) fn method_not_allowed(method: &Method, allowed: &[Method], error: impl FnOnce(StatusCode) -> Resp) -> Option<Resp> {
    if allowed.contains(method) {
        return None;
    }
    let mut resp = error(StatusCode::METHOD_NOT_ALLOWED);
    *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    let list = allowed.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
    if let Ok(v) = HeaderValue::from_str(&list) {
        resp.headers_mut().insert(ALLOW, v);
    }
    Some(resp)
}

/// Why a request body could not be had.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_not_allowed_answers_405_with_the_allowed_methods() {
        let body = |status| text(status, "nope");
        assert!(method_not_allowed(&Method::GET, &[Method::GET], body).is_none());
        assert!(method_not_allowed(&Method::PATCH, &[Method::GET, Method::POST, Method::PATCH], body).is_none());
        let resp =
            method_not_allowed(&Method::DELETE, &[Method::GET, Method::POST], |_| text(StatusCode::BAD_REQUEST, "nope")).expect("405");
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(resp.headers().get(ALLOW).map(HeaderValue::as_bytes), Some(&b"GET, POST"[..]));
        assert_eq!(resp.headers().get(CONTENT_TYPE).map(HeaderValue::as_bytes), Some(&b"text/plain"[..]));
    }

    #[test]
    fn aws_responses_carry_the_request_id_and_log_note() {
        let resp = aws_response(StatusCode::OK, "text/xml", "rid-1", "<x/>", "OK");
        assert_eq!(resp.headers().get("x-amzn-requestid").map(HeaderValue::as_bytes), Some(&b"rid-1"[..]));
        assert_eq!(resp.extensions().get::<LogNote>().map(|n| n.0), Some("OK"));
        assert_eq!(status_or_500(42), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(status_or_500(503), StatusCode::SERVICE_UNAVAILABLE);
    }
}
