//! Clock-skew detection: how far this host's clock is from AWS's.
//!
//! Every AWS answer carries a `Date` header. Each one, taken with the host-clock times the request
//! was sent and its answer received, gives one sample of `offset = AWS time - host time`, measured
//! against the midpoint of the round trip (the server stamped the header somewhere in between) and
//! the middle of the header's second (it is truncated to whole seconds). The estimate is the
//! median of the last [`MAX_SAMPLES`] samples, so one bad sample (a slow proxy, a cached answer)
//! cannot move it. Samples whose round trip is longer than [`MAX_RTT`] are too imprecise and are
//! dropped, as are those where the host clock stepped backwards mid-request.
//!
//! Samples come from the IMDS client and, through the bridges, from the SDKs' responses.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::clock::Clock;

pub const MAX_SAMPLES: usize = 9;
pub const MAX_RTT: Duration = Duration::from_secs(10);
/// Past this, the host clock is wrong enough to break signing: warn once.
pub const WARN_THRESHOLD_MS: i64 = 60_000;
/// A new estimate that moves less than this is not a change worth reporting.
const CHANGE_THRESHOLD_MS: i64 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkewSample {
    pub offset_ms: i64,
    pub round_trip_ms: i64,
}

/// The current estimate and what it rests on.
#[derive(Debug, Clone, Default)]
pub struct SkewEstimate {
    /// AWS time minus this host's clock, in milliseconds; 0 before any sample.
    pub offset_ms: i64,
    pub samples: Vec<SkewSample>,
    /// When (host clock) the estimate last moved by a second or more.
    pub last_changed: Option<SystemTime>,
}

#[derive(Debug)]
pub struct SkewEstimator {
    host_clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    samples: VecDeque<SkewSample>,
    offset_ms: i64,
    last_changed: Option<SystemTime>,
    warned: bool,
}

fn millis_between(later: SystemTime, earlier: SystemTime) -> i64 {
    match later.duration_since(earlier) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

impl SkewEstimator {
    /// `host_clock` is this host's wall clock (never a corrected or compressed one).
    pub fn new(host_clock: Arc<dyn Clock>) -> Self {
        Self { host_clock, state: Mutex::new(State::default()) }
    }

    /// The host clock, for callers that time their own requests.
    pub fn host_now(&self) -> SystemTime {
        self.host_clock.now()
    }

    /// Records one `Date` header (`server_date`, whole seconds) for a request sent at `sent` and
    /// answered at `received`, both on the host clock. Returns whether the sample was kept.
    pub fn record(&self, server_date: SystemTime, sent: SystemTime, received: SystemTime) -> bool {
        let round_trip_ms = millis_between(received, sent);
        if round_trip_ms < 0 || round_trip_ms > MAX_RTT.as_millis() as i64 {
            return false;
        }
        let midpoint = sent + Duration::from_millis(round_trip_ms as u64 / 2);
        // The header is truncated to the second: its true instant is on average half a second later.
        let offset_ms = millis_between(server_date + Duration::from_millis(500), midpoint);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.samples.len() == MAX_SAMPLES {
            state.samples.pop_front();
        }
        state.samples.push_back(SkewSample { offset_ms, round_trip_ms });
        let mut sorted: Vec<i64> = state.samples.iter().map(|s| s.offset_ms).collect();
        sorted.sort_unstable();
        let median = sorted[(sorted.len() - 1) / 2];
        if (median - state.offset_ms).abs() >= CHANGE_THRESHOLD_MS || state.last_changed.is_none() {
            state.last_changed = Some(received);
        }
        state.offset_ms = median;
        if median.abs() >= WARN_THRESHOLD_MS && !state.warned {
            state.warned = true;
            tracing::warn!(
                offset_seconds = median as f64 / 1000.0,
                "this host's clock is {:.1} s {} AWS time; freshcreds corrects credential expiry and (with its SDK hooks) \
                 request signing, but fix the clock: use Amazon Time Sync Service (169.254.169.123) or another NTP source",
                median.abs() as f64 / 1000.0,
                if median > 0 { "behind" } else { "ahead of" },
            );
        } else if median.abs() < WARN_THRESHOLD_MS / 2 {
            state.warned = false;
        }
        true
    }

    /// Records a response's `Date` header value (HTTP-date); ignores a missing or unparseable one.
    pub fn record_header(&self, date_header: Option<&str>, sent: SystemTime, received: SystemTime) -> bool {
        match date_header.and_then(|v| httpdate::parse_http_date(v).ok()) {
            Some(date) => self.record(date, sent, received),
            None => false,
        }
    }

    pub fn offset_ms(&self) -> i64 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).offset_ms
    }

    pub fn estimate(&self) -> SkewEstimate {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        SkewEstimate { offset_ms: state.offset_ms, samples: state.samples.iter().copied().collect(), last_changed: state.last_changed }
    }
}

/// A clock corrected by the skew estimate: `base + offset`. The cache judges expiry and schedules
/// refreshes on it, so a host clock that is minutes off neither hands out credentials AWS already
/// considers expired nor refreshes them too late.
#[derive(Debug)]
pub struct SkewCorrectedClock {
    base: Arc<dyn Clock>,
    skew: Arc<SkewEstimator>,
}

impl SkewCorrectedClock {
    pub fn new(base: Arc<dyn Clock>, skew: Arc<SkewEstimator>) -> Self {
        Self { base, skew }
    }
}

impl Clock for SkewCorrectedClock {
    fn now(&self) -> SystemTime {
        let base = self.base.now();
        let offset = self.skew.offset_ms();
        if offset >= 0 {
            base + Duration::from_millis(offset as u64)
        } else {
            base - Duration::from_millis(offset.unsigned_abs())
        }
    }

    fn real_duration(&self, clock_time: Duration) -> Duration {
        self.base.real_duration(clock_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    fn estimator() -> SkewEstimator {
        SkewEstimator::new(Arc::new(ManualClock::new(at(0))))
    }

    #[test]
    fn measures_a_host_that_is_ten_minutes_fast_or_slow() {
        for skew in [-600i64, 600] {
            let e = estimator();
            for i in 0..5u64 {
                let sent = at(100 * i) + Duration::from_millis(250);
                let received = sent + Duration::from_millis(40);
                let server = if skew > 0 { at(100 * i) + Duration::from_secs(skew as u64) } else { at(100 * i) - Duration::from_secs(skew.unsigned_abs()) };
                assert!(e.record(server, sent, received));
            }
            let offset = e.offset_ms();
            assert!((offset - skew * 1000).abs() <= 1000, "skew {skew}: measured {offset} ms");
        }
    }

    #[test]
    fn one_bad_sample_does_not_move_the_estimate() {
        let e = estimator();
        for i in 0..4 {
            e.record(at(i * 10), at(i * 10), at(i * 10) + Duration::from_millis(20));
        }
        let before = e.offset_ms();
        e.record(at(3600), at(50), at(50) + Duration::from_millis(20)); // an hour off
        assert_eq!(e.offset_ms(), before);
        assert_eq!(e.estimate().samples.len(), 5);
    }

    #[test]
    fn slow_or_backwards_round_trips_are_dropped() {
        let e = estimator();
        assert!(!e.record(at(0), at(0), at(30)), "a 30 s round trip says little");
        assert!(!e.record(at(0), at(10), at(5)), "the host clock stepped back mid-request");
        assert!(e.estimate().samples.is_empty());
        assert!(!e.record_header(Some("not a date"), at(0), at(0)));
        assert!(e.record_header(Some("Sun, 06 Nov 1994 08:49:37 GMT"), at(0), at(0)));
    }

    #[test]
    fn the_corrected_clock_adds_the_offset() {
        let host = Arc::new(ManualClock::new(at(0)));
        let skew = Arc::new(SkewEstimator::new(host.clone()));
        skew.record(at(0) - Duration::from_secs(600), at(0), at(0));
        let corrected = SkewCorrectedClock::new(host.clone(), skew.clone());
        let diff = millis_between(host.now(), corrected.now());
        assert!((diff - 600_000).abs() <= 1000, "{diff}");
    }
}
