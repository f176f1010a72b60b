//! The interface every credentials source implements, and that the cache fetches through.
//!
//! A source only fetches: it never caches, refreshes on a schedule or backs off, which is the
//! cache's job ([`crate::cache`]) for every source alike. Each fetch returns fresh credentials or
//! a [`CredentialsError`] whose [`CredentialsError::is_recoverable`] tells the cache whether to ride
//! the failure out with what it holds. The chain ([`crate::sources::chain`]) wraps each source it
//! returns in the load timeout ([`crate::sources::timeout::LoadTimeout`]), itself a source.

use std::future::Future;
use std::pin::Pin;

use crate::credentials::Credentials;
use crate::error::CredentialsError;

/// A future returned by a credential source.
pub type CredentialsFuture<'a> = Pin<Box<dyn Future<Output = Result<Credentials, CredentialsError>> + Send + 'a>>;

/// A source of credentials: any link of the SDKs' default chain (IMDS, container, profile,
/// environment, ...), or a test double.
pub trait ProvideCredentials: Send + Sync + 'static {
    /// One fetch from the source.
    fn provide_credentials(&self) -> CredentialsFuture<'_>;
    /// A short name for logs and stats, e.g. `imds`.
    fn name(&self) -> &'static str;
}
