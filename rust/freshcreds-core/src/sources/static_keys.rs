//! Fixed keys: from environment variables or from Java system properties.
//!
//! Nobody can refresh these: the provider hands out the keys it was built with, without an expiry
//! (the cache asks again only after AWS rejected them, and gets the same keys). Keys with a session token (temporary keys) are the
//! dangerous case, since they do expire, and AWS then rejects them. Nothing is logged when they
//! are loaded; what warns is the chain's report: the agent logs a warning when they shadow another
//! configured source, or an instance role ([`crate::agent`]). One key without the other is a
//! broken source that the chain skips, with a message naming both.

use std::fmt;

use super::chain::SystemProperties;
use crate::credentials::Credentials;
use crate::env::{self as env_vars, Env};
use crate::error::CredentialsError;
use crate::provider::{CredentialsFuture, ProvideCredentials};

/// How [`SystemProperties`] is printed: the key id (it names the key and is logged elsewhere, like
/// the SDKs do), but the secret key and the session token only as "set" (`** redacted **`).
pub struct RedactedSystemProperties<'a>(pub &'a SystemProperties);

const REDACTED: &str = "** redacted **";

impl fmt::Debug for RedactedSystemProperties<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a new field cannot be forgotten here.
        let SystemProperties { access_key_id, secret_access_key, session_token } = self.0;
        f.debug_struct("SystemProperties")
            .field("access_key_id", access_key_id)
            .field("secret_access_key", &secret_access_key.as_ref().map(|_| REDACTED))
            .field("session_token", &session_token.as_ref().map(|_| REDACTED))
            .finish()
    }
}

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
            env.get(env_vars::AWS_ACCESS_KEY_ID),
            env.get(env_vars::AWS_SECRET_ACCESS_KEY),
            env.get(env_vars::AWS_SESSION_TOKEN),
            (env_vars::AWS_ACCESS_KEY_ID, env_vars::AWS_SECRET_ACCESS_KEY),
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

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLETOKENAAAAAAAAAAAAAAAAAAAAA";

    fn properties() -> SystemProperties {
        SystemProperties {
            access_key_id: Some("AKIAIOSFODNN7EXAMPLE".into()),
            secret_access_key: Some(SECRET.into()),
            session_token: Some(TOKEN.into()),
        }
    }

    fn assert_redacted(text: &str) {
        assert!(text.contains("AKIAIOSFODNN7EXAMPLE"), "the key id is shown: {text}");
        assert!(text.contains(REDACTED), "{text}");
        assert!(!text.contains(SECRET) && !text.contains("wJalrXUtnFEMI"), "the secret leaked: {text}");
        assert!(!text.contains(TOKEN) && !text.contains("IQoJb3JpZ2lu"), "the token leaked: {text}");
    }

    #[test]
    fn redacted_system_properties_show_the_key_id_only() {
        let p = properties();
        assert_redacted(&format!("{:?}", RedactedSystemProperties(&p)));
        assert_redacted(&format!("{:#?}", RedactedSystemProperties(&p)));
        let unset = format!("{:?}", RedactedSystemProperties(&SystemProperties::default()));
        assert!(!unset.contains(REDACTED), "unset values are not shown as set: {unset}");
    }

    /// `SystemProperties`' own `Debug` (what `{:?}` on it, or on anything holding it, prints).
    #[test]
    fn system_properties_debug_never_shows_the_secret_or_the_token() {
        let p = properties();
        assert_redacted(&format!("{p:?}"));
        assert_redacted(&format!("{p:#?}"));
    }

    #[test]
    fn a_static_keys_provider_debug_never_shows_the_secret_or_the_token() {
        let Some(Ok(provider)) =
            StaticKeysProvider::from_system_properties(Some("AKIAIOSFODNN7EXAMPLE".into()), Some(SECRET.into()), Some(TOKEN.into()))
        else {
            panic!("both keys are set");
        };
        let text = format!("{provider:?}");
        assert!(!text.contains(SECRET) && !text.contains(TOKEN), "{text}");
    }
}
