//! Sources taken from `aws-config` rather than rewritten: container credentials (ECS, EKS Pod
//! Identity), web identity (`AssumeRoleWithWebIdentity`) and the profile kinds that need STS, a process or IAM Identity
//! Center (`role_arn` with `source_profile` or `credential_source`, `credential_process`, SSO).
//! They behave exactly as in the AWS SDK for Rust; freshcreds wraps them in its own cache, refresh,
//! skew and backoff machinery like every other source.
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
use once_cell::sync::Lazy;

use crate::cache::{CredentialsFuture, ProvideCredentials};
use crate::credentials::Credentials;
use crate::env::Env;
use crate::error::CredentialsError;

/// An `aws-config` credentials provider adapted to freshcreds.
#[derive(Debug)]
pub struct AwsConfigSource {
    name: &'static str,
    inner: SharedCredentialsProvider,
}

/// The HTTPS client every aws-config source uses: rustls on ring, over the same hyper as the IMDS
/// client. aws-config's own default would link a second crypto library (aws-lc-rs), and that one
/// needs a C toolchain per target to cross-build; ring builds for every platform freshcreds ships.
static HTTPS_CLIENT: Lazy<SharedHttpClient> = Lazy::new(|| {
    aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring)).build_https()
});

fn provider_config(env: &Env) -> ProviderConfig {
    let region = env.get("AWS_REGION").or_else(|| env.get("AWS_DEFAULT_REGION")).unwrap_or_else(|| "us-east-1".to_string());
    ProviderConfig::without_region().with_http_client(HTTPS_CLIENT.clone()).with_region(Some(Region::new(region)))
}

impl AwsConfigSource {
    /// Web identity from `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN` and
    /// `AWS_ROLE_SESSION_NAME`; `None` when the token file variable is unset.
    pub fn web_identity(env: &Env) -> Option<Result<Self, CredentialsError>> {
        let token_file = env.get("AWS_WEB_IDENTITY_TOKEN_FILE")?;
        let Some(role_arn) = env.get("AWS_ROLE_ARN") else {
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
        let session_name = env.get("AWS_ROLE_SESSION_NAME").unwrap_or_else(|| "freshcreds".to_string());
        let provider = WebIdentityTokenCredentialsProvider::builder()
            .configure(&provider_config(env))
            .static_configuration(StaticConfiguration { web_identity_token_file: PathBuf::from(token_file), role_arn, session_name })
            .build();
        Some(Ok(Self { name: "webIdentity", inner: SharedCredentialsProvider::new(provider) }))
    }

    /// A profile that needs `aws-config` (role_arn, credential_process, SSO, credential_source).
    pub fn profile(env: &Env, files: &super::profile::ProfileFiles) -> Self {
        // aws-config treats a file it is given as required; the SDKs do not require either one.
        let mut builder = EnvConfigFiles::builder();
        if files.config.is_file() {
            builder = builder.with_file(EnvConfigFileKind::Config, &files.config);
        }
        if files.credentials.is_file() {
            builder = builder.with_file(EnvConfigFileKind::Credentials, &files.credentials);
        }
        let aws_files = builder.build();
        let provider = ProfileFileCredentialsProvider::builder()
            .configure(&provider_config(env))
            .profile_files(aws_files)
            .profile_name(files.profile.clone())
            .build();
        Self { name: "profile", inner: SharedCredentialsProvider::new(provider) }
    }

    /// Container credentials (ECS, EKS Pod Identity); the chain has checked the endpoint.
    pub fn container(env: &Env, timeout: Duration) -> Self {
        let provider = aws_config::ecs::EcsCredentialsProvider::builder()
            .configure(&provider_config(env))
            .connect_timeout(timeout)
            .read_timeout(timeout.max(Duration::from_secs(1)))
            .build();
        Self { name: "container", inner: SharedCredentialsProvider::new(provider) }
    }

    async fn load(&self) -> Result<Credentials, CredentialsError> {
        match self.inner.provide_credentials().await {
            Ok(c) => {
                Ok(Credentials::new(c.access_key_id(), c.secret_access_key(), c.session_token().map(str::to_string), c.expiry(), self.name))
            }
            Err(e) => Err(map_error(self.name, e)),
        }
    }
}

fn map_error(name: &'static str, error: AwsCredentialsError) -> CredentialsError {
    let detail = DisplayErrorContext(&error).to_string();
    match error {
        AwsCredentialsError::CredentialsNotLoaded(_) | AwsCredentialsError::InvalidConfiguration(_) => CredentialsError::invalid_config(
            format!("the {name} credentials source is not usable: {detail}"),
            "Fix the profile or variables it names, or pin another source with the builder's source option.",
        ),
        _ => CredentialsError::SourceFailed { source_name: name, detail },
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
