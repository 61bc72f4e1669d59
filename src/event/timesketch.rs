//! Timesketch JSONL events (Timesketch's import format): generic JSON with
//! `message`, `datetime` and `timestamp_desc`; the one thing this format adds
//! is where its time is.

/// Where a Timesketch event's time is: `datetime`, ISO 8601 text. (Its
/// `timestamp`, microseconds, is Plaso's, tried next.)
pub const TIME_FIELDS: &[&str] = &["datetime"];
