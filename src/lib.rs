//! # sigma-match
//!
//! Runs Sigma detection rules over forensic timelines (Plaso `json_line`,
//! Timesketch JSONL, `evtx_dump` JSON) offline, without a search cluster.
//!
//! The crate is split along the data flow, one module per job:
//!
//! | module | owns |
//! |---|---|
//! | [`yaml`] | YAML text to a positioned tree |
//! | [`rule`] | the Sigma rule model: metadata, detection items, values and modifiers, conditions |
//! | [`compile`] | rules to immutable matchers shared by all threads |
//! | [`event`] | one JSON event: extracting the fields the ruleset needs; one module per format (Timesketch, Plaso, `evtx_dump`) |
//! | [`eval`] | evaluating the compiled ruleset on an event, with per-thread scratch |
//! | [`input`] | every input as chunks of JSON lines: files (memory-mapped), streams, gzip/zstd/bzip2/xz, CSV, EVTX, folders |
//! | [`engine`] | the parallel driver: chunks to evaluation to sinks, counts |
//! | [`scope`] | logsource scoping: the event's logsource from the data, which rules apply |
//! | [`preflight`] | never a silent nothing: missing paths, swapped arguments, no rules, unreadable inputs |
//! | [`hits`] | what a hit shows: host, ATT&CK, details per logsource; hits by level, tactic, host |
//! | [`report`] | how results are shown (table, JSON) |
//! | [`output`] | tagged timelines and match lists, written atomically |
//! | [`verify`] | checking rules before a run: findings, summary, `--move` |
//! | [`explain`] | one rule after mapping, annotated with an event's outcomes |
//! | [`lucene`] | a rule as an OpenSearch `query_string` |
//! | [`sigmac`] | Timesketch / legacy sigmac mapping configurations |
//! | [`timesketch`] | Timesketch mode: rules converted and run as Timesketch does, its queries evaluated as OpenSearch would |
//! | [`field_usage`] | fields a ruleset references, before and after mapping |
//! | [`floor`] | the parse-only benchmark floor (`--parse-only`) |
//! | [`time`] | event time: where exports keep it, one type, ISO 8601 |
//!
//! Errors are typed ([`error`]); the library never panics on bad rules or
//! events, it reports them with file and line and carries on.

pub mod compile;
pub mod engine;
pub mod error;
pub mod eval;
pub mod event;
pub mod explain;
pub mod field_usage;
pub mod floor;
pub mod hits;
pub mod input;
pub mod loader;
pub mod lucene;
pub mod mapping;
pub mod memo;
pub mod output;
pub mod preflight;
pub mod report;
pub mod rule;
pub mod scope;
pub mod sigmac;
pub mod timesketch;
pub mod time;
pub mod verify;
pub mod yaml;
