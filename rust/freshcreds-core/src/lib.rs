//! freshcreds core: everything that keeps AWS credentials fresh, without any JNI.
//!
//! * [`clock`]: the injected clock. Nothing else in the crate reads the wall clock.
//! * [`credentials`]: the credentials value; secrets are zeroized on drop and never printed.
//! * [`error`]: one error type whose messages name the cause and the fix.
//! * [`provider`]: [`ProvideCredentials`], the interface every source implements.
//! * [`credentials_document`]: the JSON credentials document of IMDS and the container
//!   endpoints, and its one parser.
//! * [`imds`]: the IMDSv2 client (token cached and renewed) and the instance-role source.
//! * [`cache`]: the credentials cache that follows the cross-SDK refresh specification
//!   (advisory/mandatory windows, static stability, refresh backoff, error cache, invalidation).
//! * [`agent`]: resolves the chain, then runs a cache plus a background refresher on a shared
//!   tokio runtime, with a generation signal that lets callers wait for new credentials instead
//!   of polling.
//! * [`skew`]: clock-skew detection from `Date` headers, and the corrected clock the cache uses.
//! * [`sources`]: the rest of the SDKs' default chain (environment, system properties, web
//!   identity, profile files, containers) and the chain, IMDS its last link, that picks one and
//!   reports what it shadows.
//! * [`config`]: options by name, as the JNI and C bridges hand them over, each SDK setting with its
//!   fallbacks (Java system property, environment variable, profile key).
//! * [`settings`]: those fallbacks looked up in the SDKs' order, and the profile files they select.
//! * [`doctor`]: the `ExpiredToken` troubleshooting checklist as checks with findings and fixes.

// No unwrap or expect outside tests: every failure becomes an error the caller (and, across the
// bridges, the Java or C caller) can act on, never a panic.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod agent;
pub mod backoff;
pub mod cache;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod credentials_document;
pub mod doctor;
pub mod env;
pub mod error;
pub mod imds;
pub mod provider;
pub mod runtime;
pub mod settings;
pub mod skew;
pub mod sources;

pub use agent::{Agent, Snapshot};
pub use cache::{CacheConfig, CredentialsCache};
pub use clock::{Clock, CompressedClock, ManualClock, SystemClock};
pub use credentials::Credentials;
pub use error::{CredentialsError, ErrorKind};
pub use provider::{CredentialsFuture, ProvideCredentials};

/// The crate version; the Java loader compares it with the jar's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
