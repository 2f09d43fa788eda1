//! Time: whole seconds since the epoch, and the one clock that tests can move.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::CoreError;
use crate::id::truncate_for_message;

/// An instant in whole seconds since the Unix epoch, UTC. Rendered as `2026-01-15T09:00:00Z`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The earliest and latest instants any dialect can write (years 1 and 9999).
    pub const MIN: Timestamp = Timestamp(-62_135_596_800);
    pub const MAX: Timestamp = Timestamp(253_402_300_799);

    pub fn from_unix(seconds: i64) -> Self {
        Self(seconds.clamp(Self::MIN.0, Self::MAX.0))
    }

    pub const fn unix(self) -> i64 {
        self.0
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self::from_unix(self.0.saturating_add(seconds))
    }

    fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.0).expect("clamped to a representable range")
    }

    /// ISO 8601 / RFC 3339 in UTC, to the second.
    pub fn rfc3339(self) -> String {
        self.to_string()
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, digit by digit: every token a response shows has three, and
    /// `write!` with six padded numbers cost more than the rest of a verification's body.
    fn rfc3339_ascii(self) -> [u8; 20] {
        let at = self.to_datetime();
        let mut out = *b"0000-00-00T00:00:00Z";
        // Years 1 to 9999 (the clamp): four digits, never a sign.
        let year = at.year().unsigned_abs();
        for (place, digit) in out[..4].iter_mut().rev().zip([1, 10, 100, 1000]) {
            *place = b'0' + (year / digit % 10) as u8;
        }
        let parts = [
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
        ];
        for (start, part) in [5, 8, 11, 14, 17].into_iter().zip(parts) {
            out[start] = b'0' + part / 10;
            out[start + 1] = b'0' + part % 10;
        }
        out
    }

    /// `YYYY-MM-DD`, as Turso shows creation dates.
    pub fn date(self) -> String {
        String::from_utf8_lossy(&self.rfc3339_ascii()[..10]).into_owned()
    }

    /// Parses an RFC 3339 datetime (`2027-01-15T09:00:00Z`, any offset, fractions dropped).
    pub fn parse(field: &'static str, input: &str) -> Result<Self, CoreError> {
        OffsetDateTime::parse(input, &Rfc3339)
            .map(|dt| Self::from_unix(dt.unix_timestamp()))
            .map_err(|_| {
                CoreError::unprocessable(
                    field,
                    format!(
                        "'{}' is not an ISO 8601 datetime such as 2027-01-15T09:00:00Z",
                        truncate_for_message(input)
                    ),
                )
            })
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, to the second: what [`Timestamp::rfc3339`] returns, written in place.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ascii = self.rfc3339_ascii();
        f.write_str(std::str::from_utf8(&ascii).map_err(|_| fmt::Error)?)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ascii = self.rfc3339_ascii();
        s.serialize_str(std::str::from_utf8(&ascii).map_err(serde::ser::Error::custom)?)
    }
}

/// Where every part of latchkey reads the time, so tests can move it instead of sleeping.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix(seconds_since_epoch())
    }
}

/// Whole seconds since the epoch, without working out a calendar date: verification reads the
/// clock on every call. On Linux from the coarse clock, which the kernel sets at each tick (a
/// few milliseconds apart): it reads no time counter, a fifth of the precise clock's cost (a
/// sixteenth of an in-process verify), and a count of whole seconds loses nothing by it but
/// up to a tick at each second's turn.
#[cfg(target_os = "linux")]
fn seconds_since_epoch() -> i64 {
    rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse).tv_sec
}

#[cfg(not(target_os = "linux"))]
fn seconds_since_epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
}

/// A clock that stands still until told to move. For tests.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self(Arc::new(AtomicI64::new(start.0)))
    }

    /// Starts at the system's present.
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now())
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    pub fn set(&self, to: Timestamp) {
        self.0.store(to.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_reads_the_seconds_of_the_precise_one() {
        let precise = || {
            let since = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            i64::try_from(since.as_secs()).unwrap()
        };
        let before = precise();
        let now = SystemClock.now().unix();
        let after = precise();
        // The coarse clock may still show the second before for a tick after it turned.
        assert!(
            (before - 1..=after).contains(&now),
            "{before} {now} {after}"
        );
    }

    #[test]
    fn formats_and_parses() {
        let t = Timestamp::parse("expires_at", "2027-01-15T09:00:00Z").unwrap();
        assert_eq!(t.rfc3339(), "2027-01-15T09:00:00Z");
        assert_eq!(t.date(), "2027-01-15");
        let offset = Timestamp::parse("expires_at", "2027-01-15T10:00:00.75+01:00").unwrap();
        assert_eq!(offset, t);
        assert!(matches!(
            Timestamp::parse("expires_at", "tomorrow"),
            Err(CoreError::Unprocessable(_))
        ));
    }

    #[test]
    fn writes_what_rfc3339_parsing_reads_back_across_the_whole_range() {
        let mut at = Timestamp::MIN.unix();
        while at < Timestamp::MAX.unix() {
            let t = Timestamp::from_unix(at);
            let written = t.to_string();
            let expected = t.to_datetime().format(&Rfc3339).expect("formats");
            assert_eq!(written, expected);
            assert_eq!(Timestamp::parse("at", &written).unwrap(), t);
            at += 86_400 * 365 + 3_727;
        }
        assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59Z");
        assert_eq!(Timestamp::MIN.to_string(), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp::from_unix(100));
        clock.advance(5);
        assert_eq!(clock.now().unix(), 105);
    }
}
