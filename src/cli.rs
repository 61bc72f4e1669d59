//! The `sigma-match` binary's command-line flags (clap declarations). Part
//! of the binary, not of the library: `main.rs` maps these to the library's
//! option types.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use sigma_match::{CorrelationOptions, RulesBuilder};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

/// Examples and exit codes shown after the options of `--help`.
pub const AFTER_HELP: &str = "\
Examples:
  sigma-match rules/ plaso.jsonl                          table of hits (rules scoped to their logsource)
  sigma-match rules/ plaso.jsonl --timeline hits.csv      time-ordered hit timeline for a spreadsheet
  sigma-match rules/ evtx.jsonl --timeline hits.jsonl --min-level high --from 2019-04-27 --to 2019-04-30
  sigma-match rules/ plaso.jsonl --tag-out tagged.jsonl   the timeline with Timesketch's Sigma tags
  zcat big.jsonl.gz | sigma-match rules/ -                standard input
  sigma-match rules/ plaso.jsonl --exclude-rules noisy.txt --format json
  sigma-match verify rules/                               check rules before a run
  sigma-match explain RULE.yml --event plaso.jsonl:42     why a rule did (not) match one event

Levels: informational, low, medium, high, critical. Statuses: stable, test, experimental,
deprecated, unsupported. Times (--from/--to): any ISO 8601 form, UTC unless an offset is given.

Exit codes: 0 ran (also when the reader of stdout went away), 1 --strict and a rule failed or a
line was malformed, 2 error (usage, missing path, no rule to run, an input without one readable
event, I/O), 130/143 interrupted by SIGINT/SIGTERM (partial outputs removed).";

/// Run Sigma rules over JSONL timelines (Plaso json_line, Timesketch, evtx_dump) offline.
///
/// Positional arguments: without -r/-e, the first is the rules path and the
/// rest are event files (`-` = standard input). With -r, all positionals are
/// event files; with -e (and no -r), all positionals are rule paths.
#[derive(Debug, Parser)]
#[command(
    name = "sigma-match",
    version,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true,
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands besides the default run (`sigma-match RULES EVENTS...`).
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check rules (syntax, spec metadata, compiles) and summarise; exit 1 if any rule has an error.
    Verify(VerifyArgs),
    /// Show how a rule is understood after mapping, and why it did or did not match an event.
    Explain(ExplainArgs),
    /// List every field the rules reference, before and after mapping, with rule counts.
    Fields(FieldsArgs),
}

/// Which rules are loaded and how they compile: one declaration shared by
/// every subcommand (the run, `verify`, `explain`, `fields`), so the options
/// cannot drift between them.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RuleArgs {
    /// A Timesketch / legacy sigmac mapping configuration (repeatable, applied in order).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Vec<PathBuf>,
    /// Placeholder values for the `expand` modifier (YAML: name: [values]).
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
    /// Only rules with this status (repeatable or comma-separated), e.g. `stable` as Timesketch runs.
    #[arg(long, value_delimiter = ',', value_parser = status_values(), ignore_case = true)]
    pub status: Vec<String>,
    /// Only rules with this level (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = level_values(), ignore_case = true)]
    pub level: Vec<String>,
    /// Only rules at this level or above (a rule without a level counts as informational).
    #[arg(long, value_name = "LEVEL", value_parser = level_values(), ignore_case = true)]
    pub min_level: Option<String>,
    /// Leave out the rules named in FILE: one rule id or title per line, `#` comments.
    #[arg(long, value_name = "FILE")]
    pub exclude_rules: Option<PathBuf>,
    /// Fields searched by keyword (field-less) detections; default: every string value.
    #[arg(long, value_delimiter = ',', value_name = "FIELD")]
    pub keyword_fields: Option<Vec<String>>,
    /// Say more about what was read (e.g. configuration keys that are ignored).
    #[arg(short, long)]
    pub verbose: bool,
}

impl RuleArgs {
    /// The front door's builder for these options over the rule paths.
    pub fn builder(&self, paths: &[PathBuf]) -> RulesBuilder {
        let mut b = RulesBuilder::new();
        for p in paths {
            b = b.path(p);
        }
        for c in &self.config {
            b = b.config(c);
        }
        if let Some(p) = &self.placeholders {
            b = b.placeholder_file(p);
        }
        if let Some(p) = &self.exclude_rules {
            b = b.exclusion_file(p);
        }
        b.statuses(self.status.clone())
            .levels(self.level.clone())
            .min_level(self.min_level.clone())
            .keyword_fields(self.keyword_fields.clone())
            .verbose(self.verbose)
    }
}

/// How events are read: shared by every subcommand. They apply where a
/// subcommand reads events (the run, `explain --event/--events`); `verify`
/// and `fields` read none and accept them so one command line fits all.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct EventArgs {
    /// Do not resolve fields of Plaso Windows records from their `xml_string`.
    #[arg(long)]
    pub no_evtx_xml: bool,
    /// Do not let `hostname` and `computer_name` stand in for each other
    /// (by default a rule naming one finds the other when the event lacks it).
    #[arg(long)]
    pub no_host_alias: bool,
}

/// The output format: shared by every subcommand.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct FormatArgs {
    /// Output format (`explain` has only the table, i.e. text, form).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// The option groups every subcommand takes.
#[derive(Debug, Clone, clap::Args)]
pub struct SharedArgs {
    #[command(flatten)]
    pub rule: RuleArgs,
    #[command(flatten)]
    pub event: EventArgs,
    #[command(flatten)]
    pub output: FormatArgs,
}

/// `sigma-match fields RULES... [-c CONFIG]`.
#[derive(Debug, clap::Args)]
pub struct FieldsArgs {
    /// Rule files or directories.
    #[arg(value_name = "RULES", required = true)]
    pub rules: Vec<PathBuf>,
    #[command(flatten)]
    pub shared: SharedArgs,
}

/// `sigma-match verify RULES...`
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Rule files or directories (recursive; `deprecated` folders skipped).
    #[arg(value_name = "RULES", required = true)]
    pub rules: Vec<PathBuf>,
    #[command(flatten)]
    pub shared: SharedArgs,
    /// Move each rule file with an error into DIR (keeping its relative path; never overwrites)
    /// and append the reasons to DIR/debug.log.
    #[arg(long = "move", value_name = "DIR")]
    pub move_to: Option<PathBuf>,
    /// Also exit with status 1 when there are only warnings.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Only print the summary, not one line per finding.
    #[arg(short, long)]
    pub quiet: bool,
    /// Check the rules as Timesketch imports and runs them (with its one -c
    /// file): the rules it cannot convert, with the error it logs, and the
    /// stable rules whose stored query OpenSearch rejects.
    #[arg(long)]
    pub timesketch: bool,
    /// With --timesketch: check the queries of all rules, not only the
    /// `stable` ones Timesketch's Sigma analyzer runs.
    #[arg(long, requires = "timesketch")]
    pub all_statuses: bool,
}

/// `sigma-match explain RULE`
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A rule file, or a rule id looked up in the -r paths.
    #[arg(value_name = "RULE")]
    pub rule: String,
    #[command(flatten)]
    pub shared: SharedArgs,
    /// Rule files or directories to look the rule id up in. Repeatable.
    #[arg(short = 'r', long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Evaluate the rule on one event: FILE:LINE (1-based line number).
    #[arg(long, value_name = "FILE:LINE", conflicts_with = "events")]
    pub event: Option<String>,
    /// Evaluate the rule on every event of FILE and explain the matching ones.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// With --events: how many matching events to explain.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Also print the rule as a query for another system.
    #[arg(long, value_enum)]
    pub query: Option<QueryKind>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum QueryKind {
    /// OpenSearch/Elasticsearch query_string (Lucene syntax), as pasted into Timesketch's search bar.
    Lucene,
    /// The query Timesketch itself stores for the rule (its `es_query`, made
    /// by legacy sigmac 0.19.1 as Timesketch runs it; needs its one -c file).
    Timesketch,
}

/// The default command: run rules over events and report tag counts.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Without -r/-e: a rule path, then event files (`-` = stdin). With -r: event files. With -e: rule paths
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
    /// A rule file or directory (recursive; `deprecated` folders skipped). Repeatable.
    #[arg(short = 'r', long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// An event file or folder (JSONL, CSV, .evtx; plain or compressed), or `-` for standard input. Repeatable.
    #[arg(short = 'e', long = "events", value_name = "FILE")]
    pub events: Vec<String>,
    #[command(flatten)]
    pub shared: SharedArgs,
    /// Run every rule on every event (no logsource scoping), as Timesketch
    /// without a logsource mapping and rsigma without a pipeline do.
    #[arg(long)]
    pub no_scope: bool,
    /// The logsource table for scoping (default: the built-in
    /// configs/logsources.yml; see docs/scoping.md).
    #[arg(long, value_name = "FILE", conflicts_with = "no_scope")]
    pub logsources: Option<PathBuf>,
    /// Exit with status 1 if any rule failed to load or any line was malformed.
    #[arg(long)]
    pub strict: bool,
    /// List every loaded rule in the table, also those without hits (JSON always lists all).
    #[arg(long)]
    pub all_rules: bool,
    /// (The default now: the table lists rules with hits.)
    #[arg(long, hide = true)]
    pub hits_only: bool,
    /// Only events at or after this time (ISO 8601: 2019-04-27, 2019-04-27T15:57:25Z, ...).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Only events at or before this time (a date alone: the end of that day).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Write the hits as a time-ordered timeline (`-` = stdout): CSV, or JSON lines for *.jsonl.
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<String>,
    /// Timeline format (default: from the file name; CSV for `-`).
    #[arg(long, value_enum, value_name = "FORMAT", requires = "timeline")]
    pub timeline_format: Option<TimelineFormatArg>,
    /// With --timeline: one row per event, also for Plaso's second copy of a record.
    #[arg(long, requires = "timeline")]
    pub timeline_all_copies: bool,
    /// Per-rule evaluation counts and time; top rules shown after the table.
    #[arg(long)]
    pub profile: bool,
    /// Worker threads (default: all cores).
    #[arg(short = 'j', long)]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    /// Benchmark floor: read and JSON-parse every event line, evaluate nothing.
    /// Positionals are event files (no rules path).
    #[arg(long, hide = true)]
    pub parse_only: bool,
    /// How many malformed lines to print in full.
    #[arg(long, default_value_t = 10)]
    pub max_malformed: usize,
    /// Write every event as JSONL, matched ones with Timesketch's Sigma attributes (`-` = stdout; a name ending in .gz/.zst is compressed).
    #[arg(long, value_name = "FILE")]
    pub tag_out: Option<String>,
    /// With --tag-out: write only the matched events.
    #[arg(long, requires = "tag_out")]
    pub matched_only: bool,
    /// Write one JSON line per (event, rule) match (`-` = stdout; a name ending in .gz/.zst is compressed).
    #[arg(long, value_name = "FILE")]
    pub matches: Option<String>,
    /// Timesketch mode: also read every rule as Timesketch's Sigma analyzer does (its query
    /// on OpenSearch, emulated) and report both counts, why they differ, and example events.
    /// Needs Timesketch's configuration as the one -c file.
    #[arg(long)]
    pub timesketch: bool,
    /// With --timesketch: run every rule in Timesketch's reading, not only `status: stable` ones.
    #[arg(long, requires = "timesketch")]
    pub all_statuses: bool,
    /// With --timesketch: write every (event, rule) tagged by one reading and not the other (JSONL, `-` = stdout).
    #[arg(long, value_name = "FILE", requires = "timesketch")]
    pub diff: Option<String>,
    /// With --timesketch: the mapping Timesketch created the index with.
    #[arg(long, value_enum, default_value_t = TsMappings::Generic, requires = "timesketch")]
    pub ts_mappings: TsMappings,
    /// Read event time from this field only (ISO 8601 text, or epoch seconds / ms / us),
    /// instead of the formats' own time fields (Plaso `timestamp`, `datetime`, evtx `SystemTime`).
    #[arg(long, value_name = "NAME")]
    pub time_field: Option<String>,
    /// Correlations: events one group's open window keeps (beyond: evaluated early, oldest dropped, reported).
    #[arg(long, value_name = "N", default_value_t = CorrelationOptions::default().max_events)]
    pub correlation_max_events: usize,
    /// Correlations: groups with an open window at once (beyond: the oldest is closed early, reported).
    #[arg(long, value_name = "N", default_value_t = CorrelationOptions::default().max_groups)]
    pub correlation_max_groups: usize,
}

/// Timesketch's index mapping files.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TsMappings {
    /// data/generic.mappings: JSONL and CSV uploads.
    Generic,
    /// data/plaso.mappings: .plaso storage files.
    Plaso,
}

/// `--timeline-format`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TimelineFormatArg {
    /// Comma-separated values with a header row (RFC 4180).
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// The Sigma specification's statuses, for `--status`.
pub fn status_values() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(sigma_match::STATUSES)
}

/// The Sigma specification's levels, for `--level` and `--min-level`.
pub fn level_values() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(sigma_match::LEVELS)
}
