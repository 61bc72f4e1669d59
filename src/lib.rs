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
//! | [`rule`] | the Sigma rule model: metadata, detection items, modifiers, conditions |
//! | [`compile`] | rules to immutable matchers shared by all threads |
//! | [`event`] | one JSON event: extracting the fields the ruleset needs |
//! | [`eval`] | evaluating the compiled ruleset on an event, with per-thread scratch |
//! | [`source`] | reading inputs (memory map or stream), splitting lines, chunking |
//! | [`engine`] | the parallel driver: chunks to evaluation to sinks, counts |
//! | [`report`] | how results are shown (table, JSON) |
//! | [`floor`] | the parse-only benchmark floor (`--parse-only`) |
//!
//! Errors are typed ([`error`]); the library never panics on bad rules or
//! events, it reports them with file and line and carries on.

pub mod compile;
pub mod engine;
pub mod error;
pub mod eval;
pub mod event;
pub mod loader;
pub mod mapping;
pub mod evtx_xml;
pub mod floor;
pub mod report;
pub mod rule;
pub mod source;
pub mod yaml;
