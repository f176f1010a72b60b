//! Clock-skew sampling (`freshcreds_core::skew`): `Date` header parsing and `SkewEstimator`'s
//! record functions with arbitrary times, then every reader of the estimate, including the
//! corrected clocks the cache judges expiry on. Nothing here may panic.
//!
//! Input: UTF-8 text, one sample per line (at most 64 lines), fields separated by one space:
//!
//! ```text
//! H <sent_ms> <received_ms> <boot_advance_ms> [<Date header value, rest of the line>]
//! T <server_date_ms> <sent_ms> <received_ms> <boot_advance_ms>
//! S <host_clock_ms>
//! ```
//!
//! `H` is the IMDS client's path (`record_header`; no header value = a response without `Date`),
//! `T` the SDK hooks' path (`Agent::record_server_time`, i64 epoch milliseconds from JNI/C), `S`
//! sets (steps) this host's wall clock. Numbers are integers or floats (`9e18`, saturated to the
//! i64 range, so one mutation reaches the extremes). Times are i64 epoch milliseconds converted as
//! `Agent::record_server_time` converts them: a negative one is refused there before the estimator
//! sees it, so such a line is skipped. Before each sample the boot clock and the host clock both
//! advance by `boot_advance_ms` (clamped to a u32); an `H` sample then sets the host clock to `received_ms`
//! (the IMDS client reads `received` from it), while a `T` sample's times are the caller's and may
//! be anywhere relative to it. Wall-clock steps and suspends are reachable. Unparseable lines are
//! skipped.
#![no_main]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use freshcreds_core::clock::{Clock, ManualBootClock, ManualClock};
use freshcreds_core::skew::{SkewCorrectedClock, SkewEstimator, MAX_SAMPLES};
use libfuzzer_sys::fuzz_target;

/// An i64 written as an integer, or as any float (`9e18`, `-1e300`: saturated to the i64 range),
/// so that a one-token mutation reaches the extremes.
fn int(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().or_else(|| text.parse::<f64>().ok().filter(|f| !f.is_nan()).map(|f| f as i64))
}

/// `Agent::record_server_time`'s conversion of epoch milliseconds.
fn epoch_ms(text: &str) -> Option<SystemTime> {
    let ms = int(text)?;
    u64::try_from(ms).ok().map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
}

/// A boot-clock advance in milliseconds, as a u32 (saturated like [`int`]).
fn advance_ms(text: &str) -> Option<u32> {
    int(text).map(|ms| ms.clamp(0, i64::from(u32::MAX)) as u32)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let host = Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_800_000_000)));
    let boot = Arc::new(ManualBootClock::default());
    let skew = Arc::new(SkewEstimator::new(host.clone(), boot.clone()));
    let anchored = SkewCorrectedClock::new(host.clone(), skew.clone(), Some(boot.clone()));
    let plain = SkewCorrectedClock::new(host.clone(), skew.clone(), None);
    for line in text.lines().take(64) {
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        let sample = match kind {
            "H" => {
                let mut f = rest.splitn(4, ' ');
                let (Some(sent), Some(received), Some(advance)) = (f.next(), f.next(), f.next()) else { continue };
                let (Some(sent), Some(received), Some(advance)) = (epoch_ms(sent), epoch_ms(received), advance_ms(advance)) else {
                    continue;
                };
                (f.next(), None, sent, received, advance)
            }
            "T" => {
                let f: Vec<&str> = rest.split(' ').collect();
                let [server, sent, received, advance] = f[..] else { continue };
                let (Some(server), Some(sent), Some(received), Some(advance)) =
                    (epoch_ms(server), epoch_ms(sent), epoch_ms(received), advance_ms(advance))
                else {
                    continue;
                };
                (None, Some(server), sent, received, advance)
            }
            "S" => {
                if let Some(to) = epoch_ms(rest) {
                    host.set(to);
                }
                continue;
            }
            _ => continue,
        };
        let (header, server, sent, received, advance) = sample;
        let advance = Duration::from_millis(u64::from(advance));
        boot.advance(advance);
        if let Some(later) = host.now().checked_add(advance) {
            host.set(later);
        }
        match server {
            Some(server) => {
                skew.record(server, sent, received);
            }
            None => {
                host.set(received);
                skew.record_header(header, sent, received);
            }
        }
        let _ = skew.offset_ms();
        let _ = skew.version();
        let _ = skew.host_now();
        let estimate = skew.estimate();
        assert!(estimate.samples.len() <= MAX_SAMPLES, "{} samples kept", estimate.samples.len());
        let _ = anchored.now();
        let _ = plain.now();
        let _ = anchored.real_duration(Duration::from_secs(1));
    }
});
