//! The one tokio runtime that every agent in the process shares.
//!
//! One worker thread is plenty for a handful of HTTP calls an hour and keeps the footprint small.
//! Its threads are never attached to a JVM: Java threads call in and block, Rust never calls out.

use once_cell::sync::Lazy;
use tokio::runtime::{Builder, Runtime};

use crate::error::CredentialsError;

static RUNTIME: Lazy<Result<Runtime, String>> = Lazy::new(|| {
    Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(2)
        .thread_name("freshcreds-worker")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
});

/// The shared runtime, started on first use.
pub fn runtime() -> Result<&'static Runtime, CredentialsError> {
    RUNTIME.as_ref().map_err(|e| CredentialsError::internal(format!("could not start the freshcreds runtime: {e}")))
}
