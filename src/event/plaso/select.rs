//! Reading from `xml_string` only the fields a ruleset references.
//!
//! [`super::evtx_xml`] names *every* field of a record, which a ruleset
//! mostly does not read (`UtcTime`, `ProcessGuid`, `Keywords`, ...): on the
//! Plaso export of EVTX-ATTACK-SAMPLES that naming (tokenizing, copying each
//! name and value, then one field-index lookup per name) was about a third of
//! the per-event cost. [`Selected::fill`] instead walks the XML Windows
//! writes for most records, `System` then `EventData` of `<Data Name="..">`
//! elements, with `memchr`, looks each name up in the field index as it
//! passes, and decodes and copies only the values of referenced fields.
//!
//! It accepts a strict subset of the shape [`super::evtx_xml`] documents:
//! `<Event>` (namespace declarations only), `System` leaves, then sections of
//! leaves (`EventData` with named or unnamed `Data`, `Binary`,
//! `ProcessingErrorData`, ..., and their attributes). It gives up on
//! anything else (`UserData`, `RenderingInfo`, a second `System`, nested
//! elements, comments, references it does not know, quoting it does not
//! expect, any irregularity): the record is then named
//! in full by [`EvtxFields`] and filtered, so the result is, in every case,
//! the fields [`EvtxFields::parse_into`] yields whose (flat) names are
//! referenced, in document order, with where they came from. A test compares
//! both on every record of the shared Plaso export.

use super::super::{FieldId, FieldIndex, evtx};
use super::evtx_xml::EvtxFields;

/// The referenced fields of one record: `(field, from System, value)`, in
/// document order.
#[derive(Default)]
pub(super) struct Selected {
    text: String,
    entries: Vec<(FieldId, bool, (u32, u32))>,
    /// Scratch for names built from an element and an attribute.
    name: String,
}

/// Looks a field up by the flat name rules use for it (`New Value` ->
/// `New_Value`, [`evtx::flat_name`]).
fn lookup_flat(lookup: &mut impl FnMut(&str) -> Option<FieldId>, name: &str) -> Option<FieldId> {
    if name.contains(' ') {
        lookup(&evtx::flat_name(name))
    } else {
        lookup(name)
    }
}

/// Why [`Selected::fast`] stopped (the record is named in full instead).
struct GiveUp;

type Fast<T> = Result<T, GiveUp>;

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\r' | b'\n' | b'\t')
}

/// The bytes of element and attribute names the fast path accepts
/// (`[A-Za-z0-9_.-]`: no namespace prefix; attribute keys may also be
/// `xmlns:..`, checked apart).
static NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.';
        i += 1;
    }
    t
};

/// One start tag: its name, whether it is an empty-element tag, and where
/// the text after it starts; its attributes went to the caller's list.
struct Tag<'x> {
    name: &'x str,
    empty: bool,
    after: usize,
}

/// The start tag at `at` (which holds `<`): `<name( key="value")*( )?/?>`
/// and nothing else. Its attributes `(key, value)`, as written (values hold
/// no `&` or `<`), replace the contents of `attrs`.
fn start_tag<'x>(xml: &'x str, at: usize, attrs: &mut Vec<(&'x str, &'x str)>) -> Fast<Tag<'x>> {
    attrs.clear();
    let b = xml.as_bytes();
    let name_at = at + 1;
    let mut i = name_at;
    match b.get(i) {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {}
        _ => return Err(GiveUp),
    }
    while i < b.len() && NAME_BYTE[b[i] as usize] {
        i += 1;
    }
    let name = &xml[name_at..i];
    loop {
        let spaced = i < b.len() && is_space(b[i]);
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        match *b.get(i).ok_or(GiveUp)? {
            b'>' => {
                return Ok(Tag {
                    name,
                    empty: false,
                    after: i + 1,
                });
            }
            b'/' if b.get(i + 1) == Some(&b'>') => {
                return Ok(Tag {
                    name,
                    empty: true,
                    after: i + 2,
                });
            }
            c if spaced && (c.is_ascii_alphabetic() || c == b'_') => {}
            _ => return Err(GiveUp),
        }
        let key_at = i;
        while i < b.len() && (NAME_BYTE[b[i] as usize] || b[i] == b':') {
            i += 1;
        }
        let key = &xml[key_at..i];
        let prefixed_ok = key.starts_with("xmlns:") && !key.ends_with(':');
        if (key.contains(':') && !prefixed_ok)
            || b.get(i) != Some(&b'=')
            || b.get(i + 1) != Some(&b'"')
        {
            return Err(GiveUp);
        }
        let value_at = i + 2;
        let close = value_at + memchr::memchr(b'"', &b[value_at..]).ok_or(GiveUp)?;
        let value = &xml[value_at..close];
        if value.bytes().any(|c| c == b'&' || c == b'<') {
            return Err(GiveUp);
        }
        attrs.push((key, value));
        i = close + 1;
    }
}

fn is_binding(key: &str) -> bool {
    key == "xmlns" || key.starts_with("xmlns:")
}

impl Selected {
    /// The referenced fields of the record `xml`; `lookup` says which names
    /// are referenced (and as which field). `full` is scratch for records
    /// the fast path does not read.
    pub(super) fn fill(
        &mut self,
        xml: &str,
        full: &mut EvtxFields,
        mut lookup: impl FnMut(&str) -> Option<FieldId>,
    ) {
        if self.fast(xml, &mut lookup).is_ok() {
            return;
        }
        self.text.clear();
        self.entries.clear();
        // On error the fields completed before it are used.
        let _ = full.parse_into(xml);
        for (i, (name, value)) in full.iter().enumerate() {
            if let Some(id) = lookup_flat(&mut lookup, name) {
                self.push(id, full.is_system(i), value);
            }
        }
    }

    /// [`Self::fill`] for a [`FieldIndex`].
    pub(super) fn fill_for(&mut self, xml: &str, full: &mut EvtxFields, index: &FieldIndex) {
        self.fill(xml, full, |name| index.get(name))
    }

    /// `(field, from System, value)`, in document order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (FieldId, bool, &str)> {
        self.entries
            .iter()
            .map(|&(id, sys, (s, e))| (id, sys, &self.text[s as usize..e as usize]))
    }

    fn push(&mut self, id: FieldId, system: bool, value: &str) {
        let s = self.text.len() as u32;
        self.text.push_str(value);
        self.entries.push((id, system, (s, self.text.len() as u32)));
    }

    /// Appends the text `raw` with its references decoded, giving up on a
    /// reference [`EvtxFields`] would not decode.
    fn push_text(&mut self, id: FieldId, system: bool, raw: &str) -> Fast<()> {
        let s = self.text.len() as u32;
        let mut rest = raw;
        while let Some(amp) = memchr::memchr(b'&', rest.as_bytes()) {
            self.text.push_str(&rest[..amp]);
            let after = &rest[amp + 1..];
            let semi = memchr::memchr(b';', after.as_bytes()).ok_or(GiveUp)?;
            if !super::evtx_xml::push_reference(&mut self.text, &after[..semi]) {
                return Err(GiveUp);
            }
            rest = &after[semi + 1..];
        }
        self.text.push_str(rest);
        self.entries.push((id, system, (s, self.text.len() as u32)));
        Ok(())
    }

    /// The fields of the attributes of an element without text (in
    /// `System` or not), named as [`super::evtx_xml`] documents; whether it
    /// had any (namespace declarations aside).
    fn attr_fields(
        &mut self,
        system: bool,
        element: &str,
        attrs: &[(&str, &str)],
        lookup: &mut impl FnMut(&str) -> Option<FieldId>,
    ) -> bool {
        let mut any = false;
        for &(key, value) in attrs {
            if is_binding(key) {
                continue;
            }
            any = true;
            let both = system
                && ((element == "TimeCreated" && key == "SystemTime")
                    || (element == "Security" && key == "UserID"));
            let correlation = system && element == "Correlation";
            if (both || correlation)
                && let Some(id) = lookup(key)
            {
                self.push(id, system, value);
            }
            if !correlation {
                let mut name = std::mem::take(&mut self.name);
                name.clear();
                name.push_str(element);
                name.push('_');
                name.push_str(key);
                if let Some(id) = lookup(&name) {
                    self.push(id, system, value);
                }
                self.name = name;
            }
        }
        any
    }

    /// The fast path: `<Event>` (namespace declarations only), `<System>`
    /// with leaves, then sections of leaves (see the module docs).
    fn fast(&mut self, xml: &str, lookup: &mut impl FnMut(&str) -> Option<FieldId>) -> Fast<()> {
        self.text.clear();
        self.entries.clear();
        let b = xml.as_bytes();
        // Whitespace only, then `<`: the position of that `<`.
        let next_lt = |from: usize| -> Fast<usize> {
            let lt = from + memchr::memchr(b'<', &b[from..]).ok_or(GiveUp)?;
            if b[from..lt].iter().all(|&c| is_space(c)) {
                Ok(lt)
            } else {
                Err(GiveUp)
            }
        };
        // `</name>` at `at`: where it ends.
        let end_tag = |at: usize, name: &str| -> Fast<usize> {
            let rest = &xml[at..];
            if rest.starts_with("</")
                && rest[2..].starts_with(name)
                && rest.as_bytes().get(2 + name.len()) == Some(&b'>')
            {
                Ok(at + 3 + name.len())
            } else {
                Err(GiveUp)
            }
        };
        let mut attrs = Vec::new();
        let root = start_tag(xml, next_lt(0)?, &mut attrs)?;
        if root.empty {
            return Err(GiveUp);
        }
        if !attrs.iter().all(|(key, _)| is_binding(key)) {
            return Err(GiveUp);
        }
        let mut at = root.after;
        let mut seen_section = false;
        loop {
            let lt = next_lt(at)?;
            if b.get(lt + 1) == Some(&b'/') {
                end_tag(lt, root.name)?;
                return Ok(());
            }
            let section = start_tag(xml, lt, &mut attrs)?;
            let system = match section.name {
                "System" if !seen_section => true,
                "System" | "RenderingInfo" => return Err(GiveUp),
                _ => false,
            };
            seen_section = true;
            if system && !attrs.is_empty() {
                return Err(GiveUp);
            }
            // A payload section's attributes are fields at once.
            self.attr_fields(false, section.name, &attrs, lookup);
            at = section.after;
            if section.empty {
                continue;
            }
            loop {
                let lt = next_lt(at)?;
                if b.get(lt + 1) == Some(&b'/') {
                    at = end_tag(lt, section.name)?;
                    break;
                }
                let leaf = start_tag(xml, lt, &mut attrs)?;
                // The leaf's text, up to its end tag.
                let (text, after) = if leaf.empty {
                    ("", leaf.after)
                } else {
                    let close =
                        leaf.after + memchr::memchr(b'<', &b[leaf.after..]).ok_or(GiveUp)?;
                    (&xml[leaf.after..close], end_tag(close, leaf.name)?)
                };
                at = after;
                let name = if system || leaf.name != "Data" {
                    // A leaf without text: its attributes (none: in a
                    // payload, the element itself, empty).
                    if text.is_empty()
                        && (self.attr_fields(system, leaf.name, &attrs, lookup) || system)
                    {
                        continue;
                    }
                    leaf.name
                } else {
                    match attrs.as_slice() {
                        [("Name", name)] if !name.is_empty() => *name,
                        [] => "Data",
                        _ => return Err(GiveUp),
                    }
                };
                match lookup_flat(lookup, name) {
                    Some(id) => self.push_text(id, system, text)?,
                    // Decoded or not, a reference must be one the full
                    // reader decodes the same way.
                    None if text.contains('&') => self.check_text(text)?,
                    None => {}
                }
            }
        }
    }

    /// Gives up when `text` holds a reference the full reader would keep
    /// literally or read differently.
    fn check_text(&mut self, text: &str) -> Fast<()> {
        let mark = (self.text.len(), self.entries.len());
        let r = self.push_text(0, false, text);
        self.text.truncate(mark.0);
        self.entries.truncate(mark.1);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name interned as it is asked for: the selection then holds
    /// every field, and must equal the full reading.
    fn all_names(xml: &str) -> (Vec<(String, bool, String)>, bool) {
        let mut index = FieldIndex::default();
        let mut sel = Selected::default();
        let fast = {
            let mut lookup = |n: &str| Some(index.intern(n));
            sel.fast(xml, &mut lookup).is_ok()
        };
        let mut full = EvtxFields::default();
        if !fast {
            sel.fill(xml, &mut full, |n| Some(index.intern(n)));
        }
        let got = sel
            .iter()
            .map(|(id, sys, v)| (index.name(id).to_string(), sys, v.to_string()))
            .collect();
        (got, fast)
    }

    fn expected(xml: &str) -> Vec<(String, bool, String)> {
        let mut full = EvtxFields::default();
        let _ = full.parse_into(xml);
        full.iter()
            .enumerate()
            .map(|(i, (n, v))| (evtx::flat_name(n), full.is_system(i), v.to_string()))
            .collect()
    }

    #[track_caller]
    fn same(xml: &str, fast: bool) {
        let (got, was_fast) = all_names(xml);
        assert_eq!(got, expected(xml), "{xml}");
        assert_eq!(was_fast, fast, "fast path taken? {xml}");
    }

    #[test]
    fn fast_path_and_its_limits() {
        let sys = r#"<System><Provider Name="P" Guid="{G}"/><EventID Qualifiers="1">7</EventID><TimeCreated SystemTime="T"/><Correlation ActivityID="A"/><Security UserID="S"/><Security/><Level></Level><Computer>a &amp; b &#x41;</Computer></System>"#;
        let ed = r#"<EventData><Data Name="Image">C:\x.exe</Data><Data Name="New Value"/><Data Name="E"></Data><Data Name="Q">&lt;&quot;&gt;</Data></EventData>"#;
        same(
            &format!(r#"<Event xmlns="http://x">{sys}{ed}</Event>"#),
            true,
        );
        same(&format!("<Event>\n  {sys}\n  {ed}\n</Event>\n"), true);
        same(&format!("<Event>{sys}</Event>"), true);
        same(&format!("<Event>{ed}</Event>"), true);
        same("<Event></Event>", true);
        same(
            &format!("<Event>{sys}{ed}{ed}<EventData/><EventData a=\"1\" xmlns=\"x\"/></Event>"),
            true,
        );
        same(
            "<Event><EventData><Data>1</Data><Data>2</Data><Binary>00</Binary><E/><F a=\"1\"/><G xmlns=\"x\"/></EventData></Event>",
            true,
        );
        same(
            "<Event><EventData Name=\"n\"><Data Name=\"a\">1</Data></EventData><ProcessingErrorData><ErrorCode>1</ErrorCode></ProcessingErrorData></Event>",
            true,
        );
        same(
            r#"<Event><System><Execution ProcessID="1>2" ThreadID=""/></System></Event>"#,
            true,
        );
        // Everything else is read in full.
        for xml in [
            format!("<Event a=\"1\">{sys}</Event>"),
            format!("<Event>{ed}{sys}</Event>"),
            format!("<Event>{sys}{sys}</Event>"),
            "<Event><System a=\"1\"></System></Event>".into(),
            "<Event><EventData><Data Name=\"\">1</Data><Data xmlns=\"x\">2</Data></EventData></Event>".into(),
            format!("<Event>{sys}<UserData><X><Y>1</Y></X></UserData></Event>"),
            "<Event><EventData><Data Name=\"a\" b=\"c\">1</Data></EventData></Event>".into(),
            "<Event><EventData><Data Name=\"\">1</Data></EventData></Event>".into(),
            "<Event><EventData><Data Name=\"a&amp;\">1</Data></EventData></Event>".into(),
            "<Event><EventData><Data Name='a'>1</Data></EventData></Event>".into(),
            "<Event><EventData><Data Name=\"a\">x &unknown; y</Data></EventData></Event>".into(),
            "<Event><EventData><Data Name=\"a\">x & y</Data></EventData></Event>".into(),
            "<Event><EventData><Data Name=\"a\">&#0;</Data></EventData></Event>".into(),
            "<Event><EventData><Data Name=\"a\">1<!-- c --></Data></EventData></Event>".into(),
            "<Event><System><EventID>1</EventID></System><RenderingInfo><Level>x</Level></RenderingInfo></Event>".into(),
            "<Event><System><e:EventID>1</e:EventID></System></Event>".into(),
            "<Event><System><EventID>1</EventID >junk</System></Event>".into(),
            "<Event><System><EventID>1</EventID></System>".into(),
            "<Event><System><Level a=\"1\"></Level><Execution ProcessID=\"1\" x:y=\"2\"/></System></Event>".into(),
            "<Event><System><X><Y>1</Y></X></System></Event>".into(),
            "<Event><System>text<EventID>1</EventID></System></Event>".into(),
            "\u{feff}<Event></Event>".into(),
            "<?xml version=\"1.0\"?><Event></Event>".into(),
            "<Event/>".into(),
            "".into(),
        ] {
            same(&xml, false);
        }
    }

    /// Only referenced names are kept, in order, System and EventData
    /// values of one name both.
    #[test]
    fn keeps_only_referenced_fields() {
        let mut index = FieldIndex::default();
        let (image, channel, sys_time, new_value) = (
            index.intern("Image"),
            index.intern("Channel"),
            index.intern("TimeCreated_SystemTime"),
            index.intern("NewValue"),
        );
        let xml = r#"<Event><System><Channel>Security</Channel><TimeCreated SystemTime="T"/></System><EventData><Data Name="Channel">Cleared</Data><Data Name="Image">a.exe</Data><Data Name="Other">o</Data><Data Name="New Value">n</Data></EventData></Event>"#;
        let mut sel = Selected::default();
        sel.fill_for(xml, &mut EvtxFields::default(), &index);
        let got: Vec<_> = sel.iter().collect();
        assert_eq!(
            got,
            [
                (channel, true, "Security"),
                (sys_time, true, "T"),
                (channel, false, "Cleared"),
                (image, false, "a.exe"),
                (new_value, false, "n"),
            ]
        );
    }

    /// Damaged copies of real records (characters removed, repeated or
    /// replaced by markup): the fast path and the full reading agree on
    /// every one, whichever path reads it.
    #[test]
    fn damaged_records_agree() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/plaso/plaso-sample.jsonl"
        );
        let text = std::fs::read_to_string(path).expect("read plaso-sample.jsonl");
        let specials = [
            '<', '>', '&', ';', '"', '\'', '/', '=', ' ', ':', '#', 'x', '\u{0}', 'é',
        ];
        let mut damage = crate::event::plaso::evtx_xml::Damage::new(0x2545_F491_4F6C_DD1D, &specials);
        let (mut fast, mut total) = (0, 0);
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let chars: Vec<char> = v["xml_string"].as_str().unwrap().chars().collect();
            for _ in 0..300 {
                let damaged = damage.apply(&chars, 2);
                let (got, was_fast) = all_names(&damaged);
                assert_eq!(got, expected(&damaged), "{damaged}");
                fast += usize::from(was_fast);
                total += 1;
            }
        }
        // Most damage lands in text, which the fast path still reads.
        assert!(fast > total / 4, "{fast} of {total}");
    }

    /// The fast path and the full reading agree on every `xml_string` of the
    /// shared Plaso export, and the fast path reads nearly all of them.
    #[test]
    #[cfg_attr(
        not(shared_corpus),
        ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
    )]
    fn selection_agrees_with_the_full_reading_on_the_shared_plaso_export() {
        let text = crate::test_support::shared_text("events/plaso-attack.jsonl");
        let (mut records, mut fast) = (0, 0);
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let Some(xml) = v.get("xml_string").and_then(|x| x.as_str()) else {
                continue;
            };
            records += 1;
            let (got, was_fast) = all_names(xml);
            fast += usize::from(was_fast);
            assert_eq!(got, expected(xml), "{xml}");
        }
        assert!(
            records > 16_000 && fast > records * 95 / 100,
            "{fast} of {records}"
        );
    }
}
