//! # sigma-match
//!
//! Runs Sigma detection rules over forensic timelines (Plaso `json_line`,
//! Timesketch JSONL, `evtx_dump` JSON) offline, without a search cluster.
//!
//! The crate is split along the data flow, one folder per stage, in the
//! order data passes through them (see `docs/architecture.md` for the
//! picture):
//!
//! ```text
//! rule files ─ sigma ─ mapping ─ compile ─► Ruleset ─┐
//!                                                      ├─ eval ─ run ─► output (sinks, report)
//! event files ─ input ─ event (one module per format) ─┘
//! ```
//!
//! | module | owns | a new ... goes here |
//! |---|---|---|
//! | [`sigma`] | Sigma text to a typed rule model: [`sigma::yaml`], [`sigma::rule`], [`sigma::value`], [`sigma::modifier`], [`sigma::condition`] | modifier, rule kind, condition syntax |
//! | [`mapping`] | field mappings and logsource conditions: the [`mapping::FieldMapping`] trait, legacy sigmac configs ([`mapping::sigmac`]), logsource scoping ([`mapping::scope`]) | mapping source |
//! | [`compile`] | rules to an immutable [`compile::Ruleset`] shared by all threads; finding, filtering and loading rule files ([`compile::loader`]); fields a ruleset references ([`compile::field_usage`]) | matcher kind |
//! | [`input`] | every input as chunks of JSON lines: files (memory-mapped), streams, gzip/zstd/bzip2/xz, CSV, EVTX, folders | input container or encoding |
//! | [`event`] | one JSON event: extracting the fields the ruleset needs; one module per format (Timesketch, Plaso, `evtx_dump`); event time ([`event::time`]) | event format |
//! | [`eval`] | evaluating the compiled ruleset on an event, with per-thread scratch and the scan memo ([`eval::memo`]) | |
//! | [`run`] | the parallel driver ([`run::engine`]: chunks to evaluation to sinks, counts), preflight checks, the parse-only floor | |
//! | [`output`] | sinks and what results look like: tagged timelines, match lists, hit timelines, written atomically; hits ([`output::hits`]); the report table and JSON ([`output::report`]) | sink, output format |
//! | [`tools`] | subcommands besides the run: [`tools::verify`], [`tools::explain`], [`tools::lucene`] | subcommand |
//! | [`timesketch`] | Timesketch mode: rules converted and run as Timesketch does, its queries evaluated as OpenSearch would | |
//! | [`error`] | the typed errors of all stages | |
//!
//! Errors are typed ([`error`]); the library never panics on bad rules or
//! events, it reports them with file and line and carries on.

pub mod compile;
pub mod error;
pub mod eval;
pub mod event;
pub mod input;
pub mod mapping;
pub mod output;
pub mod run;
pub mod sigma;
pub mod timesketch;
pub mod tools;
