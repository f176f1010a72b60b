//! The one table from failure kind to Java exception class. The kinds are the bridges' shared
//! classification ([`FailureKind`], which sorts the core's error kinds once for the JNI library
//! and the C ABI); this match is exhaustive, so a new kind does not build until it is mapped here.

use freshcreds_bridge::FailureKind;
use jni::jni_str;
use jni::strings::JNIStr;

/// The Java class thrown for each kind of failure. All are `RuntimeException`s (an `Error` would
/// escape the AWS SDKs' provider chains) with a `(String)` constructor.
pub fn exception_class(kind: FailureKind) -> &'static JNIStr {
    match kind {
        FailureKind::CredentialsUnavailable => jni_str!("dev/freshcreds/CredentialsUnavailableException"),
        FailureKind::InvalidConfiguration => jni_str!("dev/freshcreds/InvalidConfigurationException"),
        FailureKind::Closed => jni_str!("dev/freshcreds/AgentClosedException"),
        // The JNI entry points never report `InvalidArgument` (a bad Java argument is a bad
        // option); mapped to the base class all the same.
        FailureKind::Internal | FailureKind::InvalidArgument => jni_str!("dev/freshcreds/FreshcredsException"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAVA_SOURCES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../java/src/main/java");

    #[test]
    fn every_kind_names_a_runtime_exception_class_of_the_library() -> Result<(), String> {
        for kind in FailureKind::ALL {
            let class = exception_class(kind).to_str().to_string();
            let path = format!("{JAVA_SOURCES}/{class}.java");
            let source = std::fs::read_to_string(&path).map_err(|e| format!("{kind:?} → {class}: {path}: {e}"))?;
            let simple = class.rsplit('/').next().unwrap_or_default();
            assert!(source.contains(&format!("public {simple}(String message)")), "{class} has a (String) constructor");
            assert!(
                source.contains("extends RuntimeException") || source.contains("extends FreshcredsException"),
                "{class} is a RuntimeException"
            );
        }
        Ok(())
    }

    #[test]
    fn the_documented_table_is_the_code() -> Result<(), String> {
        let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../DEVELOPERS.md")).unwrap_or_default();
        for (kind, row) in [
            (FailureKind::CredentialsUnavailable, "| credentials could not be fetched or parsed |"),
            (FailureKind::InvalidConfiguration, "| bad option |"),
            (FailureKind::Closed, "| closed or unknown handle |"),
            (FailureKind::Internal, "| anything else, including a caught panic |"),
        ] {
            let class = exception_class(kind).to_str().replace('/', ".");
            let line = guide.lines().find(|l| l.starts_with(row)).ok_or_else(|| format!("DEVELOPERS.md has no row {row}"))?;
            assert!(line.contains(&format!("`{class}`")), "DEVELOPERS.md says {line}, the code throws {class}");
        }
        Ok(())
    }
}
