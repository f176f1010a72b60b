//! The shared `config` / `credentials` profile parser
//! (`freshcreds_core::sources::profile::parse_section`, which `ProfileFiles::load` runs on each
//! file's text on every fetch and at chain resolution).
//!
//! Input: one flag byte (bit 0 set: the text is a `config` file, else a `credentials` file), then
//! the profile name (`AWS_PROFILE`) up to the first newline, then the file's text. Errors are
//! formatted as the chain's warning would format them.
#![no_main]

use std::path::Path;

use freshcreds_core::sources::profile::parse_section;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let Ok(rest) = std::str::from_utf8(rest) else { return };
    let (profile, text) = rest.split_once('\n').unwrap_or((rest, ""));
    let is_config = flags & 1 == 1;
    let path = Path::new(if is_config { "/fuzz/.aws/config" } else { "/fuzz/.aws/credentials" });
    match parse_section(text, path, profile, is_config) {
        Ok(pairs) => {
            for (key, value) in &pairs {
                // Keys are compared lower-case by the provider; values are trimmed.
                assert_eq!(key, &key.to_ascii_lowercase());
                assert_eq!(key.trim(), key);
                assert_eq!(value.trim(), value);
            }
        }
        Err(e) => {
            let _ = e.to_string();
            let _ = format!("{e:?}");
        }
    }
});
