//! Implausible clock-skew samples (from a garbage `Date` header, or a bridge caller passing any
//! `i64`): ignored and counted, never moving the estimate, never overflowing. Before the bound a
//! single sample set the offset to ten years, and two absurd ones then overflowed the next
//! comparison (a panic in debug builds, a silent wrap in release).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use freshcreds_core::clock::{Clock, ManualBootClock, ManualClock, SystemClock};
use freshcreds_core::config::AgentOptions;
use freshcreds_core::env::Env;
use freshcreds_core::skew::{SkewCorrectedClock, SkewEstimator, MAX_OFFSET};
use freshcreds_core::Agent;

const DAY: Duration = Duration::from_secs(24 * 3600);

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

struct Wired {
    host: Arc<ManualClock>,
    boot: Arc<ManualBootClock>,
    skew: Arc<SkewEstimator>,
    corrected: SkewCorrectedClock,
}

fn wired() -> Wired {
    let host = Arc::new(ManualClock::new(now()));
    let boot = Arc::new(ManualBootClock::default());
    let skew = Arc::new(SkewEstimator::new(host.clone(), boot.clone()));
    let corrected = SkewCorrectedClock::new(host.clone(), skew.clone(), Some(boot.clone()));
    Wired { host, boot, skew, corrected }
}

impl Wired {
    /// One good sample: AWS is `skew_ms` ahead of the host; a second passes first.
    fn good(&self, skew_ms: i64) -> bool {
        self.host.advance(Duration::from_secs(1));
        self.boot.advance(Duration::from_secs(1));
        let t = self.host.now();
        let server =
            if skew_ms >= 0 { t + Duration::from_millis(skew_ms as u64) } else { t - Duration::from_millis(skew_ms.unsigned_abs()) };
        self.skew.record(server, t, t + Duration::from_millis(20))
    }
}

fn epoch_millis(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

#[test]
fn one_sample_ten_years_off_is_ignored_and_counted() {
    let w = wired();
    let t = w.host.now();
    assert!(!w.skew.record(t + 3650 * DAY, t, t), "+3650 days is not a measurement");
    assert!(!w.skew.record(t - 3650 * DAY, t, t), "-3650 days neither");
    let estimate = w.skew.estimate();
    assert_eq!(estimate.offset_ms, 0);
    assert!(estimate.samples.is_empty());
    assert_eq!(estimate.rejected_samples, 2);
    assert_eq!(w.corrected.now(), w.host.now(), "the corrected clock is untouched");
}

#[test]
fn the_bound_is_a_day_either_way() {
    let w = wired();
    let t = w.host.now();
    // The header is truncated to the second, so the measured offset is the Date + 0.5 s.
    let just_inside = MAX_OFFSET - Duration::from_secs(1);
    assert!(w.skew.record(t + just_inside, t, t));
    assert!(w.skew.record(t + just_inside, t, t));
    assert!((w.skew.offset_ms() - just_inside.as_millis() as i64).abs() <= 1000);
    assert!(!w.skew.record(t + MAX_OFFSET + Duration::from_secs(1), t, t));
    assert!(!w.skew.record(t - MAX_OFFSET - Duration::from_secs(1), t, t));
    assert_eq!(w.skew.estimate().rejected_samples, 2);
}

#[test]
fn extreme_times_never_overflow_and_normal_samples_still_count_after_them() {
    let w = wired();
    let t = w.host.now();
    let extremes = [epoch_millis(i64::MAX), epoch_millis(i64::MIN), epoch_millis(i64::MIN + 1), UNIX_EPOCH, t + 3650 * DAY];
    let mut rejected = 0;
    for server in extremes {
        for (sent, received) in [(t, t), (server, server), (t, server), (server, t)] {
            assert!(!w.skew.record(server, sent, received), "{server:?} sent {sent:?} received {received:?}");
            rejected += u64::from(sent <= received && received.duration_since(sent).unwrap_or_default() <= Duration::from_secs(10));
            // Every reading after an absurd sample works.
            let _ = w.corrected.now();
            let _ = w.skew.offset_ms();
        }
    }
    // A Date header that parses to the largest times httpdate knows.
    assert!(!w.skew.record_header(Some("Fri, 31 Dec 9999 23:59:59 GMT"), t, t));
    rejected += 1;
    let estimate = w.skew.estimate();
    assert_eq!(estimate.offset_ms, 0);
    assert!(estimate.samples.is_empty());
    assert_eq!(estimate.rejected_samples, rejected);

    // Ten minutes fast, measured normally from here on.
    for _ in 0..5 {
        assert!(w.good(-600_000));
    }
    assert!((w.skew.offset_ms() + 600_000).abs() <= 1000, "{}", w.skew.offset_ms());
    // More garbage between good samples moves nothing.
    let t = w.host.now();
    assert!(!w.skew.record(epoch_millis(i64::MAX), t, t));
    assert!(!w.skew.record(epoch_millis(i64::MIN), t, t));
    assert!(w.good(-600_000));
    assert!((w.skew.offset_ms() + 600_000).abs() <= 1000, "{}", w.skew.offset_ms());
    assert_eq!(w.skew.estimate().samples.len(), 6);
    assert_eq!(w.skew.estimate().rejected_samples, rejected + 2);
    let lag = w.host.now().duration_since(w.corrected.now()).expect("the corrected clock is behind");
    assert!((lag.as_millis() as i64 - 600_000).abs() <= 1000, "{lag:?}");
}

/// The reported crash: two absurd samples in a row, then anything. Before the bound the second
/// comparison overflowed `i64` (a panic in debug builds, a wrapped, wrong estimate in release).
#[test]
fn absurd_samples_in_a_row_do_not_overflow() {
    let w = wired();
    let t = w.host.now();
    let _ = w.skew.record(epoch_millis(i64::MAX), t, t);
    let _ = w.skew.record(epoch_millis(i64::MIN), t, t);
    let _ = w.skew.record(epoch_millis(i64::MAX), t, t);
    let _ = w.good(0);
    let _ = w.corrected.now();
    assert!(w.skew.offset_ms().unsigned_abs() <= MAX_OFFSET.as_millis() as u64, "{}", w.skew.offset_ms());
}

/// Through the agent, as the bridges pass `recordServerTime`'s longs.
#[test]
fn the_agent_ignores_absurd_server_times() {
    let options = AgentOptions::from_pairs(&[
        ("source", "systemProperties"),
        ("systemProperties.accessKeyId", "AKIAIOSFODNN7EXAMPLE"),
        ("systemProperties.secretAccessKey", "not-a-real-secret-0000000000000000000000"),
    ])
    .expect("options");
    let agent = Agent::from_options_with_env(&options, Env::empty()).expect("agent");
    let now_ms = SystemClock.now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64;
    for (server, sent, received) in [
        (i64::MAX, now_ms, now_ms),
        (i64::MAX, i64::MAX, i64::MAX),
        (0, now_ms, now_ms),
        (now_ms + 3650 * 86_400_000, now_ms, now_ms),
        (i64::MAX, 0, 0),
    ] {
        assert_eq!(agent.record_server_time(server, sent, received).ok(), Some(false), "{server} {sent} {received}");
        assert_eq!(agent.clock_offset_ms(), 0);
    }
    assert!(agent.record_server_time(i64::MIN, now_ms, now_ms).is_err(), "before 1970: refused as before");
    assert_eq!(agent.record_server_time(now_ms - 600_000, now_ms, now_ms).ok(), Some(true));
    assert!((agent.clock_offset_ms() + 600_000).abs() <= 1000, "{}", agent.clock_offset_ms());
    agent.close();
}
