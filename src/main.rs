//! The `sigma-match` command line: a thin client of the library's public
//! API. It parses flags, maps them to the library's option types, runs the
//! job ([`Analysis`], [`RulesBuilder::verify`], [`RulesBuilder::explain`],
//! [`RulesBuilder::fields`]) and exits with the status the job decided.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};

use sigma_match::{
    Analysis, CorrelationOptions, Exit, ExplainOptions, FormatOptions, OutputOptions, ReportColor,
    ReportFormat, ReportOptions, RulesBuilder, Scoping, TimelineFormat, TimesketchMappings,
    TimesketchOptions, VerifyOptions,
};

/// Rule loading allocates many small strings and trees; mimalloc cuts the
/// start-up time measurably over the system allocator (see docs/performance.md).
/// Built without transparent huge pages (`no_thp`; `MIMALLOC_ALLOW_THP=1`
/// turns them back on): on the 2-core machine the kernel's zeroing of 2 MiB
/// pages cost 0.3-0.5 s of system time per run, start-up included.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Standard output for the library's jobs: ends the process quietly when
/// the reader has gone (`sigma-match ... | head`), as ripgrep does, instead
/// of failing; any other write error ends it with status 2.
struct Stdout;

impl std::io::Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut o = std::io::stdout().lock();
        if let Err(e) = o.write_all(buf).and_then(|()| o.flush()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("sigma-match: error: writing to stdout: {e}");
            std::process::exit(2);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

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
            .verbose(self.verbose)
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
    #[arg(long, value_name = "N", default_value_t = CorrelationOptions::default().max_events)]
    correlation_max_events: usize,
    /// Correlations: groups with an open window at once (beyond: the oldest is closed early, reported).
    #[arg(long, value_name = "N", default_value_t = CorrelationOptions::default().max_groups)]
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
    clap::builder::PossibleValuesParser::new(sigma_match::STATUSES)
}

/// The Sigma specification's levels, for `--level` and `--min-level`.
fn level_values() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(sigma_match::LEVELS)
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
            return ExitCode::from(if e.use_stderr() { EXIT_ERROR } else { 0 });
        }
    };
    let result = match cli.command {
        None => run(cli.run),
        Some(Command::Verify(args)) => verify(args),
        Some(Command::Explain(args)) => explain(args),
        Some(Command::Fields(args)) => fields(args),
    };
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        // The reader of standard output went away: stop quietly, as
        // `Stdout` does for the report.
        Err(e) if is_broken_pipe(&e) => ExitCode::from(0),
        Err(e) => {
            eprintln!("sigma-match: error: {}", sigma_match::display_chain(e.as_ref()));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

impl From<Format> for ReportFormat {
    fn from(f: Format) -> ReportFormat {
        match f {
            Format::Table => ReportFormat::Table,
            Format::Json => ReportFormat::Json,
        }
    }
}

impl From<EventArgs> for FormatOptions {
    fn from(e: EventArgs) -> FormatOptions {
        FormatOptions {
            evtx_xml: !e.no_evtx_xml,
            host_name_alias: !e.no_host_alias,
        }
    }
}

fn verify(args: VerifyArgs) -> Result<Exit> {
    let options = VerifyOptions {
        format: args.shared.output.format.into(),
        move_to: args.move_to,
        deny_warnings: args.deny_warnings,
        quiet: args.quiet,
        timesketch: args.timesketch,
        all_statuses: args.all_statuses,
    };
    let builder = args.shared.rule.builder(&args.rules);
    Ok(builder.verify(&options, &mut Stdout, &mut std::io::stderr())?)
}

fn explain(args: ExplainArgs) -> Result<Exit> {
    anyhow::ensure!(
        args.shared.output.format == Format::Table,
        "explain prints text only: --format json is not available for it"
    );
    let options = ExplainOptions {
        event: args.event,
        events: args.events,
        limit: args.limit,
        query: args.query.map(|q| match q {
            QueryKind::Lucene => sigma_match::QueryKind::Lucene,
            QueryKind::Timesketch => sigma_match::QueryKind::Timesketch,
        }),
        format: args.shared.event.into(),
    };
    let builder = args.shared.rule.builder(&args.rules);
    Ok(builder.explain(&args.rule, &options, &mut Stdout, &mut std::io::stderr())?)
}

fn fields(args: FieldsArgs) -> Result<Exit> {
    let builder = args.shared.rule.builder(&args.rules);
    Ok(builder.fields(args.shared.output.format.into(), &mut Stdout, &mut std::io::stderr())?)
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

fn run(cli: RunArgs) -> Result<Exit> {
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("setting up threads")?;
    }
    if cli.parse_only {
        let inputs: Vec<String> = cli.paths.iter().chain(&cli.events).cloned().collect();
        return Ok(sigma_match::parse_only(&inputs, &mut Stdout, &mut std::io::stderr())?);
    }
    let (rule_paths, events) = split_paths(&cli)?;
    let scoping = match (&cli.logsources, cli.no_scope) {
        (_, true) => Scoping::Off,
        (Some(p), false) => Scoping::File(p.clone()),
        (None, false) => Scoping::Builtin,
    };
    let builder = cli
        .shared
        .rule
        .builder(&rule_paths)
        .scoping(scoping)
        .correlation(CorrelationOptions {
            time_field: cli.time_field.clone(),
            max_events: cli.correlation_max_events,
            max_groups: cli.correlation_max_groups,
        });
    let outputs = OutputOptions {
        tag_out: cli.tag_out,
        matched_only: cli.matched_only,
        matches: cli.matches,
        timeline: cli.timeline,
        timeline_format: cli.timeline_format.map(|f| match f {
            TimelineFormatArg::Csv => TimelineFormat::Csv,
            TimelineFormatArg::Jsonl => TimelineFormat::Jsonl,
        }),
        timeline_all_copies: cli.timeline_all_copies,
    };
    let report = ReportOptions {
        format: cli.shared.output.format.into(),
        all_rules: cli.all_rules,
        profile: cli.profile,
        color: ReportColor::terminals(),
    };
    let timesketch = cli.timesketch.then(|| TimesketchOptions {
        all_statuses: cli.all_statuses,
        diff: cli.diff.clone(),
        mappings: match cli.ts_mappings {
            TsMappings::Generic => TimesketchMappings::Generic,
            TsMappings::Plaso => TimesketchMappings::Plaso,
        },
        table_rows: cli.hits_only.then_some(50),
    });
    let analysis = Analysis::new(builder, events)
        .outputs(outputs)
        .report(report)
        .format_options(cli.shared.event.into())
        .window(cli.from, cli.to)
        .keep_malformed(cli.max_malformed)
        .progress(!cli.quiet && std::io::stderr().is_terminal())
        .strict(cli.strict)
        .remove_partials_on_signals(true)
        .exiting(true)
        .timesketch(timesketch);
    Ok(analysis.run(&mut Stdout, &mut std::io::stderr())?)
}
