//! AWS STS (query protocol) at `/`, with real SigV4 verification: `GetCallerIdentity`,
//! `AssumeRole` and the unsigned `AssumeRoleWithWebIdentity` (the latter two in [`crate::assume`]).
//!
//! The query-protocol pieces shared with [`crate::assume`] (parameters, XML answers, the
//! `ErrorResponse` and its counters, [`StsError`]) live in the private `query` module.
//!
//! Requests are `POST /` with a form body (`Action=GetCallerIdentity&Version=2011-06-15`,
//! `Content-Type: application/x-www-form-urlencoded[; charset=utf-8]`) as the AWS SDKs for Java
//! send them; `GET /?Action=…` works too. Other methods → 405 `MethodNotAllowed` with
//! `Allow: GET, POST`. Bodies over 64 KiB → 413.
//!
//! `Action=AssumeRoleWithWebIdentity` (with `Version` 2011-06-15 or none) is not signed and skips
//! checks 1–6 (an `Authorization` header on it is ignored). Every other request goes through these
//! checks, in order, each failure answered with STS's XML `ErrorResponse` (`text/xml`,
//! `x-amzn-RequestId` header):
//!
//! 1. no `Authorization` → 403 `MissingAuthenticationToken`; unparsable, repeated, not
//!    `AWS4-HMAC-SHA256`, `host` not signed, `X-Amz-Date` missing or malformed → 403
//!    `IncompleteSignature`;
//! 2. `X-Amz-Date` more than 5 minutes from **AWS time** (the real clock + the
//!    `aws_clock_skew_ms` fault) → 403 `SignatureDoesNotMatch` ("Signature expired: … is now
//!    earlier than …" / "Signature not yet current: … is still later than …");
//! 3. unknown access key id → 403 `InvalidClientTokenId`. Known keys are the IMDS and container
//!    generations, the role sessions issued by `AssumeRole`, `AssumeRoleWithWebIdentity` and the
//!    SSO portal, and the static key pairs (built-in `AKIASIMSTATIC0000001`, and those registered
//!    with `POST /_sim/static-keys`);
//! 4. credential scope date ≠ `X-Amz-Date` date, service ≠ `sts` (`sqs` for [`crate::sqs`], which
//!    runs the same checks), terminator ≠ `aws4_request`, `x-amz-content-sha256` ≠ sha256(body),
//!    or a signature mismatch → 403 `SignatureDoesNotMatch`;
//! 5. `X-Amz-Security-Token` missing or not the token issued with that key — or, for a static key
//!    pair, present at all → 403 `InvalidClientTokenId`;
//! 6. the generation was revoked (`POST /_sim/revoke`, `POST /_sim/container/revoke`), or sim now
//!    (compressed clock + skew) ≥ its expiration → 403 `ExpiredToken`. While the
//!    `serve_expired_credentials` fault is on, the *current IMDS* generation is exempt from the
//!    expiration test (as AWS keeps honouring the credentials it hands out during such an event),
//!    not from revocation. Static keys never expire;
//! 7. `Action` missing, or a `Version` other than 2011-06-15, or an action other than
//!    `GetCallerIdentity` / `AssumeRole` → 400 `InvalidAction`; `GetCallerIdentity` → 200 with
//!    the caller's identity: the instance profile role
//!    (`arn:aws:sts::123456789012:assumed-role/ROLE/i-0123456789abcdef0`), the role session
//!    (`arn:…:sts::ACCOUNT:assumed-role/ROLE/SESSION`, `UserId` `AROA…:SESSION`) or the static
//!    user (`arn:aws:iam::123456789012:user/sim-static-user`).
//!
//! Counters: `sts_calls` counts every request to `/` except the SQS ones ([`crate::sqs`] counts
//! those); each answer adds to exactly one of `sts_ok`, `sts_expired_token`,
//! `sts_signature_does_not_match`, `sts_invalid_client_token_id`, `sts_other_errors`;
//! `sts_revoked_rejections` additionally counts the `ExpiredToken` answers given for revoked
//! generations, `sts_assume_role` and `sts_assume_role_with_web_identity` the successful answers of
//! those actions (also in `sts_ok`).

use std::time::{Duration, SystemTime};

use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use hyper::http::request::Parts;
use hyper::{Method, Request, StatusCode};

use crate::assume;
use crate::clock::{amz_date, parse_amz_date};
use crate::http::{method_not_allowed, read_body, Resp, MAX_BODY};
use crate::imds::INSTANCE_ID;
use crate::query::{error_response, xml_response, Params};
use crate::sigv4;
use crate::state::{request_id, KnownKey, Principal, Shared, STATIC_USER_ARN, STATIC_USER_ID};

pub use crate::query::{xml_escape, StsError, NAMESPACE};
pub use crate::state::ACCOUNT;

pub const API_VERSION: &str = "2011-06-15";
/// The service name STS requests must be signed for (credential scope).
pub const SERVICE: &str = "sts";
/// Allowed distance between `X-Amz-Date` and AWS time.
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
const INVALID_TOKEN: &str = "The security token included in the request is invalid.";

/// The errors of checks 1–6 ([`verify`]).
impl StsError {
    fn incomplete(message: impl Into<String>) -> StsError {
        StsError::new(StatusCode::FORBIDDEN, "IncompleteSignature", message)
    }
    fn mismatch(message: impl Into<String>) -> StsError {
        StsError::new(StatusCode::FORBIDDEN, "SignatureDoesNotMatch", message)
    }
    fn invalid_token() -> StsError {
        StsError::new(StatusCode::FORBIDDEN, "InvalidClientTokenId", INVALID_TOKEN)
    }
}

fn ok_response(shared: &Shared, request_id: &str, principal: &Principal) -> Resp {
    shared.count(|s| s.sts_ok += 1);
    let (arn, user_id, account) = match principal {
        Principal::InstanceRole => (
            format!("arn:aws:sts::{ACCOUNT}:assumed-role/{}/{INSTANCE_ID}", shared.role_name),
            format!("AROASIMULATOR:{INSTANCE_ID}"),
            ACCOUNT.to_string(),
        ),
        Principal::RoleSession(s) => (s.arn(), s.assumed_role_id(), s.account.clone()),
        Principal::StaticUser => (STATIC_USER_ARN.to_string(), STATIC_USER_ID.to_string(), ACCOUNT.to_string()),
    };
    let body = format!(
        "<GetCallerIdentityResponse xmlns=\"{NAMESPACE}\">\n  <GetCallerIdentityResult>\n    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n",
        xml_escape(&arn),
        xml_escape(&user_id),
        xml_escape(&account)
    );
    xml_response(StatusCode::OK, request_id, body, "OK")
}

pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Resp {
    shared.count(|s| s.sts_calls += 1);
    let rid = request_id();
    let (parts, body) = req.into_parts();
    let not_allowed = |status| error_response(shared, &rid, StsError::new(status, "MethodNotAllowed", "Only GET and POST are supported."));
    if let Some(resp) = method_not_allowed(&parts.method, &[Method::GET, Method::POST], not_allowed) {
        return resp;
    }
    let body = match read_body(body, &parts.headers, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return error_response(shared, &rid, e.into()),
    };
    let params = Params::from_request(&parts, &body);
    let action = params.get("Action");
    let version = params.get("Version").unwrap_or_else(|| API_VERSION.to_string());
    if action.as_deref() == Some("AssumeRoleWithWebIdentity") && version == API_VERSION {
        return assume::assume_role_with_web_identity(shared, &rid, &params);
    }
    let key = match verify(shared, &parts, &body, SERVICE) {
        Ok(key) => key,
        Err(err) => return error_response(shared, &rid, err),
    };
    match action.as_deref() {
        None => error_response(shared, &rid, StsError::new(StatusCode::BAD_REQUEST, "InvalidAction", "Missing required parameter: Action")),
        Some("GetCallerIdentity") if version == API_VERSION => ok_response(shared, &rid, &key.principal),
        Some("AssumeRole") if version == API_VERSION => assume::assume_role(shared, &rid, &params, &key.principal),
        Some(other) => error_response(
            shared,
            &rid,
            StsError::new(StatusCode::BAD_REQUEST, "InvalidAction", format!("Could not find operation {other} for version {version}")),
        ),
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Runs checks 1–6 — the credential scope must name `service` (`sts`, `sqs`) — and returns what is
/// known about the key that signed the request. Only STS requests (`service` = [`SERVICE`]) count
/// in `sts_revoked_rejections`.
pub(crate) fn verify(shared: &Shared, parts: &Parts, body: &[u8], service: &str) -> Result<KnownKey, StsError> {
    // 1. Authorization present and well formed.
    let mut auths = parts.headers.get_all(AUTHORIZATION).iter();
    let Some(auth_value) = auths.next() else {
        return Err(StsError::new(StatusCode::FORBIDDEN, "MissingAuthenticationToken", "Request is missing Authentication Token"));
    };
    if auths.next().is_some() {
        return Err(StsError::incomplete("Authorization header appears more than once."));
    }
    let auth_value = auth_value.to_str().map_err(|_| StsError::incomplete("Authorization header contains invalid characters."))?;
    let auth = sigv4::parse_authorization(auth_value).map_err(StsError::incomplete)?;
    if !auth.signed_header_names().any(|h| h.eq_ignore_ascii_case("host")) {
        return Err(StsError::incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."));
    }
    let Some(amz_date_str) = header_str(&parts.headers, "x-amz-date") else {
        return Err(StsError::incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."));
    };
    let Some(signed_at) = parse_amz_date(amz_date_str) else {
        return Err(StsError::incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date_str}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )));
    };

    // 2. Request time within 5 minutes of AWS time.
    check_skew(amz_date_str, signed_at, shared.aws_now())?;

    // 3. Known access key id.
    let known = shared.lookup_key(&auth.access_key_id).ok_or_else(StsError::invalid_token)?;

    // 4. Scope and signature.
    let date_part = amz_date_str.get(0..8).unwrap_or("");
    if auth.date != date_part {
        return Err(StsError::mismatch(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{}'.",
            auth.date, date_part, amz_date_str
        )));
    }
    if auth.service != service {
        return Err(StsError::mismatch(format!("Credential should be scoped to correct service: '{service}'. ")));
    }
    if auth.terminator != "aws4_request" {
        return Err(StsError::mismatch(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'.",
            auth.terminator
        )));
    }
    let body_hash = sigv4::sha256_hex(body);
    let payload_hash = match header_str(&parts.headers, "x-amz-content-sha256") {
        Some(h) if h.eq_ignore_ascii_case(&body_hash) => h.to_string(),
        Some(_) => return Err(StsError::mismatch("The provided 'x-amz-content-sha256' header does not match what was computed.")),
        None => body_hash,
    };
    let headers: Vec<(String, String)> = auth
        .signed_header_names()
        .map(|name| {
            let value = parts
                .headers
                .get_all(name)
                .iter()
                .map(|v| sigv4::canonical_header_value(&String::from_utf8_lossy(v.as_bytes())))
                .collect::<Vec<_>>()
                .join(",");
            (name.to_ascii_lowercase(), value)
        })
        .collect();
    let canonical = sigv4::canonical_request(
        parts.method.as_str(),
        &sigv4::canonical_uri(parts.uri.path()),
        &sigv4::canonical_query(parts.uri.query().unwrap_or("")),
        &headers,
        &auth.signed_headers,
        &payload_hash,
    );
    let key = sigv4::signing_key(&known.secret_access_key, &auth.date, &auth.region, &auth.service);
    let expected = sigv4::signature(&key, &sigv4::string_to_sign(amz_date_str, &auth.scope(), &canonical));
    if !sigv4::constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        return Err(StsError::mismatch(SIGNATURE_MISMATCH));
    }

    // 5. The session token issued with that key (none for a static key pair).
    let sent_token = parts.headers.get("x-amz-security-token").map(HeaderValue::as_bytes);
    let token_ok = match (&known.session_token, sent_token) {
        (Some(expected), Some(sent)) => sigv4::constant_time_eq(sent, expected.as_bytes()),
        (None, None) => true,
        _ => false,
    };
    if !token_ok {
        return Err(StsError::invalid_token());
    }

    // 6. Not revoked, not expired (sim time + skew).
    let expired = || StsError::new(StatusCode::FORBIDDEN, "ExpiredToken", "The security token included in the request is expired");
    if known.revoked {
        if service == SERVICE {
            shared.count(|s| s.sts_revoked_rejections += 1);
        }
        return Err(expired());
    }
    if let Some(expiration) = known.expiration {
        let exempt = known.imds_current && shared.faults.serve_expired_credentials();
        if !exempt && shared.sim_now() >= expiration {
            return Err(expired());
        }
    }
    Ok(known)
}

/// Check 2: `signed_at` within [`MAX_SKEW`] of `now` (AWS time).
pub fn check_skew(amz_date_str: &str, signed_at: SystemTime, now: SystemTime) -> Result<(), StsError> {
    let earliest = now.checked_sub(MAX_SKEW).unwrap_or(now);
    let latest = now.checked_add(MAX_SKEW).unwrap_or(now);
    if signed_at < earliest {
        return Err(StsError::mismatch(format!(
            "Signature expired: {amz_date_str} is now earlier than {} ({} - 5 min.)",
            amz_date(earliest),
            amz_date(now)
        )));
    }
    if signed_at > latest {
        return Err(StsError::mismatch(format!(
            "Signature not yet current: {amz_date_str} is still later than {} ({} + 5 min.)",
            amz_date(latest),
            amz_date(now)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_messages() {
        let now = parse_amz_date("20150830T124600Z").expect("date");
        let old = parse_amz_date("20150830T123600Z").expect("date");
        let err = check_skew("20150830T123600Z", old, now).expect_err("too old");
        assert_eq!(err.code, "SignatureDoesNotMatch");
        assert_eq!(err.message, "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z (20150830T124600Z - 5 min.)");
        let future = parse_amz_date("20150830T130000Z").expect("date");
        let err = check_skew("20150830T130000Z", future, now).expect_err("too new");
        assert!(err.message.contains("is still later than 20150830T125100Z (20150830T124600Z + 5 min.)"));
        assert!(check_skew("20150830T125100Z", parse_amz_date("20150830T125100Z").expect("date"), now).is_ok());
        assert!(check_skew("20150830T124100Z", parse_amz_date("20150830T124100Z").expect("date"), now).is_ok());
    }
}
