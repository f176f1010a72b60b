//! The control API under `/_sim/`, JSON in and out (errors are `{"error": "..."}`).
//!
//! | request | effect / answer |
//! | --- | --- |
//! | `GET /_sim/stats` | [`crate::Stats`] |
//! | `POST /_sim/rotate` | forces a new credential generation, answers the stats |
//! | `POST /_sim/reset-stats` | zeroes every counter (not the generation), answers the stats |
//! | `GET /_sim/clock` | [`ClockInfo`] |
//! | `GET /_sim/faults` | the current [`crate::FaultsConfig`] |
//! | `POST /_sim/faults` | replaces all faults with the body, a JSON object (`{}` or an empty body clears them); answers them |
//!
//! A faults body with unknown fields, a non-object, or a status outside 200..=599 → 400 (and
//! nothing changes). A known path with the wrong method → 405; an unknown path → 404. The control
//! API never exposes secrets or tokens.

use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW};
use hyper::{Method, Request, StatusCode};
use serde::{Deserialize, Serialize};

use crate::clock::epoch_millis;
use crate::faults::FaultsConfig;
use crate::server::{json, read_body, BodyError, Resp, MAX_BODY};
use crate::state::Shared;

/// `GET /_sim/clock`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClockInfo {
    pub sim_now_epoch_millis: i64,
    pub origin_epoch_millis: i64,
    pub time_scale: f64,
    pub real_now_epoch_millis: i64,
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
    ClockInfo {
        sim_now_epoch_millis: epoch_millis(shared.clock.to_sim(real)),
        origin_epoch_millis: epoch_millis(shared.clock.origin()),
        time_scale: shared.clock.scale(),
        real_now_epoch_millis: epoch_millis(real),
    }
}

pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Resp {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let allowed = match path.as_str() {
        "/_sim/stats" | "/_sim/clock" => (Method::GET, "GET"),
        "/_sim/rotate" | "/_sim/reset-stats" => (Method::POST, "POST"),
        "/_sim/faults" => {
            return match method {
                Method::GET => json(StatusCode::OK, &shared.faults.get()),
                Method::POST => set_faults(shared, req).await,
                _ => not_allowed("GET, POST"),
            }
        }
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                format!("no such control endpoint: {path}"),
            )
        }
    };
    if method != allowed.0 {
        return not_allowed(allowed.1);
    }
    match path.as_str() {
        "/_sim/stats" => json(StatusCode::OK, &shared.stats()),
        "/_sim/clock" => json(StatusCode::OK, &clock_info(shared)),
        "/_sim/rotate" => {
            shared.rotate_now();
            json(StatusCode::OK, &shared.stats())
        }
        _ => {
            shared.reset_stats();
            json(StatusCode::OK, &shared.stats())
        }
    }
}

fn not_allowed(allow: &'static str) -> Resp {
    let mut resp = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    resp.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    resp
}

async fn set_faults(shared: &Shared, req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    let body = match read_body(body, &parts.headers, MAX_BODY).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
        Err(BodyError::Failed) => return error(StatusCode::BAD_REQUEST, "body could not be read"),
    };
    let cfg = if body.iter().all(u8::is_ascii_whitespace) {
        FaultsConfig::default()
    } else {
        let parsed = serde_json::from_slice::<serde_json::Value>(&body).and_then(|v| {
            if v.is_object() {
                serde_json::from_value::<FaultsConfig>(v)
            } else {
                Err(serde::de::Error::custom("expected a JSON object"))
            }
        });
        match parsed {
            Ok(cfg) => cfg,
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad faults JSON: {e}")),
        }
    };
    if let Err(e) = cfg.validate() {
        return error(StatusCode::BAD_REQUEST, e);
    }
    shared.faults.set(&cfg);
    json(StatusCode::OK, &shared.faults.get())
}
