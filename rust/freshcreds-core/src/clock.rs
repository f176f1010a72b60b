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

impl CompressedClock {
    /// `scale` must be finite and at least 1.
    pub fn new(origin: SystemTime, scale: f64) -> Option<Self> {
        (scale.is_finite() && scale >= 1.0).then_some(Self { origin, scale })
    }
}

impl Clock for CompressedClock {
    fn now(&self) -> SystemTime {
        let real = SystemClock.now();
        match real.duration_since(self.origin) {
            Ok(elapsed) => self.origin + elapsed.mul_f64(self.scale),
            Err(before) => self.origin - before.duration().mul_f64(self.scale),
        }
    }

    fn real_duration(&self, clock_time: Duration) -> Duration {
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
}
