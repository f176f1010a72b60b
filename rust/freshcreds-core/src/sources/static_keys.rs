//! Fixed keys: from environment variables or from Java system properties.
//!
//! Nobody can refresh these. Keys with a session token (temporary keys) are the dangerous case:
//! they expire and nothing renews them, so loading them logs a warning that says where they came
//! from and what to do.

use crate::cache::{CredentialsFuture, ProvideCredentials};
use crate::credentials::Credentials;
use crate::env::Env;
use crate::error::CredentialsError;

#[derive(Debug)]
pub struct StaticKeysProvider {
    name: &'static str,
    credentials: Credentials,
}

impl StaticKeysProvider {
    pub fn new(name: &'static str, credentials: Credentials) -> Self {
        Self { name, credentials }
    }

    /// From `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`. `None` when
    /// neither key variable is set; an error when only one is.
    pub fn from_env(env: &Env) -> Option<Result<Self, CredentialsError>> {
        keys(
            "environment",
            env.get("AWS_ACCESS_KEY_ID"),
            env.get("AWS_SECRET_ACCESS_KEY"),
            env.get("AWS_SESSION_TOKEN"),
            ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        )
    }

    /// From the Java system properties `aws.accessKeyId`, `aws.secretKey` (or
    /// `aws.secretAccessKey`) and `aws.sessionToken`, as the Java side read them.
    pub fn from_system_properties(
        access_key_id: Option<String>,
        secret: Option<String>,
        token: Option<String>,
    ) -> Option<Result<Self, CredentialsError>> {
        keys("systemProperties", access_key_id, secret, token, ("aws.accessKeyId", "aws.secretKey"))
    }
}

fn keys(
    name: &'static str,
    access_key_id: Option<String>,
    secret: Option<String>,
    token: Option<String>,
    names: (&str, &str),
) -> Option<Result<StaticKeysProvider, CredentialsError>> {
    match (access_key_id, secret) {
        (None, None) => None,
        (Some(id), Some(secret)) => Some(Ok(StaticKeysProvider::new(name, Credentials::new(id, secret, token, None, name)))),
        (Some(_), None) => Some(Err(CredentialsError::invalid_config(
            format!("{} is set but {} is not", names.0, names.1),
            format!("Set both, or unset {} so the next source in the chain is used.", names.0),
        ))),
        (None, Some(_)) => Some(Err(CredentialsError::invalid_config(
            format!("{} is set but {} is not", names.1, names.0),
            format!("Set both, or unset {} so the next source in the chain is used.", names.1),
        ))),
    }
}

impl ProvideCredentials for StaticKeysProvider {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        let credentials = self.credentials.clone();
        Box::pin(async move { Ok(credentials) })
    }

    fn name(&self) -> &'static str {
        self.name
    }
}
