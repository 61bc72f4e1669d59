//! Flattening of one Windows event record XML (Plaso's `xml_string`) into
//! Sigma field names.
//!
//! Plaso's `winevtx` parser writes every Windows event record as a
//! `windows:evtx:record` event. Its positional `strings` carry the EventData
//! values, but their names (`CommandLine`, `Image`, `TargetObject`, ...) exist
//! only in the `xml_string` attribute, the whole record rendered as XML. This
//! module owns turning one such string into flat `(name, value)` pairs named
//! the way native-EVTX Sigma tooling names them (Hayabusa, Zircolite,
//! flattened `evtx_dump` output), so that SigmaHQ Windows rules match Plaso
//! exports without a field mapping. It does not read JSON, decide which events
//! carry XML, or compare values: the event view hands it the `xml_string`
//! value and looks fields up with [`EvtxFields::get`] / [`EvtxFields::iter`].
//!
//! # Example
//!
//! ```
//! use sigma_match::event::plaso::evtx_xml::EvtxFields;
//!
//! // Abridged from a real Sysmon process-creation record (Plaso export of
//! // EVTX-ATTACK-SAMPLES, `LM_wmiexec_impacket_sysmon_whoami.evtx`).
//! let xml = r#"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
//!   <System>
//!     <Provider Name="Microsoft-Windows-Sysmon" Guid="{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"/>
//!     <EventID>1</EventID>
//!     <TimeCreated SystemTime="2019-04-30T20:32:51.168589000Z"/>
//!     <EventRecordID>9826</EventRecordID>
//!     <Correlation/>
//!     <Execution ProcessID="1964" ThreadID="1664"/>
//!     <Channel>Microsoft-Windows-Sysmon/Operational</Channel>
//!     <Computer>IEWIN7</Computer>
//!     <Security UserID="S-1-5-18"/>
//!   </System>
//!   <EventData>
//!     <Data Name="RuleName"/>
//!     <Data Name="Image">C:\Windows\System32\cmd.exe</Data>
//!     <Data Name="CommandLine">cmd.exe /Q /c cd \ 1&gt; \\127.0.0.1\ADMIN$\__1556656369.7 2&gt;&amp;1</Data>
//!   </EventData>
//! </Event>"#;
//!
//! let fields = EvtxFields::parse(xml)?;
//! let expected = [
//!     ("Provider_Name", "Microsoft-Windows-Sysmon"),
//!     ("Provider_Guid", "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"),
//!     ("EventID", "1"),
//!     ("SystemTime", "2019-04-30T20:32:51.168589000Z"),
//!     ("TimeCreated_SystemTime", "2019-04-30T20:32:51.168589000Z"),
//!     ("EventRecordID", "9826"),
//!     ("Execution_ProcessID", "1964"),
//!     ("Execution_ThreadID", "1664"),
//!     ("Channel", "Microsoft-Windows-Sysmon/Operational"),
//!     ("Computer", "IEWIN7"),
//!     ("UserID", "S-1-5-18"),
//!     ("Security_UserID", "S-1-5-18"),
//!     ("RuleName", ""),
//!     ("Image", r"C:\Windows\System32\cmd.exe"),
//!     ("CommandLine", r"cmd.exe /Q /c cd \ 1> \\127.0.0.1\ADMIN$\__1556656369.7 2>&1"),
//! ];
//! assert!(fields.iter().eq(expected));
//! assert_eq!(fields.get("Computer"), Some("IEWIN7"));
//! # Ok::<(), sigma_match::event::plaso::evtx_xml::EvtxXmlError>(())
//! ```
//!
//! # Field names
//!
//! Elements and attributes are matched on their local names (the event
//! namespace, and any other, is ignored). Below the root, the children of
//! `System` are named as follows:
//!
//! | XML | fields |
//! |---|---|
//! | `<EventID Qualifiers="16384">7045</EventID>` | `EventID` = `7045` (an element with text yields its text; its attributes are ignored) |
//! | `<Version>`, `<Level>`, `<Task>`, `<Opcode>`, `<Keywords>`, `<EventRecordID>`, `<Channel>`, `<Computer>` | the element name |
//! | `<Provider Name=".." Guid=".." EventSourceName=".."/>` | `Provider_Name`, `Provider_Guid`, `Provider_EventSourceName` |
//! | `<TimeCreated SystemTime=".."/>` | `SystemTime` and `TimeCreated_SystemTime` |
//! | `<Execution ProcessID=".." ThreadID=".."/>` | `Execution_ProcessID`, `Execution_ThreadID` (likewise `Execution_ProcessorID`, `Execution_KernelTime`, ...) |
//! | `<Security UserID=".."/>` | `UserID` and `Security_UserID` |
//! | `<Correlation ActivityID=".." RelatedActivityID=".."/>` | `ActivityID`, `RelatedActivityID` (no prefix) |
//! | any other element with attributes and no text | `Element_Attribute` for each attribute |
//! | an empty element without attributes (`<Correlation/>`, `<Security/>`) | nothing |
//!
//! The other children of the root (`EventData`, `UserData`, and rarer ones
//! such as `ProcessingErrorData`) carry the payload. Every *leaf* element
//! below them yields one field, empty elements included (value `""`):
//!
//! | XML | fields |
//! |---|---|
//! | `<Data Name="CommandLine">..</Data>` | `CommandLine` (the `Name` attribute is the field name) |
//! | `<Data Name="RuleName"/>`, `<Data Name="X"></Data>` | `RuleName` = `""`, `X` = `""` |
//! | `<Data>..</Data>` without `Name` | `Data`, once per element, in document order (see below) |
//! | `<Binary>..</Binary>` | `Binary` |
//! | `UserData/LogFileCleared/SubjectUserName` (any depth) | `SubjectUserName` (the leaf's own name) |
//! | attributes of a non-leaf element, e.g. `<EventData Name="..">` | `EventData_Name` |
//! | a leaf without text but with attributes (other than `Data`) | `Element_Attribute` for each attribute |
//!
//! *`Data` without `Name`*: classic (pre-Vista style) providers write
//! positional values. In the EVTX-ATTACK-SAMPLES Plaso export these are
//! MsiInstaller 1040/1042, MSSQLSERVER 18454/18456/15457/33205, ESENT
//! 325/326/327, classic PowerShell 800, NETLOGON 5805 and the Software
//! Protection services. Each such element yields a field named `Data`, so
//! one record holds several `Data` values in order; this is the shape of
//! flattened `evtx_dump` output (`"Data": [..]`) and what SigmaHQ's
//! `Data|contains` rules (MSSQL, classic PowerShell) expect, provided the
//! engine treats a repeated name as "any value matches". [`EvtxFields::get`]
//! returns the first one.
//!
//! `xmlns` declarations are never fields. `RenderingInfo` (present in
//! forwarded events) is skipped: it repeats `System` values as localized
//! text under the same names (`Level`, `Task`, ...). Text mixed with child
//! elements is ignored; EVTX records have none.
//!
//! Compared with `evtx_dump` JSON flattened the way Hayabusa and Zircolite
//! flatten it (the shape engines are compared on), the names differ only for
//! fields no SigmaHQ rule uses: that file says `ProcessID`/`ThreadID` where
//! this module says `Execution_ProcessID`/`Execution_ThreadID`, says
//! `EventSourceName` for `Provider_EventSourceName`, `Name` for
//! `EventData_Name`, and keeps `EventID`'s `Qualifiers` attribute.
//!
//! # Values
//!
//! Values are the text exactly as written, with XML references decoded
//! (`&amp; &lt; &gt; &quot; &apos;` and `&#..;` / `&#x..;`, in text and in
//! attribute values). Nothing else changes: no trimming, no end-of-line
//! normalisation (`\r\n` inside `ScriptBlockText` stays), no attribute-value
//! whitespace normalisation. Only whitespace *between* elements is dropped.
//! Unknown entities and a lone `&` are kept literally.
//!
//! # Errors and leniency
//!
//! Parsing never panics. It is lenient where that costs nothing: characters
//! that XML forbids (control characters, which libevtx writes verbatim, e.g.
//! in some Security 4661 `PrivilegeList` values) and unusual element names
//! are accepted as they are. Broken structure is an error: a mismatched or
//! unmatched end tag, unterminated markup, a malformed attribute, input that
//! ends before the root element closes, or input with no element at all.
//! On error, [`EvtxFields::parse_into`] returns `Err` and leaves `self`
//! holding the fields completed before the error, in document order, so a
//! caller can choose to use a partial record; [`EvtxFields::parse`] only
//! returns the error. Anything after the root element's end tag is not read.
//!
//! # Cost
//!
//! All names and values live back to back in one `String`, indexed by a
//! `Vec` of spans, so [`EvtxFields::parse_into`] on a reused value does not
//! allocate once both have grown to the size of a typical record. Lookups
//! are a linear scan over a few dozen entries.

use std::fmt;

use quick_xml::Reader;
use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesStart, Event};

/// Why an event record XML string could not be parsed (completely).
#[derive(Debug, Clone, thiserror::Error)]
pub enum EvtxXmlError {
    /// The XML is malformed: quick-xml rejected the markup or an attribute.
    #[error("malformed event XML at byte {position}: {source}")]
    Malformed {
        /// Byte offset in the input where the problem was found.
        position: u64,
        #[source]
        source: quick_xml::Error,
    },
    /// The input ended before the root element was closed.
    #[error("event XML ends with {open} element(s) still open")]
    Truncated {
        /// How many elements were open at the end of the input.
        open: usize,
    },
    /// The input contains no element (empty, whitespace or comments only).
    #[error("event XML contains no element")]
    NoElement,
}

/// The flat Sigma fields of one event record, as owned `(name, value)`
/// pairs in document order. Names may repeat (`Data`).
///
/// Build one with [`EvtxFields::parse`], or keep one per thread and refill it
/// with [`EvtxFields::parse_into`] to reuse its allocations.
#[derive(Clone, Default)]
pub struct EvtxFields {
    /// Every name and value, back to back; `entries` index into it.
    text: String,
    entries: Vec<Entry>,
    /// How many leading entries came from `System`.
    system_len: usize,
}

/// One field: where its name and value are in [`EvtxFields::text`].
#[derive(Clone, Copy)]
struct Entry {
    name: Span,
    value: Span,
}

/// A byte range of [`EvtxFields::text`], always on `char` boundaries.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

impl Span {
    fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// Which child of the root element the parser is in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    /// `System`: attribute-carrying elements get the names in the module
    /// documentation.
    System,
    /// `EventData`, `UserData` and any other child: leaves are fields.
    Payload,
    /// `RenderingInfo`: skipped.
    Skip,
}

impl Section {
    fn of(local_name: &str) -> Section {
        match local_name {
            "System" => Section::System,
            "RenderingInfo" => Section::Skip,
            _ => Section::Payload,
        }
    }
}

/// An element, below a section, that has not shown a child element yet:
/// it is a leaf if its end tag comes next. Its text is collected at the end
/// of [`EvtxFields::text`] from `value_start` on.
struct Open<'a> {
    start: BytesStart<'a>,
    value_start: usize,
}

#[cfg_attr(not(feature = "internals"), allow(dead_code))] // fuzz/fuzz_targets/evtx_xml.rs
impl EvtxFields {
    /// Parses one event record XML string into a new set of fields.
    pub fn parse(xml: &str) -> Result<EvtxFields, EvtxXmlError> {
        let mut fields = EvtxFields::default();
        fields.parse_into(xml)?;
        Ok(fields)
    }

    /// Clears and re-fills self, reusing allocations (per-thread scratch on
    /// the hot path).
    ///
    /// On error, self holds the fields completed before the error.
    pub fn parse_into(&mut self, xml: &str) -> Result<(), EvtxXmlError> {
        // The fast tokenizer reads the XML Windows writes (elements,
        // attributes, text, known references) and gives up on anything else
        // (comments, CDATA, declarations, a lone `&`, any error): then
        // quick-xml reads the record from the start, so results and errors
        // are quick-xml's in every case.
        if self.fill(&mut Fast::new(xml)).is_ok() {
            return Ok(());
        }
        let mut reader = Reader::from_str(xml);
        // A lone `&` is kept as text rather than failing the whole record.
        reader.config_mut().allow_dangling_amp = true;
        self.fill(&mut reader)
    }

    /// Clears self and fills it from the events of `source`.
    fn fill<'x, S: Source<'x>>(&mut self, source: &mut S) -> Result<(), EvtxXmlError> {
        self.text.clear();
        self.entries.clear();
        self.system_len = 0;

        // Depth of the element whose content is being read (root = 1).
        let mut depth = 0usize;
        let mut section = Section::Payload;
        let mut open: Option<Open<'_>> = None;
        loop {
            let event = source.next_event()?;
            match event {
                Event::Start(start) => {
                    depth += 1;
                    self.enter(&start, depth, &mut section, &mut open)
                        .map_err(|e| source.bad_attribute(e))?;
                    if depth >= 3 && section != Section::Skip {
                        open = Some(Open {
                            start,
                            value_start: self.text.len(),
                        });
                    }
                }
                Event::Empty(start) => {
                    self.enter(&start, depth + 1, &mut section, &mut open)
                        .map_err(|e| source.bad_attribute(e))?;
                    if depth == 0 {
                        // `<Event/>`: a complete record without fields.
                        return Ok(());
                    }
                    if depth >= 2 && section != Section::Skip {
                        self.finish_leaf(section, &start, self.text.len())
                            .map_err(|e| source.bad_attribute(e))?;
                    }
                }
                Event::End(_) => {
                    if let Some(leaf) = open.take() {
                        self.finish_leaf(section, &leaf.start, leaf.value_start)
                            .map_err(|e| source.bad_attribute(e))?;
                    }
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        // The root is closed; whatever follows is not read.
                        return Ok(());
                    }
                }
                Event::Text(text) if open.is_some() => self.text.push_str(&text),
                Event::CData(data) if open.is_some() => self.text.push_str(&data),
                Event::GeneralRef(reference) if open.is_some() => {
                    push_reference_or_literal(&mut self.text, &reference);
                }
                Event::Eof if depth == 0 => return Err(EvtxXmlError::NoElement),
                Event::Eof => return Err(EvtxXmlError::Truncated { open: depth }),
                // Whitespace between elements, mixed content, comments,
                // declarations, processing instructions.
                _ => {}
            }
        }
    }

    /// Handles the start of an element at `depth` (start or empty tag).
    ///
    /// An element still `open` now has a child, so it is not a leaf: its
    /// collected text is dropped and its attributes become fields. The root
    /// and the sections yield their attributes at once; deeper elements keep
    /// theirs until it is known whether they have text.
    fn enter<'a>(
        &mut self,
        start: &BytesStart<'_>,
        depth: usize,
        section: &mut Section,
        open: &mut Option<Open<'a>>,
    ) -> Result<(), AttrError> {
        if let Some(parent) = open.take() {
            self.text.truncate(parent.value_start);
            self.push_attributes(*section, &parent.start)?;
        }
        match depth {
            1 => {
                self.push_attributes(Section::Payload, start)?;
            }
            2 => {
                *section = Section::of(local_name(start));
                if *section != Section::Skip {
                    self.push_attributes(*section, start)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Turns a leaf element below a section into fields; its text is
    /// `self.text[value_start..]`.
    fn finish_leaf(
        &mut self,
        section: Section,
        start: &BytesStart<'_>,
        value_start: usize,
    ) -> Result<(), AttrError> {
        let value = Span {
            start: value_start,
            end: self.text.len(),
        };
        let element = local_name(start);
        match section {
            Section::System => {
                if value.is_empty() {
                    self.push_attributes(section, start)?;
                } else {
                    self.push_entry(&[element], value);
                }
                self.system_len = self.entries.len();
            }
            // Nothing below a skipped section gets here.
            Section::Payload | Section::Skip => {
                if element == "Data" {
                    let name = match data_name(start)? {
                        Some(raw) => self.push_unescaped(&raw),
                        None => self.push_str("Data"),
                    };
                    self.entries.push(Entry { name, value });
                } else if !value.is_empty() || !self.push_attributes(section, start)? {
                    self.push_entry(&[element], value);
                }
            }
        }
        Ok(())
    }

    /// Adds one field per attribute of `start` (namespace declarations
    /// excepted), named as the module documentation says. Returns whether
    /// it added any.
    fn push_attributes(
        &mut self,
        section: Section,
        start: &BytesStart<'_>,
    ) -> Result<bool, AttrError> {
        let element = local_name(start);
        let mut any = false;
        let mut attributes = start.attributes();
        attributes.with_checks(false);
        for attribute in attributes {
            let attribute = attribute?;
            if attribute.key.as_namespace_binding().is_some() {
                continue;
            }
            let name = attribute.key.local_name().into_inner();
            let value = self.push_unescaped(&attribute.value);
            match (section, element, name) {
                (Section::System, "TimeCreated", "SystemTime")
                | (Section::System, "Security", "UserID") => {
                    self.push_entry(&[name], value);
                    self.push_entry(&[element, "_", name], value);
                }
                (Section::System, "Correlation", _) => self.push_entry(&[name], value),
                _ => self.push_entry(&[element, "_", name], value),
            }
            any = true;
        }
        Ok(any)
    }

    /// Adds a field whose name is `name_parts` concatenated.
    fn push_entry(&mut self, name_parts: &[&str], value: Span) {
        let start = self.text.len();
        for part in name_parts {
            self.text.push_str(part);
        }
        let name = Span {
            start,
            end: self.text.len(),
        };
        self.entries.push(Entry { name, value });
    }

    fn push_str(&mut self, s: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(s);
        Span {
            start,
            end: self.text.len(),
        }
    }

    /// Appends `raw` with its references decoded; returns where it went.
    fn push_unescaped(&mut self, raw: &str) -> Span {
        let start = self.text.len();
        let mut rest = raw;
        while let Some(amp) = memchr::memchr(b'&', rest.as_bytes()) {
            // `&` and `;` are ASCII, so every slice below is on a boundary.
            self.text.push_str(&rest[..amp]);
            let after = &rest[amp + 1..];
            match memchr::memchr(b';', after.as_bytes()) {
                Some(semi) if push_reference(&mut self.text, &after[..semi]) => {
                    rest = &after[semi + 1..];
                }
                _ => {
                    self.text.push('&');
                    rest = after;
                }
            }
        }
        self.text.push_str(rest);
        Span {
            start,
            end: self.text.len(),
        }
    }

    /// Every `(name, value)`, in document order; names may repeat.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|entry| (self.slice(entry.name), self.slice(entry.value)))
    }

    /// Whether the `i`-th entry of [`Self::iter`] came from `System`
    /// (later `EventData`/`UserData` values of the same name win, as in the
    /// flat EVTX JSON of Hayabusa and Zircolite).
    pub fn is_system(&self, i: usize) -> bool {
        i < self.system_len
    }

    /// The first value of the field `name`, if the record has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|&(n, _)| n == name)
            .map(|(_, value)| value)
    }

    /// Number of fields (repeated names counted each time).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the record yielded no field at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn slice(&self, span: Span) -> &str {
        // Spans are built on `char` boundaries; `get` keeps a broken
        // invariant from ever turning into a panic.
        self.text.get(span.start..span.end).unwrap_or_default()
    }
}

impl fmt::Debug for EvtxFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The local name of an element (without namespace prefix).
fn local_name<'s>(start: &'s BytesStart<'_>) -> &'s str {
    start.local_name().into_inner()
}

/// The raw value of a `Data` element's `Name` attribute, if it has a
/// non-empty one.
fn data_name<'s>(
    start: &'s BytesStart<'_>,
) -> Result<Option<std::borrow::Cow<'s, str>>, AttrError> {
    let mut attributes = start.attributes();
    attributes.with_checks(false);
    for attribute in attributes {
        let attribute = attribute?;
        if attribute.key.local_name().into_inner() == "Name" {
            // `<Data Name="">` is treated like a `Data` without name.
            return Ok(Some(attribute.value).filter(|name| !name.is_empty()));
        }
    }
    Ok(None)
}

/// Appends what the reference `&name;` stands for (a predefined entity or a
/// character reference) and returns true; returns false, appending nothing,
/// if `name` is neither.
pub(super) fn push_reference(out: &mut String, name: &str) -> bool {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix('x') {
            Some(hex) => parse_unsigned(hex, 16),
            None => parse_unsigned(number, 10),
        };
        match code.filter(|&code| code != 0).and_then(char::from_u32) {
            Some(c) => {
                out.push(c);
                true
            }
            None => false,
        }
    } else if let Some(text) = quick_xml::escape::resolve_predefined_entity(name) {
        out.push_str(text);
        true
    } else {
        false
    }
}

/// Appends what `&name;` stands for, or, for an unknown entity or an
/// invalid character reference, the reference as written.
fn push_reference_or_literal(out: &mut String, name: &str) {
    if !push_reference(out, name) {
        out.push('&');
        out.push_str(name);
        out.push(';');
    }
}

/// Digits only: `u32::from_str_radix` would also accept a leading `+`.
fn parse_unsigned(digits: &str, radix: u32) -> Option<u32> {
    if digits.starts_with(['+', '-']) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

/// Where [`EvtxFields::fill`] reads its events from.
trait Source<'x> {
    fn next_event(&mut self) -> Result<Event<'x>, EvtxXmlError>;
    /// The error for an attribute that could not be read.
    fn bad_attribute(&self, error: AttrError) -> EvtxXmlError;
}

impl<'x> Source<'x> for Reader<&'x [u8]> {
    fn next_event(&mut self) -> Result<Event<'x>, EvtxXmlError> {
        self.read_event().map_err(|source| EvtxXmlError::Malformed {
            position: self.error_position(),
            source,
        })
    }

    fn bad_attribute(&self, error: AttrError) -> EvtxXmlError {
        EvtxXmlError::Malformed {
            position: self.buffer_position(),
            source: quick_xml::Error::InvalidAttr(error),
        }
    }
}

/// A tokenizer for the XML of Windows event records that yields exactly the
/// events quick-xml yields (with `allow_dangling_amp`) for the input it
/// accepts, and an error (the caller then uses quick-xml) for anything else:
/// comments, CDATA, declarations, processing instructions, a byte-order
/// mark, a `&` that does not start a `&name;` reference, whitespace in an end
/// tag, an end tag that does not close the open element, and input that ends
/// inside markup. quick-xml spends a good part of a record's cost validating
/// UTF-8 of input that is already a `str`; this reads bytes with `memchr`.
struct Fast<'x> {
    xml: &'x str,
    at: usize,
    /// Names of the open elements (as written, prefix included).
    open: Vec<&'x str>,
    /// Whether the input has been read to its end.
    done: bool,
}

/// The error a [`Fast`] tokenizer gives up with (never reported: the
/// record is read again by quick-xml).
fn give_up() -> EvtxXmlError {
    EvtxXmlError::NoElement
}

fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\r' | b'\n' | b'\t')
}

impl<'x> Fast<'x> {
    fn new(xml: &'x str) -> Fast<'x> {
        Fast {
            xml,
            at: 0,
            open: Vec::new(),
            done: false,
        }
    }
}

impl<'x> Source<'x> for Fast<'x> {
    fn next_event(&mut self) -> Result<Event<'x>, EvtxXmlError> {
        use quick_xml::events::{BytesEnd, BytesRef, BytesText};
        let xml = self.xml;
        let bytes = xml.as_bytes();
        if self.at == 0 && xml.starts_with('\u{feff}') {
            return Err(give_up());
        }
        if self.at >= bytes.len() {
            if self.done {
                return Err(give_up());
            }
            self.done = true;
            return Ok(Event::Eof);
        }
        let at = self.at;
        match bytes[at] {
            b'<' => {
                let rest = &bytes[at + 1..];
                match rest.first() {
                    Some(b'/') => {
                        let end = memchr::memchr(b'>', rest).ok_or_else(give_up)?;
                        let name = &xml[at + 2..at + 1 + end];
                        if name.is_empty()
                            || name.bytes().any(|b| is_xml_space(b) || b == b'<')
                            || self.open.pop() != Some(name)
                        {
                            return Err(give_up());
                        }
                        self.at = at + 2 + end;
                        Ok(Event::End(BytesEnd::new(name)))
                    }
                    Some(b'!' | b'?') | None => Err(give_up()),
                    Some(_) => {
                        // The tag ends at the first `>` outside quotes.
                        let mut i = 0;
                        let mut quote = 0u8;
                        let end = loop {
                            let b = *rest.get(i).ok_or_else(give_up)?;
                            if quote != 0 {
                                if b == quote {
                                    quote = 0;
                                }
                            } else if b == b'"' || b == b'\'' {
                                quote = b;
                            } else if b == b'>' {
                                break i;
                            } else if b == b'<' {
                                return Err(give_up());
                            }
                            i += 1;
                        };
                        self.at = at + 2 + end;
                        let content = &xml[at + 1..at + 1 + end];
                        let (content, empty) = match content.strip_suffix('/') {
                            Some(c) => (c, true),
                            None => (content, false),
                        };
                        let name_len = content
                            .bytes()
                            .position(is_xml_space)
                            .unwrap_or(content.len());
                        if name_len == 0 {
                            return Err(give_up());
                        }
                        let start = BytesStart::from_content(content, name_len);
                        if empty {
                            Ok(Event::Empty(start))
                        } else {
                            self.open.push(&content[..name_len]);
                            Ok(Event::Start(start))
                        }
                    }
                }
            }
            b'&' => {
                let rest = &bytes[at + 1..];
                match memchr::memchr3(b';', b'&', b'<', rest) {
                    Some(i) if rest[i] == b';' => {
                        self.at = at + 2 + i;
                        Ok(Event::GeneralRef(BytesRef::new(&xml[at + 1..at + 1 + i])))
                    }
                    _ => Err(give_up()),
                }
            }
            _ => {
                let end = memchr::memchr2(b'<', b'&', &bytes[at..]).map_or(bytes.len(), |i| at + i);
                self.at = end;
                Ok(Event::Text(BytesText::from_escaped(&xml[at..end])))
            }
        }
    }

    fn bad_attribute(&self, _: AttrError) -> EvtxXmlError {
        give_up()
    }
}

/// Deterministic pseudo-random damage for the readers' robustness tests:
/// each call deletes, duplicates or replaces (with one of `specials`) one
/// to `most` characters of a copy of the text (xorshift64, fixed seed).
#[cfg(test)]
pub(crate) struct Damage<'a> {
    state: u64,
    specials: &'a [char],
}

#[cfg(test)]
impl<'a> Damage<'a> {
    pub(crate) fn new(seed: u64, specials: &'a [char]) -> Self {
        Damage { state: seed, specials }
    }

    fn next(&mut self, bound: usize) -> usize {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state % bound as u64) as usize
    }

    pub(crate) fn apply(&mut self, chars: &[char], most: usize) -> String {
        let mut damaged = chars.to_vec();
        for _ in 0..=self.next(most) {
            let at = self.next(damaged.len());
            match self.next(3) {
                0 => {
                    damaged.remove(at);
                }
                1 => damaged.insert(at, damaged[at]),
                _ => damaged[at] = self.specials[self.next(self.specials.len())],
            }
        }
        damaged.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast tokenizer and quick-xml give the same fields, or the fast
    /// one gives up, on every `xml_string` of the shared Plaso export (and
    /// on the edge cases of this module's other tests, which run through
    /// `parse_into`).
    #[test]
    #[cfg_attr(
        not(shared_corpus),
        ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
    )]
    fn fast_tokenizer_agrees_with_quick_xml_on_the_shared_plaso_export() {
        let text = crate::test_support::shared_text("events/plaso-attack.jsonl");
        let (mut fast, mut slow) = (EvtxFields::default(), EvtxFields::default());
        let (mut records, mut fast_ok) = (0, 0);
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let Some(xml) = v.get("xml_string").and_then(|x| x.as_str()) else { continue };
            records += 1;
            let mut reader = Reader::from_str(xml);
            reader.config_mut().allow_dangling_amp = true;
            let slow_result = slow.fill(&mut reader);
            if fast.fill(&mut Fast::new(xml)).is_ok() {
                fast_ok += 1;
                assert!(slow_result.is_ok(), "{xml}");
                assert_eq!(owned(&fast), owned(&slow), "{xml}");
                assert_eq!(fast.system_len, slow.system_len, "{xml}");
            }
        }
        assert!(records > 16_000 && fast_ok > records * 99 / 100, "{fast_ok} of {records}");
    }

    fn fields(xml: &str) -> Vec<(String, String)> {
        let parsed = EvtxFields::parse(xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        owned(&parsed)
    }

    fn owned(fields: &EvtxFields) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|&(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    fn event(body: &str) -> String {
        format!(
            r#"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">{body}</Event>"#
        )
    }

    #[test]
    fn system_elements_and_attributes() {
        let xml = event(
            r#"
  <System>
    <Provider Name="Service Control Manager" Guid="{555908d1-a6d7-4695-8e1e-26931d2012f4}" EventSourceName="Service Control Manager"/>
    <EventID Qualifiers="16384">7045</EventID>
    <Version>0</Version>
    <Level>4</Level>
    <Task>0</Task>
    <Opcode>0</Opcode>
    <Keywords>0x8080000000000000</Keywords>
    <TimeCreated SystemTime="2019-03-19T00:41:29.008933900Z"/>
    <EventRecordID>6045</EventRecordID>
    <Correlation ActivityID="{FDC063DE-4B69-0000-5564-C0FD694BD501}" RelatedActivityID="{00000000-0000-0000-0000-000000000001}"/>
    <Execution ProcessID="444" ThreadID="2308" ProcessorID="1"/>
    <Channel>System</Channel>
    <Computer>WIN-77LTAPHIQ1R.example.corp</Computer>
    <Security UserID="S-1-5-18"/>
  </System>
"#,
        );
        let expected = pairs(&[
            ("Provider_Name", "Service Control Manager"),
            ("Provider_Guid", "{555908d1-a6d7-4695-8e1e-26931d2012f4}"),
            ("Provider_EventSourceName", "Service Control Manager"),
            ("EventID", "7045"),
            ("Version", "0"),
            ("Level", "4"),
            ("Task", "0"),
            ("Opcode", "0"),
            ("Keywords", "0x8080000000000000"),
            ("SystemTime", "2019-03-19T00:41:29.008933900Z"),
            ("TimeCreated_SystemTime", "2019-03-19T00:41:29.008933900Z"),
            ("EventRecordID", "6045"),
            ("ActivityID", "{FDC063DE-4B69-0000-5564-C0FD694BD501}"),
            (
                "RelatedActivityID",
                "{00000000-0000-0000-0000-000000000001}",
            ),
            ("Execution_ProcessID", "444"),
            ("Execution_ThreadID", "2308"),
            ("Execution_ProcessorID", "1"),
            ("Channel", "System"),
            ("Computer", "WIN-77LTAPHIQ1R.example.corp"),
            ("UserID", "S-1-5-18"),
            ("Security_UserID", "S-1-5-18"),
        ]);
        assert_eq!(fields(&xml), expected);
    }

    #[test]
    fn empty_system_elements_yield_nothing() {
        let xml = event(
            "<System><EventID>4</EventID><Correlation/><Security/><Security></Security></System>",
        );
        assert_eq!(fields(&xml), pairs(&[("EventID", "4")]));
        // An attribute of an empty element is a field, of one with text is not.
        let xml = event(r#"<System><EventID Qualifiers="0"></EventID></System>"#);
        assert_eq!(fields(&xml), pairs(&[("EventID_Qualifiers", "0")]));
    }

    #[test]
    fn entities_are_decoded_in_text_and_attributes() {
        let xml = event(
            r#"<EventData>
    <Data Name="CommandLine">cmd /c "a &amp;&amp; b" 1&gt; out 2&gt;&amp;1 &lt;in &quot;q&quot; &apos;s&apos;</Data>
    <Data Name="Numeric">&#65;&#x42;&#x1F600;&#233;</Data>
    <Data Name="Odd">&unknown; &#0; &#xZZ; &#-1; a & b ;</Data>
    <Data Name="A&amp;B &#x43;">v</Data>
  </EventData>
  <UserData><X><Leaf Attr="1 &lt; 2 &amp;&#33; &bogus; & &amp"/></X></UserData>"#,
        );
        let expected = pairs(&[
            ("CommandLine", r#"cmd /c "a && b" 1> out 2>&1 <in "q" 's'"#),
            ("Numeric", "AB\u{1F600}é"),
            ("Odd", "&unknown; &#0; &#xZZ; &#-1; a & b ;"),
            ("A&B C", "v"),
            ("Leaf_Attr", "1 < 2 &! &bogus; & &amp"),
        ]);
        assert_eq!(fields(&xml), expected);
    }

    #[test]
    fn empty_data_yields_empty_value() {
        let xml = event(
            r#"<EventData><Data Name="RuleName"/><Data Name="Signature"></Data><Data/><Data></Data><Binary/><Data Name="">x</Data></EventData>"#,
        );
        let expected = pairs(&[
            ("RuleName", ""),
            ("Signature", ""),
            ("Data", ""),
            ("Data", ""),
            ("Binary", ""),
            ("Data", "x"),
        ]);
        assert_eq!(fields(&xml), expected);
    }

    #[test]
    fn values_are_preserved_exactly() {
        let xml = event(
            "<EventData>\n  <Data Name=\"Padded\">  two  spaces\r\n\t</Data>\n  <Data Name=\"Newline\">\n</Data>\n  \
             <Data Name=\"Control\">\u{1ff}\u{f}-</Data>\n  <Data Name=\"CData\"><![CDATA[<not markup> &amp;]]></Data>\n  \
             <Data Name=\"Attr\" Extra=\"  a\n b  \">x</Data>\n</EventData>",
        );
        let expected = pairs(&[
            ("Padded", "  two  spaces\r\n\t"),
            ("Newline", "\n"),
            ("Control", "\u{1ff}\u{f}-"),
            ("CData", "<not markup> &amp;"),
            ("Attr", "x"),
        ]);
        assert_eq!(fields(&xml), expected);
    }

    #[test]
    fn unnamed_data_is_repeated_in_order() {
        let xml = event(
            "<EventData><Data>sa</Data><Data> Reason: Password did not match.</Data><Data> [CLIENT: 10.0.2.17]</Data>\
             <Binary>184800000E000000</Binary></EventData>",
        );
        let parsed = EvtxFields::parse(&xml).unwrap();
        assert_eq!(parsed.get("Data"), Some("sa"));
        let data: Vec<&str> = parsed
            .iter()
            .filter(|&(n, _)| n == "Data")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(
            data,
            [
                "sa",
                " Reason: Password did not match.",
                " [CLIENT: 10.0.2.17]"
            ]
        );
        assert_eq!(parsed.get("Binary"), Some("184800000E000000"));
        assert_eq!(parsed.len(), 4);
    }

    #[test]
    fn user_data_leaves_are_named_after_themselves() {
        let xml = event(
            r#"<UserData>
    <LogFileCleared xmlns:auto-ns3="http://schemas.microsoft.com/win/2004/08/events" xmlns="http://manifests.microsoft.com/win/2004/08/windows/eventlog">
      <SubjectUserSid>S-1-5-21-1587066498-1489273250-1035260531-1108</SubjectUserSid>
      <SubjectUserName>admin01</SubjectUserName>
      <Nested><Deeper>leaf</Deeper></Nested>
      <BackupPath/>
      <Flag Value="1"/>
      <Data Name="named">d</Data>
    </LogFileCleared>
  </UserData>"#,
        );
        let expected = pairs(&[
            (
                "SubjectUserSid",
                "S-1-5-21-1587066498-1489273250-1035260531-1108",
            ),
            ("SubjectUserName", "admin01"),
            ("Deeper", "leaf"),
            ("BackupPath", ""),
            ("Flag_Value", "1"),
            ("named", "d"),
        ]);
        assert_eq!(fields(&xml), expected);
    }

    #[test]
    fn container_attributes_and_other_sections() {
        let xml = event(
            r#"<EventData Name="EVENT_PROCESSTERMINATION_CROSSPROCESS"><Data Name="param1">C:\Windows\System32\lsass.exe</Data></EventData>
  <ProcessingErrorData><ErrorCode>15005</ErrorCode><DataItemName>shellId</DataItemName></ProcessingErrorData>
  <RenderingInfo Culture="en-US"><Message>rendered</Message><Level>Information</Level></RenderingInfo>"#,
        );
        let expected = pairs(&[
            ("EventData_Name", "EVENT_PROCESSTERMINATION_CROSSPROCESS"),
            ("param1", r"C:\Windows\System32\lsass.exe"),
            ("ErrorCode", "15005"),
            ("DataItemName", "shellId"),
        ]);
        assert_eq!(fields(&xml), expected);
    }

    #[test]
    fn names_are_matched_without_prefix() {
        let xml = r#"<?xml version="1.0"?><!-- exported --><e:Event xmlns:e="http://schemas.microsoft.com/win/2004/08/events/event"><e:System><e:EventID>4</e:EventID><e:TimeCreated e:SystemTime="t"/></e:System><e:EventData><e:Data e:Name="Image">x.exe</e:Data></e:EventData></e:Event>"#;
        let expected = pairs(&[
            ("EventID", "4"),
            ("SystemTime", "t"),
            ("TimeCreated_SystemTime", "t"),
            ("Image", "x.exe"),
        ]);
        assert_eq!(fields(xml), expected);
    }

    #[test]
    fn empty_root_and_trailing_content() {
        assert!(EvtxFields::parse("<Event/>").unwrap().is_empty());
        let xml = format!(
            "{}\n</junk> <<<",
            event("<System><EventID>1</EventID></System>")
        );
        assert_eq!(fields(&xml), pairs(&[("EventID", "1")]));
    }

    #[test]
    fn parse_into_clears_and_reuses_allocations() {
        let big = event(
            r#"<System><EventID>1</EventID><Computer>HOST</Computer></System><EventData><Data Name="A">aaaaaaaa</Data></EventData>"#,
        );
        let small = event("<System><EventID>2</EventID></System>");
        let mut scratch = EvtxFields::default();
        scratch.parse_into(&big).unwrap();
        let capacity = (scratch.text.capacity(), scratch.entries.capacity());
        scratch.parse_into(&small).unwrap();
        assert_eq!(owned(&scratch), pairs(&[("EventID", "2")]));
        scratch.parse_into(&big).unwrap();
        assert_eq!(scratch.get("A"), Some("aaaaaaaa"));
        assert_eq!(
            (scratch.text.capacity(), scratch.entries.capacity()),
            capacity
        );
    }

    #[test]
    fn malformed_input_is_an_error() {
        let cases = [
            ("", "no element"),
            ("  \n<!-- only a comment -->", "no element"),
            ("just text", "no element"),
            ("<Event>", "truncated"),
            ("<Event><System><EventID>1</EventID>", "truncated"),
            ("</Event>", "malformed"),
            ("<Event></System>", "malformed"),
            (
                "<Event><System><EventID>1</EventID></System></Evnt>",
                "malformed",
            ),
            ("<Event><System><EventID", "malformed"),
            (
                "<Event><EventData><Data Name=Image>x</Data></EventData></Event>",
                "malformed",
            ),
            (
                "<Event><EventData><Data Name=\"Image>x</Data></EventData></Event>",
                "malformed",
            ),
            (
                "<Event><System><Provider Name/></System></Event>",
                "malformed",
            ),
            ("<Event><!-- unterminated", "malformed"),
            ("<Event><![CDATA[ unterminated", "malformed"),
        ];
        for (xml, kind) in cases {
            let error = EvtxFields::parse(xml).expect_err(xml);
            let actual = match error {
                EvtxXmlError::NoElement => "no element",
                EvtxXmlError::Truncated { .. } => "truncated",
                EvtxXmlError::Malformed { .. } => "malformed",
            };
            assert_eq!(actual, kind, "{xml}: {error}");
        }
    }

    #[test]
    fn error_keeps_the_fields_parsed_so_far() {
        let xml = "<Event><System><EventID>1</EventID><Channel>Security</Chanel></System></Event>";
        let mut scratch = EvtxFields::default();
        let error = scratch.parse_into(xml).unwrap_err();
        assert!(matches!(error, EvtxXmlError::Malformed { .. }), "{error}");
        assert_eq!(owned(&scratch), pairs(&[("EventID", "1")]));
    }

    /// Every prefix and many byte-level mutations of a real record: no
    /// panic, and every prefix shorter than the root is an error.
    #[test]
    fn damaged_records_never_panic() {
        let sample = &samples()[0];
        let xml = sample["xml_string"].as_str().unwrap();
        let root_end = xml.find("</Event>").unwrap() + "</Event>".len();
        let mut scratch = EvtxFields::default();
        for (cut, _) in xml.char_indices() {
            let result = scratch.parse_into(&xml[..cut]);
            assert_eq!(result.is_err(), cut < root_end, "prefix of {cut} bytes");
        }
        // A cut inside EventData keeps System.
        let cut = xml.find("<Data Name=\"Image\">").unwrap();
        assert!(scratch.parse_into(&xml[..cut]).is_err());
        assert_eq!(scratch.get("EventRecordID"), Some("9826"));
        assert_eq!(scratch.get("ProcessId"), Some("3840"));
        assert_eq!(scratch.get("Image"), None);

        // Deterministic pseudo-random damage: delete, duplicate or replace
        // one to three characters with markup-significant ones.
        let specials = [
            '<', '>', '&', ';', '"', '/', '=', '#', 'x', ' ', '\u{0}', 'é',
        ];
        let chars: Vec<char> = xml.chars().collect();
        let mut damage = Damage::new(0x9E37_79B9_7F4A_7C15, &specials);
        for _ in 0..5_000 {
            let damaged = damage.apply(&chars, 3);
            let _ = scratch.parse_into(&damaged);
            let _ = scratch.iter().count();
        }
    }

    // ---- real records: testdata/plaso/plaso-sample.jsonl (see NOTICE.md) ----

    fn samples() -> Vec<serde_json::Value> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/plaso/plaso-sample.jsonl"
        );
        let text = std::fs::read_to_string(path).expect("read plaso-sample.jsonl");
        text.lines()
            .map(|line| serde_json::from_str(line).expect("sample line is JSON"))
            .collect()
    }

    /// The first copy of record `record_number` of the `.evtx` file whose
    /// path ends with `file`, parsed.
    fn sample(file: &str, record_number: u64) -> EvtxFields {
        let all = samples();
        let record = all
            .iter()
            .find(|r| {
                r["display_name"].as_str().unwrap().ends_with(file)
                    && r["record_number"].as_u64() == Some(record_number)
            })
            .unwrap_or_else(|| panic!("no sample {file} #{record_number}"));
        EvtxFields::parse(record["xml_string"].as_str().unwrap()).unwrap()
    }

    #[track_caller]
    fn assert_fields(fields: &EvtxFields, expected: &[(&str, &str)]) {
        for &(name, value) in expected {
            assert_eq!(fields.get(name), Some(value), "field {name}");
        }
    }

    /// Plaso decodes the EventData/UserData values itself, from the binary
    /// record, into `strings` (`null` for empty). The values parsed from
    /// `xml_string` after the `System` fields must be the same, in order.
    #[test]
    fn all_samples_parse_and_agree_with_plaso_strings() {
        let all = samples();
        assert_eq!(all.len(), 19);
        for record in &all {
            let parsed = EvtxFields::parse(record["xml_string"].as_str().unwrap()).unwrap();
            let id = record["event_identifier"].as_u64().unwrap().to_string();
            assert_eq!(parsed.get("EventID"), Some(id.as_str()));
            assert_eq!(parsed.get("Computer"), record["hostname"].as_str());
            // Plaso's source_name is the EventSourceName when there is one.
            let source = parsed
                .get("Provider_EventSourceName")
                .or(parsed.get("Provider_Name"));
            assert_eq!(source, record["source_name"].as_str());

            let names: Vec<(&str, &str)> = parsed.iter().collect();
            let mut payload_start = names.iter().position(|&(n, _)| n == "Computer").unwrap() + 1;
            while matches!(
                names.get(payload_start),
                Some(("UserID" | "Security_UserID", _))
            ) {
                payload_start += 1;
            }
            // Plaso lists `Binary` in `strings` for some providers only.
            let with_binary = strings_len(record)
                > names[payload_start..]
                    .iter()
                    .filter(|&&(n, _)| n != "EventData_Name" && n != "Binary")
                    .count();
            let payload: Vec<&str> = names[payload_start..]
                .iter()
                .filter(|&&(n, _)| n != "EventData_Name" && (with_binary || n != "Binary"))
                .map(|&(_, v)| v)
                .collect();
            let strings: Vec<&str> = record["strings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap_or(""))
                .collect();
            assert_eq!(payload, strings, "{}", record["display_name"]);
        }
    }

    fn strings_len(record: &serde_json::Value) -> usize {
        record["strings"].as_array().map_or(0, Vec::len)
    }

    #[test]
    fn both_plaso_copies_of_a_record_agree() {
        let all = samples();
        let copies: Vec<&serde_json::Value> = all
            .iter()
            .filter(|r| {
                r["display_name"]
                    .as_str()
                    .unwrap()
                    .ends_with("LM_wmiexec_impacket_sysmon_whoami.evtx")
                    && r["record_number"] == 2
            })
            .collect();
        let descs: Vec<&str> = copies
            .iter()
            .map(|r| r["timestamp_desc"].as_str().unwrap())
            .collect();
        assert_eq!(descs, ["Creation Time", "Content Modification Time"]);
        let parsed: Vec<Vec<(String, String)>> = copies
            .iter()
            .map(|r| fields(r["xml_string"].as_str().unwrap()))
            .collect();
        assert_eq!(parsed[0], parsed[1]);
    }

    #[test]
    fn sysmon_1_process_creation_with_entities() {
        let f = sample("LM_wmiexec_impacket_sysmon_whoami.evtx", 2);
        assert_fields(
            &f,
            &[
                ("EventID", "1"),
                ("Channel", "Microsoft-Windows-Sysmon/Operational"),
                ("Provider_Name", "Microsoft-Windows-Sysmon"),
                ("Provider_Guid", "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"),
                ("Computer", "IEWIN7"),
                ("EventRecordID", "9826"),
                ("SystemTime", "2019-04-30T20:32:51.168589000Z"),
                ("UserID", "S-1-5-18"),
                ("Execution_ProcessID", "1964"),
                ("RuleName", ""),
                ("Image", r"C:\Windows\System32\cmd.exe"),
                (
                    "CommandLine",
                    r"cmd.exe /Q /c cd \ 1> \\127.0.0.1\ADMIN$\__1556656369.7 2>&1",
                ),
                ("ParentImage", r"C:\Windows\System32\wbem\WmiPrvSE.exe"),
                (
                    "ParentCommandLine",
                    r"C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding",
                ),
                ("Product", "Microsoft® Windows® Operating System"),
                ("LogonId", "0x00000000001d313d"),
            ],
        );
        assert_eq!(f.len(), 38);
    }

    #[test]
    fn sysmon_1_quotes_and_non_ascii() {
        let f = sample("Sysmon_UACME_23.evtx", 8);
        assert_fields(
            &f,
            &[
                ("Computer", "MSEDGEWIN10"),
                ("Image", r"C:\Windows\System32\cmd.exe"),
                ("CommandLine", r#""C:\Windows\system32\cmd.exe""#),
                ("ParentImage", r"C:\Windows\System32\Dism.exe"),
                (
                    "ParentCommandLine",
                    r#""C:\Windows\system32\dism.exe" /online /norestart /apply-unattend:"C:\Users\IEUser\AppData\Local\Temp\oemsetup.xml""#,
                ),
                ("IntegrityLevel", "High"),
            ],
        );
    }

    #[test]
    fn sysmon_network_image_load_file_and_registry() {
        let net = sample("LM_regsvc_DirectoryServiceExtPt_Lsass_NTDS_AdamXpn.evtx", 5);
        assert_fields(
            &net,
            &[
                ("EventID", "3"),
                ("Image", r"C:\Windows\System32\lsass.exe"),
                ("Initiated", "true"),
                ("DestinationIp", "172.16.66.36"),
                ("DestinationPort", "49670"),
                ("DestinationPortName", ""),
            ],
        );
        let load = sample("sysmon_1_7_11_sysprep_uacbypass.evtx", 7);
        assert_fields(
            &load,
            &[
                ("EventID", "7"),
                ("RuleName", "Possible UAC Bypass - mcx2prov DLL"),
                ("ImageLoaded", r"C:\Windows\System32\sysprep\CRYPTBASE.dll"),
                ("Signed", "false"),
                ("Signature", ""),
            ],
        );
        let file = sample("exec_sysmon_1_11_lolbin_rundll32_shdocvw_openurl.evtx", 6);
        assert_fields(
            &file,
            &[
                ("EventID", "11"),
                (
                    "TargetFilename",
                    r"C:\Windows\System32\Tasks\Microsoft\Windows Defender\MpIdleTask",
                ),
            ],
        );
        let registry = sample("de_portforward_netsh_rdp_sysmon_13_1.evtx", 3);
        assert_fields(
            &registry,
            &[
                ("EventID", "13"),
                ("EventType", "SetValue"),
                ("Image", r"C:\Windows\system32\netsh.exe"),
                (
                    "TargetObject",
                    r"HKLM\System\CurrentControlSet\services\PortProxy\v4tov4\tcp\1.2.3.4/8001",
                ),
                ("Details", "1.2.3.5/3389"),
            ],
        );
    }

    #[test]
    fn security_4688_and_4624() {
        let created = sample("security_4624_4673_token_manip.evtx", 14);
        assert_fields(
            &created,
            &[
                ("EventID", "4688"),
                ("Channel", "Security"),
                ("NewProcessName", r"C:\Windows\System32\conhost.exe"),
                ("SubjectUserName", "IEWIN7$"),
                ("CommandLine", ""),
            ],
        );
        // `<Security/>` yields no UserID.
        assert_eq!(created.get("UserID"), None);

        let logon = sample("Invoke_TokenDuplication_UAC_Bypass4624.evtx", 1);
        assert_fields(
            &logon,
            &[
                ("EventID", "4624"),
                ("ActivityID", "{FDC063DE-4B69-0000-5564-C0FD694BD501}"),
                ("LogonType", "9"),
                ("LogonProcessName", "seclogo"),
                ("TargetUserName", "IEUser"),
                ("IpAddress", "::1"),
                ("ProcessName", r"C:\Windows\System32\svchost.exe"),
            ],
        );
    }

    #[test]
    fn powershell_4104_keeps_crlf() {
        let f = sample("Powershell_4104_MiniDumpWriteDump_Lsass.evtx", 4);
        assert_fields(
            &f,
            &[
                ("EventID", "4104"),
                ("Channel", "Microsoft-Windows-PowerShell/Operational"),
                ("ScriptBlockId", "27f08bda-c330-419f-b83b-eb5c0f699930"),
                ("Path", r"C:\Users\Public\lsass_wer_ps.ps1"),
            ],
        );
        let script = f.get("ScriptBlockText").unwrap();
        assert!(
            script.starts_with("function Memory($path)\r\n{\r\n\t\t\t  \r\n"),
            "{script:?}"
        );
        assert!(
            script.ends_with("\"Memdump complete!\"\r\n\t\t}\r\n\t\r\n}"),
            "{script:?}"
        );
    }

    #[test]
    fn system_7045_service_install() {
        let f = sample("LM_Remote_Service02_7045.evtx", 3);
        assert_fields(
            &f,
            &[
                ("EventID", "7045"),
                ("Channel", "System"),
                ("Provider_Name", "Service Control Manager"),
                ("Provider_EventSourceName", "Service Control Manager"),
                ("ServiceName", "remotesvc"),
                ("ImagePath", "calc.exe"),
                ("StartType", "auto start"),
                ("AccountName", "LocalSystem"),
            ],
        );
        assert!(f.iter().all(|(n, _)| !n.contains("Qualifiers")));
    }

    #[test]
    fn security_1102_log_cleared_user_data() {
        let f = sample("discovery_bloodhound.evtx", 1);
        assert_fields(
            &f,
            &[
                ("EventID", "1102"),
                ("Provider_Name", "Microsoft-Windows-Eventlog"),
                (
                    "SubjectUserSid",
                    "S-1-5-21-1587066498-1489273250-1035260531-500",
                ),
                ("SubjectUserName", "Administrator"),
                ("SubjectDomainName", "EXAMPLE"),
                ("SubjectLogonId", "0x0000000000035312"),
            ],
        );
        assert!(f.iter().all(|(n, _)| !n.contains("xmlns")));
    }

    #[test]
    fn classic_unnamed_data() {
        let sql = sample("MSSQL_multiple_failed_logon_EventID_18456.evtx", 1);
        let data: Vec<&str> = sql
            .iter()
            .filter(|&(n, _)| n == "Data")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(
            data,
            [
                "sa",
                " Reason: Password did not match that for the login provided.",
                " [CLIENT: 10.0.2.17]",
            ]
        );
        assert!(sql.get("Binary").unwrap().starts_with("184800000E000000"));
        assert_eq!(sql.get("Version"), None);

        let msi = sample("rogue_msi_url_1040_1042.evtx", 350);
        let data: Vec<&str> = msi
            .iter()
            .filter(|&(n, _)| n == "Data")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(
            data,
            [
                "http://officemysuppbox.com/staterepository",
                "2600",
                "(NULL)",
                "(NULL)",
                "(NULL)",
                "(NULL)",
                "",
            ]
        );
    }

    #[test]
    fn named_event_data_process_exit_monitor() {
        let f = sample(
            "LsassSilentProcessExit_process_exit_monitor_3001_lsass.evtx",
            2,
        );
        assert_fields(
            &f,
            &[
                ("EventData_Name", "EVENT_PROCESSTERMINATION_CROSSPROCESS"),
                ("param1", r"C:\Windows\System32\lsass.exe"),
                (
                    "param2",
                    r"C:\Users\IEUser\Desktop\LsassSilentProcessExit.exe",
                ),
            ],
        );
    }

    #[test]
    fn xml_invalid_characters_and_garbled_names_are_accepted() {
        let f = sample("4765_sidhistory_add_t1178.evtx", 1);
        assert_fields(
            &f,
            &[("EventID", "4661"), ("PrivilegeList", "\u{1ff}\u{f}-")],
        );
        assert!(
            f.get("AccessList")
                .unwrap()
                .starts_with("%%1537\r\n\t\t\t\t%%1538")
        );

        // libevtx rendered this UserData template with UTF-16 names read as
        // bytes; the values are still there, under the names as written.
        let f = sample("LM_WMIC_4648_rpcss.evtx", 26473);
        let tail: Vec<&str> = f
            .iter()
            .skip_while(|&(n, _)| n != "Computer")
            .skip(1)
            .map(|(_, v)| v)
            .collect();
        assert_eq!(tail, ["30000", "4697"]);
    }
}
