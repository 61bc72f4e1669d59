//! `evtx_dump` JSON events (`{"Event": {"System": ..., "EventData": ...}}`):
//! besides their dotted paths (`Event.EventData.Image`), values are also
//! found under the flat names SigmaHQ rules use (`Image`, `EventID`,
//! `Provider_Name`, ...), as Hayabusa and Zircolite flatten EVTX JSON.

use simd_json::Node;

use super::{EventView, FieldIndex, evtx};

/// Where an `evtx_dump` event's time is: `SystemTime` (the flat name of
/// `Event.System.TimeCreated.#attributes.SystemTime`; Plaso's `xml_string`
/// gives it too), ISO 8601 text.
pub const TIME_FIELDS: &[&str] = &["SystemTime"];

/// A scalar at `path`: under `Event.`, also kept under its flat name.
#[inline]
pub(super) fn scalar(v: &mut EventView, index: &FieldIndex, path: &str, node: &Node) {
    if path.starts_with("Event.")
        && let Some(alias) = evtx_alias(path)
    {
        let Some(id) = index.get(&alias) else { return };
        let from_system = path.starts_with("Event.System.");
        evtx::before_value(v, id, from_system);
        v.scalar(index, &alias, node);
        evtx::after_value(v, id, from_system);
    }
}

/// The flat Sigma name of an `evtx_dump` path, as Hayabusa and Zircolite
/// flatten EVTX JSON: `Event.EventData.Image` -> `Image`,
/// `Event.System.Provider.#attributes.Name` -> `Provider_Name`,
/// `Event.System.TimeCreated.#attributes.SystemTime` -> `SystemTime`,
/// `Event.System.EventID.#text` -> `EventID`.
pub fn evtx_alias(path: &str) -> Option<String> {
    let rest = path.strip_prefix("Event.")?;
    let rest = if let Some(r) = rest.strip_prefix("System.") {
        r
    } else if let Some(r) = rest.strip_prefix("EventData.") {
        r
    } else if let Some(r) = rest.strip_prefix("UserData.") {
        r.split_once('.').map(|(_, leaf)| leaf)?
    } else {
        return None;
    };
    if let Some((elem, attr)) = rest.split_once(".#attributes.") {
        let elem = elem.rsplit('.').next().unwrap_or(elem);
        return Some(if elem == "Provider" {
            format!("Provider_{attr}")
        } else {
            attr.to_string()
        });
    }
    if let Some(elem) = rest.strip_suffix(".#text") {
        return Some(evtx::flat_name(elem.rsplit('.').next().unwrap_or(elem)));
    }
    Some(evtx::flat_name(rest.rsplit('.').next().unwrap_or(rest)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventView;
    use crate::event::tests::{index, raws};

    #[test]
    fn evtx_dump_aliases() {
        assert_eq!(
            evtx_alias("Event.EventData.Image").as_deref(),
            Some("Image")
        );
        assert_eq!(
            evtx_alias("Event.System.Provider.#attributes.Name").as_deref(),
            Some("Provider_Name")
        );
        assert_eq!(
            evtx_alias("Event.System.TimeCreated.#attributes.SystemTime").as_deref(),
            Some("SystemTime")
        );
        assert_eq!(
            evtx_alias("Event.System.EventID.#text").as_deref(),
            Some("EventID")
        );
        assert_eq!(
            evtx_alias("Event.UserData.LogFileCleared.SubjectUserName").as_deref(),
            Some("SubjectUserName")
        );
        assert_eq!(
            evtx_alias("Event.EventData.New Value").as_deref(),
            Some("NewValue")
        );
        assert_eq!(evtx_alias("Image"), None);
        let i = index(&["Image", "EventID", "Event.EventData.Image"]);
        let mut v = EventView::new();
        v.load(
            br#"{"Event":{"System":{"EventID":1},"EventData":{"Image":"C:\\x.exe"}}}"#,
            &i,
        )
        .unwrap();
        assert_eq!(raws(&v, &i, "Image"), vec!["C:\\x.exe"]);
        assert_eq!(raws(&v, &i, "Event.EventData.Image"), vec!["C:\\x.exe"]);
        assert_eq!(raws(&v, &i, "EventID"), vec!["1"]);
    }
}
