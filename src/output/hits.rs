//! Hits as an analyst reads them: the host, the ATT&CK tactics and
//! techniques, a compact "details" text, and one hit per Windows record.
//!
//! This module owns what a *hit* (one event matched by one rule) shows
//! beyond the rule's name: which event fields the ruleset must carry to the
//! sinks for that ([`HitFields::ask`]), which of them make the details of a
//! hit of a given logsource ([`DETAILS`], documented in `docs/timeline.md`),
//! how ATT&CK tags read ([`attack`]), and the run-wide summary of hits by
//! level, tactic and host with each rule's first and last time
//! ([`HitSummary`], a [`Sink`]). The timeline output
//! ([`crate::output::timeline`]) and the report build on it; it does not
//! write anything itself.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::compile::Ruleset;
use crate::run::engine::{LineMatch, Sink};
use crate::sigma::rule::Logsource;
use crate::event::time::EventTime;

/// Fields that name the host, tried in order: EVTX `Computer` (evtx_dump,
/// Plaso's `xml_string`), Plaso/Timesketch `hostname`, older Plaso
/// `computer_name`.
pub const HOST_FIELDS: &[&str] = &["Computer", "hostname", "computer_name"];

/// The fallback of [`DETAILS`] and for logsources it does not list.
pub const FALLBACK: &[&str] = &["message"];

/// Which event fields make the details of a hit, by the rule's logsource
/// (category first, then service, then product): the fields present are
/// shown as `Name: value` joined by ` ¦ ` (the separator Hayabusa uses), in
/// this order; when none is present, [`FALLBACK`].
pub const DETAILS: &[(&str, &[&str])] = &[
    ("process_creation", &["Image", "CommandLine", "ParentImage", "User"]),
    ("process_access", &["SourceImage", "TargetImage", "GrantedAccess"]),
    ("process_termination", &["Image", "User"]),
    ("process_tampering", &["Image", "Type"]),
    ("network_connection", &["Image", "DestinationIp", "DestinationPort", "DestinationHostname", "User"]),
    ("image_load", &["Image", "ImageLoaded", "Signed", "Signature"]),
    ("driver_load", &["ImageLoaded", "Signed", "Signature"]),
    ("create_remote_thread", &["SourceImage", "TargetImage", "StartFunction"]),
    ("raw_access_thread", &["Image", "Device"]),
    ("file_event", &["Image", "TargetFilename"]),
    ("file_delete", &["Image", "TargetFilename"]),
    ("file_change", &["Image", "TargetFilename"]),
    ("file_rename", &["Image", "TargetFilename"]),
    ("file_access", &["Image", "FileName"]),
    ("create_stream_hash", &["Image", "TargetFilename", "Hash"]),
    ("registry_add", &["Image", "EventType", "TargetObject"]),
    ("registry_delete", &["Image", "EventType", "TargetObject"]),
    ("registry_set", &["Image", "TargetObject", "Details"]),
    ("registry_rename", &["Image", "TargetObject", "NewName"]),
    ("registry_event", &["Image", "EventType", "TargetObject", "Details"]),
    ("pipe_created", &["Image", "PipeName"]),
    ("dns_query", &["Image", "QueryName", "QueryResults"]),
    ("wmi_event", &["EventType", "Operation", "Consumer", "Destination", "Query"]),
    ("ps_script", &["ScriptBlockText", "Path"]),
    ("ps_module", &["Payload", "ContextInfo"]),
    ("ps_classic_start", &["Data"]),
    ("ps_classic_provider_start", &["Data"]),
    ("ps_classic_script", &["Data"]),
    ("security", &["TargetUserName", "SubjectUserName", "IpAddress", "LogonType", "ProcessName", "ServiceName", "ShareName", "ObjectName"]),
    ("system", &["ServiceName", "ImagePath", "AccountName", "Provider_Name"]),
    ("application", &["Provider_Name", "Data"]),
    ("windefend", &["ThreatName", "Path", "ProcessName", "Action"]),
    ("taskscheduler", &["TaskName", "UserContext", "ActionName"]),
    ("sysmon", &["Image", "Configuration", "State"]),
    ("windows", &["Provider_Name", "EventID"]),
    ("linux", &["command", "body", "message"]),
];

/// Positions of the fields a hit needs among the ruleset's carried fields.
#[derive(Debug, Clone, Default)]
pub struct HitFields {
    host: Vec<usize>,
    /// Field name -> position in [`LineMatch::carried`].
    fields: HashMap<&'static str, usize>,
}

/// The details field list for a rule's logsource.
pub fn detail_fields(ls: &Logsource) -> &'static [&'static str] {
    let lower = |v: &Option<String>| v.as_ref().map(|s| s.to_lowercase());
    for key in [lower(&ls.category), lower(&ls.service), lower(&ls.product)]
        .into_iter()
        .flatten()
    {
        if let Some((_, f)) = DETAILS.iter().find(|(k, _)| *k == key) {
            return f;
        }
    }
    FALLBACK
}

impl HitFields {
    /// Asks `ruleset` to carry the host fields and every details field to
    /// the sinks.
    pub fn ask(ruleset: &mut Ruleset) -> HitFields {
        // Interning only one of `hostname`/`computer_name` when the rules
        // reference the other would switch on the event view's host-name
        // alias for them and change what they match: carry the one the
        // rules already have then (the XML's `Computer` covers Windows).
        let has = |n: &str| ruleset.fields.get(n).is_some();
        let host_fields: Vec<&str> = match (has("hostname"), has("computer_name")) {
            (true, false) => vec!["Computer", "hostname"],
            (false, true) => vec!["Computer", "computer_name"],
            _ => HOST_FIELDS.to_vec(),
        };
        let host = host_fields.iter().map(|f| ruleset.carry(f)).collect();
        let mut fields = HashMap::new();
        for name in DETAILS
            .iter()
            .flat_map(|(_, f)| f.iter())
            .chain(FALLBACK)
        {
            fields.entry(*name).or_insert_with(|| ruleset.carry(name));
        }
        HitFields { host, fields }
    }

    /// The event's host, if any host field is present.
    pub fn host<'a>(&self, carried: &'a [Option<String>]) -> Option<&'a str> {
        self.host
            .iter()
            .find_map(|&i| carried.get(i).and_then(|v| v.as_deref()))
            .filter(|h| !h.is_empty())
    }

    /// `Name: value ¦ Name: value` of the present fields among `names`,
    /// else the [`FALLBACK`] fields; values longer than `max` characters
    /// are cut with `…`.
    pub fn details(&self, names: &[&str], carried: &[Option<String>], max: usize) -> String {
        let pick = |names: &[&str]| -> Vec<String> {
            names
                .iter()
                .filter_map(|n| {
                    let v = carried.get(*self.fields.get(n)?)?.as_deref()?;
                    if v.is_empty() {
                        return None;
                    }
                    let v = v.replace(['\r', '\n', '\t'], " ");
                    let v = if v.chars().count() > max {
                        let mut s: String = v.chars().take(max).collect();
                        s.push('…');
                        s
                    } else {
                        v
                    };
                    Some(format!("{n}: {v}"))
                })
                .collect()
        };
        let mut parts = pick(names);
        if parts.is_empty() {
            parts = pick(FALLBACK);
        }
        parts.join(" ¦ ")
    }
}

/// ATT&CK tactic tags of the Sigma tag convention (`attack.<tactic>`), in
/// the order of the enterprise matrix. ATT&CK v18 split Defense Evasion
/// into Stealth and Defense Impairment (the current SigmaHQ tags); the old
/// name is kept for older rules.
pub const TACTICS: &[&str] = &[
    "reconnaissance",
    "resource_development",
    "initial_access",
    "execution",
    "persistence",
    "privilege_escalation",
    "defense_evasion",
    "stealth",
    "defense_impairment",
    "credential_access",
    "discovery",
    "lateral_movement",
    "collection",
    "command_and_control",
    "exfiltration",
    "impact",
];

/// The ATT&CK tactics (`defense-evasion` style, matrix order) and
/// techniques (`T1059.001`) of a rule's tags (Sigma tags appendix:
/// `attack.<tactic>`, `attack.tNNNN[.NNN]`). Group (`attack.gNNNN`) and
/// software (`attack.sNNNN`) tags are left out.
pub fn attack(tags: &[String]) -> (Vec<String>, Vec<String>) {
    let mut tactics = Vec::new();
    let mut techniques = Vec::new();
    for t in tags {
        let Some(rest) = t.to_lowercase().strip_prefix("attack.").map(str::to_string) else {
            continue;
        };
        let rest = rest.replace('-', "_");
        if TACTICS.contains(&rest.as_str()) {
            if !tactics.contains(&rest) {
                tactics.push(rest);
            }
        } else if rest.starts_with('t')
            && rest[1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        {
            let tech = rest.to_uppercase();
            if !techniques.contains(&tech) {
                techniques.push(tech);
            }
        }
    }
    tactics.sort_by_key(|t| TACTICS.iter().position(|x| x == t));
    let tactics = tactics.into_iter().map(|t| t.replace('_', "-")).collect();
    (tactics, techniques)
}

/// Per rule: hits over distinct records, first and last event time.
#[derive(Debug, Clone, Default)]
pub struct RuleHits {
    pub hits: u64,
    pub first_seen: Option<EventTime>,
    pub last_seen: Option<EventTime>,
}

/// Hits of a run by rule and by host, Plaso's copies of one record counted
/// once (a [`Sink`]).
pub struct HitSummary {
    fields: HitFields,
    /// Per rule.
    pub rules: Vec<RuleHits>,
    /// Host -> hits (distinct records); `-` for events without a host.
    pub hosts: BTreeMap<String, u64>,
    seen: HashSet<(u64, u32)>,
}

impl HitSummary {
    pub fn new(ruleset: &Ruleset, fields: HitFields) -> HitSummary {
        HitSummary {
            fields,
            rules: vec![RuleHits::default(); ruleset.rules.len()],
            hosts: BTreeMap::new(),
            seen: HashSet::new(),
        }
    }
}

impl Sink for HitSummary {
    fn chunk(
        &mut self,
        _input: &str,
        _data: &[u8],
        _first_line: u64,
        matches: &[LineMatch],
    ) -> std::io::Result<()> {
        for m in matches {
            for &r in &m.rules {
                if let Some(k) = m.record
                    && !self.seen.insert((k, r))
                {
                    continue;
                }
                let e = &mut self.rules[r as usize];
                e.hits += 1;
                if let Some(t) = m.time {
                    e.first_seen = Some(e.first_seen.map_or(t, |f| f.min(t)));
                    e.last_seen = Some(e.last_seen.map_or(t, |l| l.max(t)));
                }
                let host = self.fields.host(&m.carried).unwrap_or("-");
                *self.hosts.entry(host.to_string()).or_default() += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_tags_read_as_tactics_and_techniques() {
        let tags: Vec<String> = [
            "attack.persistence",
            "attack.execution",
            "attack.t1059.001",
            "attack.T1053",
            "attack.g0016",
            "attack.s0002",
            "attack.defense-evasion",
            "attack.stealth",
            "cve.2021-1675",
            "attack.execution",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (tac, tech) = attack(&tags);
        assert_eq!(tac, ["execution", "persistence", "defense-evasion", "stealth"]);
        assert_eq!(tech, ["T1059.001", "T1053"]);
    }

    #[test]
    fn details_follow_the_logsource() {
        let ls = |c: Option<&str>, s: Option<&str>, p: Option<&str>| Logsource {
            category: c.map(Into::into),
            service: s.map(Into::into),
            product: p.map(Into::into),
            definition: None,
        };
        assert_eq!(detail_fields(&ls(Some("process_creation"), None, Some("windows")))[0], "Image");
        assert_eq!(detail_fields(&ls(None, Some("Security"), Some("windows")))[0], "TargetUserName");
        assert_eq!(detail_fields(&ls(None, Some("no-such"), Some("windows"))), ["Provider_Name", "EventID"]);
        assert_eq!(detail_fields(&ls(None, None, Some("zeek"))), FALLBACK);
    }
}
