//! Keys from the shared `credentials` and `config` files.
//!
//! Files: the `credentialsFile` option, else `aws.sharedCredentialsFile`, else
//! `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`; the `configFile` option, else
//! `aws.configFile`, else `AWS_CONFIG_FILE`, else `~/.aws/config`; profile: the `profileName`
//! option, else `aws.profile`, else `AWS_PROFILE`, else `default` ([`ProfileFiles::resolve`]; `~`
//! is `HOME`, else `USERPROFILE`, else the `homeDirectory` option, and with none of them there is
//! no default file). In `config` a profile is
//! `[profile NAME]` (or `[default]`); in `credentials` it is `[NAME]`; the credentials file wins
//! where both set a key, as in the SDKs.
//!
//! The files are read again on every fetch, so an external tool that rewrites them is followed:
//! the agent checks their modification time every few seconds and refetches when it changes, and
//! an `ExpiredToken` (through the SDK hooks) makes it read them again too.
//!
//! Temporary keys in a file (a session token, and no expiry anyone could refresh them by) are
//! logged as a warning at load: they stop working at an hour nobody knows, and this is the
//! pattern behind the ExpiredToken reports the project exists for.
//!
//! This module's [`ProfileProvider`] handles static keys. The chain gives profiles without
//! `aws_access_key_id` that use `role_arn`, `credential_process`, `sso_*` or `credential_source` to
//! `aws-config` (see [`super::aws_config_source`] and [`super::chain`]); a profile with
//! `aws_access_key_id` is read here, whatever else it holds.
//!
//! A file larger than [`MAX_FILE_SIZE`] is refused: these files are a few kilobytes, and a huge one
//! (a log or a device pointed at by mistake) would otherwise be read whole on every fetch. On the
//! agent's runtime, whose single worker thread serves every agent, the reads run on the blocking
//! pool ([`ProfileFiles::load_async`], [`ProfileFiles::modified_async`]) so a slow disk or network
//! home directory never stalls the other agents' refreshes.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::config::{fallback, keys, AgentOptions};
use crate::credentials::Credentials;
use crate::env::{self as env_vars, Env};
use crate::error::CredentialsError;
use crate::provider::{CredentialsFuture, ProvideCredentials};
use crate::settings::{Lookup, Origin};

use super::off_the_runtime;

/// The largest shared `config` or `credentials` file read: 1 MiB.
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;

/// Keys whose values are secrets, or may carry them (a `credential_process` command line can hold
/// a password as an argument): `Debug` shows them redacted.
const REDACTED_KEYS: [&str; 4] = ["aws_secret_access_key", "aws_session_token", "aws_security_token", "credential_process"];

/// One parsed profile: its keys, and which file each came from.
#[derive(Default, Clone)]
pub struct Profile {
    values: HashMap<String, (String, PathBuf)>,
}

/// Profiles end up in logs and error chains through `{:?}`; secrets must not.
impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<&String> = self.values.keys().collect();
        keys.sort();
        let mut map = f.debug_map();
        for key in keys {
            let (value, file) = &self.values[key];
            let shown = if REDACTED_KEYS.contains(&key.as_str()) { "** redacted **" } else { value.as_str() };
            map.entry(key, &format_args!("{shown:?} ({})", file.display()));
        }
        map.finish()
    }
}

impl Profile {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|(v, _)| v.as_str())
    }

    /// The file the key was read from.
    pub fn file_of(&self, key: &str) -> Option<&Path> {
        self.values.get(key).map(|(_, f)| f.as_path())
    }

    /// Whether the profile holds anything that yields credentials.
    pub fn has_credentials(&self) -> bool {
        ["aws_access_key_id", "role_arn", "credential_process", "sso_session", "sso_start_url", "credential_source"]
            .iter()
            .any(|k| self.get(k).is_some())
    }
}

#[derive(Debug, Clone)]
pub struct ProfileFiles {
    /// `None` when no file is named and no home directory is known: nothing is read.
    pub credentials: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub profile: String,
    /// Where the profile name came from ([`Origin::Default`] for `default`).
    pub profile_from: Origin,
}

impl ProfileFiles {
    /// These two files, the profile given as an option (tests).
    pub fn new(credentials: impl Into<PathBuf>, config: impl Into<PathBuf>, profile: impl Into<String>) -> Self {
        Self {
            credentials: Some(credentials.into()),
            config: Some(config.into()),
            profile: profile.into(),
            profile_from: Origin::Option(keys::PROFILE_NAME),
        }
    }

    /// The files and profile the environment selects, with no options and no system properties.
    pub fn from_env(env: &Env) -> Self {
        Self::resolve(&AgentOptions::default(), &Lookup::env_only(env.clone()))
    }

    /// The files and profile that `options` select, else the system properties and variables in
    /// `lookup` (the profile keys of `lookup` are not consulted: these settings have none).
    pub fn resolve(options: &AgentOptions, lookup: &Lookup) -> Self {
        let home = home_directory(lookup.env(), options.home_directory.as_deref());
        let file = |option: &Option<String>, fallback, default: &str| -> Option<PathBuf> {
            match option.clone().or_else(|| lookup.get(fallback).map(|found| found.value)) {
                Some(named) => expand_home(named.trim(), home.as_deref()),
                None => home.as_ref().map(|h| h.join(".aws").join(default)),
            }
        };
        let (profile, profile_from) = match &options.profile_name {
            Some(name) => (name.clone(), Origin::Option(keys::PROFILE_NAME)),
            None => match lookup.get(&fallback::PROFILE_NAME) {
                Some(found) => (found.value, found.from),
                None => ("default".to_string(), Origin::Default),
            },
        };
        Self {
            credentials: file(&options.credentials_file, &fallback::CREDENTIALS_FILE, "credentials"),
            config: file(&options.config_file, &fallback::CONFIG_FILE, "config"),
            profile,
            profile_from,
        }
    }

    /// The files that are named, config first.
    fn paths(&self) -> impl Iterator<Item = &PathBuf> {
        self.config.iter().chain(self.credentials.iter())
    }

    /// The two files for messages: `A and B`, or what there is.
    pub fn describe(&self) -> String {
        let paths: Vec<String> = self.paths().map(|p| p.display().to_string()).collect();
        if paths.is_empty() {
            "no file (no home directory: HOME, USERPROFILE and Java's user.home are unset)".to_string()
        } else {
            paths.join(" and ")
        }
    }

    /// The latest modification time of the two files (for change detection). Blocking: on the
    /// agent's runtime use [`Self::modified_async`].
    pub fn modified(&self) -> Option<SystemTime> {
        self.paths().filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok()).max()
    }

    /// [`Self::modified`] on the blocking pool, for the agent's polling loop.
    pub async fn modified_async(&self) -> Option<SystemTime> {
        let files = self.clone();
        off_the_runtime(move || files.modified(), |_| None).await
    }

    /// [`Self::load`] on the blocking pool, for fetches on the agent's runtime.
    pub async fn load_async(&self) -> Result<Profile, CredentialsError> {
        let files = self.clone();
        off_the_runtime(move || files.load(), |e| Err(CredentialsError::internal(format!("the profile file read failed: {e}")))).await
    }

    /// Reads and merges the selected profile. A missing file is no profile; an unreadable,
    /// oversized or malformed one is an error that names the file (and the line). Blocking: on the
    /// agent's runtime use [`Self::load_async`].
    pub fn load(&self) -> Result<Profile, CredentialsError> {
        let mut profile = Profile::default();
        for (path, is_config) in [(&self.config, true), (&self.credentials, false)] {
            let Some(path) = path else { continue };
            let Some(text) = read_capped(path)? else { continue };
            for (key, value) in parse_section(&text, path, &self.profile, is_config)? {
                profile.values.insert(key, (value, path.clone()));
            }
        }
        Ok(profile)
    }
}

/// The home directory: `HOME`, else `USERPROFILE`, else `java_home` (Java's `user.home`, passed as
/// the `homeDirectory` option); `None` when none is set, never the working directory.
pub fn home_directory(env: &Env, java_home: Option<&str>) -> Option<PathBuf> {
    env.get(env_vars::HOME)
        .or_else(|| env.get(env_vars::USERPROFILE))
        .or_else(|| java_home.map(str::trim).filter(|h| !h.is_empty()).map(str::to_string))
        .map(PathBuf::from)
}

/// A named file, with a leading `~` as the home directory (as the SDKs do); `None` when it starts
/// with `~` and there is no home directory.
fn expand_home(named: &str, home: Option<&Path>) -> Option<PathBuf> {
    let rest = if named == "~" { Some("") } else { named.strip_prefix("~/").or_else(|| named.strip_prefix("~\\")) };
    match rest {
        Some(rest) => home.map(|h| h.join(rest)),
        None => Some(PathBuf::from(named)),
    }
}

/// A file's text, `None` when it does not exist; an error naming the file when it cannot be read
/// or is larger than [`MAX_FILE_SIZE`].
fn read_capped(path: &Path) -> Result<Option<String>, CredentialsError> {
    let unreadable = |e: std::io::Error| {
        CredentialsError::invalid_config(
            format!("cannot read {}: {e}", path.display()),
            "Fix the file's permissions, or point AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE elsewhere.",
        )
    };
    let too_big = || {
        CredentialsError::invalid_config(
            format!("{} is larger than {} KiB, the limit for a shared config or credentials file", path.display(), MAX_FILE_SIZE / 1024),
            "Point AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE at the right file, or remove what does not belong in it.",
        )
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(e)),
    };
    // The size is checked on what is read, not only on the metadata: a file that grows while it
    // is read, or a pipe or device with no size, is still cut at the cap.
    if file.metadata().is_ok_and(|m| m.is_file() && m.len() > MAX_FILE_SIZE) {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(too_big());
    }
    String::from_utf8(bytes).map(Some).map_err(|_| unreadable(std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text")))
}

/// The `key = value` pairs of one profile's section in one file.
pub fn parse_section(text: &str, path: &Path, profile: &str, is_config: bool) -> Result<Vec<(String, String)>, CredentialsError> {
    let wanted: Vec<String> = if is_config {
        if profile == "default" {
            vec!["default".into(), "profile default".into()]
        } else {
            vec![format!("profile {profile}")]
        }
    } else {
        vec![profile.to_string()]
    };
    let mut in_section = false;
    let mut seen_section = false;
    let mut out = Vec::new();
    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            let Some(name) = line.strip_prefix('[').and_then(|l| l.split(']').next()).filter(|_| line.contains(']')) else {
                return Err(malformed(path, number, "a section header without its closing ']'"));
            };
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            in_section = wanted.contains(&name);
            seen_section = true;
            continue;
        }
        if raw.starts_with(char::is_whitespace) {
            continue; // a continuation line (nested settings such as `s3 =`): not credentials
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(malformed(path, number, "a line that is neither a [section] nor key = value"));
        };
        if !seen_section {
            return Err(malformed(path, number, "a key = value line before any [section]"));
        }
        if in_section {
            out.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    Ok(out)
}

fn malformed(path: &Path, line_index: usize, what: &str) -> CredentialsError {
    CredentialsError::invalid_config(
        format!("{} line {} is malformed: {what}", path.display(), line_index + 1),
        "Fix the file (see the AWS shared config and credentials files reference).",
    )
}

/// The static keys of the selected profile: `aws_access_key_id`, `aws_secret_access_key` and, if
/// present, `aws_session_token`.
#[derive(Debug)]
pub struct ProfileProvider {
    files: ProfileFiles,
}

impl ProfileProvider {
    pub fn new(files: ProfileFiles) -> Self {
        Self { files }
    }

    /// The blocking fetch, for tests that run without a runtime.
    #[cfg(test)]
    fn load(&self) -> Result<Credentials, CredentialsError> {
        self.credentials_from(self.files.load()?)
    }

    fn credentials_from(&self, profile: Profile) -> Result<Credentials, CredentialsError> {
        let name = &self.files.profile;
        if let (Some(id), Some(secret)) = (profile.get("aws_access_key_id"), profile.get("aws_secret_access_key")) {
            let token = profile.get("aws_session_token").map(str::to_string);
            if token.is_some() {
                tracing::warn!(
                    profile = %name,
                    file = %profile.file_of("aws_session_token").map(|p| p.display().to_string()).unwrap_or_default(),
                    "profile holds temporary keys (a session token) that nothing can refresh; they will expire with \
                     ExpiredToken. freshcreds re-reads the file when it changes; better, remove them and let the \
                     instance role (or a role_arn profile) provide credentials"
                );
            }
            return Ok(Credentials::new(id, secret, token, None, "profile"));
        }
        if profile.get("aws_access_key_id").is_some() {
            return Err(CredentialsError::invalid_config(
                format!("profile '{name}' has aws_access_key_id but no aws_secret_access_key"),
                "Add the secret key to the profile, or remove the access key id.",
            ));
        }
        Err(CredentialsError::invalid_config(
            format!("profile '{name}' has no credentials in {}", self.files.describe()),
            match self.files.profile_from {
                Origin::Default => "Add aws_access_key_id and aws_secret_access_key to it.".to_string(),
                ref from => format!("Add aws_access_key_id and aws_secret_access_key to it, or select another profile with {from}."),
            },
        ))
    }
}

impl ProvideCredentials for ProfileProvider {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        // The files are read on the blocking pool, not on the runtime's worker thread.
        Box::pin(async move { self.credentials_from(self.files.load_async().await?) })
    }

    fn name(&self) -> &'static str {
        "profile"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path, credentials: &str, config: &str, profile: &str) -> ProfileFiles {
        std::fs::write(dir.join("credentials"), credentials).expect("write");
        std::fs::write(dir.join("config"), config).expect("write");
        ProfileFiles::new(dir.join("credentials"), dir.join("config"), profile)
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("freshcreds-profile-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        dir
    }

    #[test]
    fn reads_the_selected_profile_and_the_credentials_file_wins() {
        let dir = temp_dir("select");
        let f = files(
            &dir,
            "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s1\n\n[dev]\naws_access_key_id=AKIADEV\naws_secret_access_key=s2\n",
            "[profile dev]\nregion = us-east-1\naws_access_key_id = AKIAFROMCONFIG\n",
            "dev",
        );
        let profile = f.load().expect("parses");
        assert_eq!(profile.get("aws_access_key_id"), Some("AKIADEV"));
        assert_eq!(profile.get("region"), Some("us-east-1"));
        let c = ProfileProvider::new(f).load().expect("credentials");
        assert_eq!(c.access_key_id(), "AKIADEV");
    }

    #[test]
    fn a_malformed_file_names_the_file_and_line() {
        let dir = temp_dir("malformed");
        let f = files(&dir, "[default\naws_access_key_id = x\n", "", "default");
        let e = f.load().expect_err("malformed");
        assert!(e.to_string().contains("credentials line 1 is malformed"), "{e}");
        let f = files(&dir, "[default]\nthis is not a setting\n", "", "default");
        assert!(f.load().expect_err("malformed").to_string().contains("line 2"));
    }

    /// This provider reads static keys only: the chain gives `role_arn` (and the other aws-config
    /// kinds) to aws-config. A file rewritten after resolution to hold a role instead of keys is
    /// an error that names the profile and the files.
    #[test]
    fn a_profile_without_keys_is_an_error_naming_the_files() {
        let dir = temp_dir("role");
        let f = files(&dir, "", "[profile app]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n", "app");
        let e = ProfileProvider::new(f).load().expect_err("no keys");
        let text = e.to_string();
        assert!(text.contains("profile 'app' has no credentials in") && text.contains(&dir.display().to_string()), "{text}");
        assert_eq!(e.kind(), crate::error::ErrorKind::InvalidConfiguration);
    }

    #[test]
    fn an_oversized_file_is_refused_with_the_file_and_the_cap_and_a_normal_one_still_works() {
        let dir = temp_dir("oversize");
        let mut big = String::from("[default]\naws_access_key_id = AKIABIG\naws_secret_access_key = s\n");
        while big.len() as u64 <= MAX_FILE_SIZE {
            big.push_str("# padding padding padding padding padding padding padding padding padding\n");
        }
        let f = files(&dir, &big, "", "default");
        let e = f.load().expect_err("too big");
        let text = e.to_string();
        assert!(text.contains("credentials is larger than 1024 KiB") && text.contains(&dir.display().to_string()), "{text}");
        assert_eq!(e.kind(), crate::error::ErrorKind::InvalidConfiguration);
        // Exactly at the cap is fine.
        let mut exact = String::from("[default]\naws_access_key_id = AKIAEXACT\naws_secret_access_key = s\n");
        exact.push_str(&"#".repeat(MAX_FILE_SIZE as usize - exact.len() - 1));
        exact.push('\n');
        let f = files(&dir, &exact, "", "default");
        assert_eq!(f.load().expect("at the cap").get("aws_access_key_id"), Some("AKIAEXACT"));
        let f = files(&dir, "[default]\naws_access_key_id = AKIANORMAL\naws_secret_access_key = s\n", "", "default");
        assert_eq!(ProfileProvider::new(f).load().expect("normal").access_key_id(), "AKIANORMAL");
    }

    #[test]
    fn debug_redacts_secrets_and_tokens() {
        let dir = temp_dir("debug");
        let f = files(
            &dir,
            "[default]\naws_access_key_id = AKIADEBUG\naws_secret_access_key = SECRETSECRET\naws_session_token = TOKENTOKEN\n",
            "[default]\nregion = eu-west-1\ncredential_process = fetch --password PASSWORDPASSWORD\n",
            "default",
        );
        let shown = format!("{:?} {:#?}", f.load().expect("parses"), f.load().expect("parses"));
        for secret in ["SECRETSECRET", "TOKENTOKEN", "PASSWORDPASSWORD"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("** redacted **") && shown.contains("AKIADEBUG") && shown.contains("eu-west-1"), "{shown}");
    }

    /// The files are read on the blocking pool: a read that blocks (here a FIFO nobody writes to
    /// yet, as a hung network home directory would) leaves the runtime's only worker free.
    #[test]
    fn a_blocked_read_does_not_block_the_runtime_worker() {
        let dir = temp_dir("fifo");
        let fifo = dir.join("credentials-fifo");
        let _ = std::fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(made.success());
        std::fs::write(dir.join("config"), "").expect("write");
        let f = ProfileFiles::new(fifo.clone(), dir.join("config"), "default");
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        let provider = std::sync::Arc::new(ProfileProvider::new(f));
        let writer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(600));
            std::fs::write(&fifo, "[default]\naws_access_key_id = AKIAFIFO\naws_secret_access_key = s\n").expect("write the FIFO");
        });
        let (credentials, ticks) = runtime.block_on(async move {
            let load = tokio::spawn(async move { provider.provide_credentials().await });
            // Another task on the same single worker must keep running while the read waits.
            let ticker = tokio::spawn(async {
                let mut ticks = 0u32;
                for _ in 0..20 {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    ticks += 1;
                }
                ticks
            });
            let ticks = tokio::time::timeout(std::time::Duration::from_millis(400), ticker).await;
            (load.await, ticks)
        });
        writer.join().expect("writer");
        assert_eq!(credentials.expect("task").expect("credentials").access_key_id(), "AKIAFIFO");
        assert_eq!(ticks.ok().and_then(Result::ok), Some(20), "the worker was blocked by the file read");
    }
}
