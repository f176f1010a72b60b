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
//!
//! A real jump of the offset (a clock stepped where the boot clock cannot see it) would take the
//! median five samples to follow; instead, [`JUMP_CONFIRMATIONS`] consecutive samples that agree
//! with each other and disagree with the estimate by more than [`JUMP_THRESHOLD_MS`] restart it.
//! One stray sample still moves nothing.
//!
//! Plausibility: a sample that puts AWS more than [`MAX_OFFSET`] (a day) away from this host is
//! not a clock that is off but a wrong value (a garbage `Date`, a caller passing seconds for
//! milliseconds): it is ignored and counted ([`SkewEstimate::rejected_samples`]), so the estimate
//! stays within ±[`MAX_OFFSET`] and all the arithmetic on it stays far from overflow. The
//! arithmetic saturates anyway, since samples from the bridges are any `i64` a caller passes.
//!
//! Wall-clock steps: each sample also notes the boot clock ([`BootClock`], never stepped). When
//! the wall clock moved more or less than the boot clock between two samples by over
//! [`STEP_THRESHOLD`], the host clock was stepped (NTP, an administrator): the older samples
//! measured a clock that no longer exists, so they are dropped and the estimate restarts from the
//! new sample. Between samples, [`SkewCorrectedClock`] advances on the boot clock, so a step in
//! between changes nothing, and a VM suspend (which the boot clock counts) still ages credentials.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::clock::{BootClock, Clock};

pub const MAX_SAMPLES: usize = 9;
pub const MAX_RTT: Duration = Duration::from_secs(10);
/// Past this, the host clock is wrong enough to break signing: warn once.
pub const WARN_THRESHOLD_MS: i64 = 60_000;
/// Wall and boot clocks disagreeing by more than this between samples means a clock step.
pub const STEP_THRESHOLD: Duration = Duration::from_secs(2);
/// A sample this far from the estimate is an outlier (or the first sign of a jump).
pub const JUMP_THRESHOLD_MS: i64 = 30_000;
/// Consecutive, mutually agreeing outliers that make a jump.
pub const JUMP_CONFIRMATIONS: usize = 2;
/// The largest plausible offset either way: a host clock a day off is broken, but may still be
/// corrected; beyond that, a sample is a wrong value rather than a measurement.
pub const MAX_OFFSET: Duration = Duration::from_secs(24 * 3600);
const MAX_OFFSET_MS: i64 = MAX_OFFSET.as_millis() as i64;
const MAX_RTT_MS: i64 = MAX_RTT.as_millis() as i64;
const STEP_THRESHOLD_MS: u64 = STEP_THRESHOLD.as_millis() as u64;
/// A new estimate that moves less than this is not a change worth reporting.
const CHANGE_THRESHOLD_MS: i64 = 1_000;
/// A `Date` header is truncated to the second: on average the instant it stamps is this much later.
const DATE_HEADER_MIDDLE: Duration = Duration::from_millis(500);

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
    /// Samples ignored because their offset was beyond ±[`MAX_OFFSET`] or their times could not
    /// be combined (see the module docs). Slow or backwards round trips are not counted here.
    pub rejected_samples: u64,
}

#[derive(Debug)]
pub struct SkewEstimator {
    host_clock: Arc<dyn Clock>,
    boot_clock: Arc<dyn BootClock>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    samples: VecDeque<SkewSample>,
    offset_ms: i64,
    last_changed: Option<SystemTime>,
    warned: bool,
    /// Host and boot clock readings at the last sample, to detect wall-clock steps.
    last_sample_at: Option<(SystemTime, Duration)>,
    /// Bumped whenever the estimate moves or restarts, so corrected clocks re-anchor.
    version: u64,
    /// Consecutive outliers seen since the last sample that agreed with the estimate.
    outliers: Vec<SkewSample>,
    rejected_samples: u64,
}

/// One sample from a `Date` header and the host-clock times around it; `None` when the round trip
/// is too slow to say much or the host clock went backwards during it. The offset is `i64::MAX`
/// (implausible) when the times cannot be combined.
pub fn measure(server_date: SystemTime, sent: SystemTime, received: SystemTime) -> Option<SkewSample> {
    let round_trip_ms = millis_between(received, sent);
    if !(0..=MAX_RTT_MS).contains(&round_trip_ms) {
        return None;
    }
    // The header is truncated to the second: its true instant is on average half a second later.
    let midpoint = offset_time(sent, round_trip_ms / 2);
    let stamped = server_date.checked_add(DATE_HEADER_MIDDLE);
    let offset_ms = match (stamped, midpoint) {
        (Some(stamped), Some(midpoint)) => millis_between(stamped, midpoint),
        _ => i64::MAX,
    };
    Some(SkewSample { offset_ms, round_trip_ms })
}

/// Whether a difference between AWS time and this host's (or between two host-clock readings) is
/// a measurement rather than a wrong value: within ±[`MAX_OFFSET`].
fn is_plausible(ms: i64) -> bool {
    ms.unsigned_abs() <= MAX_OFFSET_MS.unsigned_abs()
}

impl State {
    /// Counts a sample that was not believed.
    fn reject(&mut self) {
        self.rejected_samples = self.rejected_samples.saturating_add(1);
        // Logged at the 1st, 2nd, 4th, 8th... so a caller that keeps passing garbage cannot flood the log.
        if self.rejected_samples.is_power_of_two() {
            tracing::warn!(
                rejected_samples = self.rejected_samples,
                "ignored a clock-skew sample more than a day from this host's clock (a wrong Date or wrong times, \
                 not a measurement)"
            );
        }
    }

    /// Step detection: when the wall clock moved more or less than the boot clock since the last
    /// sample by over [`STEP_THRESHOLD`], the samples measured a clock that no longer exists.
    fn restart_after_a_step(&mut self, received: SystemTime, boot_now: Duration) {
        if let Some((prev_wall, prev_boot)) = self.last_sample_at {
            let wall_ms = millis_between(received, prev_wall);
            let boot_ms = i64::try_from(boot_now.saturating_sub(prev_boot).as_millis()).unwrap_or(i64::MAX);
            let step_ms = wall_ms.saturating_sub(boot_ms);
            if step_ms.unsigned_abs() > STEP_THRESHOLD_MS {
                tracing::warn!(step_seconds = step_ms as f64 / 1000.0, "this host's clock was stepped; clock-skew estimate restarted");
                self.samples.clear();
            }
        }
        self.last_sample_at = Some((received, boot_now));
    }

    /// Outlier tracking: notes `sample` if it is far from the estimate, and returns the run of
    /// outliers once [`JUMP_CONFIRMATIONS`] of them agree (a jump).
    fn track_outliers(&mut self, sample: SkewSample) -> Option<Vec<SkewSample>> {
        // Both offsets are within ±MAX_OFFSET_MS; saturating all the same, so no later change to
        // the bound can bring back an overflow.
        let is_outlier =
            !self.samples.is_empty() && sample.offset_ms.saturating_sub(self.offset_ms).unsigned_abs() > JUMP_THRESHOLD_MS.unsigned_abs();
        // An agreeing sample ends a run of outliers; so does an outlier that disagrees with the last
        // one (two stray samples in different directions confirm nothing).
        let disagrees_with_last_outlier =
            self.outliers.last().is_some_and(|last| last.offset_ms.saturating_sub(sample.offset_ms).unsigned_abs() > STEP_THRESHOLD_MS);
        if !is_outlier || disagrees_with_last_outlier {
            self.outliers.clear();
        }
        if is_outlier {
            self.outliers.push(sample);
        }
        (self.outliers.len() >= JUMP_CONFIRMATIONS).then(|| std::mem::take(&mut self.outliers))
    }

    /// A confirmed jump: the agreeing outliers become the only samples.
    fn restart_with(&mut self, jump: Vec<SkewSample>) {
        tracing::warn!(
            from_seconds = self.offset_ms as f64 / 1000.0,
            to_seconds = jump.last().map_or(self.offset_ms, |s| s.offset_ms) as f64 / 1000.0,
            "the clock offset to AWS jumped; clock-skew estimate restarted"
        );
        self.samples = jump.into();
    }

    /// Adds a sample to the window of the last [`MAX_SAMPLES`].
    fn push(&mut self, sample: SkewSample) {
        if self.samples.len() == MAX_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
    }

    /// The median offset of the samples (the lower middle one of an even number).
    fn median(&self) -> Option<i64> {
        let mut sorted: Vec<i64> = self.samples.iter().map(|s| s.offset_ms).collect();
        sorted.sort_unstable();
        sorted.get(sorted.len().saturating_sub(1) / 2).copied()
    }

    /// Makes the median of the samples the estimate (after a sample was added at `received`),
    /// and warns once while it is far enough off to break signing.
    fn settle(&mut self, received: SystemTime) {
        // Never empty after a sample was pushed or the outliers (at least JUMP_CONFIRMATIONS) taken.
        let median = self.median().unwrap_or(self.offset_ms);
        if median.saturating_sub(self.offset_ms).unsigned_abs() >= CHANGE_THRESHOLD_MS.unsigned_abs() || self.last_changed.is_none() {
            self.last_changed = Some(received);
        }
        if median != self.offset_ms || self.samples.len() == 1 {
            self.version += 1;
        }
        self.offset_ms = median;
        if median.unsigned_abs() >= WARN_THRESHOLD_MS.unsigned_abs() && !self.warned {
            self.warned = true;
            tracing::warn!(
                offset_seconds = median as f64 / 1000.0,
                "this host's clock is {:.1} s {} AWS time; freshcreds corrects credential expiry and (with its SDK hooks) \
                 request signing, but fix the clock: use Amazon Time Sync Service (169.254.169.123) or another NTP source",
                median.unsigned_abs() as f64 / 1000.0,
                if median > 0 { "behind" } else { "ahead of" },
            );
        } else if median.unsigned_abs() < WARN_THRESHOLD_MS.unsigned_abs() / 2 {
            self.warned = false;
        }
    }
}

/// `later - earlier` in milliseconds, saturated to ±`i64::MAX` (never `i64::MIN`, so `abs` and
/// negation stay defined).
fn millis_between(later: SystemTime, earlier: SystemTime) -> i64 {
    match later.duration_since(earlier) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// `time + offset_ms`, or `None` where the platform's `SystemTime` ends.
fn offset_time(time: SystemTime, offset_ms: i64) -> Option<SystemTime> {
    let magnitude = Duration::from_millis(offset_ms.unsigned_abs());
    if offset_ms >= 0 {
        time.checked_add(magnitude)
    } else {
        time.checked_sub(magnitude)
    }
}

impl SkewEstimator {
    /// `host_clock` is this host's wall clock (never a corrected or compressed one).
    pub fn new(host_clock: Arc<dyn Clock>, boot_clock: Arc<dyn BootClock>) -> Self {
        Self { host_clock, boot_clock, state: Mutex::new(State::default()) }
    }

    /// Changes whenever the estimate moves or restarts.
    pub fn version(&self) -> u64 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).version
    }

    /// The host clock, for callers that time their own requests.
    pub fn host_now(&self) -> SystemTime {
        self.host_clock.now()
    }

    /// Records one `Date` header (`server_date`, whole seconds) for a request sent at `sent` and
    /// answered at `received`, both on the host clock. Returns whether the sample was kept.
    pub fn record(&self, server_date: SystemTime, sent: SystemTime, received: SystemTime) -> bool {
        let Some(sample) = measure(server_date, sent, received) else {
            return false;
        };
        // `received` is on the host clock and recent: one far from the host's now is as wrong as a
        // far-off Date, and would otherwise pass for a clock step and restart the estimate.
        let age_ms = millis_between(self.host_clock.now(), received);
        if !is_plausible(sample.offset_ms) || !is_plausible(age_ms) {
            // Not kept, and not taken as a clock step either: these times are not believed.
            self.state.lock().unwrap_or_else(|p| p.into_inner()).reject();
            return false;
        }
        let boot_now = self.boot_clock.since_boot();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.restart_after_a_step(received, boot_now);
        match state.track_outliers(sample) {
            Some(jump) => state.restart_with(jump),
            None => state.push(sample),
        }
        state.settle(received);
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
        SkewEstimate {
            offset_ms: state.offset_ms,
            samples: state.samples.iter().copied().collect(),
            last_changed: state.last_changed,
            rejected_samples: state.rejected_samples,
        }
    }
}

/// A clock corrected by the skew estimate, which the cache judges expiry and schedules refreshes
/// on, so a host clock that is minutes off neither hands out credentials AWS already considers
/// expired nor refreshes them too late.
///
/// With a boot clock (production), it is anchored at `base + offset` whenever the estimate
/// changes and advances on the boot clock in between (see the module docs). Without one (the
/// compressed test clock), it is simply `base + offset`.
#[derive(Debug)]
pub struct SkewCorrectedClock {
    base: Arc<dyn Clock>,
    skew: Arc<SkewEstimator>,
    boot: Option<Arc<dyn BootClock>>,
    anchor: Mutex<Option<Anchor>>,
}

#[derive(Debug, Clone, Copy)]
struct Anchor {
    time: SystemTime,
    boot: Duration,
    version: u64,
}

impl SkewCorrectedClock {
    pub fn new(base: Arc<dyn Clock>, skew: Arc<SkewEstimator>, boot: Option<Arc<dyn BootClock>>) -> Self {
        Self { base, skew, boot, anchor: Mutex::new(None) }
    }

    fn corrected_base(&self) -> SystemTime {
        let base = self.base.now();
        // The offset is within a day; only a base clock at the very end of `SystemTime` (a broken
        // compressed clock) could overflow, and then the uncorrected time is the best there is.
        offset_time(base, self.skew.offset_ms()).unwrap_or(base)
    }
}

impl Clock for SkewCorrectedClock {
    fn now(&self) -> SystemTime {
        let Some(boot) = &self.boot else {
            return self.corrected_base();
        };
        let version = self.skew.version();
        let boot_now = boot.since_boot();
        let mut anchor = self.anchor.lock().unwrap_or_else(|p| p.into_inner());
        let current = match *anchor {
            Some(a) if a.version == version => a,
            _ => {
                let fresh = Anchor { time: self.corrected_base(), boot: boot_now, version };
                *anchor = Some(fresh);
                fresh
            }
        };
        let elapsed = boot_now.saturating_sub(current.boot);
        current.time.checked_add(elapsed).unwrap_or(current.time)
    }

    fn real_duration(&self, clock_time: Duration) -> Duration {
        self.base.real_duration(clock_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualBootClock, ManualClock};

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    fn estimator() -> SkewEstimator {
        SkewEstimator::new(Arc::new(ManualClock::new(at(0))), Arc::new(ManualBootClock::default()))
    }

    #[test]
    fn measures_a_host_that_is_ten_minutes_fast_or_slow() {
        for skew in [-600i64, 600] {
            let e = estimator();
            for i in 0..5u64 {
                let sent = at(100 * i) + Duration::from_millis(250);
                let received = sent + Duration::from_millis(40);
                let server = if skew > 0 {
                    at(100 * i) + Duration::from_secs(skew as u64)
                } else {
                    at(100 * i) - Duration::from_secs(skew.unsigned_abs())
                };
                assert!(e.record(server, sent, received));
            }
            let offset = e.offset_ms();
            assert!((offset - skew * 1000).abs() <= 1000, "skew {skew}: measured {offset} ms");
        }
    }

    #[test]
    fn one_bad_sample_does_not_move_the_estimate() {
        let boot = Arc::new(ManualBootClock::default());
        let e = SkewEstimator::new(Arc::new(ManualClock::new(at(0))), boot.clone());
        for i in 0..4 {
            e.record(at(i * 10), at(i * 10), at(i * 10) + Duration::from_millis(20));
            boot.advance(Duration::from_secs(10));
        }
        let before = e.offset_ms();
        boot.advance(Duration::from_secs(10));
        e.record(at(3600), at(50), at(50) + Duration::from_millis(20)); // an hour off
        assert_eq!(e.offset_ms(), before);
        assert_eq!(e.estimate().samples.len(), 5);
    }

    #[test]
    fn two_agreeing_outliers_are_a_jump_and_restart_the_estimate() {
        let boot = Arc::new(ManualBootClock::default());
        let e = SkewEstimator::new(Arc::new(ManualClock::new(at(0))), boot.clone());
        let sample = |e: &SkewEstimator, t: u64, skew: i64| {
            boot.advance(Duration::from_secs(1));
            let server =
                if skew >= 0 { at(t) + Duration::from_secs(skew as u64) } else { at(t) - Duration::from_secs(skew.unsigned_abs()) };
            e.record(server, at(t), at(t));
        };
        for t in 1..=5 {
            sample(&e, t, 0);
        }
        sample(&e, 6, -600);
        assert!(e.offset_ms().abs() < 1000, "one outlier moves nothing");
        sample(&e, 7, 0);
        sample(&e, 8, -600);
        assert!(e.offset_ms().abs() < 1000, "outliers must be consecutive");
        sample(&e, 9, -600);
        assert!((e.offset_ms() + 600_000).abs() <= 1000, "two agreeing outliers restart it: {}", e.offset_ms());
        assert_eq!(e.estimate().samples.len(), 2);
    }

    #[test]
    fn slow_or_backwards_round_trips_are_dropped() {
        let e = estimator();
        assert!(!e.record(at(0), at(0), at(30)), "a 30 s round trip says little");
        assert!(!e.record(at(0), at(10), at(5)), "the host clock stepped back mid-request");
        assert!(e.estimate().samples.is_empty());
        assert!(!e.record_header(Some("not a date"), at(0), at(0)));
        assert!(e.record_header(Some(&httpdate::fmt_http_date(at(0))), at(0), at(0)));
    }

    #[test]
    fn the_corrected_clock_adds_the_offset() {
        let host = Arc::new(ManualClock::new(at(0)));
        let skew = Arc::new(SkewEstimator::new(host.clone(), Arc::new(ManualBootClock::default())));
        skew.record(at(0) - Duration::from_secs(600), at(0), at(0));
        let corrected = SkewCorrectedClock::new(host.clone(), skew.clone(), None);
        let diff = millis_between(host.now(), corrected.now());
        assert!((diff - 600_000).abs() <= 1000, "{diff}");
    }

    /// Host clock, boot clock, estimator and corrected clock wired as in production.
    fn wired() -> (Arc<ManualClock>, Arc<ManualBootClock>, Arc<SkewEstimator>, SkewCorrectedClock) {
        let host = Arc::new(ManualClock::new(at(0)));
        let boot = Arc::new(ManualBootClock::default());
        let skew = Arc::new(SkewEstimator::new(host.clone(), boot.clone()));
        let corrected = SkewCorrectedClock::new(host.clone(), skew.clone(), Some(boot.clone()));
        (host, boot, skew, corrected)
    }

    #[test]
    fn a_wall_clock_step_between_samples_changes_nothing() {
        let (host, boot, _skew, corrected) = wired();
        let before = corrected.now();
        host.advance(Duration::from_secs(3600)); // NTP steps the wall clock an hour ahead
        boot.advance(Duration::from_secs(10));
        host.advance(Duration::from_secs(10));
        assert_eq!(millis_between(corrected.now(), before), 10_000, "only the 10 s that really passed count");
    }

    #[test]
    fn a_suspend_still_ages_the_credentials() {
        let (host, boot, _skew, corrected) = wired();
        let before = corrected.now();
        host.advance(Duration::from_secs(3600));
        boot.advance(Duration::from_secs(3600)); // the boot clock counts suspended time
        assert_eq!(millis_between(corrected.now(), before), 3_600_000);
    }

    #[test]
    fn a_sample_after_a_step_restarts_the_estimate_at_once() {
        let (host, boot, skew, corrected) = wired();
        for i in 0..5 {
            let t = host.now();
            skew.record(t, t, t); // the host clock is right
            boot.advance(Duration::from_secs(60));
            host.advance(Duration::from_secs(60));
            let _ = i;
        }
        let truth = corrected.now();
        host.advance(Duration::from_secs(600)); // stepped 10 minutes ahead
        let t = host.now();
        skew.record(truth, t, t); // AWS still says the true time
        assert_eq!(skew.estimate().samples.len(), 1, "older samples dropped");
        assert!((skew.offset_ms() + 600_000).abs() <= 1000, "{}", skew.offset_ms());
        assert!(millis_between(corrected.now(), truth).abs() <= 1000);
    }
}
