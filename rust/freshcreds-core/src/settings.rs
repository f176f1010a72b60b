//! SDK settings resolved the way the AWS SDK for Java resolves them: the builder's option, else
//! the Java system property, else the environment variable, else the key in the selected profile,
//! else the default.
//!
//! The option is the caller's ([`crate::config::AgentOptions`]); the rest is a [`Lookup`], which
//! holds the system properties the Java library read and passed on (`systemProperties.*`), the
//! environment, and the selected profile, whose files are read at the first setting that gets that
//! far (once per lookup). Which names a setting is looked up under is its
//! [`Fallback`](crate::config::Fallback), in the options table.
//!
//! The profile files themselves are settings of this kind without a profile key
//! ([`ProfileFiles::resolve`]); their default is under the home directory: `HOME`, else
//! `USERPROFILE`, else the `homeDirectory` option (the Java library passes `user.home`), and with
//! none of them no default file at all, never one in the working directory.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::config::{AgentOptions, Fallback, OPTIONS};
use crate::env::Env;
use crate::sources::profile::ProfileFiles;

/// Where a setting's value came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The option with this key.
    Option(&'static str),
    /// The Java system property with this name.
    SystemProperty(&'static str),
    /// The environment variable with this name.
    Env(&'static str),
    /// A key of the selected profile, in this file.
    Profile { key: &'static str, profile: String, file: PathBuf },
    /// Nothing set it.
    Default,
}

/// As "Set {origin} to ..." and "(from {origin})" read it.
impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Option(key) => write!(f, "the {key} option"),
            Self::SystemProperty(name) => write!(f, "the system property {name}"),
            Self::Env(name) => f.write_str(name),
            Self::Profile { key, profile, file } => write!(f, "{key} in profile '{profile}' of {}", file.display()),
            Self::Default => f.write_str("the default"),
        }
    }
}

impl Origin {
    /// `NAME='value'`, saying where NAME is: for messages about a bad value.
    pub fn assignment(&self, value: &str) -> String {
        match self {
            Self::Option(key) => format!("option {key}='{value}'"),
            Self::SystemProperty(name) => format!("the system property {name}='{value}'"),
            Self::Env(name) => format!("{name}='{value}'"),
            Self::Profile { key, profile, file } => format!("{key}='{value}' in profile '{profile}' of {}", file.display()),
            Self::Default => format!("the default '{value}'"),
        }
    }
}

/// A setting's value (trimmed text, in the SDK's syntax) and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub value: String,
    pub from: Origin,
}

/// The selected profile's values of the settings' profile keys, read at first need.
struct ProfileKeys {
    files: ProfileFiles,
    /// `(key, value, file)` for each profile key of [`OPTIONS`] the profile sets. Only these are
    /// kept, not the profile (which may hold a secret key).
    values: OnceLock<Vec<(&'static str, String, PathBuf)>>,
}

impl ProfileKeys {
    fn values(&self) -> &[(&'static str, String, PathBuf)] {
        self.values.get_or_init(|| match self.files.load() {
            Ok(profile) => OPTIONS
                .iter()
                .filter_map(|o| o.fallback.profile_key)
                .filter_map(|key| Some((key, profile.get(key)?.to_string(), profile.file_of(key)?.to_path_buf())))
                .collect(),
            Err(e) => {
                // The profile source reports the same error if it is used; IMDS settings go on
                // without the profile, as they would without the file.
                tracing::warn!(error = %e, "the shared config files cannot be read; IMDS settings ignore them");
                Vec::new()
            }
        })
    }
}

/// Where a setting is looked up when its option is not given (see the module docs). Cheap to
/// clone: clones share the properties and the profile, read once.
#[derive(Clone)]
pub struct Lookup {
    properties: Arc<BTreeMap<&'static str, String>>,
    env: Env,
    profile: Option<Arc<ProfileKeys>>,
}

impl fmt::Debug for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lookup")
            .field("properties", &self.properties)
            .field("profile_files", &self.profile.as_ref().map(|p| &p.files))
            .finish_non_exhaustive()
    }
}

impl Lookup {
    /// These variables only: no system properties, no profile keys.
    pub fn env_only(env: Env) -> Self {
        Self { properties: Arc::default(), env, profile: None }
    }

    /// The system properties in `options`, `env`, and the profile that `options` (else the
    /// properties, else `env`) select.
    pub fn for_options(options: &AgentOptions, env: Env) -> Self {
        let mut lookup = Self { properties: Arc::new(options.java_properties.clone()), env, profile: None };
        let files = ProfileFiles::resolve(options, &lookup);
        lookup.profile = Some(Arc::new(ProfileKeys { files, values: OnceLock::new() }));
        lookup
    }

    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The selected profile's files (`None` for [`Self::env_only`]).
    pub fn profile_files(&self) -> Option<&ProfileFiles> {
        self.profile.as_ref().map(|p| &p.files)
    }

    /// The first of the system property, the variable and the profile key that is set (and not
    /// blank).
    pub fn get(&self, fallback: &Fallback) -> Option<Found> {
        let found = |value: &str, from: Origin| Some(Found { value: value.trim().to_string(), from });
        let property = fallback
            .system_properties
            .iter()
            .find_map(|name| self.properties.get(name).filter(|v| !v.trim().is_empty()).map(|v| (*name, v)));
        if let Some((name, value)) = property {
            return found(value, Origin::SystemProperty(name));
        }
        if let Some((name, value)) = fallback.env.and_then(|name| Some((name, self.env.get(name)?))) {
            return found(&value, Origin::Env(name));
        }
        let key = fallback.profile_key?;
        let profile = self.profile.as_ref()?;
        let (_, value, file) = profile.values().iter().find(|(k, v, _)| *k == key && !v.trim().is_empty())?;
        found(value, Origin::Profile { key, profile: profile.files.profile.clone(), file: file.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::config::{fallback, keys, system_property_option};
    use crate::env as vars;
    use crate::imds::client::EndpointMode;
    use crate::CredentialsError;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A fresh directory that stands for a home: `.aws/config` holds `config` when given.
    fn home(config: Option<&str>) -> PathBuf {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!("freshcreds-settings-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(dir.join(".aws")).expect("mkdir");
        if let Some(text) = config {
            std::fs::write(dir.join(".aws/config"), text).expect("write");
        }
        dir
    }

    fn env_of(pairs: &[(&str, String)]) -> Env {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        Env::from_fn(move |k| map.get(k).cloned())
    }

    /// The layers one setting is given in; `None`: not set there.
    #[derive(Default, Clone)]
    struct Layers {
        option: Option<String>,
        property: Option<String>,
        /// Which of the setting's system properties carries `property` (SDK v2's name is 0).
        property_name: usize,
        env: Option<String>,
        profile: Option<String>,
    }

    /// One SDK setting under test: its option key and fallbacks, and what the agent ends up with.
    struct Setting {
        key: &'static str,
        fallback: Fallback,
        /// The winning value as an option, and in the fallbacks' syntax.
        win: (&'static str, &'static str),
        /// What the lower layers hold.
        lose: &'static str,
        /// What `observe` says for the winning value, and when nothing is set.
        expected: &'static str,
        default: &'static str,
        observe: fn(&AgentOptions, &Lookup) -> String,
    }

    fn imds(options: &AgentOptions, lookup: &Lookup) -> Result<crate::imds::ImdsClient, CredentialsError> {
        options.imds_client_builder_with(lookup.clone()).build(Arc::new(SystemClock))
    }

    fn endpoint(o: &AgentOptions, l: &Lookup) -> String {
        imds(o, l).map(|c| c.endpoint().to_string()).unwrap_or_else(|e| e.to_string())
    }

    fn settings() -> Vec<Setting> {
        vec![
            Setting {
                key: keys::IMDS_DISABLED,
                fallback: fallback::IMDS_DISABLED,
                win: ("true", "TRUE"),
                lose: "false",
                expected: "disabled",
                default: "enabled",
                observe: |o, l| if matches!(imds(o, l), Err(CredentialsError::ImdsDisabled)) { "disabled" } else { "enabled" }.into(),
            },
            Setting {
                key: keys::IMDS_DISABLED,
                fallback: fallback::IMDS_DISABLED,
                win: ("false", "false"),
                lose: "true",
                expected: "enabled",
                default: "enabled",
                observe: |o, l| if matches!(imds(o, l), Err(CredentialsError::ImdsDisabled)) { "disabled" } else { "enabled" }.into(),
            },
            Setting {
                key: keys::ENDPOINT,
                fallback: fallback::ENDPOINT,
                win: ("http://127.0.0.1:1", "http://127.0.0.1:1/"),
                lose: "http://127.0.0.1:2",
                expected: "http://127.0.0.1:1",
                default: "http://169.254.169.254",
                observe: endpoint,
            },
            Setting {
                key: keys::ENDPOINT_MODE,
                fallback: fallback::ENDPOINT_MODE,
                win: ("IPv6", "ipv6"),
                lose: "IPv4",
                expected: "http://[fd00:ec2::254]",
                default: "http://169.254.169.254",
                observe: endpoint,
            },
            Setting {
                key: keys::ENDPOINT_MODE,
                fallback: fallback::ENDPOINT_MODE,
                win: ("IPv4", "IPV4"),
                lose: "IPv6",
                expected: "http://169.254.169.254",
                default: "http://169.254.169.254",
                observe: endpoint,
            },
            Setting {
                key: keys::ATTEMPT_TIMEOUT_MILLIS,
                fallback: fallback::ATTEMPT_TIMEOUT,
                win: ("2500", "2.5"),
                lose: "7",
                expected: "2.5s",
                default: "1s",
                observe: |o, l| {
                    let builder = o.imds_client_builder_with(l.clone());
                    builder.resolved_attempt_timeout().map(|t| format!("{t:?}")).unwrap_or_else(|e| e.to_string())
                },
            },
            Setting {
                key: keys::MAX_ATTEMPTS,
                fallback: fallback::MAX_ATTEMPTS,
                win: ("5", "5"),
                lose: "7",
                expected: "5",
                default: "3",
                observe: |o, l| {
                    let builder = o.imds_client_builder_with(l.clone());
                    builder.resolved_max_attempts().map(|n| n.to_string()).unwrap_or_else(|e| e.to_string())
                },
            },
            Setting {
                key: keys::PROFILE_NAME,
                fallback: fallback::PROFILE_NAME,
                win: ("win", "win"),
                lose: "lose",
                expected: "win",
                default: "default",
                observe: |_, l| l.profile_files().map(|f| f.profile.clone()).unwrap_or_default(),
            },
            Setting {
                key: keys::CONFIG_FILE,
                fallback: fallback::CONFIG_FILE,
                win: ("/win/config", "/win/config"),
                lose: "/lose/config",
                expected: "/win/config",
                default: "~/.aws/config",
                observe: |_, l| l.profile_files().and_then(|f| f.config.clone()).map(|p| p.display().to_string()).unwrap_or_default(),
            },
            Setting {
                key: keys::CREDENTIALS_FILE,
                fallback: fallback::CREDENTIALS_FILE,
                win: ("/win/credentials", "/win/credentials"),
                lose: "/lose/credentials",
                expected: "/win/credentials",
                default: "~/.aws/credentials",
                observe: |_, l| l.profile_files().and_then(|f| f.credentials.clone()).map(|p| p.display().to_string()).unwrap_or_default(),
            },
        ]
    }

    /// What the agent ends up with for `setting` given in `layers` (the profile layer in
    /// `~/.aws/config`'s `[default]`, under a temp home).
    fn resolve(setting: &Setting, layers: &Layers) -> (String, PathBuf) {
        let config = layers.profile.as_ref().map(|v| format!("[default]\n{} = {v}\n", setting.fallback.profile_key.unwrap_or("none")));
        let home = home(config.as_deref());
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(v) = &layers.option {
            pairs.push((setting.key.to_string(), v.clone()));
        }
        if let (Some(v), Some(p)) = (&layers.property, setting.fallback.system_properties.get(layers.property_name)) {
            pairs.push((system_property_option(p), v.clone()));
        }
        let options = AgentOptions::from_pairs(&pairs).expect("valid options");
        let mut env = vec![(vars::HOME, home.display().to_string())];
        if let (Some(v), Some(name)) = (&layers.env, setting.fallback.env) {
            env.push((name, v.clone()));
        }
        let lookup = Lookup::for_options(&options, env_of(&env));
        ((setting.observe)(&options, &lookup), home)
    }

    /// For each setting and each layer it has: the layer wins over every layer below it (which
    /// hold another value), and with nothing set the default applies.
    #[test]
    fn option_beats_system_property_beats_env_beats_profile_beats_default_for_every_setting() {
        for setting in settings() {
            let has = [
                true,
                !setting.fallback.system_properties.is_empty(),
                setting.fallback.env.is_some(),
                setting.fallback.profile_key.is_some(),
            ];
            // Every system property name (SDK v2's, then SDK v1's where it differs) is a layer of its own.
            for property_name in 0..setting.fallback.system_properties.len().max(1) {
                for layer in (0..4).filter(|l| has[*l]) {
                    let value = |l: usize| match l.cmp(&layer) {
                        std::cmp::Ordering::Less => None,
                        std::cmp::Ordering::Equal => Some(if l == 0 { setting.win.0 } else { setting.win.1 }.to_string()),
                        std::cmp::Ordering::Greater => has[l].then(|| setting.lose.to_string()),
                    };
                    // The option layer takes option syntax: the lower layers' "lose" value as an
                    // option is never needed (the option is never below another layer).
                    let layers = Layers { option: value(0), property: value(1), property_name, env: value(2), profile: value(3) };
                    let (seen, _) = resolve(&setting, &layers);
                    let names = ["option", "system property", "environment variable", "profile key"];
                    assert_eq!(
                        seen,
                        setting.expected,
                        "{}: the {} ({:?}) wins over the layers below it",
                        setting.key,
                        names[layer],
                        setting.fallback.system_properties.get(property_name)
                    );
                }
            }
            let (seen, home) = resolve(&setting, &Layers::default());
            let expected = setting.default.replace('~', &home.display().to_string());
            assert_eq!(seen, expected, "{}: the default when nothing is set", setting.key);
        }
    }

    /// A setting with both SDKs' system properties: SDK v2's `aws.*` name wins when both are set.
    #[test]
    fn the_sdk_v2_system_property_wins_over_the_sdk_v1_one() {
        for setting in settings().into_iter().filter(|s| s.fallback.system_properties.len() > 1) {
            let names = setting.fallback.system_properties;
            let pairs = [
                (system_property_option(names[1]), setting.lose.to_string()),
                (system_property_option(names[0]), setting.win.1.to_string()),
            ];
            let options = AgentOptions::from_pairs(&pairs).expect("valid options");
            let home = home(None);
            let lookup = Lookup::for_options(&options, env_of(&[(vars::HOME, home.display().to_string())]));
            assert_eq!((setting.observe)(&options, &lookup), setting.expected, "{}: {} over {}", setting.key, names[0], names[1]);
        }
    }

    /// The table's fallbacks are the ones tested above, and every SDK setting is tested.
    #[test]
    fn every_option_with_fallbacks_is_covered_by_the_precedence_test() {
        let tested: Vec<&str> = settings().iter().map(|s| s.key).collect();
        for o in OPTIONS.iter().filter(|o| o.fallback != Fallback::NONE) {
            assert!(tested.contains(&o.key), "{} has fallbacks but no precedence test", o.key);
            for s in settings().iter().filter(|s| s.key == o.key) {
                assert_eq!(s.fallback, o.fallback, "{}", o.key);
            }
        }
    }

    /// IPv6 mode gives the IPv6 address (only the URL is built: nothing is sent), and an endpoint
    /// set anywhere wins over a mode set anywhere, as in the SDKs.
    #[test]
    fn ipv6_mode_gives_the_ipv6_endpoint_and_an_explicit_endpoint_wins_over_any_mode() {
        let ipv6 = AgentOptions { endpoint_mode: Some(EndpointMode::Ipv6), ..AgentOptions::default() };
        let builder = ipv6.imds_client_builder(Env::empty());
        assert_eq!(builder.resolved_endpoint().expect("valid").as_str(), "http://[fd00:ec2::254]/");
        assert_eq!(imds(&ipv6, &Lookup::env_only(Env::empty())).expect("builds, connects nothing").endpoint(), "http://[fd00:ec2::254]");
        // Mode from the option, endpoint from the variable or the profile: the endpoint.
        let env = Env::from_pairs([(vars::AWS_EC2_METADATA_SERVICE_ENDPOINT, "http://127.0.0.1:3")]);
        assert_eq!(endpoint(&ipv6, &Lookup::for_options(&ipv6, env)), "http://127.0.0.1:3");
        let home = home(Some("[default]\nec2_metadata_service_endpoint = http://127.0.0.1:4\n"));
        let env = env_of(&[(vars::HOME, home.display().to_string())]);
        assert_eq!(endpoint(&ipv6, &Lookup::for_options(&ipv6, env)), "http://127.0.0.1:4");
        // A bad mode is refused only when it is used, naming where it came from.
        let env = Env::from_pairs([(vars::AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE, "IPv5")]);
        let message = endpoint(&AgentOptions::default(), &Lookup::env_only(env));
        assert!(message.contains("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE='IPv5' is not an IMDS endpoint mode"), "{message}");
        assert!(message.contains("IPv4 or IPv6"), "{message}");
        let env = Env::from_pairs([
            (vars::AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE, "IPv5"),
            (vars::AWS_EC2_METADATA_SERVICE_ENDPOINT, "http://127.0.0.1:5"),
        ]);
        assert_eq!(endpoint(&AgentOptions::default(), &Lookup::env_only(env)), "http://127.0.0.1:5");
        let e = AgentOptions::from_pairs(&[(keys::ENDPOINT_MODE, "v6")]).expect_err("bad option");
        assert!(e.to_string().contains("endpointMode='v6' is not IPv4 or IPv6"), "{e}");
    }

    /// The profile name and the config file (option, property or variable) choose whose keys the
    /// IMDS settings read.
    #[test]
    fn the_profile_name_and_file_select_the_profile_whose_keys_are_read() {
        let config = "[default]\nec2_metadata_service_endpoint = http://127.0.0.1:10\n\n\
                      [profile dev]\nec2_metadata_service_endpoint = http://127.0.0.1:11\nmetadata_service_num_attempts = 6\n";
        let home = home(Some(config));
        let other = home.join("other-config");
        std::fs::write(&other, "[profile dev]\nec2_metadata_service_endpoint = http://127.0.0.1:12\n").expect("write");
        let env = env_of(&[(vars::HOME, home.display().to_string())]);
        let with = |pairs: &[(&str, String)]| {
            let options = AgentOptions::from_pairs(pairs).expect("valid");
            let lookup = Lookup::for_options(&options, env.clone());
            (endpoint(&options, &lookup), options.imds_client_builder_with(lookup).resolved_max_attempts().expect("valid"))
        };
        assert_eq!(with(&[]), ("http://127.0.0.1:10".to_string(), 3));
        assert_eq!(with(&[(keys::PROFILE_NAME, "dev".into())]), ("http://127.0.0.1:11".to_string(), 6));
        assert_eq!(with(&[("systemProperties.profile", "dev".into())]), ("http://127.0.0.1:11".to_string(), 6));
        let other_file = other.display().to_string();
        assert_eq!(with(&[(keys::PROFILE_NAME, "dev".into()), (keys::CONFIG_FILE, other_file.clone())]).0, "http://127.0.0.1:12");
        assert_eq!(with(&[(keys::PROFILE_NAME, "dev".into()), ("systemProperties.configFile", other_file)]).0, "http://127.0.0.1:12");
        let env = env_of(&[(vars::HOME, home.display().to_string()), (vars::AWS_PROFILE, "dev".into())]);
        let options = AgentOptions::default();
        assert_eq!(endpoint(&options, &Lookup::for_options(&options, env)), "http://127.0.0.1:11");
    }

    /// A bad value from a system property or a profile key names the property, or the key, the
    /// profile and the file.
    #[test]
    fn bad_values_name_the_property_or_the_profile_key_and_file() {
        let options = AgentOptions::from_pairs(&[("systemProperties.ec2MetadataServiceTimeout", "soon")]).expect("valid");
        let e = options.imds_client_builder(Env::empty()).resolved_attempt_timeout().expect_err("bad");
        assert!(e.to_string().contains("the system property aws.ec2MetadataServiceTimeout='soon' is not a number of seconds"), "{e}");
        assert!(e.to_string().contains("Set the system property aws.ec2MetadataServiceTimeout to"), "{e}");
        let home = home(Some("[default]\nmetadata_service_num_attempts = many\n"));
        let env = env_of(&[(vars::HOME, home.display().to_string())]);
        let e = AgentOptions::default().imds_client_builder(env).resolved_max_attempts().expect_err("bad");
        let config = home.join(".aws/config").display().to_string();
        assert!(e.to_string().contains(&format!("metadata_service_num_attempts='many' in profile 'default' of {config}")), "{e}");
    }

    /// A malformed config file does not stop IMDS: its settings go on without the profile.
    #[test]
    fn a_malformed_profile_file_is_ignored_by_the_imds_settings() {
        let home = home(Some("[default\nec2_metadata_service_endpoint = http://127.0.0.1:13\n"));
        let env = env_of(&[(vars::HOME, home.display().to_string())]);
        assert_eq!(endpoint(&AgentOptions::default(), &Lookup::for_options(&AgentOptions::default(), env)), "http://169.254.169.254");
    }

    /// The home directory: `HOME`, else `USERPROFILE`, else the `homeDirectory` option; with none of
    /// them, no default file (never one in the working directory).
    #[test]
    fn the_home_directory_is_home_then_userprofile_then_the_option_and_never_the_working_directory() {
        let files = |env: &[(&str, String)], home_option: Option<&str>| {
            let options = AgentOptions { home_directory: home_option.map(str::to_string), ..AgentOptions::default() };
            let lookup = Lookup::for_options(&options, env_of(env));
            lookup.profile_files().cloned().expect("resolved")
        };
        let config = |f: &ProfileFiles| f.config.as_ref().map(|p| p.display().to_string());
        let h = [(vars::HOME, "/h".to_string()), (vars::USERPROFILE, "/u".to_string())];
        assert_eq!(config(&files(&h, Some("/j"))).as_deref(), Some("/h/.aws/config"));
        assert_eq!(config(&files(&h[1..], Some("/j"))).as_deref(), Some("/u/.aws/config"));
        let java = files(&[], Some("/j"));
        assert_eq!(config(&java).as_deref(), Some("/j/.aws/config"));
        assert_eq!(java.credentials.as_ref().map(|p| p.display().to_string()).as_deref(), Some("/j/.aws/credentials"));
        // Nothing: no files, and nothing is read from the working directory (which has none to
        // find here, but the paths prove it).
        let none = files(&[], None);
        assert_eq!((none.config.as_ref(), none.credentials.as_ref()), (None, None));
        assert!(none.load().expect("no files is no profile").get("aws_access_key_id").is_none());
        // `~` in a named file is the same home; without one, the file is not read.
        let named = |home: &[(&str, String)]| {
            let mut env = home.to_vec();
            env.push((vars::AWS_CONFIG_FILE, "~/cfg".to_string()));
            config(&files(&env, None))
        };
        assert_eq!(named(&h[..1]).as_deref(), Some("/h/cfg"));
        assert_eq!(named(&[]), None);
    }

    #[test]
    fn a_lookup_without_a_profile_reads_no_file() {
        let lookup = Lookup::env_only(Env::from_pairs([(vars::AWS_METADATA_SERVICE_TIMEOUT, "2")]));
        assert!(lookup.profile_files().is_none());
        assert_eq!(lookup.get(&fallback::ATTEMPT_TIMEOUT).map(|f| f.from), Some(Origin::Env(vars::AWS_METADATA_SERVICE_TIMEOUT)));
        assert_eq!(lookup.get(&fallback::ENDPOINT), None);
    }
}
