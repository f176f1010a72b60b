//! The panic guard: every bridge entry point runs its body through [`guard`], so a panic in
//! freshcreds becomes a [`Failure::Panic`] for the bridge to report (a Java exception, a C status),
//! and never unwinds into the JVM or a C caller (undefined behaviour, or an abort at best).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::Failure;

/// Runs `body` for the entry point `method`: its result, or a panic turned into
/// [`Failure::Panic`].
///
/// `AssertUnwindSafe` is sound here: a panicking body leaves behind at most an agent whose locks
/// the core recovers from poisoning, and the registry never holds its lock across a call.
pub fn guard<T, E>(method: &'static str, body: impl FnOnce() -> Result<T, E>) -> Result<T, E>
where
    E: From<Failure>,
{
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| Err(panic_failure(method, payload.as_ref()).into()))
}

/// The failure for a panic payload caught in `method` (also for bridges whose JNI or runtime
/// crate caught the panic itself).
pub fn panic_failure(method: &'static str, payload: &(dyn Any + Send)) -> Failure {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    Failure::Panic { method, detail }
}

#[cfg(test)]
mod tests {
    use freshcreds_core::CredentialsError;

    use super::*;
    use crate::FailureKind;

    fn panic_detail(result: Result<u8, Failure>) -> (&'static str, String) {
        match result {
            Err(Failure::Panic { method, detail }) => (method, detail),
            other => panic!("expected a caught panic, got {other:?}"),
        }
    }

    #[test]
    fn values_and_errors_pass_through() {
        assert!(matches!(guard("m", || Ok::<_, Failure>(7u8)), Ok(7)));
        let closed = guard("m", || Err::<u8, Failure>(CredentialsError::Closed.into()));
        assert!(matches!(closed, Err(ref f) if f.kind() == FailureKind::Closed));
    }

    #[test]
    fn panics_become_internal_failures_naming_the_entry_point() {
        assert_eq!(panic_detail(guard("refresh", || panic!("static text"))), ("refresh", "static text".to_string()));
        let n = 3;
        assert_eq!(panic_detail(guard("close", || panic!("formatted {n}"))), ("close", "formatted 3".to_string()));
        let other = guard("create", || -> Result<u8, Failure> { std::panic::panic_any(42u32) });
        assert_eq!(panic_detail(other), ("create", "unknown panic".to_string()));
    }

    #[test]
    fn bridge_error_types_wrap_the_failure() {
        #[derive(Debug)]
        enum MyBridgeError {
            Failure(Failure),
        }
        impl From<Failure> for MyBridgeError {
            fn from(f: Failure) -> Self {
                Self::Failure(f)
            }
        }
        let result: Result<(), MyBridgeError> = guard("statsJson", || panic!("x"));
        assert!(matches!(result, Err(MyBridgeError::Failure(Failure::Panic { method: "statsJson", .. }))));
    }
}
