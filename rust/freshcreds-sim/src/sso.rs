//! The IAM Identity Center (SSO) portal's `GetRoleCredentials`, as the AWS SDKs call it for an
//! SSO profile (endpoint override, e.g. `AWS_ENDPOINT_URL_SSO=http://127.0.0.1:PORT`).
//!
//! * `GET /federation/credentials?role_name=R&account_id=A` with header
//!   `x-amz-sso_bearer_token: T`. Other methods → 405; other paths under `/federation/` → 404.
//! * The token must be present and non-empty, and equal `sso_access_token` when one is configured
//!   (`/_sim/config`, default none = any token) → else 401 `UnauthorizedException`.
//! * `role_name` must be an IAM role name (1..=64 of `A-Za-z0-9+=,.@_-`) and `account_id` 12
//!   digits → else 400 `InvalidRequestException`.
//! * 200 `application/json`:
//!   `{"roleCredentials":{"accessKeyId":…,"secretAccessKey":…,"sessionToken":…,"expiration":<epoch ms>}}`.
//!   The credentials are a new role session valid [`SESSION_DURATION`] of sim time; STS accepts
//!   them with the caller identity
//!   `arn:aws:sts::A:assumed-role/AWSReservedSSO_R_<16 hex>/sim-sso-user`.
//! * Errors are the REST-JSON shape: `x-amzn-ErrorType: <Code>` header and
//!   `{"message":…,"__type":<Code>}` body.
//! * Counters: `sso_gets` (200 answers), `sso_unauthorized` (401 answers).

use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, StatusCode};
use serde::Serialize;

use crate::clock::epoch_millis;
use crate::http::{json, method_not_allowed, Resp};
use crate::sigv4::{constant_time_eq, parse_pairs, sha256_hex};
use crate::state::{RoleSession, Shared};

pub const CREDENTIALS_PATH: &str = "/federation/credentials";
pub const TOKEN_HEADER: &str = "x-amz-sso_bearer_token";
/// How long SSO role credentials live (sim time): one hour, the default permission-set session.
pub const SESSION_DURATION: Duration = Duration::from_secs(3600);
/// The session name of SSO role sessions (on AWS, the user's name).
pub const SESSION_NAME: &str = "sim-sso-user";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleCredentials<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    expiration: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Answer<'a> {
    role_credentials: RoleCredentials<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    message: &'a str,
    #[serde(rename = "__type")]
    kind: &'a str,
}

fn error(status: StatusCode, code: &'static str, message: &str) -> Resp {
    let mut resp = json(status, &ErrorBody { message, kind: code });
    resp.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static(code));
    resp
}

/// An IAM role name: 1..=64 of `A-Za-z0-9+=,.@_-`.
pub fn valid_role_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

pub(crate) fn handle(shared: &Shared, req: &Request<Incoming>) -> Resp {
    if req.uri().path() != CREDENTIALS_PATH {
        return error(StatusCode::NOT_FOUND, "NotFoundException", "No such operation.");
    }
    if let Some(resp) =
        method_not_allowed(req.method(), &[Method::GET], |status| error(status, "MethodNotAllowed", "Only GET is supported."))
    {
        return resp;
    }
    let token = req.headers().get(TOKEN_HEADER).map(HeaderValue::as_bytes);
    let authorized = match (token, shared.sources.sso_access_token()) {
        (None, _) | (Some(b""), _) => false,
        (Some(t), Some(expected)) => constant_time_eq(t, expected.as_bytes()),
        (Some(_), None) => true,
    };
    if !authorized {
        shared.count(|s| s.sso_unauthorized += 1);
        return error(StatusCode::UNAUTHORIZED, "UnauthorizedException", "Session token not found or invalid");
    }
    let params = parse_pairs(req.uri().query().unwrap_or(""), false);
    let param =
        |name: &str| params.iter().find(|(k, _)| k.as_slice() == name.as_bytes()).map(|(_, v)| String::from_utf8_lossy(v).into_owned());
    let (Some(role_name), Some(account_id)) = (param("role_name"), param("account_id")) else {
        return error(StatusCode::BAD_REQUEST, "InvalidRequestException", "role_name and account_id are required.");
    };
    if !valid_role_name(&role_name) {
        return error(StatusCode::BAD_REQUEST, "InvalidRequestException", "role_name is not a valid role name.");
    }
    if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
        return error(StatusCode::BAD_REQUEST, "InvalidRequestException", "account_id must be 12 digits.");
    }
    let hash = &sha256_hex(format!("{account_id}/{role_name}").as_bytes())[..16];
    let role = format!("AWSReservedSSO_{role_name}_{hash}");
    let session = RoleSession::new("aws", &account_id, &role, SESSION_NAME);
    let creds = shared.issue_session(session, SESSION_DURATION);
    shared.count(|s| s.sso_gets += 1);
    json(
        StatusCode::OK,
        &Answer {
            role_credentials: RoleCredentials {
                access_key_id: &creds.access_key_id,
                secret_access_key: &creds.secret_access_key,
                session_token: &creds.session_token,
                expiration: epoch_millis(creds.expiration),
            },
        },
    )
}
