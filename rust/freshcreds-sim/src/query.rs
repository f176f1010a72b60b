//! The AWS query protocol as STS speaks it, shared by the STS actions (`crate::sts`,
//! `crate::assume`) and by SQS (which turns an [`StsError`] from the shared signature checks into
//! its own JSON error shape):
//!
//! * [`Params`]: the request parameters, the query string's then (for form bodies) the body's;
//! * [`xml_response`]: a `text/xml` answer with an `x-amzn-RequestId` header;
//! * [`error_response`]: STS's XML `ErrorResponse` for an [`StsError`], counted in the `sts_*`
//!   error counters;
//! * [`xml_escape`] for element content, and the XML [`NAMESPACE`].

use hyper::header::CONTENT_TYPE;
use hyper::http::request::Parts;
use hyper::StatusCode;

use crate::http::{aws_response, BodyError, Resp, MAX_BODY};
use crate::sigv4;
use crate::state::Shared;

/// The XML namespace of every STS answer.
pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// An STS error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl StsError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> StsError {
        StsError { status, code, message: message.into() }
    }
}

/// A body [`crate::http::read_body`] could not read (with the limit [`MAX_BODY`]): 413
/// `RequestEntityTooLarge` or 400 `MalformedInput`.
impl From<BodyError> for StsError {
    fn from(err: BodyError) -> StsError {
        match err {
            BodyError::TooLarge => StsError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!("Request body must not exceed {MAX_BODY} bytes."),
            ),
            BodyError::Failed => StsError::new(StatusCode::BAD_REQUEST, "MalformedInput", "The request body could not be read."),
        }
    }
}

/// Escapes text for XML element content.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// A `text/xml` answer with the `x-amzn-RequestId` header; `note` goes to the request log.
pub(crate) fn xml_response(status: StatusCode, request_id: &str, body: String, note: &'static str) -> Resp {
    aws_response(status, "text/xml", request_id, body, note)
}

/// STS's XML `ErrorResponse` for `err`, counted in `sts_signature_does_not_match`,
/// `sts_invalid_client_token_id`, `sts_expired_token` or `sts_other_errors`.
pub(crate) fn error_response(shared: &Shared, request_id: &str, err: StsError) -> Resp {
    shared.count(|s| match err.code {
        "SignatureDoesNotMatch" => s.sts_signature_does_not_match += 1,
        "InvalidClientTokenId" => s.sts_invalid_client_token_id += 1,
        "ExpiredToken" => s.sts_expired_token += 1,
        _ => s.sts_other_errors += 1,
    });
    let body = format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
        err.code,
        xml_escape(&err.message)
    );
    xml_response(err.status, request_id, body, err.code)
}

/// The request parameters: the query string's, then (for form bodies) the body's.
pub(crate) struct Params(Vec<(Vec<u8>, Vec<u8>)>);

impl Params {
    pub(crate) fn from_request(parts: &Parts, body: &[u8]) -> Params {
        let mut params = sigv4::parse_pairs(parts.uri.query().unwrap_or(""), true);
        let is_form = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        if is_form {
            params.extend(sigv4::parse_pairs(&String::from_utf8_lossy(body), true));
        }
        Params(params)
    }

    /// The first value of `name` (lossy UTF-8).
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k.as_slice() == name.as_bytes()).map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(xml_escape("a<b>&\"'\u{1}"), "a&lt;b&gt;&amp;&quot;&apos;?");
    }

    #[test]
    fn body_errors() {
        let e = StsError::from(BodyError::TooLarge);
        assert_eq!((e.status, e.code), (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge"));
        assert_eq!(e.message, format!("Request body must not exceed {MAX_BODY} bytes."));
        let e = StsError::from(BodyError::Failed);
        assert_eq!((e.status, e.code), (StatusCode::BAD_REQUEST, "MalformedInput"));
    }
}
