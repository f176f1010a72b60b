//! The one table from Rust error kind to Java exception class.

use freshcreds_core::ErrorKind;
use jni::jni_str;
use jni::strings::JNIStr;

/// The Java class thrown for each kind of error. All are `RuntimeException`s (an `Error` would
/// escape the AWS SDKs' provider chains) with a `(String)` constructor.
pub fn exception_class(kind: ErrorKind) -> &'static JNIStr {
    match kind {
        ErrorKind::CredentialsUnavailable => jni_str!("dev/freshcreds/CredentialsUnavailableException"),
        ErrorKind::InvalidConfiguration => jni_str!("dev/freshcreds/InvalidConfigurationException"),
        ErrorKind::Closed => jni_str!("dev/freshcreds/AgentClosedException"),
        ErrorKind::Internal => jni_str!("dev/freshcreds/FreshcredsException"),
    }
}
