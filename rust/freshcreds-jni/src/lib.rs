//! JNI bridge: the native half of `dev.freshcreds.internal.NativeAgent`.
//!
//! * [`entry`]: the one panic-safe wrapper every entry point goes through. No panic, `unwrap`
//!   or Rust error crosses into the JVM: each becomes a Java exception.
//! * [`exceptions`]: the one table from Rust error kind to Java exception class.
//! * [`registry`]: handles are ids into a registry, never pointers, so a closed, unknown or
//!   concurrently closed handle is an `AgentClosedException`, not a crash.
//! * [`natives`]: the entry points, named as the JNI spec mangles them.
//!
//! No thread created by Rust is ever attached to the JVM: Java threads call in (and may block
//! here, in `awaitSnapshot`), Rust never calls out. An attached non-daemon thread could keep the
//! JVM from shutting down.

pub mod entry;
pub mod exceptions;
pub mod logging;
pub mod natives;
pub mod registry;
