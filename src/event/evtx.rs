//! Conventions of Windows EVTX records that more than one format carries
//! (Plaso's `xml_string`, `evtx_dump` JSON), as the flat EVTX JSON of
//! Hayabusa and Zircolite defines them: the flat field names SigmaHQ rules
//! use, and which of two same-named values wins.

use super::{EventView, FieldId};

/// Fields whose current values came from an EVTX `System` element.
#[derive(Default)]
pub(super) struct State {
    system_fields: Vec<FieldId>,
}

impl State {
    pub(super) fn clear(&mut self) {
        self.system_fields.clear();
    }
}

/// Before a value of field `id` from a record is added: an
/// EventData/UserData value replaces the System values of the same name
/// (`Channel` of a log-cleared record names the cleared log).
pub(super) fn before_value(v: &mut EventView, id: FieldId, from_system: bool) {
    if v.has(id) && !from_system && v.evtx.system_fields.contains(&id) {
        v.reset_values(id);
        v.evtx.system_fields.retain(|x| *x != id);
    }
}

/// After a value of field `id` from a record was added.
pub(super) fn after_value(v: &mut EventView, id: FieldId, from_system: bool) {
    if from_system && !v.evtx.system_fields.contains(&id) {
        v.evtx.system_fields.push(id);
    }
}

/// EventData names with spaces (Defender's `New Value`) lose them in the
/// flat EVTX convention (`NewValue`), which is how SigmaHQ rules name them.
pub fn flat_name(name: &str) -> String {
    if name.contains(' ') {
        name.replace(' ', "")
    } else {
        name.to_string()
    }
}
