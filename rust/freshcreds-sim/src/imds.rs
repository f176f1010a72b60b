//! The EC2 instance metadata service, IMDSv2 only.
//!
//! * `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds: N` (digits only,
//!   1..=21600; otherwise 400) → 200, a 56-character token, and the TTL echoed in the same header.
//!   The token expires N seconds later in **sim** time.
//! * Any request carrying `X-Forwarded-For` → 403, as on EC2. Other methods → 405.
//! * Every `GET /latest/...` needs a live `X-aws-ec2-metadata-token` (missing, unknown or expired
//!   → 401), then:
//!   * `/latest/meta-data/iam/security-credentials/` (with or without the slash) → the role name;
//!   * `/latest/meta-data/iam/security-credentials/{role}` → the credentials document in EC2's own
//!     layout (`"Key" : "value"`, two-space indent), times in sim time, RFC 3339 whole seconds;
//!     the current generation is rotated first if it is within `rotate_before` of expiry;
//!     another role → 404;
//!   * `/latest/meta-data/instance-id`, `/latest/meta-data/placement/region`,
//!     `/latest/meta-data/placement/availability-zone` → fixed values; anything else → 404.
//! * Faults ([`crate::Faults`]) apply before all of the above, in the order given in
//!   [`crate::faults`]; `imds_down` closes the connection without an answer, `token_put_hang`
//!   holds a token PUT for [`HANG`] (other connections are served meanwhile) and then closes it.
//! * Counters: `imds_requests_total` counts every request under `/latest`; `token_puts` and
//!   `imds_gets` count every PUT of the token path / every GET under `/latest`, whatever the
//!   outcome (dropped and hung included); `imds_dropped`, `token_put_hangs` count those faults at
//!   work, `imds_throttled` every 429 answer; `role_list_gets` and `credential_gets` count 200
//!   answers; `credential_gets_by_generation` counts real credential documents served per
//!   generation (expired-looking ones included, truncated ones not).

use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, StatusCode};

use crate::clock::rfc3339_seconds;
use crate::http::{method_not_allowed, response, status_or_500, text, DropConnection, Resp};
use crate::state::{shift, IssuedCredentials, Shared};

pub const TOKEN_PATH: &str = "/latest/api/token";
pub const TOKEN_TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
pub const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
pub const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials/";
pub const MAX_TOKEN_TTL_SECONDS: u32 = 21_600;
pub const INSTANCE_ID: &str = "i-0123456789abcdef0";
/// How long the `token_put_hang` fault holds a token PUT before closing its connection.
pub const HANG: Duration = Duration::from_secs(3600);
/// How far in the (sim) past `serve_expired_credentials` puts `Expiration`: 5 minutes.
pub const EXPIRED_BY_MS: i64 = 5 * 60 * 1000;

/// EC2's HTML error page.
fn error_page(status: StatusCode) -> Resp {
    let title = format!("{} - {}", status.as_u16(), status.canonical_reason().unwrap_or("Error"));
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n\
         <!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n\
         \t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n\
         <html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n \
         <head>\n  <title>{title}</title>\n </head>\n <body>\n  <h1>{title}</h1>\n </body>\n</html>\n"
    );
    response(status, "text/html", body)
}

pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Result<Resp, DropConnection> {
    shared.count(|s| s.imds_requests_total += 1);
    let delay = shared.faults.imds_delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let is_token_put = req.uri().path() == TOKEN_PATH && req.method() == Method::PUT;
    if is_token_put {
        shared.count(|s| s.token_puts += 1);
    } else if req.method() == Method::GET {
        shared.count(|s| s.imds_gets += 1);
    }
    if shared.faults.imds_down() {
        shared.count(|s| s.imds_dropped += 1);
        return Err(DropConnection);
    }
    if is_token_put && shared.faults.token_put_hang() {
        shared.count(|s| s.token_put_hangs += 1);
        // Only this connection's task waits; the server is dropped (and this task aborted) when
        // the simulator stops.
        tokio::time::sleep(HANG).await;
        return Err(DropConnection);
    }
    let resp = answer(shared, &req);
    if resp.status() == StatusCode::TOO_MANY_REQUESTS {
        shared.count(|s| s.imds_throttled += 1);
    }
    Ok(resp)
}

fn answer(shared: &Shared, req: &Request<Incoming>) -> Resp {
    let path = req.uri().path();
    let method = req.method();
    if shared.faults.imds_throttle() {
        return error_page(StatusCode::TOO_MANY_REQUESTS);
    }
    if let Some(code) = shared.faults.imds_status_override() {
        let status = status_or_500(code);
        return text(status, status.canonical_reason().unwrap_or("Injected fault"));
    }
    if req.headers().contains_key("x-forwarded-for") {
        return error_page(StatusCode::FORBIDDEN);
    }
    let allowed = if path == TOKEN_PATH { Method::PUT } else { Method::GET };
    if let Some(resp) = method_not_allowed(method, &[allowed], error_page) {
        return resp;
    }
    if path == TOKEN_PATH {
        return put_token(shared, req);
    }
    let token_ok = req.headers().get(TOKEN_HEADER).and_then(|v| v.to_str().ok()).is_some_and(|t| shared.token_valid(t));
    if !token_ok {
        return error_page(StatusCode::UNAUTHORIZED);
    }
    if shared.faults.no_instance_profile() && path.starts_with("/latest/meta-data/iam/security-credentials") {
        return error_page(StatusCode::NOT_FOUND);
    }
    match path {
        "/latest/meta-data/iam/security-credentials" | CREDENTIALS_PATH => {
            shared.count(|s| s.role_list_gets += 1);
            text(StatusCode::OK, shared.role_name.clone())
        }
        "/latest/meta-data/instance-id" => text(StatusCode::OK, INSTANCE_ID),
        "/latest/meta-data/placement/region" => text(StatusCode::OK, "us-east-1"),
        "/latest/meta-data/placement/availability-zone" => text(StatusCode::OK, "us-east-1a"),
        p => match p.strip_prefix(CREDENTIALS_PATH) {
            Some(role) if role == shared.role_name => credentials(shared),
            _ => error_page(StatusCode::NOT_FOUND),
        },
    }
}

/// Parses a TTL header value: ASCII digits only, 1..=21600.
pub fn parse_ttl(value: &[u8]) -> Option<u32> {
    if value.is_empty() || value.len() > 5 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let ttl: u32 = std::str::from_utf8(value).ok()?.parse().ok()?;
    (1..=MAX_TOKEN_TTL_SECONDS).contains(&ttl).then_some(ttl)
}

fn put_token(shared: &Shared, req: &Request<Incoming>) -> Resp {
    let Some(ttl) = req.headers().get(TOKEN_TTL_HEADER).and_then(|v| parse_ttl(v.as_bytes())) else {
        return error_page(StatusCode::BAD_REQUEST);
    };
    let token = shared.issue_token(Duration::from_secs(u64::from(ttl)));
    let mut resp = text(StatusCode::OK, token);
    resp.headers_mut().insert(TOKEN_TTL_HEADER, HeaderValue::from(ttl));
    resp
}

fn credentials(shared: &Shared) -> Resp {
    if let Some(code) = shared.faults.credentials_status_override() {
        let status = status_or_500(code);
        return text(status, status.canonical_reason().unwrap_or("Injected fault"));
    }
    let truncate = shared.faults.credentials_truncate();
    let body = match shared.faults.credentials_body_override() {
        Some(body) => {
            shared.count(|s| s.credential_gets += 1);
            body
        }
        None => {
            let mut creds = shared.credentials_for_serving();
            shared.count(|s| {
                s.credential_gets += 1;
                if !truncate {
                    *s.credential_gets_by_generation.entry(creds.generation).or_insert(0) += 1;
                }
            });
            if shared.faults.serve_expired_credentials() {
                creds.expiration = shift(shared.sim_now(), -EXPIRED_BY_MS);
            }
            credentials_document(&creds)
        }
    };
    let body = if truncate { first_half(body) } else { body };
    text(StatusCode::OK, body)
}

/// The first half of `s` (by bytes, moved back to a character boundary).
pub fn first_half(mut s: String) -> String {
    let mut n = s.len() / 2;
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    s.truncate(n);
    s
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// The credentials document, laid out as EC2 lays it out.
pub fn credentials_document(c: &IssuedCredentials) -> String {
    format!(
        "{{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : {},\n  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : {},\n  \"SecretAccessKey\" : {},\n  \"Token\" : {},\n  \"Expiration\" : {}\n}}",
        json_str(&rfc3339_seconds(c.last_updated)),
        json_str(&c.access_key_id),
        json_str(&c.secret_access_key),
        json_str(&c.session_token),
        json_str(&rfc3339_seconds(c.expiration)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_parsing() {
        assert_eq!(parse_ttl(b"1"), Some(1));
        assert_eq!(parse_ttl(b"21600"), Some(21600));
        for bad in [&b""[..], b"0", b"21601", b"+5", b"-1", b"1.5", b" 5", b"999999", b"abc", b"\xff"] {
            assert_eq!(parse_ttl(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn halves() {
        assert_eq!(first_half("abcd".into()), "ab");
        assert_eq!(first_half("abc".into()), "a");
        assert_eq!(first_half(String::new()), "");
        assert_eq!(first_half("ééé".into()), "é"); // 6 bytes → 3 → back to 2
    }
}
