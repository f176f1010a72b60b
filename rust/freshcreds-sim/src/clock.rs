//! The simulator's clocks.
//!
//! There are two notions of time:
//!
//! * **real time** — the wall clock. Used for the `Date` response header and for the SigV4
//!   request-time check (`X-Amz-Date` must be within 5 minutes of real time, as on AWS).
//! * **sim time** — `origin + (real_now - origin) * time_scale`, where `origin` is the real time at
//!   which the simulator started. Credential issue/expiry times and IMDS token TTLs run on sim
//!   time, so with `time_scale = 600` a 6 h credential lifetime lasts 36 real seconds.
//!
//! The wall clock is read in exactly one place, the private `SimClock::wall_clock`; everything
//! else in the crate asks a [`SimClock`]. This module also holds the few time formatters the
//! crate needs, all of which are total (out-of-range times never panic).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::{macros::format_description, Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// A compressed clock: sim time runs `scale` times faster than real time from `origin` on.
#[derive(Clone, Copy, Debug)]
pub struct SimClock {
    origin: SystemTime,
    scale: f64,
}

impl SimClock {
    /// A clock whose origin is the current real time. `scale` must be finite and positive (the
    /// caller validates it; a bad value is treated as 1.0).
    pub fn start(scale: f64) -> SimClock {
        SimClock::with_origin(Self::wall_clock(), scale)
    }

    /// A clock with an explicit origin.
    pub fn with_origin(origin: SystemTime, scale: f64) -> SimClock {
        let scale = if scale.is_finite() && scale > 0.0 { scale } else { 1.0 };
        SimClock { origin, scale }
    }

    /// The one and only read of the wall clock in this crate.
    fn wall_clock() -> SystemTime {
        SystemTime::now()
    }

    /// Real (wall-clock) now.
    pub fn real_now(&self) -> SystemTime {
        Self::wall_clock()
    }

    /// Sim now.
    pub fn sim_now(&self) -> SystemTime {
        self.to_sim(Self::wall_clock())
    }

    /// The real time at which sim time and real time coincide.
    pub fn origin(&self) -> SystemTime {
        self.origin
    }

    /// How many sim seconds pass per real second.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Maps a real instant to sim time. Saturates instead of overflowing.
    pub fn to_sim(&self, real: SystemTime) -> SystemTime {
        match real.duration_since(self.origin) {
            Ok(elapsed) => {
                let scaled = scale_duration(elapsed, self.scale);
                self.origin.checked_add(scaled).unwrap_or(real)
            }
            Err(e) => {
                let scaled = scale_duration(e.duration(), self.scale);
                self.origin.checked_sub(scaled).unwrap_or(real)
            }
        }
    }
}

fn scale_duration(d: Duration, scale: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * scale).unwrap_or(Duration::from_secs(u32::MAX as u64))
}

/// Milliseconds since the Unix epoch (negative before it), saturating.
pub fn epoch_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

fn to_utc(t: SystemTime) -> Option<OffsetDateTime> {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).ok()?,
        Err(e) => {
            // Round towards negative infinity so the seconds field is the floor.
            let d = e.duration();
            let s = i64::try_from(d.as_secs()).ok()?;
            if d.subsec_nanos() > 0 {
                -s - 1
            } else {
                -s
            }
        }
    };
    OffsetDateTime::from_unix_timestamp(secs).ok()
}

/// RFC 3339, UTC, whole seconds: `2026-11-30T01:00:00Z` (as in IMDS credential documents).
pub fn rfc3339_seconds(t: SystemTime) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    to_utc(t).and_then(|dt| dt.format(&fmt).ok()).unwrap_or_else(|| "9999-12-31T23:59:59Z".to_string())
}

/// HTTP-date (RFC 9110 IMF-fixdate): `Sun, 30 Nov 2026 01:00:00 GMT`.
pub fn http_date(t: SystemTime) -> String {
    let fmt = format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    to_utc(t).and_then(|dt| dt.format(&fmt).ok()).unwrap_or_else(|| "Fri, 31 Dec 9999 23:59:59 GMT".to_string())
}

/// SigV4 basic ISO 8601 format: `20150830T123600Z`.
pub fn amz_date(t: SystemTime) -> String {
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    to_utc(t).and_then(|dt| dt.format(&fmt).ok()).unwrap_or_else(|| "99991231T235959Z".to_string())
}

/// Parses a SigV4 `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`, exactly 16 ASCII characters).
pub fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(range)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(num(4..6)?).ok()?).ok()?;
    let day = u8::try_from(num(6..8)?).ok()?;
    let hour = u8::try_from(num(9..11)?).ok()?;
    let minute = u8::try_from(num(11..13)?).ok()?;
    let second = u8::try_from(num(13..15)?).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let tod = Time::from_hms(hour, minute, second).ok()?;
    let secs = PrimitiveDateTime::new(date, tod).assume_utc().unix_timestamp();
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs as u64))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_time_runs_scaled_from_origin() {
        let origin = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let c = SimClock::with_origin(origin, 600.0);
        assert_eq!(c.to_sim(origin), origin);
        assert_eq!(c.to_sim(origin + Duration::from_secs(36)), origin + Duration::from_secs(6 * 3600));
        assert_eq!(c.to_sim(origin - Duration::from_secs(1)), origin - Duration::from_secs(600));
    }

    #[test]
    fn bad_scale_falls_back_to_one() {
        assert_eq!(SimClock::with_origin(UNIX_EPOCH, f64::NAN).scale(), 1.0);
        assert_eq!(SimClock::with_origin(UNIX_EPOCH, -2.0).scale(), 1.0);
    }

    #[test]
    fn formats() {
        let t = UNIX_EPOCH + Duration::from_millis(1_440_938_160_999); // 2015-08-30T12:36:00.999Z
        assert_eq!(rfc3339_seconds(t), "2015-08-30T12:36:00Z");
        assert_eq!(amz_date(t), "20150830T123600Z");
        assert_eq!(http_date(t), "Sun, 30 Aug 2015 12:36:00 GMT");
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(UNIX_EPOCH + Duration::from_secs(1_440_938_160)));
        for bad in
            ["", "20150830T123600", "2015083OT123600Z", "20151330T123600Z", "20150830T256000Z", "2015-08-30T12:3Z", "２０15083T123600Z"]
        {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
        assert_eq!(epoch_millis(t), 1_440_938_160_999);
        assert_eq!(rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(400_000_000_000)), "9999-12-31T23:59:59Z");
    }
}
