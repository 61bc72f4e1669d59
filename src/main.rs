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
use sigma_match::engine::{self, RunOptions};
use sigma_match::loader::{self, RuleFilter};
use sigma_match::mapping::{self, Identity};
use sigma_match::report::Report;

/// Rule loading allocates many small strings and trees; mimalloc cuts the
/// start-up time measurably over the system allocator (see README, Performance).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// Run Sigma rules over JSONL timelines (Plaso json_line, Timesketch, evtx_dump) offline.
///
/// Positional arguments: without -r/-e, the first is the rules path and the
/// rest are event files (`-` = standard input). With -r, all positionals are
/// event files; with -e (and no -r), all positionals are rule paths.
#[derive(Debug, Parser)]
#[command(name = "sigma-match", version, about, long_about = None, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

/// Subcommands besides the default run (`sigma-match RULES EVENTS...`).
#[derive(Debug, clap::Subcommand)]
enum Command {}

/// The default command: run rules over events and report tag counts.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// RULES EVENTS... (see above)
    #[arg(value_name = "PATH")]
    paths: Vec<String>,
    /// A rule file or directory (recursive; `deprecated` folders skipped). Repeatable.
    #[arg(short = 'r', long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// An event file (JSONL) or `-` for standard input. Repeatable.
    #[arg(short = 'e', long = "events", value_name = "FILE")]
    events: Vec<String>,
    /// Output format of the report.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Only rules with this status (repeatable or comma-separated), e.g. `stable` as Timesketch runs.
    #[arg(long, value_delimiter = ',')]
    status: Vec<String>,
    /// Only rules with this level (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',')]
    level: Vec<String>,
    /// Placeholder values for the `expand` modifier (YAML: name: [values]).
    #[arg(long, value_name = "FILE")]
    placeholders: Option<PathBuf>,
    /// Fields searched by keyword (field-less) detections; default: every string value.
    #[arg(long, value_delimiter = ',', value_name = "FIELD")]
    keyword_fields: Option<Vec<String>>,
    /// Do not resolve fields of Plaso Windows records from their `xml_string`.
    #[arg(long)]
    no_evtx_xml: bool,
    /// Exit with status 1 if any rule failed to load or any line was malformed.
    #[arg(long)]
    strict: bool,
    /// Hide rules that tagged nothing from the table (JSON always lists all).
    #[arg(long)]
    hits_only: bool,
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
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("sigma-match: error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
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
        anyhow::bail!("no event files given (usage: sigma-match RULES EVENTS...; use - for standard input)");
    }
    Ok((rules, events))
}

fn run(cli: RunArgs) -> Result<u8> {
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global().context("setting up threads")?;
    }
    if cli.parse_only {
        return parse_only(&cli);
    }
    let (rule_paths, events) = split_paths(&cli)?;
    let placeholders: HashMap<String, Vec<String>> = match &cli.placeholders {
        Some(p) => mapping::load_placeholders(p)?,
        None => HashMap::new(),
    };
    let filter = RuleFilter { statuses: cli.status.clone(), levels: cli.level.clone() };
    let opts = CompileOptions { mapping: &Identity, placeholders: &placeholders, keyword_fields: cli.keyword_fields.clone() };
    let (ruleset, failed, _filtered) = loader::load_ruleset(&rule_paths, &filter, opts);
    let run_opts = RunOptions {
        no_evtx_xml: cli.no_evtx_xml,
        profile: cli.profile,
        keep_malformed: cli.max_malformed,
        progress: !cli.quiet && std::io::stderr().is_terminal(),
    };
    let stats = engine::run(&ruleset, &events, &run_opts, &mut []).context("writing output")?;
    let report = Report::new(&ruleset, &failed, &stats, cli.profile);
    match cli.format {
        Format::Json => println!("{}", report.to_json()),
        Format::Table => print!("{}", report.to_table(!cli.hits_only, 20, if cli.profile { 20 } else { 0 })),
    }
    if !stats.input_errors.is_empty() {
        for e in &stats.input_errors {
            eprintln!("sigma-match: error: {e}");
        }
        return Ok(EXIT_ERROR);
    }
    if cli.strict && (!failed.is_empty() || stats.malformed > 0) {
        return Ok(EXIT_STRICT);
    }
    Ok(EXIT_OK)
}

/// `--parse-only`: the benchmark floor (see `sigma_match::floor`).
fn parse_only(cli: &RunArgs) -> Result<u8> {
    let inputs: Vec<String> = cli.paths.iter().chain(&cli.events).cloned().collect();
    anyhow::ensure!(!inputs.is_empty(), "--parse-only needs event files");
    let s = sigma_match::floor::parse_only(&inputs);
    let secs = s.elapsed.as_secs_f64();
    println!(
        "parse-only: {} events, {} malformed, {} bytes | {:.2}s, {:.0} events/s",
        s.events,
        s.malformed,
        s.bytes,
        secs,
        if secs > 0.0 { s.events as f64 / secs } else { 0.0 }
    );
    for e in &s.input_errors {
        eprintln!("sigma-match: error: {e}");
    }
    Ok(if s.input_errors.is_empty() { EXIT_OK } else { EXIT_ERROR })
}
