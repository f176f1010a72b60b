//! The credential sources of the SDKs' default chain, one per module, and the chain itself.
//!
//! | order | source | module |
//! | --- | --- | --- |
//! | 1 | `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` | [`static_keys`] |
//! | 2 | Java system properties `aws.accessKeyId` / `aws.secretKey` (handed over by Java) | [`static_keys`] |
//! | 3 | web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`) | [`aws_config_source`] |
//! | 4 | shared `credentials` / `config` files, profile `AWS_PROFILE` | [`profile`] (static keys), [`aws_config_source`] (the rest) |
//! | 5 | container credentials (ECS, EKS Pod Identity) | [`container`] |
//! | 6 | the instance role from IMDS | [`crate::imds`] |
//!
//! [`chain`] picks the first source that is configured (IMDS, its last link, counts as configured
//! unless disabled) and reports every later one that is configured too: those are *shadowed*, the
//! pitfall behind many ExpiredToken incidents (old keys in the environment winning over the
//! instance role).
//!
//! Whatever the chain resolves to that does I/O (every source but the fixed keys) is fetched under
//! an overall deadline, the load timeout ([`timeout`]).

pub mod aws_config_source;
pub mod chain;
pub mod container;
pub mod profile;
pub mod static_keys;
pub mod timeout;

/// Runs blocking file work on tokio's blocking pool when called on a runtime (the agent's runtime
/// has one worker thread for every agent in the process, which must not wait on a disk or a
/// network home directory), inline otherwise. `failed` answers when the pooled task could not
/// finish (it panicked, or the runtime is shutting down).
pub(crate) async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
    failed: impl FnOnce(tokio::task::JoinError) -> T,
) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.spawn_blocking(work).await.unwrap_or_else(failed),
        Err(_) => work(),
    }
}
