//! Helpers for the partial ("patch") JSON documents of `PATCH /_sim/faults` (and script steps)
//! and `PATCH /_sim/config`, whose fields are `Option<Option<T>>`: a missing field is `None`
//! (left as it is), a field given as `null` is `Some(None)`, a value is `Some(Some(v))`.

use serde::{Deserialize, Deserializer};

/// Deserializes a present field (even `null`) as `Some(..)`, so that with `#[serde(default)]` a
/// missing field is `None` and a `null` one is `Some(None)`. Use as
/// `#[serde(deserialize_with = "crate::patch::present")]`.
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Applies a patch field to a plain setting: `null` restores the default.
pub(crate) fn patch_field<T: Default + Clone>(target: &mut T, patch: &Option<Option<T>>) {
    if let Some(v) = patch {
        *target = v.clone().unwrap_or_default();
    }
}

/// Applies a patch field to an optional setting: `null` sets "none".
pub(crate) fn patch_opt<T: Clone>(target: &mut Option<T>, patch: &Option<Option<T>>) {
    if let Some(v) = patch {
        *target = v.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, Deserialize)]
    #[serde(default)]
    struct Doc {
        #[serde(deserialize_with = "present")]
        a: Option<Option<u8>>,
    }

    #[test]
    fn missing_null_and_value_differ() {
        let parse = |s: &str| serde_json::from_str::<Doc>(s).map(|d| d.a).ok();
        assert_eq!(parse("{}"), Some(None));
        assert_eq!(parse(r#"{"a":null}"#), Some(Some(None)));
        assert_eq!(parse(r#"{"a":7}"#), Some(Some(Some(7))));

        let mut plain = 5u8;
        patch_field(&mut plain, &None);
        assert_eq!(plain, 5);
        patch_field(&mut plain, &Some(None));
        assert_eq!(plain, 0);
        let mut opt = Some(5u8);
        patch_opt(&mut opt, &Some(Some(6)));
        assert_eq!(opt, Some(6));
        patch_opt(&mut opt, &Some(None));
        assert_eq!(opt, None);
    }
}
