//! The HTTP/1.1 server: accept loop, routing, common headers and request logging. The pieces the
//! handlers share (response builders, body reading, the 405 answer) are in [`crate::http`].
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

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, DATE, SERVER};
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::clock::http_date;
use crate::http::{text, DropConnection, LogNote, Resp};
use crate::state::Shared;
use crate::{container, control, imds, sqs, sso, sts};

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
