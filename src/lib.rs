//! # sigma-match
//!
//! Runs Sigma detection rules over forensic timelines (Plaso `json_line`,
//! Timesketch JSONL, `evtx_dump` JSON, CSV, EVTX) offline, without a search
//! cluster.
//!
//! ## Quick start
//!
//! Compile two rules from strings, match three JSON lines, print the ids of
//! the rules that matched:
//!
//! ```
//! use sigma_match::RulesBuilder;
//!
//! let rules = RulesBuilder::new()
//!     .text("zmap.yml", "
//! title: Zmap scan
//! id: 8b2f8a7e-0000-4000-8000-000000000001
//! logsource: {product: linux}
//! detection:
//!   sel: {message|contains: zmap}
//!   condition: sel
//! ")
//!     .text("netsh.yml", "
//! title: Netsh port proxy
//! id: 8b2f8a7e-0000-4000-8000-000000000002
//! logsource: {product: windows}
//! detection:
//!   sel: {CommandLine|contains|all: [netsh, portproxy]}
//!   condition: sel
//! ")
//!     .build()?;
//! assert_eq!(rules.len(), 2);
//!
//! let events = [
//!     r#"{"message": "zmap -p 443 10.0.0.0/8"}"#,
//!     r#"{"message": "nothing to see"}"#,
//!     r#"{"CommandLine": "netsh interface portproxy add v4tov4 ..."}"#,
//! ];
//! let mut scratch = rules.scratch(); // one per thread, reused for every event
//! let mut ids = Vec::new();
//! for line in events {
//!     for &r in scratch.matches(line.as_bytes())? {
//!         let id = rules.rule(r).and_then(|info| info.id).unwrap_or("-");
//!         println!("{id}");
//!         ids.push(id.to_string());
//!     }
//! }
//! assert_eq!(ids, ["8b2f8a7e-0000-4000-8000-000000000001", "8b2f8a7e-0000-4000-8000-000000000002"]);
//! # Ok::<(), sigma_match::Error>(())
//! ```
//!
//! ## The front door
//!
//! | type | what it is |
//! |---|---|
//! | [`RulesBuilder`] | rules from paths or strings, with options: mapping configurations, placeholders, status/level filters, exclusions, keyword fields, logsource [`Scoping`] |
//! | [`Rules`] | the compiled ruleset: immutable, shared by all threads; [`Rules::rule`] describes a rule, [`Rules::failed`] lists the rules that did not load |
//! | [`Scratch`] | per-thread scratch to evaluate one event with ([`Scratch::matches`]) |
//! | [`Run`] | a parallel run over inputs given as paths or any [`std::io::Read`], handing [`Match`] records to [`Sink`]s, returning [`RunStats`] |
//! | [`Error`] | the one error type ([`display_chain`] prints it with its causes) |
//!
//! The jobs of the `sigma-match` command line, each writing what the
//! command prints to the output and error streams it is given and returning
//! the [`Exit`] decision, so that the binary is a thin client of this API:
//!
//! | entry point | what it does |
//! |---|---|
//! | [`Analysis`] | the run: preflight checks, compile, [`OutputOptions`] (tagged timeline, match list, hit timeline), the correlation stage, the report ([`ReportOptions`]), the exit decision; Timesketch mode ([`TimesketchOptions`]) |
//! | [`RulesBuilder::verify`] | rule checks and their summary ([`VerifyOptions`]) |
//! | [`RulesBuilder::explain`] | one rule after mapping, and why it did (not) match events ([`ExplainOptions`]) |
//! | [`RulesBuilder::fields`] | the fields the rules reference, before and after mapping |
//! | [`parse_only`] | the benchmark floor: read and parse events, evaluate nothing |
//!
//! `examples/embed.rs` runs a rule folder over a file and a reader with a
//! sink of its own. Everything else in the crate is the machinery behind
//! these types: its modules are private to the crate. The unstable
//! `internals` feature makes them public (hidden from these docs, with no
//! stability promise) for the crate's own tests, benches, examples and fuzz
//! targets; the `sigma-match` binary is built without it, so it uses
//! nothing but this API.
//!
//! ## Inside
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
//! | `sigma` | Sigma text to a typed rule model: `sigma::yaml`, `sigma::rule`, `sigma::value`, `sigma::modifier`, `sigma::condition` | modifier, rule kind, condition syntax |
//! | `mapping` | field mappings and logsource conditions: the `FieldMapping` trait, legacy sigmac configs (`mapping::sigmac`), logsource scoping (`mapping::scope`) | mapping source |
//! | `correlation` | correlation rules, legacy aggregations and `near`: a second stage over the match records of a run (`correlation::stage`) | correlation type |
//! | `compile` | rules to an immutable `Ruleset` shared by all threads; finding, filtering and loading rule files (`compile::loader`); fields a ruleset references (`compile::field_usage`) | matcher kind |
//! | `input` | every input as chunks of JSON lines: files (memory-mapped), streams, gzip/zstd/bzip2/xz, CSV, EVTX, folders | input container or encoding |
//! | `event` | one JSON event: extracting the fields the ruleset needs; one module per format (Timesketch, Plaso, `evtx_dump`); event time (`event::time`) | event format |
//! | `eval` | evaluating the compiled ruleset on an event, with per-thread scratch and the scan memo (`eval::memo`) | |
//! | `run` | the parallel driver (`run::engine`: chunks to evaluation to sinks, counts), preflight checks, the parse-only floor | |
//! | `output` | sinks and what results look like: tagged timelines, match lists, hit timelines, written atomically; hits (`output::hits`); the report table and JSON (`output::report`) | sink, output format |
//! | `tools` | subcommands besides the run: `tools::verify`, `tools::explain`, `tools::lucene` | subcommand |
//! | `timesketch` | Timesketch mode: rules converted and run as Timesketch does, its queries evaluated as OpenSearch would | |
//! | `error` | the typed errors of all stages | |
//!
//! Errors are typed (`error`); the library never panics on bad rules or
//! events, it reports them with file and line and carries on.

#![deny(missing_docs)]

mod api;

pub use api::{
    ConfigError, EventTime, InputStats, Malformed, Pos, RuleError, RuleIssue, ScopeStats, TimeParseError,
    WindowStats,
};
pub use api::{
    Analysis, CorrelationOptions, Error, EventError, Exit, ExplainOptions, Failure, FormatOptions, LEVELS, Match, OutputOptions,
    QueryKind, ReportColor, ReportFormat, ReportOptions, RuleInfo, Rules, RulesBuilder, Run,
    RunStats, STATUSES, Scoping, Scratch, Sink, TimelineFormat, TimesketchMappings, TimesketchOptions,
    VerifyOptions, parse_only,
};
pub use error::display_chain;

/// The shared corpus for the crate's corpus unit tests (`SIGMA_MATCH_SHARED`,
/// set by `.ci/run`; the tests are ignored without it, see `build.rs`).
#[cfg(test)]
pub(crate) mod test_support {
    use std::path::PathBuf;

    /// `rel` under the shared corpus.
    pub(crate) fn shared(rel: &str) -> PathBuf {
        let root = std::env::var_os("SIGMA_MATCH_SHARED").expect("SIGMA_MATCH_SHARED");
        PathBuf::from(root).join(rel)
    }

    /// The text of `rel` under the shared corpus; fails loudly when missing.
    pub(crate) fn shared_text(rel: &str) -> String {
        let path = shared(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

/// Declares the internal modules: `pub(crate)`, or with the unstable
/// `internals` feature `pub` (and hidden from the docs) for the crate's own
/// tests, benches, examples and fuzz targets, which enable it through their
/// dev-dependency on the crate. Built without the feature (as `cargo build`
/// builds the `sigma-match` binary), nothing outside the front door is
/// reachable.
macro_rules! internal_modules {
    ($($name:ident),* $(,)?) => {$(
        #[cfg(feature = "internals")]
        #[doc(hidden)]
        pub mod $name;
        #[cfg(not(feature = "internals"))]
        pub(crate) mod $name;
    )*};
}

internal_modules!(compile, correlation, error, eval, event, input, mapping, output, run, sigma, timesketch, tools);
