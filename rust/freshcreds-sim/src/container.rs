//! The container credentials endpoint (ECS task role / EKS Pod Identity), as the AWS SDKs reach it
//! through `AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:PORT/container/credentials`
//! (and `AWS_CONTAINER_AUTHORIZATION_TOKEN`).
//!
//! * Any path under `/container/`; only `GET` (others → 405 with `Allow: GET`).
//! * When a token is configured (`container_auth_token` in `/_sim/config`, default
//!   `sim-container-token`), the request must carry exactly one `Authorization` header equal to
//!   it: none → 401, another value (or several headers) → 403, each with a JSON body
//!   `{"code":…,"message":…}`.
//! * Then 200 `application/json`, the ECS shape:
//!   `{"AccessKeyId":…,"SecretAccessKey":…,"Token":…,"Expiration":"RFC 3339","RoleArn":…}`, no
//!   `Code`. The credentials are the container's own generation series (same lifetime and lazy
//!   rotation rule as IMDS, see [`crate::state`]); STS accepts them with the caller identity
//!   `arn:aws:sts::123456789012:assumed-role/sim-container-role/sim-container-task`.
//! * The IMDS faults do not apply here (only `aws_clock_skew_ms`, through the credential timeline).
//! * Counters: `container_gets` (200 answers), `container_auth_failures` (401/403).

use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION};
use hyper::{Method, Request, StatusCode};
use serde::Serialize;

use crate::clock::rfc3339_seconds;
use crate::http::{json, method_not_allowed, Resp};
use crate::sigv4::constant_time_eq;
use crate::state::{Shared, CONTAINER_ROLE_ARN};

/// The path prefix served.
pub const PREFIX: &str = "/container/";
/// The path the docs use.
pub const CREDENTIALS_PATH: &str = "/container/credentials";

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Document<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
    role_arn: &'a str,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

fn error(status: StatusCode, code: &str, message: &str) -> Resp {
    json(status, &ErrorBody { code, message })
}

pub(crate) fn handle(shared: &Shared, req: &Request<Incoming>) -> Resp {
    if let Some(resp) =
        method_not_allowed(req.method(), &[Method::GET], |status| error(status, "MethodNotAllowed", "Only GET is supported."))
    {
        return resp;
    }
    if let Some(expected) = shared.sources.container_auth_token() {
        let values: Vec<&HeaderValue> = req.headers().get_all(AUTHORIZATION).iter().collect();
        let refusal = match values.as_slice() {
            [] => Some((StatusCode::UNAUTHORIZED, "MissingAuthorizationToken", "The Authorization header is missing.")),
            [v] if constant_time_eq(v.as_bytes(), expected.as_bytes()) => None,
            _ => {
                Some((StatusCode::FORBIDDEN, "AccessDenied", "The Authorization header does not carry the container authorization token."))
            }
        };
        if let Some((status, code, message)) = refusal {
            shared.count(|s| s.container_auth_failures += 1);
            return error(status, code, message);
        }
    }
    let creds = shared.container_credentials_for_serving();
    shared.count(|s| s.container_gets += 1);
    json(
        StatusCode::OK,
        &Document {
            access_key_id: &creds.access_key_id,
            secret_access_key: &creds.secret_access_key,
            token: &creds.session_token,
            expiration: rfc3339_seconds(creds.expiration),
            role_arn: CONTAINER_ROLE_ARN,
        },
    )
}
