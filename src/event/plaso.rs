//! Plaso `json_line` events: what Plaso's JSON means beyond generic JSON.
//!
//! This module owns, for the generic [`EventView`]:
//!
//! * Windows records: Plaso's `winevtx` parser keeps the EventData names
//!   only in `xml_string`; fields a rule references and the top level lacks
//!   are resolved from it ([`evtx_xml`] parses it), with Plaso's zero-padded
//!   hexadecimal values also in their Windows form (`windows_hex`);
//! * record identity: the two events Plaso writes per Windows record (one
//!   per timestamp) share a [`record_key`], so `records` counts them once;
//! * the host-name alias ([`HOST_NAME_ALIAS`]);
//! * where its time is: `timestamp`, microseconds since the epoch.

pub mod evtx_xml;
mod select;

use simd_json::Node;

use super::{EventView, FieldId, FieldIndex, Kind, Origin, Span, evtx};
use evtx_xml::EvtxFields;
use select::Selected;

/// Where a Plaso event's time is: `timestamp`, microseconds since the epoch
/// (FILETIME 0, "Not set", reads as no time; see [`crate::event::time`]).
pub const TIME_FIELDS: &[&str] = &["timestamp"];

/// Event-side field aliases, `(target, source)`: when a rule references
/// `target` and the event lacks it, `target` takes the values of `source`.
/// Current Plaso writes `hostname` where older versions (and the Timesketch
/// config) say `computer_name`, so either name finds both. On by default;
/// [`super::FormatOptions::host_name_alias`] turns it off.
pub const HOST_NAME_ALIAS: &[(&str, &str)] =
    &[("computer_name", "hostname"), ("hostname", "computer_name")];

/// Parsed `xml_string`s kept for repeats ([`State::xml_recent`]).
const XML_RECENT: usize = 4;

/// Plaso's state in an [`EventView`].
#[derive(Default)]
pub(super) struct State {
    /// Set while loading: where the text of `xml_string` is.
    xml: Option<Span>,
    /// Set while loading: Plaso's source file (`display_name`, else
    /// `filename`) and `record_number`, for [`record_key`].
    source: Option<Span>,
    filename: Option<Span>,
    number: Option<Span>,
    /// Fields whose current values came from the XML.
    xml_fields: Vec<FieldId>,
    /// Recently read `xml_string`s with their referenced fields, most
    /// recent last (kept across events): Plaso writes a Windows record once
    /// per timestamp, mostly a few lines apart, so the XML of a repeat is
    /// not read again.
    xml_recent: Vec<(String, Selected)>,
    /// The [`FieldIndex::stamp`] `xml_recent` was selected for.
    xml_stamp: u64,
    /// Scratch for records read in full.
    xml_full: EvtxFields,
}

impl State {
    /// Forgets the last event (not the parsed XML kept for repeats).
    pub(super) fn clear(&mut self) {
        self.xml = None;
        self.source = None;
        self.filename = None;
        self.number = None;
        self.xml_fields.clear();
    }
}

/// Keeps the text of the top-level keys Plaso's hooks read.
#[inline]
pub(super) fn top_key(v: &mut EventView, key: &str, value: Option<&Node>) {
    match key {
        "xml_string" => v.plaso.xml = v.capture(value),
        "display_name" => v.plaso.source = v.capture(value),
        "filename" => v.plaso.filename = v.capture(value),
        "record_number" => v.plaso.number = v.capture(value),
        _ => {}
    }
}

/// After the walk: the host-name alias, then fields from `xml_string`.
pub(super) fn finish(v: &mut EventView, index: &FieldIndex) {
    if v.options.host_name_alias {
        for (target, source) in HOST_NAME_ALIAS {
            v.fill_alias(index, target, source);
        }
    }
    if v.options.evtx_xml {
        resolve_xml(v, index);
    }
}

/// Windows records: fills referenced fields that are absent at the top
/// level from the record XML (read at most once per event, and only for
/// the fields the index references: [`select`]).
fn resolve_xml(v: &mut EventView, index: &FieldIndex) {
    let Some(span) = v.plaso.xml else { return };
    if v.plaso.xml_stamp != index.stamp() {
        // What was selected for another index does not hold for this one.
        v.plaso.xml_recent.clear();
        v.plaso.xml_stamp = index.stamp();
    }
    let xml = super::span_str(&v.text, &v.line, span);
    let recent = &mut v.plaso.xml_recent;
    let (text, selected) = match recent.iter().position(|(t, _)| t == xml) {
        Some(i) => recent.remove(i),
        None => {
            let (mut text, mut selected) = if recent.len() >= XML_RECENT {
                recent.remove(0)
            } else {
                Default::default()
            };
            text.clear();
            text.push_str(xml);
            selected.fill_for(&text, &mut v.plaso.xml_full, index);
            (text, selected)
        }
    };
    for (id, from_system, value) in selected.iter() {
        // Top-level values win; the XML only fills what is missing.
        if v.has(id) && !v.plaso.xml_fields.contains(&id) {
            continue;
        }
        evtx::before_value(v, id, from_system);
        v.push_id(index, Some(id), Kind::Str, value, Origin::Derived);
        if let Some(short) = windows_hex(value) {
            v.push_id(index, Some(id), Kind::Str, &short, Origin::Derived);
        }
        evtx::after_value(v, id, from_system);
        if !v.plaso.xml_fields.contains(&id) {
            v.plaso.xml_fields.push(id);
        }
    }
    v.plaso.xml_recent.push((text, selected));
}

/// Identifies the Windows record behind a Plaso event, so the two events
/// Plaso writes per record (one per timestamp) count once: a hash of the
/// source file (`display_name`, else `filename`), `record_number` (the
/// record's position in the file), the XML `EventRecordID`, and the XML
/// text itself: Plaso also writes recovered copies of a record with the
/// same record number and `EventRecordID` but other content. `None` for
/// events without `xml_string` (each is its own record).
pub fn record_key(v: &EventView) -> Option<u64> {
    use std::hash::BuildHasher;
    let xml = v.span(v.plaso.xml)?;
    static ERID: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new("<EventRecordID>"));
    let erid = ERID
        .find(xml.as_bytes())
        .map(|i| &xml[i + "<EventRecordID>".len()..])
        .and_then(|rest| memchr::memchr(b'<', rest.as_bytes()).map(|j| &rest[..j]));
    let source = v.span(v.plaso.source).or(v.span(v.plaso.filename));
    // A fixed seed: keys must agree across threads. foldhash hashes
    // the multi-KB XML several times faster than SipHash.
    let state = foldhash::quality::FixedState::with_seed(0x5265_636f_7264);
    Some(state.hash_one((source, v.span(v.plaso.number), erid, xml)))
}

/// The Windows rendering of a hexadecimal value that Plaso zero-padded.
///
/// libfwevt (Plaso's EVTX reader) formats `win:HexInt32`/`win:HexInt64`
/// values as `0x%08x`/`0x%016x` (`GrantedAccess` `0x001fffff`,
/// `SubjectLogonId` `0x00000000000003e7`), where Windows, `evtx_dump` and
/// the SigmaHQ rules written against them say `0x1fffff` and `0x3e7`. For a
/// value of exactly 8 or 16 lower-case hex digits with a leading zero this
/// returns the unpadded form; the event view keeps *both* values for the
/// field (a field with several values matches when any does), because a
/// few providers write such strings themselves (Sysmon 8 `StartAddress`
/// `0x00590000`, which `evtx_dump` shows padded too). Joining Plaso and
/// `evtx_dump` exports of the same EVTX files by record, this padding is
/// the one way their `EventData` values differ.
fn windows_hex(v: &str) -> Option<String> {
    let digits = v.strip_prefix("0x")?;
    let ok = matches!(digits.len(), 8 | 16)
        && digits.starts_with('0')
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    ok.then(|| {
        let t = digits.trim_start_matches('0');
        format!("0x{}", if t.is_empty() { "0" } else { t })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventView;
    use crate::event::tests::{index, raws};

    #[test]
    fn plaso_hex_padding_gets_the_windows_form_too() {
        assert_eq!(windows_hex("0x001fffff").as_deref(), Some("0x1fffff"));
        assert_eq!(windows_hex("0x00000000000003e7").as_deref(), Some("0x3e7"));
        assert_eq!(windows_hex("0x00000000").as_deref(), Some("0x0"));
        assert_eq!(windows_hex("0x8000000000000000"), None);
        assert_eq!(windows_hex("0x001A0000"), None);
        assert_eq!(windows_hex("0x0123"), None);
        assert_eq!(windows_hex("x001fffff"), None);
        let i = index(&["GrantedAccess", "Image"]);
        let mut v = EventView::new();
        let line = br#"{"xml_string":"<Event><System><EventID>10</EventID></System><EventData><Data Name=\"GrantedAccess\">0x001fffff</Data><Data Name=\"Image\">0x00000001</Data></EventData></Event>"}"#;
        v.load(line, &i).unwrap();
        assert_eq!(
            raws(&v, &i, "GrantedAccess"),
            vec!["0x001fffff", "0x1fffff"]
        );
        v.options.evtx_xml = false;
        v.load(line, &i).unwrap();
        assert!(!v.has(i.get("GrantedAccess").unwrap()));
    }

    /// A repeated `xml_string` (Plaso writes a record once per timestamp)
    /// resolves from the parsed copy, and still to its own fields, whatever
    /// came between; top-level values keep winning.
    #[test]
    fn repeated_xml_is_resolved_from_the_parsed_copy() {
        let i = index(&["Image", "User"]);
        let mut v = EventView::new();
        let a = br#"{"xml_string":"<Event><EventData><Data Name=\"Image\">a.exe</Data></EventData></Event>"}"#;
        let b = br#"{"xml_string":"<Event><EventData><Data Name=\"Image\">b.exe</Data></EventData></Event>"}"#;
        let a_top = br#"{"Image":"top.exe","xml_string":"<Event><EventData><Data Name=\"Image\">a.exe</Data></EventData></Event>"}"#;
        let broken =
            br#"{"xml_string":"<Event><EventData><Data Name=\"User\">u</Data></EventData><Even"}"#;
        for line in [&a[..], b, a, broken, a_top, b, a, broken] {
            v.load(line, &i).unwrap();
            let want = match line {
                l if l == a_top => vec!["top.exe"],
                l if l == a => vec!["a.exe"],
                l if l == b => vec!["b.exe"],
                _ => vec![],
            };
            assert_eq!(raws(&v, &i, "Image"), want);
            // The fields completed before an XML error are used, each time.
            assert_eq!(v.has(i.get("User").unwrap()), line == broken);
        }
        for n in 0..10 {
            let line = format!(
                r#"{{"xml_string":"<Event><EventData><Data Name=\"Image\">{n}.exe</Data></EventData></Event>"}}"#
            );
            v.load(line.as_bytes(), &i).unwrap();
            assert_eq!(raws(&v, &i, "Image"), vec![format!("{n}.exe")]);
        }
        assert!(v.plaso.xml_recent.len() <= XML_RECENT);
    }

    #[test]
    fn hostname_and_computer_name_find_each_other() {
        let i = index(&["computer_name", "hostname"]);
        let mut v = EventView::new();
        v.load(br#"{"hostname":"IEWIN7"}"#, &i).unwrap();
        assert_eq!(raws(&v, &i, "computer_name"), vec!["IEWIN7"]);
        v.load(br#"{"computer_name":"DESKTOP-B0TAAAA"}"#, &i)
            .unwrap();
        assert_eq!(raws(&v, &i, "hostname"), vec!["DESKTOP-B0TAAAA"]);
        v.load(br#"{"computer_name":"a","hostname":"b"}"#, &i)
            .unwrap();
        assert_eq!(raws(&v, &i, "computer_name"), vec!["a"]);
    }

    #[test]
    fn host_name_alias_can_be_turned_off() {
        let i = index(&["computer_name", "hostname"]);
        let mut v = EventView::new();
        v.options.host_name_alias = false;
        v.load(br#"{"hostname":"IEWIN7"}"#, &i).unwrap();
        assert!(!v.has(i.get("computer_name").unwrap()));
        assert_eq!(raws(&v, &i, "hostname"), vec!["IEWIN7"]);
    }

    #[test]
    fn record_key_identifies_the_record_not_the_event() {
        let i = index(&["x"]);
        let mut v = EventView::new();
        let key = |v: &mut EventView, line: &str| {
            v.load(line.as_bytes(), &i).unwrap();
            v.record_key()
        };
        let a = key(
            &mut v,
            r#"{"display_name":"OS:/a.evtx","record_number":2,"timestamp_desc":"Creation Time","xml_string":"<Event><System><EventRecordID>9826</EventRecordID></System></Event>"}"#,
        );
        let b = key(
            &mut v,
            r#"{"display_name":"OS:/a.evtx","record_number":2,"timestamp_desc":"Content Modification Time","xml_string":"<Event><System><EventRecordID>9826</EventRecordID></System></Event>"}"#,
        );
        let c = key(
            &mut v,
            r#"{"display_name":"OS:/b.evtx","record_number":2,"xml_string":"<Event><System><EventRecordID>9826</EventRecordID></System></Event>"}"#,
        );
        let recovered = key(
            &mut v,
            r#"{"display_name":"OS:/a.evtx","record_number":2,"xml_string":"<Event><System><EventRecordID>9826</EventRecordID><Level>0</Level></System></Event>"}"#,
        );
        assert_ne!(a, recovered);
        let d = key(
            &mut v,
            r#"{"filename":"/a.evtx","record_number":3,"xml_string":"<Event><System><EventRecordID>9826</EventRecordID></System></Event>"}"#,
        );
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(key(&mut v, r#"{"record_number":2}"#), None);
    }
}
