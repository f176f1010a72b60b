//! Retry delays: exponential backoff with full jitter (the AWS Architecture Blog's recommended
//! shape), so a fleet of instances retrying a throttled IMDS spreads out instead of synchronising.

use std::time::Duration;

/// The ceiling stops doubling after this many retries (2^20 times the base is past any cap), so
/// the shift cannot overflow.
pub const MAX_DOUBLINGS: u32 = 20;

/// The largest delay [`full_jitter`] can give before retry number `retry`:
/// `min(cap, base * 2^(retry-1))`.
pub fn full_jitter_ceiling(retry: u32, base: Duration, cap: Duration) -> Duration {
    base.saturating_mul(1u32 << retry.saturating_sub(1).min(MAX_DOUBLINGS)).min(cap)
}

/// Delay before retry number `retry` (1 for the first retry): a uniformly random duration in
/// `[0, min(cap, base * 2^(retry-1))]`.
pub fn full_jitter(retry: u32, base: Duration, cap: Duration) -> Duration {
    full_jitter_ceiling(retry, base, cap).mul_f64(fastrand::f64())
}

/// A uniformly random duration in `[low, high]`.
pub fn uniform(low: Duration, high: Duration) -> Duration {
    if high <= low {
        return low;
    }
    low + (high - low).mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_stays_under_the_exponential_ceiling_and_the_cap() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(2);
        for retry in 1..10 {
            let ceiling = (base * (1 << (retry - 1))).min(cap);
            assert_eq!(full_jitter_ceiling(retry, base, cap), ceiling);
            for _ in 0..200 {
                assert!(full_jitter(retry, base, cap) <= ceiling);
            }
        }
    }

    #[test]
    fn full_jitter_actually_spreads() {
        let samples: Vec<_> = (0..200).map(|_| full_jitter(5, Duration::from_millis(100), Duration::from_secs(2))).collect();
        let min = samples.iter().min().copied().unwrap_or_default();
        let max = samples.iter().max().copied().unwrap_or_default();
        assert!(max - min > Duration::from_millis(500), "min {min:?} max {max:?}");
    }

    #[test]
    fn uniform_is_within_bounds() {
        for _ in 0..200 {
            let d = uniform(Duration::from_secs(300), Duration::from_secs(600));
            assert!(d >= Duration::from_secs(300) && d <= Duration::from_secs(600));
        }
    }
}
