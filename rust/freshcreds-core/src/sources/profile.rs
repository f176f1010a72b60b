//! Keys from the shared `credentials` and `config` files.
//!
//! Files: `AWS_SHARED_CREDENTIALS_FILE` (else `~/.aws/credentials`) and `AWS_CONFIG_FILE` (else
//! `~/.aws/config`); profile `AWS_PROFILE` (else `default`). In `config` a profile is
//! `[profile NAME]` (or `[default]`); in `credentials` it is `[NAME]`; the credentials file wins
//! where both set a key, as in the SDKs.
//!
//! The files are read again on every fetch, so an external tool that rewrites them is followed:
//! the agent checks their modification time and refetches when it changes, and an `ExpiredToken`
//! (through the SDK hooks) makes it read them again too.
//!
//! Temporary keys in a file (a session token, and no expiry anyone could refresh them by) are
//! logged as a warning at load: they stop working at an hour nobody knows, and this is the
//! pattern behind the ExpiredToken reports the project exists for.
//!
//! Profiles that use `role_arn`, `credential_process`, `sso_*` or `credential_source` are resolved
//! by `aws-config` (see [`super::aws_config_source`]); this module handles static keys.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::cache::{CredentialsFuture, ProvideCredentials};
use crate::credentials::Credentials;
use crate::env::Env;
use crate::error::CredentialsError;

/// One parsed profile: its keys, and which file each came from.
#[derive(Debug, Default, Clone)]
pub struct Profile {
    values: HashMap<String, (String, PathBuf)>,
}

impl Profile {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|(v, _)| v.as_str())
    }

    fn file_of(&self, key: &str) -> Option<&Path> {
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
    pub credentials: PathBuf,
    pub config: PathBuf,
    pub profile: String,
}

impl ProfileFiles {
    pub fn from_env(env: &Env) -> Self {
        let home = env.get("HOME").or_else(|| env.get("USERPROFILE")).map(PathBuf::from).unwrap_or_default();
        Self {
            credentials: env.get("AWS_SHARED_CREDENTIALS_FILE").map(PathBuf::from).unwrap_or_else(|| home.join(".aws/credentials")),
            config: env.get("AWS_CONFIG_FILE").map(PathBuf::from).unwrap_or_else(|| home.join(".aws/config")),
            profile: env.get("AWS_PROFILE").unwrap_or_else(|| "default".to_string()),
        }
    }

    /// The latest modification time of the two files (for change detection).
    pub fn modified(&self) -> Option<SystemTime> {
        [&self.credentials, &self.config].iter().filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok()).max()
    }

    /// Reads and merges the selected profile. A missing file is no profile; an unreadable or
    /// malformed one is an error that names the file and the line.
    pub fn load(&self) -> Result<Profile, CredentialsError> {
        let mut profile = Profile::default();
        for (path, is_config) in [(&self.config, true), (&self.credentials, false)] {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(CredentialsError::invalid_config(
                        format!("cannot read {}: {e}", path.display()),
                        "Fix the file's permissions, or point AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE elsewhere.",
                    ))
                }
            };
            for (key, value) in parse_section(&text, path, &self.profile, is_config)? {
                profile.values.insert(key, (value, path.clone()));
            }
        }
        Ok(profile)
    }
}

/// The `key = value` pairs of one profile's section in one file.
fn parse_section(text: &str, path: &Path, profile: &str, is_config: bool) -> Result<Vec<(String, String)>, CredentialsError> {
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

/// The credentials of the selected profile.
#[derive(Debug)]
pub struct ProfileProvider {
    files: ProfileFiles,
}

impl ProfileProvider {
    pub fn new(files: ProfileFiles) -> Self {
        Self { files }
    }

    pub fn files(&self) -> &ProfileFiles {
        &self.files
    }

    fn load(&self) -> Result<Credentials, CredentialsError> {
        let profile = self.files.load()?;
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
        for key in ["role_arn", "credential_process", "sso_session", "sso_start_url", "credential_source"] {
            if profile.get(key).is_some() {
                return Err(CredentialsError::invalid_config(
                    format!("profile '{name}' uses {key}, which this freshcreds version does not resolve yet"),
                    "Use the instance role, or pin another source with the builder's source option.",
                ));
            }
        }
        Err(CredentialsError::invalid_config(
            format!("profile '{name}' has no credentials in {} or {}", self.files.credentials.display(), self.files.config.display()),
            "Add aws_access_key_id and aws_secret_access_key to it, or unset AWS_PROFILE.",
        ))
    }
}

impl ProvideCredentials for ProfileProvider {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        let result = self.load();
        Box::pin(async move { result })
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
        ProfileFiles { credentials: dir.join("credentials"), config: dir.join("config"), profile: profile.into() }
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

    #[test]
    fn unsupported_profile_kinds_say_so() {
        let dir = temp_dir("role");
        let f = files(&dir, "", "[profile app]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n", "app");
        let e = ProfileProvider::new(f).load().expect_err("not yet");
        assert!(e.to_string().contains("uses role_arn"), "{e}");
    }
}
