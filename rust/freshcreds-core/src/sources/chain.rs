//! The default chain in the SDKs' order, and what each winner shadows.
//!
//! [`resolve`] looks at configuration only (variables, system properties, files), never the
//! network: the first configured source wins and every later configured source is *shadowed*.
//! A source that is configured but broken (one key without the other, a malformed file) is
//! skipped with a warning that names the variable or file, as the SDKs' chains move on.
//!
//! IMDS is a link like the others, last in the SDKs' order: enabled (not disabled by option or
//! `AWS_EC2_METADATA_DISABLED`) means configured, so it wins when nothing before it is configured,
//! and building its client is then part of resolution (a bad IMDS endpoint or role name is an
//! error, not a skipped source). Behind another winner, whether IMDS has an instance role takes a
//! request: resolution then hands back an [`InstanceRoleProbe`] for the agent to run once, in the
//! background, and the agent reports IMDS as shadowed if the probe finds a role (see
//! [`crate::agent`]).
//!
//! The winner's provider is returned wrapped in the load timeout ([`super::timeout::LoadTimeout`]),
//! except for the fixed keys of the environment and system properties, which do no I/O. A profile
//! winner also comes with its files to watch, so that the agent follows an external tool that
//! rewrites them.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::env::Env;
use crate::error::CredentialsError;
use crate::imds::credentials::InstanceRoleProbe;
use crate::imds::{ImdsClient, ImdsClientBuilder, ImdsCredentialsProvider};
use crate::provider::ProvideCredentials;
use crate::settings::Origin;

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

/// How to reach IMDS, when it is enabled: what its link needs to build the instance-role source
/// (if IMDS wins) or the probe (if another source wins before it).
#[derive(Clone)]
pub struct ImdsLink {
    /// The client as configured (endpoint, timeouts, attempts, skew estimator).
    pub client: ImdsClientBuilder,
    /// The instance role to use; discovered when `None`.
    pub role_name: Option<String>,
    /// The clock the client and the credentials' expiry run on (the agent's).
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ImdsLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImdsLink").field("client", &self.client).field("role_name", &self.role_name).finish_non_exhaustive()
    }
}

impl ImdsLink {
    pub fn new(client: ImdsClientBuilder, clock: Arc<dyn Clock>) -> Self {
        Self { client, role_name: None, clock }
    }

    /// The instance-role source, for an IMDS winner. Errors name the bad option (endpoint, role
    /// name, timeouts).
    fn provider(&self) -> Result<ImdsCredentialsProvider, CredentialsError> {
        let client = Arc::new(self.client.clone().build(self.clock.clone())?);
        let mut provider = ImdsCredentialsProvider::builder();
        if let Some(role) = &self.role_name {
            provider = provider.role_name(role.clone());
        }
        provider.build(client)
    }

    /// The probe for an instance role behind another winner; `None` if its client cannot be
    /// built (IMDS is then as good as absent, and the probe would only fail).
    fn probe(&self, attempt_timeout: Duration) -> Option<InstanceRoleProbe> {
        InstanceRoleProbe::new(self.client.clone(), attempt_timeout, self.clock.clone()).ok()
    }
}

/// What the chain is resolved from.
#[derive(Debug, Clone)]
pub struct ChainInputs<'a> {
    /// Where the variables come from (the process environment, or a test's).
    pub env: &'a Env,
    /// The Java system properties the Java side read.
    pub system_properties: &'a SystemProperties,
    /// The shared files and the profile selected in them (options, system properties, variables).
    pub profile_files: ProfileFiles,
    /// The SDKs' order ([`SourceKind::ORDER`]), or the sources the builder pinned.
    pub order: Vec<SourceKind>,
    /// `None` when IMDS is disabled.
    pub imds: Option<ImdsLink>,
    /// Bounds one HTTP attempt to a local endpoint (container, the IMDS probe).
    pub attempt_timeout: Duration,
    /// Bounds a whole fetch of the winner, whatever it is, and sizes the STS and SSO clients'
    /// timeouts.
    pub load_timeout: Duration,
}

impl<'a> ChainInputs<'a> {
    /// The SDKs' order with IMDS disabled, the profile files the variables select, a 1 s attempt
    /// timeout and the [`DEFAULT_LOAD_TIMEOUT`]; change the fields for anything else.
    pub fn new(env: &'a Env, system_properties: &'a SystemProperties) -> Self {
        Self {
            env,
            system_properties,
            profile_files: ProfileFiles::from_env(env),
            order: SourceKind::ORDER.to_vec(),
            imds: None,
            attempt_timeout: crate::imds::client::DEFAULT_ATTEMPT_TIMEOUT,
            load_timeout: DEFAULT_LOAD_TIMEOUT,
        }
    }
}

/// What resolution found.
pub struct Resolution {
    pub winner: SourceKind,
    /// The winner's source, under the load timeout when it does I/O.
    pub provider: Arc<dyn ProvideCredentials>,
    /// Later sources that are configured too (IMDS not among them: see [`Self::imds_probe`]).
    pub shadowed: Vec<SourceKind>,
    /// Configured but unusable sources that were skipped, with why.
    pub skipped: Vec<(SourceKind, CredentialsError)>,
    /// The files to follow for changes: the profile files of a profile winner.
    pub watch: Option<ProfileFiles>,
    /// The IMDS client of an IMDS winner (its request counters go into the agent's stats).
    pub imds_client: Option<Arc<ImdsClient>>,
    /// When IMDS is enabled and comes after another winner: the look for an instance role that
    /// the winner hides, for the agent to run in the background.
    pub imds_probe: Option<InstanceRoleProbe>,
}

impl std::fmt::Debug for Resolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolution")
            .field("winner", &self.winner)
            .field("shadowed", &self.shadowed)
            .field("skipped", &self.skipped)
            .field("watch", &self.watch)
            .field("imds_probe", &self.imds_probe.is_some())
            .finish_non_exhaustive()
    }
}

/// What one link of the chain turned out to be.
enum Found {
    Absent,
    Usable(Arc<dyn ProvideCredentials>),
    /// IMDS behind a winner: only a request could tell whether it has a role (the probe's job).
    Unknown,
    Broken(CredentialsError),
}

fn found<P: ProvideCredentials>(candidate: Option<Result<P, CredentialsError>>) -> Found {
    match candidate {
        None => Found::Absent,
        Some(Ok(p)) => Found::Usable(Arc::new(p)),
        Some(Err(e)) => Found::Broken(e),
    }
}

/// Resolves the chain: the first configured link of `inputs.order` wins. An error when no link
/// works (naming the broken ones), or when IMDS wins and its client or role name is invalid.
pub fn resolve(inputs: &ChainInputs<'_>) -> Result<Resolution, CredentialsError> {
    // A fetch that can block (network, process, files) gets the overall deadline.
    let bounded = |found: Found| match found {
        Found::Usable(p) => Found::Usable(Arc::new(LoadTimeout::new(p, inputs.load_timeout))),
        other => other,
    };
    let env = inputs.env;
    let mut winner: Option<(SourceKind, Arc<dyn ProvideCredentials>)> = None;
    let mut shadowed = Vec::new();
    let mut skipped = Vec::new();
    let mut profile_files = None;
    let mut imds_client = None;
    for &kind in &inputs.order {
        let candidate = match kind {
            SourceKind::Environment => found(StaticKeysProvider::from_env(env)),
            SourceKind::SystemProperties => found(StaticKeysProvider::from_system_properties(
                inputs.system_properties.access_key_id.clone(),
                inputs.system_properties.secret_access_key.clone(),
                inputs.system_properties.session_token.clone(),
            )),
            SourceKind::WebIdentity => bounded(found(AwsConfigSource::web_identity(env, inputs.load_timeout))),
            SourceKind::Profile => {
                let files = inputs.profile_files.clone();
                let found = profile_link(env, &files, inputs.load_timeout);
                if matches!(found, Found::Usable(_)) {
                    profile_files = Some(files);
                }
                bounded(found)
            }
            SourceKind::Container => bounded(found(ContainerProvider::from_env(env, inputs.attempt_timeout))),
            SourceKind::Imds => match &inputs.imds {
                None => Found::Absent,
                Some(_) if winner.is_some() => Found::Unknown,
                Some(link) => {
                    let provider = link.provider()?;
                    imds_client = Some(provider.client().clone());
                    bounded(Found::Usable(Arc::new(provider)))
                }
            },
        };
        match candidate {
            Found::Absent | Found::Unknown => {}
            Found::Broken(e) => {
                tracing::warn!(source = kind.name(), error = %e, "credential source is configured but unusable; trying the next one");
                skipped.push((kind, e));
            }
            Found::Usable(provider) => match &winner {
                None => winner = Some((kind, provider)),
                Some(_) => shadowed.push(kind),
            },
        }
    }
    let Some((winner, provider)) = winner else {
        return Err(nothing_configured(&skipped));
    };
    let imds_probe = match &inputs.imds {
        Some(link) if winner != SourceKind::Imds && inputs.order.contains(&SourceKind::Imds) => link.probe(inputs.attempt_timeout),
        _ => None,
    };
    Ok(Resolution {
        winner,
        provider,
        shadowed,
        skipped,
        watch: if winner == SourceKind::Profile { profile_files } else { None },
        imds_client,
        imds_probe,
    })
}

/// The profile link: static keys are freshcreds' own ([`ProfileProvider`]); everything else that
/// yields credentials (`role_arn`, `credential_process`, SSO, `credential_source`) is aws-config's.
fn profile_link(env: &Env, files: &ProfileFiles, load_timeout: Duration) -> Found {
    match files.load() {
        Ok(p) if p.get("aws_access_key_id").is_some() => Found::Usable(Arc::new(ProfileProvider::new(files.clone()))),
        Ok(p) if p.has_credentials() => Found::Usable(Arc::new(AwsConfigSource::profile(env, files, load_timeout))),
        Ok(_) if files.profile_from != Origin::Default => Found::Broken(CredentialsError::invalid_config(
            format!("{} names a profile with no credentials", files.profile_from.assignment(&files.profile)),
            format!("Fix the profile or unset {}.", files.profile_from),
        )),
        Ok(_) => Found::Absent,
        Err(e) => Found::Broken(e),
    }
}

/// The error when no link works, with the reasons of those that were configured but broken.
fn nothing_configured(skipped: &[(SourceKind, CredentialsError)]) -> CredentialsError {
    let reasons: Vec<String> = skipped.iter().map(|(k, e)| format!("{}: {e}", k.name())).collect();
    CredentialsError::invalid_config(
        format!(
            "no credential source is configured{}",
            if reasons.is_empty() { String::new() } else { format!(" that works ({})", reasons.join("; ")) }
        ),
        "On EC2, attach an instance profile and leave IMDS enabled; elsewhere set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn temp_files(name: &str, credentials: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("freshcreds-chain-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("credentials"), credentials).expect("write");
        std::fs::write(dir.join("config"), "").expect("write");
        dir
    }

    /// IMDS enabled, on a closed loopback port (building the link never connects).
    fn imds_link() -> ImdsLink {
        let client = ImdsClient::builder().env(Env::empty()).endpoint("http://127.0.0.1:9");
        ImdsLink::new(client, Arc::new(ManualClock::new(std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000))))
    }

    fn inputs<'a>(env: &'a Env, props: &'a SystemProperties, order: &[SourceKind], imds: bool) -> ChainInputs<'a> {
        ChainInputs { order: order.to_vec(), imds: imds.then(imds_link), ..ChainInputs::new(env, props) }
    }

    /// For every combination of sources present (2^6), the winner is the first in the SDKs' order
    /// and every later one present is reported as shadowed, except IMDS, for which a probe is
    /// handed back instead (only a request can tell whether it has a role).
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
            match resolve(&inputs(&env, props, &SourceKind::ORDER, present(SourceKind::Imds))) {
                Ok(r) => {
                    let shadowed: Vec<SourceKind> = expected[1..].iter().copied().filter(|k| *k != SourceKind::Imds).collect();
                    assert_eq!((r.winner, &r.shadowed), (expected[0], &shadowed), "sources present: {expected:?}");
                    assert_eq!(r.provider.name(), expected[0].name(), "sources present: {expected:?}");
                    assert!(r.skipped.is_empty());
                    let imds_behind = expected[0] != SourceKind::Imds && present(SourceKind::Imds);
                    assert_eq!(r.imds_probe.is_some(), imds_behind, "sources present: {expected:?}");
                    assert_eq!(r.imds_client.is_some(), expected[0] == SourceKind::Imds, "sources present: {expected:?}");
                    assert_eq!(r.watch.is_some(), expected[0] == SourceKind::Profile, "sources present: {expected:?}");
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
        let props = SystemProperties::default();
        let r = resolve(&inputs(&env, &props, &SourceKind::ORDER, true)).expect("falls to IMDS");
        assert_eq!(r.winner, SourceKind::Imds);
        assert!(r.skipped[0].1.to_string().contains("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"));
        let e = resolve(&inputs(&env, &props, &SourceKind::ORDER, false)).expect_err("nothing works");
        assert!(e.to_string().contains("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"), "{e}");
    }

    #[test]
    fn a_pinned_order_is_honoured() {
        let env = Env::from_pairs([("AWS_ACCESS_KEY_ID", "AKIAENV"), ("AWS_SECRET_ACCESS_KEY", "s")]);
        let props = SystemProperties::default();
        let r = resolve(&inputs(&env, &props, &[SourceKind::Imds], true)).expect("pinned");
        assert_eq!(r.winner, SourceKind::Imds);
        assert!(r.shadowed.is_empty());
        assert!(r.imds_probe.is_none(), "IMDS won: nothing to probe");
        // IMDS first and then the environment: IMDS wins, the keys are shadowed.
        let r = resolve(&inputs(&env, &props, &[SourceKind::Imds, SourceKind::Environment], true)).expect("pinned order");
        assert_eq!((r.winner, r.shadowed), (SourceKind::Imds, vec![SourceKind::Environment]));
    }

    /// IMDS is built as the winner, so a bad IMDS setting is an error of the chain (not a skipped
    /// source); behind another winner it is never built, only probed.
    #[test]
    fn an_imds_winner_with_a_bad_setting_is_an_error() {
        let env = Env::empty();
        let props = SystemProperties::default();
        let mut bad_role = imds_link();
        bad_role.role_name = Some("arn:aws:iam::123456789012:role/x".into());
        let e = resolve(&ChainInputs { imds: Some(bad_role.clone()), ..ChainInputs::new(&env, &props) }).expect_err("bad role name");
        assert!(e.to_string().contains("is not an IAM role name"), "{e}");
        let keys = Env::from_pairs([("AWS_ACCESS_KEY_ID", "AKIAENV"), ("AWS_SECRET_ACCESS_KEY", "s")]);
        let r = resolve(&ChainInputs { imds: Some(bad_role), ..ChainInputs::new(&keys, &props) }).expect("IMDS is not built");
        assert_eq!(r.winner, SourceKind::Environment);
        assert!(r.imds_probe.is_some());
    }
}
