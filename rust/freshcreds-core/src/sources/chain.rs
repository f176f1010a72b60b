//! The default chain in the SDKs' order, and what each winner shadows.
//!
//! Resolution looks at configuration only (variables, system properties, files), never the
//! network: the first configured source wins and every later configured source is *shadowed*.
//! A source that is configured but broken (one key without the other, a malformed file) is
//! skipped with a warning that names the variable or file, as the SDKs' chains move on.
//! IMDS is always last and cannot be detected without a request: when another source wins, the
//! agent asks IMDS once, in the background, whether an instance role exists, and reports it as
//! shadowed if so (see [`crate::agent`]).
//!
//! Every source that does I/O is returned wrapped in the load timeout
//! ([`super::timeout::LoadTimeout`]); IMDS, which the agent builds, is for the agent to wrap.

use std::sync::Arc;
use std::time::Duration;

use crate::cache::ProvideCredentials;
use crate::env::Env;
use crate::error::CredentialsError;

use super::aws_config_source::AwsConfigSource;
use super::container::ContainerProvider;
use super::profile::{ProfileFiles, ProfileProvider};
use super::static_keys::StaticKeysProvider;
use super::timeout::{LoadTimeout, DEFAULT_LOAD_TIMEOUT};

/// A link of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Environment,
    SystemProperties,
    WebIdentity,
    Profile,
    Container,
    Imds,
}

impl SourceKind {
    pub const ORDER: [SourceKind; 6] =
        [Self::Environment, Self::SystemProperties, Self::WebIdentity, Self::Profile, Self::Container, Self::Imds];

    pub fn name(self) -> &'static str {
        match self {
            Self::Environment => "environment",
            Self::SystemProperties => "systemProperties",
            Self::WebIdentity => "webIdentity",
            Self::Profile => "profile",
            Self::Container => "container",
            Self::Imds => "imds",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ORDER.iter().copied().find(|k| k.name().eq_ignore_ascii_case(text))
    }
}

/// Java system property keys as the Java side read them.
#[derive(Clone, Default)]
pub struct SystemProperties {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
}

/// Options and agents that hold these are printed with `{:?}`: the secret and the token never.
impl std::fmt::Debug for SystemProperties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        super::static_keys::RedactedSystemProperties(self).fmt(f)
    }
}

/// What resolution found.
pub struct Resolution {
    pub winner: SourceKind,
    /// `None` for IMDS, which the agent builds itself.
    pub provider: Option<Arc<dyn ProvideCredentials>>,
    /// Later sources that are configured too.
    pub shadowed: Vec<SourceKind>,
    /// Configured but unusable sources that were skipped, with why.
    pub skipped: Vec<(SourceKind, CredentialsError)>,
    pub profile_files: Option<ProfileFiles>,
}

impl std::fmt::Debug for Resolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolution")
            .field("winner", &self.winner)
            .field("shadowed", &self.shadowed)
            .field("skipped", &self.skipped)
            .finish()
    }
}

enum Found {
    Absent,
    Usable(Option<Arc<dyn ProvideCredentials>>),
    Broken(CredentialsError),
}

fn found<P: ProvideCredentials>(candidate: Option<Result<P, CredentialsError>>) -> Found {
    match candidate {
        None => Found::Absent,
        Some(Ok(p)) => Found::Usable(Some(Arc::new(p))),
        Some(Err(e)) => Found::Broken(e),
    }
}

/// [`found`], with the provider wrapped by `bound`.
fn bounded_found<P: ProvideCredentials>(
    candidate: Option<Result<P, CredentialsError>>,
    bound: &dyn Fn(Arc<dyn ProvideCredentials>) -> Arc<dyn ProvideCredentials>,
) -> Found {
    match found(candidate) {
        Found::Usable(Some(p)) => Found::Usable(Some(bound(p))),
        other => other,
    }
}

/// Resolves the chain with the [`DEFAULT_LOAD_TIMEOUT`]; see [`resolve_with_load_timeout`].
pub fn resolve(
    env: &Env,
    system_properties: &SystemProperties,
    order: &[SourceKind],
    imds_enabled: bool,
    attempt_timeout: Duration,
) -> Result<Resolution, CredentialsError> {
    resolve_with_load_timeout(env, system_properties, order, imds_enabled, attempt_timeout, DEFAULT_LOAD_TIMEOUT)
}

/// Resolves the chain. `order` is the SDKs' order unless the builder pinned sources;
/// `imds_enabled` is false when IMDS is disabled. `attempt_timeout` bounds one HTTP attempt to a
/// local endpoint (container); `load_timeout` bounds a whole fetch of the winner, whatever it is,
/// and sizes the STS and SSO clients' timeouts.
pub fn resolve_with_load_timeout(
    env: &Env,
    system_properties: &SystemProperties,
    order: &[SourceKind],
    imds_enabled: bool,
    attempt_timeout: Duration,
    load_timeout: Duration,
) -> Result<Resolution, CredentialsError> {
    // A fetch that can block (network, process, files) gets the overall deadline.
    let bounded = |p: Arc<dyn ProvideCredentials>| -> Arc<dyn ProvideCredentials> { Arc::new(LoadTimeout::new(p, load_timeout)) };
    let mut winner: Option<(SourceKind, Option<Arc<dyn ProvideCredentials>>)> = None;
    let mut shadowed = Vec::new();
    let mut skipped = Vec::new();
    let mut profile_files = None;
    for &kind in order {
        let candidate = match kind {
            SourceKind::Environment => found(StaticKeysProvider::from_env(env)),
            SourceKind::SystemProperties => found(StaticKeysProvider::from_system_properties(
                system_properties.access_key_id.clone(),
                system_properties.secret_access_key.clone(),
                system_properties.session_token.clone(),
            )),
            SourceKind::WebIdentity => bounded_found(AwsConfigSource::web_identity(env, load_timeout), &bounded),
            SourceKind::Profile => {
                let files = ProfileFiles::from_env(env);
                let explicit = env.get("AWS_PROFILE").is_some();
                match files.load() {
                    Ok(p) if p.get("aws_access_key_id").is_some() => {
                        profile_files = Some(files.clone());
                        Found::Usable(Some(bounded(Arc::new(ProfileProvider::new(files)))))
                    }
                    Ok(p) if p.has_credentials() => {
                        // role_arn, credential_process, SSO, credential_source: aws-config's.
                        profile_files = Some(files.clone());
                        Found::Usable(Some(bounded(Arc::new(AwsConfigSource::profile(env, &files, load_timeout)))))
                    }
                    Ok(_) if explicit => Found::Broken(CredentialsError::invalid_config(
                        format!("AWS_PROFILE='{}' names a profile with no credentials", files.profile),
                        "Fix the profile or unset AWS_PROFILE.",
                    )),
                    Ok(_) => Found::Absent,
                    Err(e) => Found::Broken(e),
                }
            }
            SourceKind::Container => bounded_found(ContainerProvider::from_env(env, attempt_timeout), &bounded),
            SourceKind::Imds if imds_enabled => Found::Usable(None),
            SourceKind::Imds => Found::Absent,
        };
        match candidate {
            Found::Absent => {}
            Found::Broken(e) => {
                tracing::warn!(source = kind.name(), error = %e, "credential source is configured but unusable; trying the next one");
                skipped.push((kind, e));
            }
            Found::Usable(provider) => match &winner {
                None => winner = Some((kind, provider)),
                Some(_) if kind != SourceKind::Imds => shadowed.push(kind),
                Some(_) => {} // IMDS presence is checked over the network later
            },
        }
    }
    let Some((winner, provider)) = winner else {
        let reasons: Vec<String> = skipped.iter().map(|(k, e)| format!("{}: {e}", k.name())).collect();
        return Err(CredentialsError::invalid_config(
            format!(
                "no credential source is configured{}",
                if reasons.is_empty() { String::new() } else { format!(" that works ({})", reasons.join("; ")) }
            ),
            "On EC2, attach an instance profile and leave IMDS enabled; elsewhere set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile.",
        ));
    };
    Ok(Resolution { winner, provider, shadowed, skipped, profile_files: if winner == SourceKind::Profile { profile_files } else { None } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_files(name: &str, credentials: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("freshcreds-chain-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("credentials"), credentials).expect("write");
        std::fs::write(dir.join("config"), "").expect("write");
        dir
    }

    /// For every combination of sources present (2^6), the winner is the first in the SDKs' order
    /// and every later one present is reported as shadowed (IMDS is checked over the network later).
    #[test]
    fn precedence_table_for_every_combination() {
        let with_keys = temp_files("keys", "[default]\naws_access_key_id=AKIAFILE\naws_secret_access_key=s\n");
        let empty = temp_files("empty", "");
        let token = with_keys.join("web-identity-token");
        std::fs::write(&token, "token").expect("token");
        let sysprops =
            super::SystemProperties { access_key_id: Some("AKIAPROP".into()), secret_access_key: Some("s".into()), session_token: None };
        let none = super::SystemProperties::default();
        for mask in 0u32..64 {
            let present = |k: SourceKind| mask & (1 << SourceKind::ORDER.iter().position(|o| *o == k).unwrap_or(0)) != 0;
            let dir = if present(SourceKind::Profile) { &with_keys } else { &empty };
            let mut pairs: Vec<(String, String)> = vec![
                ("AWS_SHARED_CREDENTIALS_FILE".into(), dir.join("credentials").display().to_string()),
                ("AWS_CONFIG_FILE".into(), dir.join("config").display().to_string()),
            ];
            if present(SourceKind::Environment) {
                pairs.push(("AWS_ACCESS_KEY_ID".into(), "AKIAENV".into()));
                pairs.push(("AWS_SECRET_ACCESS_KEY".into(), "s".into()));
            }
            if present(SourceKind::WebIdentity) {
                pairs.push(("AWS_WEB_IDENTITY_TOKEN_FILE".into(), token.display().to_string()));
                pairs.push(("AWS_ROLE_ARN".into(), "arn:aws:iam::123456789012:role/r".into()));
            }
            if present(SourceKind::Container) {
                pairs.push(("AWS_CONTAINER_CREDENTIALS_FULL_URI".into(), "http://127.0.0.1:9/creds".into()));
            }
            let map: std::collections::HashMap<String, String> = pairs.into_iter().collect();
            let env = Env::from_fn(move |k| map.get(k).cloned());
            let props = if present(SourceKind::SystemProperties) { &sysprops } else { &none };
            let expected: Vec<SourceKind> = SourceKind::ORDER.iter().copied().filter(|k| present(*k)).collect();
            match resolve(&env, props, &SourceKind::ORDER, present(SourceKind::Imds), Duration::from_secs(1)) {
                Ok(r) => {
                    let shadowed: Vec<SourceKind> = expected[1..].iter().copied().filter(|k| *k != SourceKind::Imds).collect();
                    assert_eq!((r.winner, r.shadowed), (expected[0], shadowed), "sources present: {expected:?}");
                    assert!(r.skipped.is_empty());
                }
                Err(e) => assert!(expected.is_empty(), "sources present: {expected:?}, but: {e}"),
            }
        }
    }

    #[test]
    fn broken_sources_are_skipped_with_the_reason_and_nothing_configured_is_an_error() {
        let env = Env::from_pairs([
            ("AWS_ACCESS_KEY_ID", "AKIAONLY"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/c"),
            ("AWS_CONFIG_FILE", "/nonexistent/f"),
        ]);
        let r = resolve(&env, &SystemProperties::default(), &SourceKind::ORDER, true, Duration::from_secs(1)).expect("falls to IMDS");
        assert_eq!(r.winner, SourceKind::Imds);
        assert!(r.skipped[0].1.to_string().contains("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"));
        let e = resolve(&env, &SystemProperties::default(), &SourceKind::ORDER, false, Duration::from_secs(1)).expect_err("nothing works");
        assert!(e.to_string().contains("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"), "{e}");
    }

    #[test]
    fn a_pinned_order_is_honoured() {
        let env = Env::from_pairs([("AWS_ACCESS_KEY_ID", "AKIAENV"), ("AWS_SECRET_ACCESS_KEY", "s")]);
        let r = resolve(&env, &SystemProperties::default(), &[SourceKind::Imds], true, Duration::from_secs(1)).expect("pinned");
        assert_eq!(r.winner, SourceKind::Imds);
        assert!(r.shadowed.is_empty());
    }
}
