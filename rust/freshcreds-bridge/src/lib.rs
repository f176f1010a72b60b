//! The plumbing every freshcreds bridge shares: the JNI library (`freshcreds-jni`) and the C ABI
//! (`freshcreds-ffi`) are thin shells over this crate and the core, in the way libsignal's
//! `bridge/shared` serves its JNI, FFI and Node bridges. Nothing here knows about JNI or C.
//!
//! * [`failure`]: how a bridge call can fail — the one classification ([`FailureKind`]) that the
//!   JNI table of Java exception classes and the C status codes are both keyed by.
//! * [`guard`]: the panic guard every entry point runs its body in. No panic crosses a bridge.
//! * [`registry`]: handles are ids into a registry, never pointers, so a closed, unknown or
//!   concurrently closed handle is an error ([`ErrorKind::Closed`](freshcreds_core::ErrorKind)),
//!   never a crash. [`agents`] is the registry of live agents.
//! * [`time`]: epoch milliseconds and the saturating conversions both bridges hand out.

// No unwrap or expect outside tests: every failure becomes an error the caller (and, across the
// bridges, the Java or C caller) can act on, never a panic.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod agents;
pub mod failure;
pub mod guard;
pub mod registry;
pub mod time;

pub use failure::{Failure, FailureKind};
pub use guard::guard;
pub use registry::Registry;
