//! The control API under `/_sim/`, JSON in and out (errors are `{"error": "..."}`).
//!
//! | request | effect / answer |
//! | --- | --- |
//! | `GET /_sim/stats` | [`crate::Stats`] |
//! | `POST /_sim/rotate` | forces a new credential generation, answers the stats |
//! | `POST /_sim/revoke` | revokes the current generation (STS: `ExpiredToken` for it from now on) and issues the next one; answers the stats |
//! | `POST /_sim/reset-stats` | zeroes every counter (not the generation), answers the stats |
//! | `GET /_sim/clock` | [`ClockInfo`] |
//! | `GET /_sim/faults` | the current [`crate::FaultsConfig`] |
//! | `POST /_sim/faults` | replaces all faults with the body, a JSON object (`{}` or an empty body clears them); answers them |
//! | `PATCH /_sim/faults` | changes only the fields in the body, a [`crate::FaultsPatch`] (`null` resets a field); answers all faults |
//! | `GET /_sim/script` | [`crate::script::ScriptStatus`] |
//! | `POST /_sim/script` | starts a [`crate::script::Script`] (replacing a running one); answers its status |
//! | `DELETE /_sim/script` | cancels the running script (applied faults stay); answers its status |
//! | `POST /_sim/container/rotate` | forces a new container credential generation, answers the stats |
//! | `POST /_sim/container/revoke` | revokes the current container generation (STS: `ExpiredToken`) and issues the next; answers the stats |
//! | `GET /_sim/config` | the [`crate::SourcesConfig`] in force |
//! | `POST /_sim/config` | replaces it (missing field = default, `null` = none); answers it |
//! | `PATCH /_sim/config` | changes only the fields given (`null` = none); answers all settings |
//! | `GET /_sim/static-keys` | `{"access_key_ids":[…]}` (never the secrets) |
//! | `POST /_sim/static-keys` | `{"access_key_id":…,"secret_access_key":…}` registers (or re-keys) a static key pair; answers the ids |
//!
//! A faults, config, static-key or script body with unknown fields, a non-object, a status outside
//! 200..=599, a skew beyond ±1 year, a bad token, key or step times → 400 (and nothing changes);
//! a static key id that issued credentials already use → 409. A known path with the wrong
//! method → 405; an unknown path → 404. The control API never exposes secrets or tokens.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde::{Deserialize, Serialize};

use crate::clock::epoch_millis;
use crate::faults::{FaultsConfig, FaultsPatch};
use crate::http::{json, method_not_allowed, read_body, BodyError, Resp, MAX_BODY};
use crate::script::{Script, ScriptRunner};
use crate::sources::{SourcesConfig, SourcesPatch};
use crate::state::{shift, Shared};

/// `GET /_sim/clock`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClockInfo {
    /// The credential timeline: the compressed clock + `aws_clock_skew_ms` (unscaled).
    pub sim_now_epoch_millis: i64,
    pub origin_epoch_millis: i64,
    pub time_scale: f64,
    /// The host's real clock.
    pub real_now_epoch_millis: i64,
    /// AWS time: real now + `aws_clock_skew_ms`.
    pub aws_now_epoch_millis: i64,
    pub aws_clock_skew_ms: i64,
}

#[derive(Serialize)]
struct ErrorBody {
    error: String,
}

fn error(status: StatusCode, msg: impl Into<String>) -> Resp {
    json(status, &ErrorBody { error: msg.into() })
}

pub(crate) fn clock_info(shared: &Shared) -> ClockInfo {
    let real = shared.clock.real_now();
    let skew = shared.faults.aws_clock_skew_ms();
    ClockInfo {
        sim_now_epoch_millis: epoch_millis(shift(shared.clock.to_sim(real), skew)),
        origin_epoch_millis: epoch_millis(shared.clock.origin()),
        time_scale: shared.clock.scale(),
        real_now_epoch_millis: epoch_millis(real),
        aws_now_epoch_millis: epoch_millis(shift(real, skew)),
        aws_clock_skew_ms: skew,
    }
}

/// The methods a control endpoint answers (empty for an unknown path).
fn allowed_methods(path: &str) -> &'static [Method] {
    const GET: &[Method] = &[Method::GET];
    const POST: &[Method] = &[Method::POST];
    const GET_POST: &[Method] = &[Method::GET, Method::POST];
    const GET_POST_PATCH: &[Method] = &[Method::GET, Method::POST, Method::PATCH];
    const GET_POST_DELETE: &[Method] = &[Method::GET, Method::POST, Method::DELETE];
    match path {
        "/_sim/stats" | "/_sim/clock" => GET,
        "/_sim/rotate" | "/_sim/revoke" | "/_sim/reset-stats" | "/_sim/container/rotate" | "/_sim/container/revoke" => POST,
        "/_sim/static-keys" => GET_POST,
        "/_sim/config" | "/_sim/faults" => GET_POST_PATCH,
        "/_sim/script" => GET_POST_DELETE,
        _ => &[],
    }
}

pub(crate) async fn handle(shared: &Arc<Shared>, req: Request<Incoming>) -> Resp {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let allowed = allowed_methods(&path);
    if !allowed.is_empty() {
        if let Some(resp) = method_not_allowed(&method, allowed, |status| error(status, "method not allowed")) {
            return resp;
        }
    }
    match (path.as_str(), method) {
        ("/_sim/stats", Method::GET) => json(StatusCode::OK, &shared.stats()),
        ("/_sim/clock", Method::GET) => json(StatusCode::OK, &clock_info(shared)),
        ("/_sim/rotate", Method::POST) => {
            shared.rotate_now();
            json(StatusCode::OK, &shared.stats())
        }
        ("/_sim/revoke", Method::POST) => {
            shared.revoke_current();
            json(StatusCode::OK, &shared.stats())
        }
        ("/_sim/reset-stats", Method::POST) => {
            shared.reset_stats();
            json(StatusCode::OK, &shared.stats())
        }
        ("/_sim/container/rotate", Method::POST) => {
            shared.rotate_container_now();
            json(StatusCode::OK, &shared.stats())
        }
        ("/_sim/container/revoke", Method::POST) => {
            shared.revoke_container_current();
            json(StatusCode::OK, &shared.stats())
        }
        ("/_sim/config", Method::GET) => json(StatusCode::OK, &shared.sources.get()),
        ("/_sim/config", Method::POST) => set_config(shared, req).await,
        ("/_sim/config", Method::PATCH) => patch_config(shared, req).await,
        ("/_sim/static-keys", Method::GET) => static_keys(shared),
        ("/_sim/static-keys", Method::POST) => add_static_key(shared, req).await,
        ("/_sim/faults", Method::GET) => json(StatusCode::OK, &shared.faults.get()),
        ("/_sim/faults", Method::POST) => set_faults(shared, req).await,
        ("/_sim/faults", Method::PATCH) => patch_faults(shared, req).await,
        ("/_sim/script", Method::GET) => script_status(shared),
        ("/_sim/script", Method::POST) => start_script(shared, req).await,
        ("/_sim/script", Method::DELETE) => {
            shared.script.cancel();
            script_status(shared)
        }
        _ => error(StatusCode::NOT_FOUND, format!("no such control endpoint: {path}")),
    }
}

/// Reads a JSON object body into `T`; an empty (or all-whitespace) body is `T::default()`.
async fn json_body<T: serde::de::DeserializeOwned + Default>(req: Request<Incoming>, what: &str) -> Result<T, Resp> {
    let (parts, body) = req.into_parts();
    let body = match read_body(body, &parts.headers, MAX_BODY).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return Err(error(StatusCode::PAYLOAD_TOO_LARGE, "body too large")),
        Err(BodyError::Failed) => return Err(error(StatusCode::BAD_REQUEST, "body could not be read")),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice::<serde_json::Value>(&body)
        .and_then(|v| if v.is_object() { serde_json::from_value::<T>(v) } else { Err(serde::de::Error::custom("expected a JSON object")) })
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("bad {what} JSON: {e}")))
}

async fn set_faults(shared: &Shared, req: Request<Incoming>) -> Resp {
    let cfg = match json_body::<FaultsConfig>(req, "faults").await {
        Ok(cfg) => cfg,
        Err(resp) => return resp,
    };
    if let Err(e) = cfg.validate() {
        return error(StatusCode::BAD_REQUEST, e);
    }
    shared.faults.set(&cfg);
    json(StatusCode::OK, &shared.faults.get())
}

async fn patch_faults(shared: &Shared, req: Request<Incoming>) -> Resp {
    let patch = match json_body::<FaultsPatch>(req, "faults").await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    match shared.faults.patch(&patch) {
        Ok(now) => json(StatusCode::OK, &now),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

async fn set_config(shared: &Shared, req: Request<Incoming>) -> Resp {
    let cfg = match json_body::<SourcesConfig>(req, "config").await {
        Ok(cfg) => cfg,
        Err(resp) => return resp,
    };
    match shared.sources.set(&cfg) {
        Ok(now) => json(StatusCode::OK, &now),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

async fn patch_config(shared: &Shared, req: Request<Incoming>) -> Resp {
    let patch = match json_body::<SourcesPatch>(req, "config").await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    match shared.sources.patch(&patch) {
        Ok(now) => json(StatusCode::OK, &now),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

/// `POST /_sim/static-keys`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StaticKeyBody {
    access_key_id: String,
    secret_access_key: String,
}

/// `GET /_sim/static-keys`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticKeys {
    pub access_key_ids: Vec<String>,
}

fn static_keys(shared: &Shared) -> Resp {
    json(StatusCode::OK, &StaticKeys { access_key_ids: shared.static_key_ids() })
}

async fn add_static_key(shared: &Shared, req: Request<Incoming>) -> Resp {
    let body = match json_body::<StaticKeyBody>(req, "static key").await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    if let Err(e) = crate::state::validate_static_key(&body.access_key_id, &body.secret_access_key) {
        return error(StatusCode::BAD_REQUEST, e);
    }
    match shared.add_static_key(&body.access_key_id, &body.secret_access_key) {
        Ok(()) => static_keys(shared),
        Err(e) => error(StatusCode::CONFLICT, e),
    }
}

fn script_status(shared: &Shared) -> Resp {
    json(StatusCode::OK, &shared.script.status(shared.clock.scale()))
}

async fn start_script(shared: &Arc<Shared>, req: Request<Incoming>) -> Resp {
    let script = match json_body::<Script>(req, "script").await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    match ScriptRunner::start(shared, script) {
        Ok(()) => script_status(shared),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}
