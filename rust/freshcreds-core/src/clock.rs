//! The injected clock.
//!
//! Every decision about expiry and refresh asks a [`Clock`]; nothing else in freshcreds reads
//! the wall clock. Tests use [`ManualClock`] and move time by hand; the end-to-end tests and the
//! demo use [`CompressedClock`], which runs faster than real time so that hours of credential
//! rotations pass in seconds, in step with the simulator's compressed clock.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time on this clock.
    fn now(&self) -> SystemTime;

    /// How much real time passes while `clock_time` passes on this clock. Sleeps (which tokio
    /// measures in real time) are converted through this; a compressed clock shortens them.
    fn real_duration(&self, clock_time: Duration) -> Duration {
        clock_time
    }
}

/// The operating system's wall clock: the one place freshcreds reads it.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Time elapsed since boot, *including* time suspended, and never stepped by NTP or an
/// administrator: Linux's `CLOCK_BOOTTIME`. Between clock-skew samples the agent advances its
/// idea of AWS time on this, so a wall-clock step neither causes a refresh storm nor hands out
/// expired credentials, while a VM suspend/resume still counts as time passing.
pub trait BootClock: Send + Sync + fmt::Debug + 'static {
    fn since_boot(&self) -> Duration;
}

/// The operating system's boot clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemBootClock;

impl BootClock for SystemBootClock {
    #[cfg(target_os = "linux")]
    fn since_boot(&self) -> Duration {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec; CLOCK_BOOTTIME exists on every Linux >= 2.6.39.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
        if rc == 0 {
            Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
        } else {
            monotonic_fallback()
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn since_boot(&self) -> Duration {
        monotonic_fallback()
    }
}

/// Elsewhere, the monotonic clock (which may stop while suspended) from the first call on.
fn monotonic_fallback() -> Duration {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed()
}

/// A boot clock that moves only when told to. For tests.
#[derive(Debug, Default)]
pub struct ManualBootClock {
    elapsed: Mutex<Duration>,
}

impl ManualBootClock {
    pub fn advance(&self, by: Duration) {
        *self.elapsed.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }
}

impl BootClock for ManualBootClock {
    fn since_boot(&self) -> Duration {
        *self.elapsed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A clock that moves only when told to. For tests.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    pub fn new(start: SystemTime) -> Self {
        Self { now: Mutex::new(start) }
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    pub fn set(&self, to: SystemTime) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A clock that runs `scale` times faster than the system clock from `origin` on:
/// `now = origin + (system_now - origin) * scale`. Only for compressed-time tests and the demo,
/// where it must use the same origin and scale as the simulator.
#[derive(Debug, Clone, Copy)]
pub struct CompressedClock {
    origin: SystemTime,
    scale: f64,
}

/// The fastest [`CompressedClock`]: a million times real time (a year in 32 s) is already far past
/// what the simulator and the demo use (600); more only makes `Duration` and `SystemTime`
/// arithmetic overflow.
pub const MAX_CLOCK_SCALE: f64 = 1e6;

/// How far a clock reading saturates to when the exact time is past what `SystemTime` can hold
/// (about 10,000 years: representable on every platform, and later than any credential expiry).
const FAR_FUTURE: Duration = Duration::from_secs(10_000 * 365 * 24 * 3600);

impl CompressedClock {
    /// `scale` must be finite and from 1 to [`MAX_CLOCK_SCALE`]; `None` otherwise.
    pub fn new(origin: SystemTime, scale: f64) -> Option<Self> {
        (scale.is_finite() && (1.0..=MAX_CLOCK_SCALE).contains(&scale)).then_some(Self { origin, scale })
    }

    /// `elapsed * scale`, saturated at `Duration::MAX` instead of panicking.
    fn scaled(&self, elapsed: Duration) -> Duration {
        Duration::try_from_secs_f64(elapsed.as_secs_f64() * self.scale).unwrap_or(Duration::MAX)
    }
}

/// `time + by`, saturating near the end of what `SystemTime` holds instead of panicking.
fn saturating_add(time: SystemTime, by: Duration) -> SystemTime {
    time.checked_add(by).or_else(|| time.checked_add(FAR_FUTURE)).unwrap_or(time)
}

/// `time - by`, saturating the same way towards the past.
fn saturating_sub(time: SystemTime, by: Duration) -> SystemTime {
    time.checked_sub(by).or_else(|| time.checked_sub(FAR_FUTURE)).unwrap_or(time)
}

impl Clock for CompressedClock {
    fn now(&self) -> SystemTime {
        let real = SystemClock.now();
        // The scale is bounded, but the origin is any time a caller passed: an origin decades
        // away, times a large scale, can still pass the end of `SystemTime` on some platforms.
        match real.duration_since(self.origin) {
            Ok(elapsed) => saturating_add(self.origin, self.scaled(elapsed)),
            Err(before) => saturating_sub(self.origin, self.scaled(before.duration())),
        }
    }

    fn real_duration(&self, clock_time: Duration) -> Duration {
        // scale >= 1, so this only shrinks: no overflow.
        clock_time.div_f64(self.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), start + Duration::from_secs(5));
    }

    #[test]
    fn compressed_clock_runs_faster_and_shortens_sleeps() {
        let clock = CompressedClock::new(SystemClock.now(), 600.0).expect("valid scale");
        assert_eq!(clock.real_duration(Duration::from_secs(600)), Duration::from_secs(1));
        assert!(CompressedClock::new(SystemClock.now(), 0.5).is_none());
        assert!(CompressedClock::new(SystemClock.now(), f64::NAN).is_none());
    }

    #[test]
    fn absurd_scales_are_refused_and_extreme_ones_never_panic() {
        let now = SystemClock.now();
        for scale in [1e300, 1e6 + 1.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 0.0, -1.0, -600.0, f64::MIN_POSITIVE] {
            assert!(CompressedClock::new(now, scale).is_none(), "scale {scale} must be refused");
        }
        // The largest accepted scale, with origins far from now in both directions: readings
        // saturate instead of panicking, and stay ordered.
        let years = |n: u64| Duration::from_secs(n * 365 * 24 * 3600);
        // A million years before the epoch: elapsed time times the scale overflows `Duration`.
        for origin in [SystemTime::UNIX_EPOCH, now, now + years(400), SystemTime::UNIX_EPOCH - years(1_000_000)] {
            let clock = CompressedClock::new(origin, MAX_CLOCK_SCALE).expect("the largest scale is accepted");
            let first = clock.now();
            let second = clock.now();
            assert!(second >= first);
            assert_eq!(clock.real_duration(Duration::from_secs(1_000_000)), Duration::from_secs(1));
        }
        assert_eq!(saturating_add(now, Duration::MAX), now + FAR_FUTURE);
        assert!(saturating_sub(now, Duration::MAX) <= now);
    }
}
