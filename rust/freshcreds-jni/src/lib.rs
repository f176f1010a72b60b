//! JNI bridge: the native half of `dev.freshcreds.NativeAgent`.
//!
//! The plumbing it shares with the C ABI lives in `freshcreds-bridge`: the handle registry
//! (handles are ids, never pointers, so a closed, unknown or concurrently closed handle is an
//! `AgentClosedException`, not a crash), the panic guard, the failure classification and the
//! time conversions. What is JNI-only lives here:
//!
//! * [`contract`]: the one table of native methods (name, symbol, JNI signature derived from the
//!   Rust types) and the macro that defines each method together with its table entry.
//! * [`entry`]: the panic-safe wrapper every entry point goes through. No panic, `unwrap` or Rust
//!   error crosses into the JVM: each becomes a Java exception.
//! * [`exceptions`]: the one table from failure kind to Java exception class.
//! * [`natives`]: the entry points, exported under the names the JNI spec mangles them to.
//!
//! No thread created by Rust is ever attached to the JVM: Java threads call in (and may block
//! here, in `awaitSnapshot`), Rust never calls out. An attached non-daemon thread could keep the
//! JVM from shutting down.

// No unwrap or expect outside tests: every failure becomes an error the caller (and, across the
// bridges, the Java or C caller) can act on, never a panic.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod contract;
pub mod entry;
pub mod exceptions;
pub mod logging;
pub mod natives;
