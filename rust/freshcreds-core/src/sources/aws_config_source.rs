//! Sources taken from `aws-config` rather than rewritten: web identity
//! (`AssumeRoleWithWebIdentity`) and the profile kinds that need STS, a process or IAM Identity
//! Center (`role_arn` with `source_profile` or `credential_source`, `credential_process`, SSO).
//! They behave as in the AWS SDK for Rust; freshcreds wraps them in its own cache, refresh, skew,
//! backoff and load timeout machinery like every other source, and gives their STS and SSO
//! clients timeouts that fit in the load timeout ([`client_timeouts`]).
//!
//! A failed `credential_process` is reported by its exit status and never by its stderr, which
//! aws-config copies verbatim into its error and into a warning it logs itself (see
//! `AwsLogGuard`).
//!
//! Their STS and SSO clients honour `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL_SSO` /
//! `AWS_ENDPOINT_URL` and the region from `AWS_REGION` (else `us-east-1`).

use std::path::PathBuf;
use std::time::Duration;

use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::{StaticConfiguration, WebIdentityTokenCredentialsProvider};
use aws_config::Region;
use aws_credential_types::provider::error::CredentialsError as AwsCredentialsError;
use aws_credential_types::provider::{ProvideCredentials as AwsProvideCredentials, SharedCredentialsProvider};
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::timeout::TimeoutConfig;
use once_cell::sync::Lazy;
use tracing::instrument::WithSubscriber;

use crate::credentials::Credentials;
use crate::env::{self as env_vars, Env};
use crate::error::CredentialsError;
use crate::provider::{CredentialsFuture, ProvideCredentials};

/// An `aws-config` credentials provider adapted to freshcreds.
#[derive(Debug)]
pub struct AwsConfigSource {
    name: &'static str,
    /// The profile, for the profile kinds' messages.
    profile: Option<String>,
    inner: SharedCredentialsProvider,
}

/// The HTTPS client every aws-config source uses: rustls on ring, over the same hyper as the IMDS
/// client. aws-config's own default would link a second crypto library (aws-lc-rs), and that one
/// needs a C toolchain per target to cross-build; ring builds for every platform freshcreds ships.
pub(crate) static HTTPS_CLIENT: Lazy<SharedHttpClient> = Lazy::new(|| {
    aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring)).build_https()
});

/// The longest connect the STS and SSO clients wait for: Java SDK v2's default (the Rust SDK's is
/// 3.1 s). STS and SSO are regional endpoints that answer a connect in milliseconds.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Timeouts for aws-config's STS and SSO clients. Their defaults bound only the connect, so an
/// endpoint that accepts and never answers stalls a fetch forever. Here one attempt (connect,
/// send, answer) gets half the load timeout, so a hung connection is retried once before the load
/// timeout (the outer deadline, [`super::timeout::LoadTimeout`]) ends the whole fetch; the
/// operation as a whole gets the load timeout itself.
pub fn client_timeouts(load_timeout: Duration) -> TimeoutConfig {
    let attempt = (load_timeout / 2).max(Duration::from_millis(1));
    TimeoutConfig::builder()
        .connect_timeout(MAX_CONNECT_TIMEOUT.min(attempt))
        .read_timeout(attempt)
        .operation_attempt_timeout(attempt)
        .operation_timeout(load_timeout)
        .build()
}

fn provider_config(env: &Env, load_timeout: Duration) -> ProviderConfig {
    let region = env.get(env_vars::AWS_REGION).or_else(|| env.get(env_vars::AWS_DEFAULT_REGION)).unwrap_or_else(|| "us-east-1".to_string());
    ProviderConfig::without_region()
        .with_http_client(HTTPS_CLIENT.clone())
        .with_region(Some(Region::new(region)))
        .with_timeout_config(client_timeouts(load_timeout))
}

impl AwsConfigSource {
    /// Web identity from `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN` and
    /// `AWS_ROLE_SESSION_NAME`; `None` when the token file variable is unset. `load_timeout`
    /// bounds the STS client's attempts (see [`client_timeouts`]).
    pub fn web_identity(env: &Env, load_timeout: Duration) -> Option<Result<Self, CredentialsError>> {
        let token_file = env.get(env_vars::AWS_WEB_IDENTITY_TOKEN_FILE)?;
        let Some(role_arn) = env.get(env_vars::AWS_ROLE_ARN) else {
            return Some(Err(CredentialsError::invalid_config(
                "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not",
                "Set AWS_ROLE_ARN to the role to assume (EKS sets both for IRSA).",
            )));
        };
        if !std::path::Path::new(&token_file).is_file() {
            return Some(Err(CredentialsError::invalid_config(
                format!("AWS_WEB_IDENTITY_TOKEN_FILE '{token_file}' does not exist"),
                "Check that the service account token is mounted into the pod.",
            )));
        }
        let session_name = env.get(env_vars::AWS_ROLE_SESSION_NAME).unwrap_or_else(|| "freshcreds".to_string());
        let provider = WebIdentityTokenCredentialsProvider::builder()
            .configure(&provider_config(env, load_timeout))
            .static_configuration(StaticConfiguration { web_identity_token_file: PathBuf::from(token_file), role_arn, session_name })
            .build();
        Some(Ok(Self { name: "webIdentity", profile: None, inner: SharedCredentialsProvider::new(provider) }))
    }

    /// A profile that needs `aws-config` (role_arn, credential_process, SSO, credential_source).
    pub fn profile(env: &Env, files: &super::profile::ProfileFiles, load_timeout: Duration) -> Self {
        // aws-config treats a file it is given as required; the SDKs do not require either one.
        let mut builder = EnvConfigFiles::builder();
        if let Some(config) = files.config.as_ref().filter(|p| p.is_file()) {
            builder = builder.with_file(EnvConfigFileKind::Config, config);
        }
        if let Some(credentials) = files.credentials.as_ref().filter(|p| p.is_file()) {
            builder = builder.with_file(EnvConfigFileKind::Credentials, credentials);
        }
        let aws_files = builder.build();
        let provider = ProfileFileCredentialsProvider::builder()
            .configure(&provider_config(env, load_timeout))
            .profile_files(aws_files)
            .profile_name(files.profile.clone())
            .build();
        Self { name: "profile", profile: Some(files.profile.clone()), inner: SharedCredentialsProvider::new(provider) }
    }

    async fn load(&self) -> Result<Credentials, CredentialsError> {
        // aws-config logs what it runs into: see `AwsLogGuard` for what is kept out of the logs.
        let fetched = match AwsLogGuard::around_current() {
            Some(guard) => self.inner.provide_credentials().with_subscriber(guard).await,
            None => self.inner.provide_credentials().await,
        };
        match fetched {
            Ok(c) => {
                Ok(Credentials::new(c.access_key_id(), c.secret_access_key(), c.session_token().map(str::to_string), c.expiry(), self.name))
            }
            Err(e) => Err(self.map_error(e)),
        }
    }

    fn map_error(&self, error: AwsCredentialsError) -> CredentialsError {
        let name = self.name;
        let detail = DisplayErrorContext(&error).to_string();
        // aws-config's credential_process errors carry the process's stderr verbatim, and a
        // process may well print a secret there; they get a message of freshcreds' own instead.
        if let Some(profile) = self.profile.as_deref().filter(|_| detail.contains("external process")) {
            return CredentialsError::SourceFailed { source_name: name, detail: describe_process_failure(profile, &detail) };
        }
        match error {
            AwsCredentialsError::CredentialsNotLoaded(_) | AwsCredentialsError::InvalidConfiguration(_) => {
                CredentialsError::invalid_config(
                    format!("the {name} credentials source is not usable: {detail}"),
                    "Fix the profile or variables it names, or pin another source with the builder's source option.",
                )
            }
            _ => CredentialsError::SourceFailed { source_name: name, detail },
        }
    }
}

/// A credential_process failure in words of freshcreds' own: the exit status, or the kind of
/// problem, never the process's stderr (nor its output, which holds the secret on success).
fn describe_process_failure(profile: &str, aws_detail: &str) -> String {
    let what = if let Some((_, rest)) = aws_detail.split_once("exited with code ") {
        // `rest` is "<ExitStatus>. Stderr: <stderr>": keep the status, which std formats.
        let status: String = rest
            .split(". Stderr:")
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || " :()-".contains(*c))
            .take(40)
            .collect();
        let status = status.trim();
        if let Some(code) = status.strip_prefix("exit status: ").or_else(|| status.strip_prefix("exit code: ")) {
            format!("exited with code {code}")
        } else if let Some(signal) = status.strip_prefix("signal: ") {
            format!("was killed by signal {signal}")
        } else {
            format!("failed ({status})")
        }
    } else if let Some((_, reason)) = aws_detail.split_once("could not parse response: ") {
        // The JSON parser names a field or an offset and at most a character, never a value.
        let reason: String = reason.chars().take(160).collect();
        format!("printed output that is not credential_process JSON ({reason})")
    } else if aws_detail.contains("could not decode output as UTF-8") {
        "printed output that is not UTF-8 text".to_string()
    } else {
        "could not be started".to_string()
    };
    format!(
        "the credential_process that profile '{profile}' uses {what}. Its stderr is not shown, because a process may print \
         secrets there: run the command by hand to see it, then fix the command or the profile"
    )
}

/// What the aws-config sources' fetches log: everything the subscriber in force wants, except the
/// warnings and errors of aws-config's profile provider. Those embed the failed provider's error
/// ("failed to load base credentials"), and for a `credential_process` that is its stderr
/// verbatim; freshcreds logs the failure itself, with its own message. (aws-config redacts
/// command arguments and aws-smithy redacts bodies in their own logs; this guard is for the one
/// place that copies text from outside.)
///
/// It forwards to the dispatcher that was in force, so the application's logging setup and
/// filters apply to everything else unchanged.
struct AwsLogGuard {
    inner: tracing::Dispatch,
    max_level: tracing::level_filters::LevelFilter,
}

impl AwsLogGuard {
    /// A guard around the current dispatcher; `None` when nothing is listening anyway.
    fn around_current() -> Option<tracing::Dispatch> {
        let inner = tracing::dispatcher::get_default(|d| d.clone());
        if inner.is::<tracing::subscriber::NoSubscriber>() {
            return None;
        }
        // The global maximum before this guard exists is at least the inner dispatcher's.
        let max_level = tracing::level_filters::LevelFilter::current();
        Some(tracing::Dispatch::new(AwsLogGuard { inner, max_level }))
    }

    fn blocked(metadata: &tracing::Metadata<'_>) -> bool {
        metadata.is_event()
            && metadata.target().starts_with("aws_config::profile")
            && matches!(*metadata.level(), tracing::Level::WARN | tracing::Level::ERROR)
    }
}

impl tracing::Subscriber for AwsLogGuard {
    fn register_callsite(&self, _: &'static tracing::Metadata<'static>) -> tracing::subscriber::Interest {
        // Ask `enabled` every time: whether a callsite is blocked depends on which dispatcher is
        // in force, and this one exists only during fetches.
        tracing::subscriber::Interest::sometimes()
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(self.max_level)
    }

    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        !Self::blocked(metadata) && self.inner.enabled(metadata)
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        self.inner.new_span(span)
    }

    fn record(&self, span: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        self.inner.record(span, values)
    }

    fn record_follows_from(&self, span: &tracing::span::Id, follows: &tracing::span::Id) {
        self.inner.record_follows_from(span, follows)
    }

    fn event(&self, event: &tracing::Event<'_>) {
        if !Self::blocked(event.metadata()) {
            self.inner.event(event)
        }
    }

    fn enter(&self, span: &tracing::span::Id) {
        self.inner.enter(span)
    }

    fn exit(&self, span: &tracing::span::Id) {
        self.inner.exit(span)
    }

    fn clone_span(&self, id: &tracing::span::Id) -> tracing::span::Id {
        self.inner.clone_span(id)
    }

    fn try_close(&self, id: tracing::span::Id) -> bool {
        self.inner.try_close(id)
    }
}

impl ProvideCredentials for AwsConfigSource {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(self.load())
    }

    fn name(&self) -> &'static str {
        self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_failures_keep_the_exit_status_and_drop_stderr() {
        let aws =
            "an error occurred: Error retrieving credentials: external process exited with code exit status: 3. Stderr: SECRETSECRET. oops";
        let text = describe_process_failure("app", aws);
        assert!(text.contains("exited with code 3") && text.contains("profile 'app'"), "{text}");
        assert!(!text.contains("SECRETSECRET"), "{text}");
        let killed = describe_process_failure("app", "external process exited with code signal: 9 (SIGKILL). Stderr: SECRETSECRET");
        assert!(killed.contains("killed by signal 9") && !killed.contains("SECRETSECRET"), "{killed}");
        let parse = describe_process_failure(
            "app",
            "Error retrieving credentials from external process, could not parse response: Expected field `AccessKeyId` in response but it was missing",
        );
        assert!(parse.contains("AccessKeyId"), "{parse}");
    }

    #[test]
    fn client_timeouts_fit_in_the_load_timeout() {
        let t = client_timeouts(Duration::from_secs(5));
        assert_eq!(t.connect_timeout(), Some(Duration::from_secs(2)));
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_millis(2500)));
        assert_eq!(t.read_timeout(), Some(Duration::from_millis(2500)));
        assert_eq!(t.operation_timeout(), Some(Duration::from_secs(5)));
        assert_eq!(client_timeouts(Duration::from_secs(1)).connect_timeout(), Some(Duration::from_millis(500)));
    }
}
