//! How a bridge call can fail, classified once for every bridge.
//!
//! [`FailureKind`] is the one place that sorts failures: the core's [`ErrorKind`]s plus the
//! failures only a bridge can have (a bad argument at the boundary). Each bridge keeps exactly one
//! table keyed by it — the JNI library its Java exception classes, the C ABI its status codes —
//! and both are exhaustive matches, so a new kind does not compile until every bridge maps it.

use std::fmt;

use freshcreds_core::{CredentialsError, ErrorKind};

/// The kind of a failed bridge call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// Credentials could not be fetched or parsed ([`ErrorKind::CredentialsUnavailable`]).
    CredentialsUnavailable,
    /// A bad option ([`ErrorKind::InvalidConfiguration`]).
    InvalidConfiguration,
    /// A closed or unknown handle ([`ErrorKind::Closed`]).
    Closed,
    /// A bug in freshcreds, including a caught panic ([`ErrorKind::Internal`]).
    Internal,
    /// The caller broke the calling convention of the boundary itself (a null pointer or a
    /// non-UTF-8 string where C must pass one). The JNI entry points report bad Java arguments as
    /// [`FailureKind::InvalidConfiguration`] and never produce this kind.
    InvalidArgument,
}

impl FailureKind {
    /// Every kind, for the bridges' table tests.
    pub const ALL: [FailureKind; 5] =
        [Self::CredentialsUnavailable, Self::InvalidConfiguration, Self::Closed, Self::Internal, Self::InvalidArgument];
}

impl From<ErrorKind> for FailureKind {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::CredentialsUnavailable => Self::CredentialsUnavailable,
            ErrorKind::InvalidConfiguration => Self::InvalidConfiguration,
            ErrorKind::Closed => Self::Closed,
            ErrorKind::Internal => Self::Internal,
        }
    }
}

/// A failed bridge call: its kind and a message that says what went wrong and what to do, and
/// never holds a secret.
#[derive(Debug)]
pub enum Failure {
    /// An error from the core (or from the bridge, phrased as one).
    Core(CredentialsError),
    /// An argument the boundary cannot accept: [`FailureKind::InvalidArgument`].
    InvalidArgument(String),
    /// A panic caught by [`guard`](crate::guard()) in the entry point `method`.
    Panic {
        /// The entry point's name as its callers know it (`getCredentials`, `freshcreds_agent_new`).
        method: &'static str,
        /// The panic's message (`unknown panic` when it was not a string).
        detail: String,
    },
}

impl Failure {
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::Core(e) => e.kind().into(),
            Self::InvalidArgument(_) => FailureKind::InvalidArgument,
            Self::Panic { .. } => FailureKind::Internal,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Core(e) => e.fmt(f),
            Self::InvalidArgument(message) => f.write_str(message),
            Self::Panic { method, detail } => CredentialsError::internal(format!("panic in {method}: {detail}")).fmt(f),
        }
    }
}

impl From<CredentialsError> for Failure {
    fn from(e: CredentialsError) -> Self {
        Self::Core(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_kind_keeps_its_meaning() {
        for (core, kind) in [
            (ErrorKind::CredentialsUnavailable, FailureKind::CredentialsUnavailable),
            (ErrorKind::InvalidConfiguration, FailureKind::InvalidConfiguration),
            (ErrorKind::Closed, FailureKind::Closed),
            (ErrorKind::Internal, FailureKind::Internal),
        ] {
            assert_eq!(FailureKind::from(core), kind);
            assert!(FailureKind::ALL.contains(&kind));
        }
    }

    #[test]
    fn failures_name_their_kind_and_message() {
        let closed = Failure::from(CredentialsError::Closed);
        assert_eq!(closed.kind(), FailureKind::Closed);
        assert_eq!(closed.to_string(), CredentialsError::Closed.to_string());
        let argument = Failure::InvalidArgument("out is null".into());
        assert_eq!((argument.kind(), argument.to_string().as_str()), (FailureKind::InvalidArgument, "out is null"));
        let panic = Failure::Panic { method: "refresh", detail: "boom".into() };
        assert_eq!(panic.kind(), FailureKind::Internal);
        assert_eq!(panic.to_string(), CredentialsError::internal("panic in refresh: boom").to_string());
    }
}
