//! Event time: one type for "when did this event happen", and where each
//! supported export keeps it.
//!
//! This module owns turning the time values that exports write into one
//! [`EventTime`] (microseconds since the Unix epoch, UTC) and back into ISO
//! 8601 text. The compiled ruleset always extracts the time fields the
//! event formats declare (see below and [`crate::compile::RulesetBuilder`]);
//! the engine reads the time of matched events only, so the single-event
//! path pays nothing for events that match no rule.
//!
//! Where each format keeps its time, in the order tried (each format module
//! declares its `TIME_FIELDS`: [`crate::event::timesketch`],
//! [`crate::event::plaso`], [`crate::event::evtx_dump`]):
//!
//! | field | format | how it is read |
//! |---|---|---|
//! | `datetime` | Timesketch JSONL / CSV | ISO 8601 / RFC 3339 text |
//! | `timestamp` | Plaso `json_line`, Timesketch | integer microseconds since the epoch (Plaso's and Timesketch's unit) |
//! | `SystemTime` | `evtx_dump` (`Event.System.TimeCreated.#attributes.SystemTime`, flattened) and Plaso's `xml_string` | ISO 8601 text with 7 fractional digits |
//!
//! Plaso writes FILETIME 0 ("Not set", 1601-01-01) as `timestamp`
//! `-11644473600000000` for the second copy of every Windows record; that
//! value is treated as no time, so the record's `SystemTime` (from its XML)
//! is used instead and both copies carry the record's real time.

use std::fmt;

/// Plaso's `timestamp` for a FILETIME of 0, its "Not set" date-time value.
const PLASO_NOT_SET: i64 = -11_644_473_600_000_000;

/// A point in time: microseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventTime(i64);

/// Time text that is not ISO 8601.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an ISO 8601 date or date-time (e.g. 2019-04-27, 2019-04-27T15:57:25Z, 2019-04-27 15:57:25.868+02:00)")]
pub struct TimeParseError(pub String);

impl EventTime {
    /// From microseconds since the epoch.
    pub const fn from_micros(us: i64) -> EventTime {
        EventTime(us)
    }

    /// Microseconds since the epoch.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// Parses ISO 8601 / RFC 3339 text: a date (`2019-04-27`, midnight UTC),
    /// a date-time with `T` or a space, with or without fractional seconds
    /// (up to nanoseconds, truncated to microseconds), with `Z`, an offset,
    /// or neither (then UTC, as Timesketch and `evtx_dump` write UTC).
    pub fn parse(text: &str) -> Result<EventTime, TimeParseError> {
        let t = text.trim();
        let err = || TimeParseError(text.to_string());
        if let Ok(ts) = t.parse::<jiff::Timestamp>() {
            return Ok(EventTime(ts.as_microsecond()));
        }
        // No offset: a civil date-time or date, read as UTC.
        let civil = t
            .parse::<jiff::civil::DateTime>()
            .or_else(|_| t.parse::<jiff::civil::Date>().map(|d| d.to_datetime(jiff::civil::Time::midnight())))
            .map_err(|_| err())?;
        let ts = civil
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|_| err())?
            .timestamp();
        Ok(EventTime(ts.as_microsecond()))
    }

    /// A JSON number taken as a time: Plaso and Timesketch write
    /// microseconds. `None` for Plaso's "Not set" value.
    pub fn from_plaso_micros(us: i64) -> Option<EventTime> {
        (us != PLASO_NOT_SET).then_some(EventTime(us))
    }

    /// A number in a field the user named (`--time-field`): seconds,
    /// milliseconds or microseconds since the epoch, told apart by magnitude
    /// (below 10^11 seconds, below 10^14 milliseconds, else microseconds:
    /// unambiguous for 1973-2286).
    pub fn from_epoch_number(n: f64) -> Option<EventTime> {
        if !n.is_finite() {
            return None;
        }
        let a = n.abs();
        let us = if a < 1e11 {
            n * 1e6
        } else if a < 1e14 {
            n * 1e3
        } else {
            n
        };
        (us.abs() < 9.2e18).then_some(EventTime(us as i64))
    }

    /// ISO 8601 in UTC with microseconds, e.g. `2019-04-27T15:57:25.868863Z`
    /// (sorts as text in time order for years 0000-9999).
    pub fn to_iso(self) -> String {
        match jiff::Timestamp::from_microsecond(self.0) {
            Ok(ts) => format!("{:.6}", ts),
            Err(_) => format!("@{}us", self.0),
        }
    }
}

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

impl std::str::FromStr for EventTime {
    type Err = TimeParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventTime::parse(s)
    }
}

/// Reads one value of a time field: numbers through `number`, text as ISO
/// 8601 (a text of digits only is read as a number).
pub(crate) fn from_value(
    v: crate::event::Val<'_>,
    number: fn(f64) -> Option<EventTime>,
) -> Option<EventTime> {
    use crate::event::Kind;
    match v.kind {
        Kind::Num => number(v.raw.parse::<f64>().ok()?),
        Kind::Str => {
            let s = v.raw.trim();
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
                number(s.parse::<f64>().ok()?)
            } else {
                EventTime::parse(s).ok()
            }
        }
        _ => None,
    }
}

/// The number reader for a built-in time field (`timestamp`: microseconds).
pub(crate) fn builtin_number(n: f64) -> Option<EventTime> {
    if !n.is_finite() || n.abs() > 9.2e18 {
        return None;
    }
    EventTime::from_plaso_micros(n as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> String {
        EventTime::parse(s).unwrap().to_iso()
    }

    #[test]
    fn parses_the_forms_exports_write() {
        // evtx_dump: 7 fractional digits, Z.
        assert_eq!(iso("2019-04-27T15:57:25.8688632Z"), "2019-04-27T15:57:25.868863Z");
        // Timesketch datetime: RFC 3339 with offset.
        assert_eq!(iso("2015-07-24T19:01:01+00:00"), "2015-07-24T19:01:01.000000Z");
        assert_eq!(iso("2015-07-24T21:01:01+02:00"), "2015-07-24T19:01:01.000000Z");
        // Sysmon UtcTime: space, no offset (UTC).
        assert_eq!(iso("2019-04-27 15:57:25.868"), "2019-04-27T15:57:25.868000Z");
        // A date alone: midnight UTC.
        assert_eq!(iso("2019-04-27"), "2019-04-27T00:00:00.000000Z");
        assert!(EventTime::parse("yesterday").is_err());
        assert!(EventTime::parse("").is_err());
    }

    #[test]
    fn plaso_not_set_is_no_time() {
        assert_eq!(EventTime::from_plaso_micros(-11_644_473_600_000_000), None);
        let t = EventTime::from_plaso_micros(1_556_380_645_868_863).unwrap();
        assert_eq!(t.to_iso(), "2019-04-27T15:57:25.868863Z");
    }

    #[test]
    fn epoch_numbers_by_magnitude() {
        let s = EventTime::from_epoch_number(1_556_380_645.0).unwrap();
        let ms = EventTime::from_epoch_number(1_556_380_645_000.0).unwrap();
        let us = EventTime::from_epoch_number(1_556_380_645_000_000.0).unwrap();
        assert_eq!(s, ms);
        assert_eq!(ms, us);
        assert_eq!(EventTime::from_epoch_number(f64::NAN), None);
    }

    #[test]
    fn iso_text_sorts_in_time_order() {
        let a = EventTime::parse("2019-04-27T09:00:00Z").unwrap();
        let b = EventTime::parse("2019-04-27T10:00:00.5Z").unwrap();
        assert!(a < b && a.to_iso() < b.to_iso());
    }
}
