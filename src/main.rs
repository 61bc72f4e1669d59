//! The `sigma-match` command line: parses flags and wires the library's
//! loader, compiler, engine and report together. All logic lives in the
//! library; this file only decides what to run and how to exit.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};

use sigma_match::compile::CompileOptions;
use sigma_match::run::engine::{self, RunOptions};
use sigma_match::compile::field_usage::FieldUsage;
use sigma_match::compile::loader::{self, RuleFilter};
use sigma_match::mapping::{self, FieldMapping, Identity};
use sigma_match::output::{OutputSpec, Outputs};
use sigma_match::run::preflight;
use sigma_match::output::report::{Costs, Report, TableOptions};
use sigma_match::mapping::sigmac::SigmacChain;
use sigma_match::timesketch::query::{Statuses, TimesketchConfig};
use sigma_match::{RulesBuilder, Scoping};

/// Rule loading allocates many small strings and trees; mimalloc cuts the
/// start-up time measurably over the system allocator (see docs/performance.md).
/// Built without transparent huge pages (`no_thp`; `MIMALLOC_ALLOW_THP=1`
/// turns them back on): on the 2-core machine the kernel's zeroing of 2 MiB
/// pages cost 0.3-0.5 s of system time per run, start-up included.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `print!` to stdout that ends the process quietly when the reader has
/// gone (`sigma-match ... | head`), as ripgrep does, instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => { emit(format_args!($($arg)*)) };
}

macro_rules! outln {
    () => { emit(format_args!("\n")) };
    ($($arg:tt)*) => { emit(format_args!("{}\n", format_args!($($arg)*))) };
}

fn emit(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_fmt(args).and_then(|()| o.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("sigma-match: error: writing to stdout: {e}");
        std::process::exit(2);
    }
}

/// Exit status: everything ran (rule or line problems are reported).
const EXIT_OK: u8 = 0;
/// Exit status with `--strict`: some rule failed or some line was malformed.
const EXIT_STRICT: u8 = 1;
/// Exit status: usage error or an input/output error.
const EXIT_ERROR: u8 = 2;

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Table,
    Json,
}

/// Examples and exit codes shown after the options of `--help`.
const AFTER_HELP: &str = "\
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
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

/// Subcommands besides the default run (`sigma-match RULES EVENTS...`).
#[derive(Debug, clap::Subcommand)]
enum Command {
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
struct RuleArgs {
    /// A Timesketch / legacy sigmac mapping configuration (repeatable, applied in order).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Vec<PathBuf>,
    /// Placeholder values for the `expand` modifier (YAML: name: [values]).
    #[arg(long, value_name = "FILE")]
    placeholders: Option<PathBuf>,
    /// Only rules with this status (repeatable or comma-separated), e.g. `stable` as Timesketch runs.
    #[arg(long, value_delimiter = ',', value_parser = status_values(), ignore_case = true)]
    status: Vec<String>,
    /// Only rules with this level (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = level_values(), ignore_case = true)]
    level: Vec<String>,
    /// Only rules at this level or above (a rule without a level counts as informational).
    #[arg(long, value_name = "LEVEL", value_parser = level_values(), ignore_case = true)]
    min_level: Option<String>,
    /// Leave out the rules named in FILE: one rule id or title per line, `#` comments.
    #[arg(long, value_name = "FILE")]
    exclude_rules: Option<PathBuf>,
    /// Fields searched by keyword (field-less) detections; default: every string value.
    #[arg(long, value_delimiter = ',', value_name = "FIELD")]
    keyword_fields: Option<Vec<String>>,
    /// Say more about what was read (e.g. configuration keys that are ignored).
    #[arg(short, long)]
    verbose: bool,
}

impl RuleArgs {
    /// Whether any of the rule filters is given.
    fn filters(&self) -> bool {
        !self.status.is_empty()
            || !self.level.is_empty()
            || self.min_level.is_some()
            || self.exclude_rules.is_some()
    }

    /// The front door's builder for these options over the rule paths.
    fn builder(&self, paths: &[PathBuf]) -> RulesBuilder {
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
    }

    /// The rule filter of `--status`, `--level`, `--min-level` and `--exclude-rules`.
    fn filter(&self) -> Result<RuleFilter> {
        Ok(RuleFilter {
            statuses: self.status.clone(),
            levels: self.level.clone(),
            min_level: self.min_level.clone(),
            exclude: match &self.exclude_rules {
                Some(p) => loader::read_exclusions(p).context("reading the rule exclusion list")?,
                None => Vec::new(),
            },
        })
    }
}

/// How events are read: shared by every subcommand. They apply where a
/// subcommand reads events (the run, `explain --event/--events`); `verify`
/// and `fields` read none and accept them so one command line fits all.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
struct EventArgs {
    /// Do not resolve fields of Plaso Windows records from their `xml_string`.
    #[arg(long)]
    no_evtx_xml: bool,
    /// Do not let `hostname` and `computer_name` stand in for each other
    /// (by default a rule naming one finds the other when the event lacks it).
    #[arg(long)]
    no_host_alias: bool,
}

/// The output format: shared by every subcommand.
#[derive(Debug, Clone, Copy, clap::Args)]
struct FormatArgs {
    /// Output format (`explain` has only the table, i.e. text, form).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// The option groups every subcommand takes.
#[derive(Debug, Clone, clap::Args)]
struct SharedArgs {
    #[command(flatten)]
    rule: RuleArgs,
    #[command(flatten)]
    event: EventArgs,
    #[command(flatten)]
    output: FormatArgs,
}

/// `sigma-match fields RULES... [-c CONFIG]`.
#[derive(Debug, clap::Args)]
struct FieldsArgs {
    /// Rule files or directories.
    #[arg(value_name = "RULES", required = true)]
    rules: Vec<PathBuf>,
    #[command(flatten)]
    shared: SharedArgs,
}

/// `sigma-match verify RULES...`
#[derive(Debug, clap::Args)]
struct VerifyArgs {
    /// Rule files or directories (recursive; `deprecated` folders skipped).
    #[arg(value_name = "RULES", required = true)]
    rules: Vec<PathBuf>,
    #[command(flatten)]
    shared: SharedArgs,
    /// Move each rule file with an error into DIR (keeping its relative path; never overwrites)
    /// and append the reasons to DIR/debug.log.
    #[arg(long = "move", value_name = "DIR")]
    move_to: Option<PathBuf>,
    /// Also exit with status 1 when there are only warnings.
    #[arg(long)]
    deny_warnings: bool,
    /// Only print the summary, not one line per finding.
    #[arg(short, long)]
    quiet: bool,
    /// Check the rules as Timesketch imports and runs them (with its one -c
    /// file): the rules it cannot convert, with the error it logs, and the
    /// stable rules whose stored query OpenSearch rejects.
    #[arg(long)]
    timesketch: bool,
    /// With --timesketch: check the queries of all rules, not only the
    /// `stable` ones Timesketch's Sigma analyzer runs.
    #[arg(long, requires = "timesketch")]
    all_statuses: bool,
}

/// `sigma-match explain RULE`
#[derive(Debug, clap::Args)]
struct ExplainArgs {
    /// A rule file, or a rule id looked up in the -r paths.
    #[arg(value_name = "RULE")]
    rule: String,
    #[command(flatten)]
    shared: SharedArgs,
    /// Rule files or directories to look the rule id up in. Repeatable.
    #[arg(short = 'r', long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Evaluate the rule on one event: FILE:LINE (1-based line number).
    #[arg(long, value_name = "FILE:LINE", conflicts_with = "events")]
    event: Option<String>,
    /// Evaluate the rule on every event of FILE and explain the matching ones.
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// With --events: how many matching events to explain.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// Also print the rule as a query for another system.
    #[arg(long, value_enum)]
    query: Option<QueryKind>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum QueryKind {
    /// OpenSearch/Elasticsearch query_string (Lucene syntax), as pasted into Timesketch's search bar.
    Lucene,
    /// The query Timesketch itself stores for the rule (its `es_query`, made
    /// by legacy sigmac 0.19.1 as Timesketch runs it; needs its one -c file).
    Timesketch,
}

/// The default command: run rules over events and report tag counts.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Without -r/-e: a rule path, then event files (`-` = stdin). With -r: event files. With -e: rule paths
    #[arg(value_name = "PATH")]
    paths: Vec<String>,
    /// A rule file or directory (recursive; `deprecated` folders skipped). Repeatable.
    #[arg(short = 'r', long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// An event file or folder (JSONL, CSV, .evtx; plain or compressed), or `-` for standard input. Repeatable.
    #[arg(short = 'e', long = "events", value_name = "FILE")]
    events: Vec<String>,
    #[command(flatten)]
    shared: SharedArgs,
    /// Run every rule on every event (no logsource scoping), as Timesketch
    /// without a logsource mapping and rsigma without a pipeline do.
    #[arg(long)]
    no_scope: bool,
    /// The logsource table for scoping (default: the built-in
    /// configs/logsources.yml; see docs/scoping.md).
    #[arg(long, value_name = "FILE", conflicts_with = "no_scope")]
    logsources: Option<PathBuf>,
    /// Exit with status 1 if any rule failed to load or any line was malformed.
    #[arg(long)]
    strict: bool,
    /// List every loaded rule in the table, also those without hits (JSON always lists all).
    #[arg(long)]
    all_rules: bool,
    /// (The default now: the table lists rules with hits.)
    #[arg(long, hide = true)]
    hits_only: bool,
    /// Only events at or after this time (ISO 8601: 2019-04-27, 2019-04-27T15:57:25Z, ...).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Only events at or before this time (a date alone: the end of that day).
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
    /// Write the hits as a time-ordered timeline (`-` = stdout): CSV, or JSON lines for *.jsonl.
    #[arg(long, value_name = "FILE")]
    timeline: Option<String>,
    /// Timeline format (default: from the file name; CSV for `-`).
    #[arg(long, value_enum, value_name = "FORMAT", requires = "timeline")]
    timeline_format: Option<TimelineFormatArg>,
    /// With --timeline: one row per event, also for Plaso's second copy of a record.
    #[arg(long, requires = "timeline")]
    timeline_all_copies: bool,
    /// Per-rule evaluation counts and time; top rules shown after the table.
    #[arg(long)]
    profile: bool,
    /// Worker threads (default: all cores).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
    /// Benchmark floor: read and JSON-parse every event line, evaluate nothing.
    /// Positionals are event files (no rules path).
    #[arg(long, hide = true)]
    parse_only: bool,
    /// How many malformed lines to print in full.
    #[arg(long, default_value_t = 10)]
    max_malformed: usize,
    /// Write every event as JSONL, matched ones with Timesketch's Sigma attributes (`-` = stdout; a name ending in .gz/.zst is compressed).
    #[arg(long, value_name = "FILE")]
    tag_out: Option<String>,
    /// With --tag-out: write only the matched events.
    #[arg(long, requires = "tag_out")]
    matched_only: bool,
    /// Write one JSON line per (event, rule) match (`-` = stdout; a name ending in .gz/.zst is compressed).
    #[arg(long, value_name = "FILE")]
    matches: Option<String>,
    /// Timesketch mode: also read every rule as Timesketch's Sigma analyzer does (its query
    /// on OpenSearch, emulated) and report both counts, why they differ, and example events.
    /// Needs Timesketch's configuration as the one -c file.
    #[arg(long)]
    timesketch: bool,
    /// With --timesketch: run every rule in Timesketch's reading, not only `status: stable` ones.
    #[arg(long, requires = "timesketch")]
    all_statuses: bool,
    /// With --timesketch: write every (event, rule) tagged by one reading and not the other (JSONL, `-` = stdout).
    #[arg(long, value_name = "FILE", requires = "timesketch")]
    diff: Option<String>,
    /// With --timesketch: the mapping Timesketch created the index with.
    #[arg(long, value_enum, default_value_t = TsMappings::Generic, requires = "timesketch")]
    ts_mappings: TsMappings,
    /// Read event time from this field only (ISO 8601 text, or epoch seconds / ms / us),
    /// instead of the formats' own time fields (Plaso `timestamp`, `datetime`, evtx `SystemTime`).
    #[arg(long, value_name = "NAME")]
    time_field: Option<String>,
    /// Correlations: events one group's open window keeps (beyond: evaluated early, oldest dropped, reported).
    #[arg(long, value_name = "N", default_value_t = sigma_match::correlation::DEFAULT_MAX_EVENTS)]
    correlation_max_events: usize,
    /// Correlations: groups with an open window at once (beyond: the oldest is closed early, reported).
    #[arg(long, value_name = "N", default_value_t = sigma_match::correlation::DEFAULT_MAX_GROUPS)]
    correlation_max_groups: usize,
}

/// Timesketch's index mapping files.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum TsMappings {
    /// data/generic.mappings: JSONL and CSV uploads.
    Generic,
    /// data/plaso.mappings: .plaso storage files.
    Plaso,
}

/// `--timeline-format`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum TimelineFormatArg {
    /// Comma-separated values with a header row (RFC 4180).
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// The Sigma specification's statuses, for `--status`.
fn status_values() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(sigma_match::tools::verify::STATUSES)
}

/// The Sigma specification's levels, for `--level` and `--min-level`.
fn level_values() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(sigma_match::tools::verify::LEVELS)
}

/// Whether an error comes from writing to a reader that went away
/// (`sigma-match ... --tag-out - | head`).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.to_string().contains("Broken pipe")
    })
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_ERROR } else { EXIT_OK });
        }
    };
    let result = match cli.command {
        None => run(cli.run),
        Some(Command::Verify(args)) => verify(args),
        Some(Command::Explain(args)) => explain(args),
        Some(Command::Fields(args)) => fields(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // The reader of standard output went away: stop quietly, as
        // `emit` does for the report.
        Err(e) if is_broken_pipe(&e) => ExitCode::from(EXIT_OK),
        Err(e) => {
            eprintln!(
                "sigma-match: error: {}",
                sigma_match::error::display_chain(e.as_ref())
            );
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn placeholders(path: &Option<PathBuf>) -> Result<HashMap<String, Vec<String>>> {
    Ok(match path {
        Some(p) => mapping::load_placeholders(p)?,
        None => HashMap::new(),
    })
}

/// The one configuration Timesketch converts with (`-c`, exactly once).
fn timesketch_config(paths: &[PathBuf]) -> Result<TimesketchConfig> {
    match paths {
        [one] => Ok(TimesketchConfig::load(one)?),
        _ => anyhow::bail!(
            "Timesketch mode needs exactly one -c file: the sigma_config.yaml Timesketch converts with \
             (got {})",
            paths.len()
        ),
    }
}

fn verify(args: VerifyArgs) -> Result<u8> {
    use sigma_match::tools::verify::{self as v, output};
    if let Some(missing) = args.rules.iter().find(|p| !p.exists()) {
        anyhow::bail!("{}: no such file or directory", missing.display());
    }
    if args.timesketch {
        return verify_timesketch(args);
    }
    let placeholders = placeholders(&args.shared.rule.placeholders)?;
    let filter = args.shared.rule.filter()?;
    let chain = load_configs(&args.shared.rule.config, args.shared.rule.verbose)?;
    for w in chain.warnings() {
        eprintln!("sigma-match: {w}");
    }
    let mapping = mapping_of(&chain);
    let verified = v::verify_paths(
        &args.rules,
        &v::Options {
            mapping,
            placeholders: &placeholders,
            keyword_fields: args.shared.rule.keyword_fields.clone(),
            filter: &filter,
        },
    );
    let moved = move_erroring(&verified, &args)?;
    match args.shared.output.format {
        Format::Json => outln!("{}", output::to_json(&verified, moved.as_deref())),
        Format::Table => print_verify_table(&verified, moved.as_deref(), args.quiet),
    }
    let warned = verified
        .findings
        .iter()
        .any(|f| f.severity == v::Severity::Warning);
    Ok(if verified.has_errors() || (args.deny_warnings && warned) {
        EXIT_STRICT
    } else {
        EXIT_OK
    })
}

/// `verify --move DIR`: moves each rule file with an error into DIR.
fn move_erroring(
    verified: &sigma_match::tools::verify::Verified,
    args: &VerifyArgs,
) -> Result<Option<Vec<sigma_match::tools::verify::relocate::Moved>>> {
    use sigma_match::tools::verify::relocate;
    Ok(match &args.move_to {
        Some(dir) => Some(
            relocate::move_erroring(verified, &args.rules, dir)
                .with_context(|| format!("moving rules into {}", dir.display()))?,
        ),
        None => None,
    })
}

/// `verify`'s table: a line per finding (unless `quiet`), the moved files,
/// the summary.
fn print_verify_table(
    verified: &sigma_match::tools::verify::Verified,
    moved: Option<&[sigma_match::tools::verify::relocate::Moved]>,
    quiet: bool,
) {
    use sigma_match::tools::verify::output;
    if !quiet {
        out!("{}", output::finding_lines(verified));
    }
    if let Some(m) = moved {
        out!("{}", output::moved_lines(m));
    }
    out!("{}", output::summary(verified));
}

/// `verify --timesketch`: the same output as `verify`, with Timesketch's
/// reasons.
fn verify_timesketch(args: VerifyArgs) -> Result<u8> {
    use sigma_match::tools::verify::timesketch::{TimesketchOptions, verify_timesketch};
    use sigma_match::tools::verify::output;
    anyhow::ensure!(
        !args.shared.rule.filters(),
        "verify --timesketch checks the rules as Timesketch imports them: \
         --status, --level, --min-level and --exclude-rules do not apply (see --all-statuses)"
    );
    let config = timesketch_config(&args.shared.rule.config)?;
    let (verified, summary) = verify_timesketch(
        &args.rules,
        &config,
        TimesketchOptions {
            include_all: args.all_statuses,
        },
    );
    let moved = move_erroring(&verified, &args)?;
    match args.shared.output.format {
        Format::Json => {
            let mut doc: serde_json::Value =
                serde_json::from_str(&output::to_json(&verified, moved.as_deref()))?;
            if let Some(obj) = doc.as_object_mut() {
                obj.insert(
                    "timesketch".into(),
                    serde_json::json!({
                        "converted": summary.converted,
                        "analyzed": summary.analyzed,
                        "not_analyzed": summary.not_analyzed,
                        "all_statuses": args.all_statuses,
                    }),
                );
            }
            outln!("{doc}");
        }
        Format::Table => {
            print_verify_table(&verified, moved.as_deref(), args.quiet);
            outln!(
                "timesketch: {} rules converted; {} run by the Sigma analyzer{}, {} skipped (status not stable)",
                summary.converted,
                summary.analyzed,
                if args.all_statuses { " (--all-statuses: queries of all checked)" } else { " (stable)" },
                summary.not_analyzed
            );
        }
    }
    Ok(if verified.has_errors() { EXIT_STRICT } else { EXIT_OK })
}

/// Prints what Timesketch stores for the rule file: `timesketch: <es_query>`
/// (the rest of the line byte for byte), or why it cannot import it.
fn print_timesketch_query(config: &TimesketchConfig, path: &std::path::Path) {
    use sigma_match::timesketch::query::{ConvertOptions, timesketch_query};
    let converted = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e}", path.display()))
        .and_then(|text| {
            timesketch_query(&text, path, config, &ConvertOptions::default())
                .map_err(|e| format!("{e}\n  logged: {}", e.log_line()))
        });
    match converted {
        Ok(q) => {
            outln!("timesketch: {}", q.es_query);
            if !q.is_analyzed(Statuses::Stable) {
                outln!(
                    "  note: status is {}; Timesketch's Sigma analyzer runs only stable rules",
                    q.status.as_deref().unwrap_or("not set (stored as experimental)")
                );
            }
        }
        Err(e) => outln!("timesketch: not imported: {e}"),
    }
}

fn split_paths(cli: &RunArgs) -> Result<(Vec<PathBuf>, Vec<String>)> {
    let mut rules = cli.rules.clone();
    let mut events = cli.events.clone();
    if !cli.rules.is_empty() {
        events.extend(cli.paths.iter().cloned());
    } else if !cli.events.is_empty() {
        rules.extend(cli.paths.iter().map(PathBuf::from));
    } else if let Some((first, rest)) = cli.paths.split_first() {
        rules.push(PathBuf::from(first));
        events.extend(rest.iter().cloned());
    }
    if rules.is_empty() {
        anyhow::bail!("no rules given (usage: sigma-match RULES EVENTS...; see --help)");
    }
    if events.is_empty() {
        anyhow::bail!(
            "no event files given (usage: sigma-match RULES EVENTS...; use - for standard input)"
        );
    }
    Ok((rules, events))
}

fn run(cli: RunArgs) -> Result<u8> {
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("setting up threads")?;
    }
    if cli.parse_only {
        return parse_only(&cli);
    }
    let (rule_paths, events) = split_paths(&cli)?;
    preflight::check_paths(&rule_paths, &events)?;
    sigma_match::output::remove_partials_on_signals().context("installing signal handlers")?;
    let scoping = match (&cli.logsources, cli.no_scope) {
        (_, true) => Scoping::Off,
        (Some(p), false) => Scoping::File(p.clone()),
        (None, false) => Scoping::Builtin,
    };
    let copts = sigma_match::correlation::Options {
        time_field: cli.time_field.clone(),
        max_events: cli.correlation_max_events,
        max_groups: cli.correlation_max_groups,
    };
    let mut rules = cli
        .shared
        .rule
        .builder(&rule_paths)
        .scoping(scoping)
        .correlation(copts)
        .build()?;
    say_ignored_keys(rules.mapping_chain(), cli.shared.rule.verbose);
    preflight::check_loaded(
        rules.len(),
        rules.failed_rules(),
        rules.filtered(),
        &rule_paths,
        &events,
    )?;
    let hit_fields = sigma_match::output::hits::HitFields::ask(rules.ruleset_mut());
    let window = match (&cli.from, &cli.to) {
        (None, None) => None,
        (f, t) => Some(
            engine::TimeWindow::parse(f.as_deref(), t.as_deref()).context("--from/--to")?,
        ),
    };
    // Freeing ~100 MB of automatons and rule trees one by one at exit costs
    // tens of milliseconds the OS does for free.
    let rules = std::mem::ManuallyDrop::new(rules);
    let (ruleset, failed, chain) = (rules.ruleset(), rules.failed_rules(), rules.mapping_chain());
    let plan = rules.correlations();
    let filtered = rules.filtered().clone();
    let run_opts = RunOptions {
        window,
        no_evtx_xml: cli.shared.event.no_evtx_xml,
        no_host_alias: cli.shared.event.no_host_alias,
        profile: cli.profile,
        keep_malformed: cli.max_malformed,
        progress: !cli.quiet && std::io::stderr().is_terminal(),
    };
    if cli.timesketch {
        return run_timesketch(&cli, ruleset, failed, chain, &rule_paths, &events, &run_opts);
    }
    let spec = OutputSpec {
        tag_out: cli.tag_out.clone(),
        matched_only: cli.matched_only,
        matches: cli.matches.clone(),
        timeline: cli.timeline.clone(),
        timeline_format: cli.timeline_format.map(|f| match f {
            TimelineFormatArg::Csv => sigma_match::output::TimelineFormat::Csv,
            TimelineFormatArg::Jsonl => sigma_match::output::TimelineFormat::Jsonl,
        }),
        timeline_all_copies: cli.timeline_all_copies,
        hit_fields: Some(hit_fields.clone()),
    };
    let own_outputs: Vec<String> = [&cli.tag_out, &cli.matches]
        .into_iter()
        .flatten()
        .filter(|p| *p != "-")
        .cloned()
        .collect();
    let expanded = sigma_match::input::walk::expand(&events, &own_outputs);
    if !expanded.skipped.is_empty() {
        let shown: Vec<String> = expanded
            .skipped
            .iter()
            .take(5)
            .map(|(p, what)| format!("{p} ({what})"))
            .collect();
        eprintln!(
            "sigma-match: note: {} files in the event folders are not event data and were not read: {}{}",
            expanded.skipped.len(),
            shown.join(", "),
            if expanded.skipped.len() > 5 { ", ..." } else { "" }
        );
    }
    if let Some(f) = expanded.empty_folders.first() {
        anyhow::bail!(
            "{f}: no event files found in this folder (JSON lines, CSV, .evtx; plain or gzip/zstd/bzip2/xz)"
        );
    }
    if expanded.inputs.is_empty() {
        anyhow::bail!(
            "no event files found in {} (JSON lines, CSV, .evtx; plain or gzip/zstd/bzip2/xz)",
            events.join(", ")
        );
    }
    let events = expanded.inputs;
    // With correlations, --tag-out is written in a second pass, once the
    // events that correlations tag are known.
    let corr_tag_out = if plan.is_empty() { None } else { spec.tag_out.clone() };
    let spec = OutputSpec {
        tag_out: if corr_tag_out.is_some() { None } else { spec.tag_out.clone() },
        ..spec
    };
    let mut outputs = Outputs::open(&spec, ruleset, &events)?;
    if let Some(t) = &corr_tag_out
        && (spec.matches.as_deref() == Some(t.as_str()) || spec.timeline.as_deref() == Some(t.as_str()))
        && t != "-"
    {
        anyhow::bail!("{t} is given for two outputs");
    }
    let mut hits = sigma_match::output::hits::HitSummary::new(ruleset, hit_fields);
    let mut collector = sigma_match::correlation::stage::Collector::new(plan);
    let mut stats = {
        let mut sinks = outputs.sinks();
        sinks.push(&mut hits);
        if plan.is_empty() && plan.hidden_count() == 0 {
            engine::run(ruleset, &events, &run_opts, &mut sinks).context("writing output")?
        } else {
            // Rules that only feed correlations reach no output; the
            // collector sees every match.
            let n = sinks.len();
            let mut hide: Vec<sigma_match::correlation::stage::Hide<'_>> = sinks
                .into_iter()
                .enumerate()
                .map(|(i, s)| {
                    // The outputs' own sinks are finished after the firings are added.
                    if i + 1 < n {
                        sigma_match::correlation::stage::Hide::deferring(s, &plan.hidden)
                    } else {
                        sigma_match::correlation::stage::Hide::new(s, &plan.hidden)
                    }
                })
                .collect();
            let mut all: Vec<&mut dyn engine::Sink> =
                hide.iter_mut().map(|h| h as &mut dyn engine::Sink).collect();
            all.push(&mut collector);
            engine::run(ruleset, &events, &run_opts, &mut all).context("writing output")?
        }
    };
    let outcome = collector.finish_stage();
    sigma_match::correlation::stage::hide_stats(&mut stats, plan);
    if !(plan.is_empty() && plan.hidden_count() == 0) {
        if let Some(t) = outputs.timeline_mut() {
            sigma_match::correlation::output::timeline_rows(t, plan, &outcome);
        }
        if let Some(w) = outputs.matches_mut() {
            sigma_match::correlation::output::write_matches(w, plan, &outcome)
                .context("writing --matches")?;
        }
        outputs.finish_sinks().context("writing output")?;
    }
    if let Some(t) = &corr_tag_out {
        use sigma_match::output::{Destination, TagWriter, tag::RuleAttributes};
        let mut attrs: Vec<RuleAttributes> = ruleset
            .rules
            .iter()
            .map(|r| RuleAttributes::new(&r.rule.title, r.rule.id.as_deref(), &r.rule.tags))
            .collect();
        attrs.extend(sigma_match::correlation::output::tag_attributes(plan));
        let dest = Destination::create(t, &events)?;
        let mut w = TagWriter::with_rules(attrs, dest, cli.matched_only);
        {
            let mut tagging =
                sigma_match::correlation::stage::Tagging::new(&mut w, plan, &outcome, ruleset.rules.len());
            engine::run(ruleset, &events, &run_opts, &mut [&mut tagging]).context("writing --tag-out")?;
        }
        w.into_inner().commit()?;
    }
    let mut report = Report::new(
        ruleset,
        failed,
        &stats,
        if cli.profile { Costs::Include } else { Costs::Omit },
    );
    report.filtered = Some(filtered);
    report.add_hits(ruleset, &hits);
    sigma_match::correlation::output::amend_report(&mut report, ruleset, plan, &outcome);
    // Colour by level on a terminal only, and never with NO_COLOR set
    // (https://no-color.org: any non-empty value).
    report.color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && if outputs.uses_stdout() || corr_tag_out.as_deref() == Some("-") {
            std::io::stderr().is_terminal()
        } else {
            std::io::stdout().is_terminal()
        };
    report.config_warnings = chain.warnings().iter().map(ToString::to_string).collect();
    let text = match cli.shared.output.format {
        Format::Json if !plan.is_empty() => {
            let mut j: serde_json::Value = serde_json::from_str(&report.to_json())?;
            j["correlations"] = sigma_match::correlation::output::json(plan, &outcome);
            format!("{}\n", serde_json::to_string_pretty(&j)?)
        }
        Format::Json => format!("{}\n", report.to_json()),
        Format::Table => {
            let mut t = report.to_table(TableOptions {
                show_zero: cli.all_rules,
                max_missing: 20,
                profile_top: if cli.profile { 20 } else { 0 },
            });
            t.push_str(&sigma_match::correlation::output::table_section(plan, &outcome, 5));
            t
        }
    };
    for w in sigma_match::correlation::output::warnings(plan, &outcome) {
        eprintln!("sigma-match: warning: {w}");
    }
    // Outputs on stdout keep it machine-readable: the report goes to stderr.
    if outputs.uses_stdout() || corr_tag_out.as_deref() == Some("-") {
        eprint!("{text}");
    } else {
        out!("{text}");
    }
    for w in &stats.input_warnings {
        eprintln!("sigma-match: warning: {w}");
    }
    let unreadable = preflight::check_inputs(&stats.inputs);
    if !stats.input_errors.is_empty() || !unreadable.is_empty() {
        for e in &stats.input_errors {
            eprintln!("sigma-match: error: {e}");
        }
        for e in &unreadable {
            eprintln!("sigma-match: error: {e}");
        }
        for what in outputs.abandon() {
            eprintln!("sigma-match: error: {what}: an input could not be read completely");
        }
        return Ok(EXIT_ERROR);
    }
    if outputs.unedited() > 0 {
        eprintln!(
            "sigma-match: warning: {} matched lines were not JSON objects and were written untagged",
            outputs.unedited()
        );
    }
    outputs.commit()?;
    if cli.strict && (!failed.is_empty() || stats.malformed > 0 || !stats.input_warnings.is_empty())
    {
        return Ok(EXIT_STRICT);
    }
    Ok(EXIT_OK)
}

/// `--timesketch`: the spec reading and Timesketch's, side by side.
fn run_timesketch(
    cli: &RunArgs,
    ruleset: &sigma_match::compile::Ruleset,
    failed: &[sigma_match::output::report::FailedRule],
    chain: &SigmacChain,
    rule_paths: &[PathBuf],
    events: &[String],
    run_opts: &RunOptions,
) -> Result<u8> {
    use sigma_match::run::engine::LineMatch;
    use sigma_match::output::{Destination, TagWriter, tag::RuleAttributes};
    use sigma_match::timesketch::diff::{self, SpecCollector};
    use sigma_match::timesketch::index::MappingKind;
    use sigma_match::timesketch::query::{ConvertOptions, timesketch_query};
    use sigma_match::timesketch::run::{self as tsrun, InputText, TsRule};

    anyhow::ensure!(
        cli.matches.is_none(),
        "--matches lists the spec reading only; with --timesketch use --diff or --tag-out"
    );
    let ts_config = timesketch_config(&cli.shared.rule.config)?;
    let filter_statuses = &cli.shared.rule.status;
    let mut spec = SpecCollector::default();
    let stats = engine::run(ruleset, events, run_opts, &mut [&mut spec])
        .context("evaluating the spec reading")?;
    if !stats.input_errors.is_empty() {
        for e in &stats.input_errors {
            eprintln!("sigma-match: error: {e}");
        }
        return Ok(EXIT_ERROR);
    }
    // Timesketch's reading: one query per rule file.
    let (files, _issues) = loader::rule_files(rule_paths);
    let spec_by_path: HashMap<&std::path::Path, &sigma_match::sigma::rule::Rule> = ruleset
        .rules
        .iter()
        .filter(|r| r.rule.document == 0)
        .map(|r| (r.rule.path.as_path(), &r.rule))
        .collect();
    let convert = ConvertOptions::default();
    let mut ts_rules = Vec::new();
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("sigma-match: {}: {e}", path.display());
                continue;
            }
        };
        let spec_rule = spec_by_path.get(path.as_path()).copied();
        let stripped = text.contains("|endswith") || text.contains("|startswith");
        let ts_rule = match timesketch_query(&text, &path, &ts_config, &convert) {
            Ok(q) => TsRule {
                analyzed: q.is_analyzed(Statuses::all_if(cli.all_statuses)),
                title: q.title.clone(),
                id: Some(q.id.clone()).filter(|i| !i.is_empty()),
                status: q.status.clone(),
                tags: q.tags.clone(),
                es_query: Ok(q.es_query.clone()),
                modifiers_stripped: stripped,
                path: path.clone(),
            },
            Err(e) => TsRule {
                analyzed: cli.all_statuses
                    || spec_rule.is_some_and(|r| r.status.as_deref() == Some("stable")),
                title: spec_rule
                    .map(|r| r.title.clone())
                    .unwrap_or_else(|| path.display().to_string()),
                id: spec_rule.and_then(|r| r.id.clone()),
                status: spec_rule.and_then(|r| r.status.clone()),
                tags: spec_rule.map(|r| r.tags.clone()).unwrap_or_default(),
                es_query: Err(e.to_string()),
                modifiers_stripped: stripped,
                path: path.clone(),
            },
        };
        // Rules the spec reading's filters (--status, --level, --exclude-rules, ...)
        // left out are left out here too; rules it failed to load are kept
        // (Timesketch may still convert them).
        let failed_here = failed
            .iter()
            .any(|f| f.issue.path.as_path() == path.as_path());
        let keep_status = filter_statuses.is_empty()
            || ts_rule.status.as_deref().is_some_and(|s| {
                filter_statuses.iter().any(|w| w.eq_ignore_ascii_case(s))
            });
        if keep_status && (spec_rule.is_some() || failed_here) {
            ts_rules.push(ts_rule);
        }
    }
    let inputs: Vec<InputText> = events
        .iter()
        .map(|e| InputText::read(e))
        .collect::<Result<_, _>>()
        .context("reading events")?;
    let kind = match cli.ts_mappings {
        TsMappings::Generic => MappingKind::Generic,
        TsMappings::Plaso => MappingKind::Plaso,
    };
    let ts = tsrun::evaluate(&ts_rules, &inputs, kind);
    let d = diff::compare(ruleset, &stats.counts, &spec, &ts_rules, &ts, &inputs);
    let mut uses_stdout = false;
    if let Some(spec_out) = &cli.diff {
        let mut dest = Destination::create(spec_out, events)?;
        uses_stdout |= dest.is_stdout();
        diff::write_diff(&mut dest, ruleset, &spec, &ts_rules, &ts, &inputs, &d)
            .context("writing --diff")?;
        dest.commit()?;
    }
    if let Some(tag_spec) = &cli.tag_out {
        let dest = Destination::create(tag_spec, events)?;
        uses_stdout |= dest.is_stdout();
        let attrs: Vec<RuleAttributes> = ts_rules
            .iter()
            .map(|r| RuleAttributes::new(&r.title, r.id.as_deref(), &r.tags))
            .collect();
        let mut w = TagWriter::with_rules(attrs, dest, cli.matched_only);
        for (ii, inp) in inputs.iter().enumerate() {
            let hits: HashMap<u64, &Vec<u32>> = ts.hits[ii].iter().map(|(l, r)| (*l, r)).collect();
            let mut matches = Vec::new();
            let mut start = 0usize;
            for (n, raw) in inp.text.split('\n').enumerate() {
                let end = start + raw.len();
                let line_end = if raw.ends_with('\r') { end - 1 } else { end };
                if let Some(r) = hits.get(&(n as u64 + 1)) {
                    matches.push(LineMatch {
                        line: n as u64 + 1,
                        range: start..line_end,
                        rules: (*r).clone(),
                        time: None,
                        record: None,
                        carried: Vec::new(),
                    });
                }
                start = end + 1;
            }
            sigma_match::run::engine::Sink::chunk(&mut w, &inp.name, inp.text.as_bytes(), 1, &matches)
                .context("writing --tag-out")?;
        }
        sigma_match::run::engine::Sink::finish(&mut w).context("writing --tag-out")?;
        w.into_inner().commit()?;
    }
    let mut text = match cli.shared.output.format {
        Format::Json => {
            let mut j = d.to_json();
            j["config_warnings"] = serde_json::json!(
                chain.warnings().iter().map(ToString::to_string).collect::<Vec<_>>()
            );
            j["spec_failed_rules"] = serde_json::json!(failed.len());
            format!("{j}\n")
        }
        Format::Table => d.to_table(if cli.hits_only { 50 } else { usize::MAX }),
    };
    if !failed.is_empty() && cli.shared.output.format == Format::Table {
        text.push_str(&format!(
            "{} rules failed to load in the spec reading (run without --timesketch for details)\n",
            failed.len()
        ));
    }
    if uses_stdout {
        eprint!("{text}");
    } else {
        out!("{text}");
    }
    Ok(EXIT_OK)
}

fn explain(args: ExplainArgs) -> Result<u8> {
    use sigma_match::tools::explain as ex;
    anyhow::ensure!(
        args.shared.output.format == Format::Table,
        "explain prints text only: --format json is not available for it"
    );
    let placeholders = placeholders(&args.shared.rule.placeholders)?;
    let filter = args.shared.rule.filter()?;
    let chain = load_configs(&args.shared.rule.config, args.shared.rule.verbose)?;
    let mapping = mapping_of(&chain);
    let ts_config = match args.query {
        Some(QueryKind::Timesketch) => Some(timesketch_config(&args.shared.rule.config)?),
        _ => None,
    };
    let format_options = sigma_match::event::FormatOptions {
        evtx_xml: !args.shared.event.no_evtx_xml,
        host_name_alias: !args.shared.event.no_host_alias,
    };
    {
        // A correlation rule (or legacy aggregation) is explained by the
        // correlation stage.
        let opts = CompileOptions {
            mapping,
            placeholders: &placeholders,
            keyword_fields: args.shared.rule.keyword_fields.clone(),
        };
        if let Some(text) = sigma_match::correlation::explain::explain(
            &args.rule,
            &args.rules,
            args.events.as_deref(),
            opts,
            &sigma_match::correlation::Options::default(),
        )? {
            out!("{text}");
            return Ok(EXIT_OK);
        }
    }
    let rules = match ex::find_rules(&args.rule, &args.rules) {
        Ok(r) if args.shared.rule.filters() => {
            let kept: Vec<_> = r.into_iter().filter(|r| filter.dropped(r).is_none()).collect();
            anyhow::ensure!(
                !kept.is_empty(),
                "{}: left out by --status, --level, --min-level or --exclude-rules",
                args.rule
            );
            kept
        }
        Ok(r) => r,
        Err(e) => {
            // Timesketch may still import a file sigma-match cannot load.
            let as_path = std::path::Path::new(&args.rule);
            if let (Some(cfg), true) = (&ts_config, as_path.is_file()) {
                print_timesketch_query(cfg, as_path);
            }
            return Err(e.into());
        }
    };
    for (n, rule) in rules.into_iter().enumerate() {
        if n > 0 {
            outln!();
        }
        let rule_path = rule.path.clone();
        let lucene = match args.query {
            Some(QueryKind::Lucene) => {
                Some(sigma_match::tools::lucene::to_query(&rule, mapping, &placeholders))
            }
            _ => None,
        };
        let opts = CompileOptions {
            mapping,
            placeholders: &placeholders,
            keyword_fields: args.shared.rule.keyword_fields.clone(),
        };
        let rs = match ex::compile_one(rule, opts) {
            Ok(rs) => rs,
            Err(e) => {
                if let Some(cfg) = &ts_config {
                    print_timesketch_query(cfg, &rule_path);
                }
                return Err(e.into());
            }
        };
        if let Some(spec) = &args.event {
            let (file, line) = spec
                .rsplit_once(':')
                .and_then(|(f, l)| Some((f, l.parse::<usize>().ok().filter(|l| *l > 0)?)))
                .with_context(|| format!("--event wants FILE:LINE (1-based line), got `{spec}`"))?;
            let text = ex::read_event_line(std::path::Path::new(file), line)?;
            let mut m = sigma_match::eval::Matcher::new(&rs);
            m.view.options = format_options;
            match ex::Outcome::evaluate(&mut m, &text) {
                Ok(o) => {
                    outln!("event: {file}:{line}");
                    out!("{}", ex::render(&rs, mapping, Some(&o)));
                }
                Err(e) => anyhow::bail!("{file}:{line}: malformed event: {e}"),
            }
        } else if let Some(path) = &args.events {
            let (text, lines, matched, malformed) =
                ex::explain_events(&rs, mapping, path, args.limit, format_options)?;
            out!("{text}");
            if matched == 0 {
                out!("{}", ex::render(&rs, mapping, None));
            }
            outln!(
                "{}: {matched} of {lines} events matched ({malformed} malformed){}",
                path.display(),
                if matched > args.limit {
                    format!("; first {} explained", args.limit)
                } else {
                    String::new()
                }
            );
        } else {
            out!("{}", ex::render(&rs, mapping, None));
        }
        match lucene {
            Some(Ok(q)) => {
                outln!("lucene: {}", q.query);
                for c in q.caveats {
                    outln!("  caveat: {c}");
                }
            }
            Some(Err(e)) => outln!("lucene: not expressible: {e}"),
            None => {}
        }
        if let Some(cfg) = &ts_config {
            print_timesketch_query(cfg, &rule_path);
        }
    }
    Ok(EXIT_OK)
}

/// The mapping a command runs under: the loaded chain, or `Identity` when
/// no `-c` was given (which skips the per-rule logsource resolution).
fn mapping_of(chain: &SigmacChain) -> &dyn FieldMapping {
    if chain.configs.is_empty() {
        &Identity
    } else {
        chain
    }
}

/// Loads the mapping configurations; with `verbose`, says on stderr which
/// keys are read and ignored. (Warnings go into the report.)
fn load_configs(paths: &[PathBuf], verbose: bool) -> Result<SigmacChain> {
    let chain = SigmacChain::load(paths).context("reading mapping configuration")?;
    say_ignored_keys(&chain, verbose);
    Ok(chain)
}

/// With `verbose`, says on stderr which keys of the configurations are read
/// and ignored.
fn say_ignored_keys(chain: &SigmacChain, verbose: bool) {
    for c in &chain.configs {
        if verbose && !c.ignored().is_empty() {
            let keys: Vec<String> = c
                .ignored()
                .iter()
                .map(|(k, p)| format!("`{k}` (line {})", p.line))
                .collect();
            eprintln!(
                "sigma-match: {}: ignored (Elasticsearch/sigmac output settings, no meaning here): {}",
                c.path.display(),
                keys.join(", ")
            );
        }
    }
}

fn fields(args: FieldsArgs) -> Result<u8> {
    preflight::check_paths(&args.rules, &[])?;
    let rules = args.shared.rule.builder(&args.rules).scoping(Scoping::Off).build()?;
    say_ignored_keys(rules.mapping_chain(), args.shared.rule.verbose);
    let usage = FieldUsage::of(rules.ruleset());
    let failed = rules.failed_rules();
    for w in rules.mapping_chain().warnings() {
        eprintln!("sigma-match: {w}");
    }
    match args.shared.output.format {
        Format::Json => outln!("{}", usage.to_json()),
        Format::Table => {
            out!("{}", usage.to_table());
            if !failed.is_empty() {
                outln!("\n{} rules not loaded (run them for details)", failed.len());
            }
        }
    }
    Ok(EXIT_OK)
}

/// `--parse-only`: the benchmark floor (see `sigma_match::run::floor`).
fn parse_only(cli: &RunArgs) -> Result<u8> {
    let inputs: Vec<String> = cli.paths.iter().chain(&cli.events).cloned().collect();
    anyhow::ensure!(!inputs.is_empty(), "--parse-only needs event files");
    let inputs = sigma_match::input::walk::expand(&inputs, &[]).inputs;
    let s = sigma_match::run::floor::parse_only(&inputs);
    let secs = s.elapsed.as_secs_f64();
    outln!(
        "parse-only: {} events, {} malformed, {} bytes | {:.3}s, {:.0} events/s",
        s.events,
        s.malformed,
        s.bytes,
        secs,
        if secs > 0.0 {
            s.events as f64 / secs
        } else {
            0.0
        }
    );
    for e in &s.input_errors {
        eprintln!("sigma-match: error: {e}");
    }
    Ok(if s.input_errors.is_empty() {
        EXIT_OK
    } else {
        EXIT_ERROR
    })
}
