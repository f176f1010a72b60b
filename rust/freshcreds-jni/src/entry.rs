//! The panic-safe wrapper around every native entry point: the shared bridge guard
//! ([`freshcreds_bridge::guard`]) around the body, and failures thrown as the Java exception
//! that [`exception_class`] names.

use freshcreds_bridge::guard::panic_failure;
use freshcreds_bridge::{Failure, FailureKind};
use freshcreds_core::CredentialsError;
use jni::errors::Error as JniError;
use jni::strings::JNIString;
use jni::{Env, EnvUnowned, Outcome};

use crate::exceptions::exception_class;

/// What an entry point's body can fail with.
#[derive(Debug)]
pub enum BridgeError {
    /// A freshcreds failure (a core error or a caught panic): thrown as the class the table names.
    Failure(Failure),
    /// A JNI call failed; usually a Java exception is already pending and is left to propagate.
    Jni(JniError),
}

impl From<JniError> for BridgeError {
    fn from(e: JniError) -> Self {
        Self::Jni(e)
    }
}

impl From<Failure> for BridgeError {
    fn from(f: Failure) -> Self {
        Self::Failure(f)
    }
}

impl From<CredentialsError> for BridgeError {
    fn from(e: CredentialsError) -> Self {
        Self::Failure(Failure::Core(e))
    }
}

/// Runs `body` for a native method: returns its value, or throws the matching Java exception
/// and returns `T::default()` (which Java never sees, because the exception is pending).
/// Panics are caught and thrown as `FreshcredsException`.
pub fn entry<'local, T, F>(unowned: &mut EnvUnowned<'local>, method: &'static str, body: F) -> T
where
    T: Default,
    F: FnOnce(&mut Env<'local>) -> Result<T, BridgeError>,
{
    // `with_env` catches panics too; the bridge guard inside it catches them first, so the
    // `Panic` arm below is only a last line of defence.
    match unowned.with_env(|env| freshcreds_bridge::guard(method, || body(env))).into_outcome() {
        Outcome::Ok(value) => value,
        Outcome::Err(error) => {
            throw(unowned, method, error);
            T::default()
        }
        Outcome::Panic(payload) => {
            throw(unowned, method, panic_failure(method, payload.as_ref()).into());
            T::default()
        }
    }
}

fn throw(unowned: &mut EnvUnowned<'_>, method: &'static str, error: BridgeError) {
    let outcome = unowned
        .with_env(|env| -> Result<(), JniError> {
            if env.exception_check() {
                // A Java exception is already on its way (e.g. OutOfMemoryError from NewString);
                // replacing it would hide the real cause.
                return Ok(());
            }
            let (kind, message) = match &error {
                BridgeError::Failure(f) => (f.kind(), f.to_string()),
                BridgeError::Jni(e) => {
                    (FailureKind::Internal, format!("JNI call failed in {method}: {e}; this is a bug in freshcreds, please report it"))
                }
            };
            match env.throw_new(exception_class(kind), JNIString::from(message.as_str())) {
                Ok(()) | Err(JniError::JavaException) => Ok(()),
                // The class itself could not be found (a broken jar): fall back to a JDK class.
                Err(_) => {
                    env.exception_clear();
                    match env.throw_new(jni::jni_str!("java/lang/IllegalStateException"), JNIString::from(message.as_str())) {
                        Ok(()) | Err(JniError::JavaException) => Ok(()),
                        Err(e) => Err(e),
                    }
                }
            }
        })
        .into_outcome();
    if !matches!(outcome, Outcome::Ok(())) {
        tracing::error!(method, "could not throw a Java exception for a freshcreds error");
    }
}
