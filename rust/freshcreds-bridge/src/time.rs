//! The conversions of times and counts that both bridges hand out as 64-bit signed integers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What [`epoch_millis`] returns for credentials that do not expire.
pub const NO_EXPIRATION: i64 = i64::MIN;

/// Milliseconds since the Unix epoch (negative before it), saturating at ±`i64::MAX`;
/// [`NO_EXPIRATION`] (`i64::MIN`, which no time maps to) for `None`.
pub fn epoch_millis(time: Option<SystemTime>) -> i64 {
    match time.map(|t| t.duration_since(UNIX_EPOCH)) {
        None => NO_EXPIRATION,
        Some(Ok(after)) => saturating_i64(after.as_millis()),
        Some(Err(before)) => -saturating_i64(before.duration().as_millis()),
    }
}

/// A duration in nanoseconds, saturating at `i64::MAX` (292 years).
pub fn nanos_i64(duration: Duration) -> i64 {
    saturating_i64(duration.as_nanos())
}

/// `value`, or `i64::MAX` when it does not fit.
pub fn saturating_i64(value: impl TryInto<i64>) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_millis_around_the_epoch_and_at_the_extremes() {
        assert_eq!(epoch_millis(None), NO_EXPIRATION);
        assert_eq!(epoch_millis(Some(UNIX_EPOCH)), 0);
        assert_eq!(epoch_millis(Some(UNIX_EPOCH + Duration::from_millis(1_700_000_000_123))), 1_700_000_000_123);
        assert_eq!(epoch_millis(Some(UNIX_EPOCH + Duration::from_micros(1_999))), 1, "truncated, not rounded");
        assert_eq!(epoch_millis(Some(UNIX_EPOCH - Duration::from_millis(1_500))), -1_500);
        if let Some(far) = UNIX_EPOCH.checked_add(Duration::from_secs(u64::MAX / 1_000)) {
            assert_eq!(epoch_millis(Some(far)), i64::MAX);
        }
        if let Some(far) = UNIX_EPOCH.checked_sub(Duration::from_secs(i64::MAX as u64 / 1_000 + 1)) {
            assert_eq!(epoch_millis(Some(far)), -i64::MAX, "never NO_EXPIRATION");
        }
    }

    #[test]
    fn counts_saturate() {
        assert_eq!(saturating_i64(7u64), 7);
        assert_eq!(saturating_i64(u64::MAX), i64::MAX);
        assert_eq!(saturating_i64(u128::MAX), i64::MAX);
        assert_eq!(nanos_i64(Duration::from_millis(2)), 2_000_000);
        assert_eq!(nanos_i64(Duration::MAX), i64::MAX);
    }
}
