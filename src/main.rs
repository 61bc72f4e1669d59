//! The `sigma-match` command line: a thin client of the library's public
//! API. It parses flags, maps them to the library's option types, runs the
//! job ([`Analysis`], [`RulesBuilder::verify`], [`RulesBuilder::explain`],
//! [`RulesBuilder::fields`]) and exits with the status the job decided.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use sigma_match::{
    Analysis, CorrelationOptions, Exit, ExplainOptions, FormatOptions, OutputOptions, ReportColor,
    ReportFormat, ReportOptions, Scoping, TimelineFormat, TimesketchMappings, TimesketchOptions,
    VerifyOptions,
};

/// Rule loading allocates many small strings and trees; mimalloc cuts the
/// start-up time measurably over the system allocator (see docs/performance.md).
/// Built without transparent huge pages (`no_thp`; `MIMALLOC_ALLOW_THP=1`
/// turns them back on): on the 2-core machine the kernel's zeroing of 2 MiB
/// pages cost 0.3-0.5 s of system time per run, start-up included.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's C options, set before any thread starts ([`tune_allocator`]).
/// The `libmimalloc-sys` crate binds the options of mimalloc v2 only, and
/// its extended API would add a dependency for two declarations.
mod mi {
    use std::ffi::{c_int, c_long};

    /// `mi_option_page_reclaim_on_free` in mimalloc v3.3.2's `mi_option_e`.
    pub const PAGE_RECLAIM_ON_FREE: c_int = 35;
    /// The version whose option numbering [`PAGE_RECLAIM_ON_FREE`] is
    /// (`MI_MALLOC_VERSION`); any other leaves the options alone.
    pub const VERSION: c_int = 30302;

    unsafe extern "C" {
        pub fn mi_version() -> c_int;
        pub fn mi_option_set(option: c_int, value: c_long);
    }
}

/// A compiled rule's detection searches are freed on the thread that
/// compiles it, from pages the loading thread allocated them in; by default
/// mimalloc hands such pages back to their (abandoned) owner one free at a
/// time, 22 M instructions of a 775 M start-up over SigmaHQ `rules/`. With
/// `page_reclaim_on_free` at 1 the freeing thread adopts the page (752 M;
/// faults and maxrss down slightly). `MIMALLOC_PAGE_RECLAIM_ON_FREE` set in
/// the environment wins.
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PAGE_RECLAIM_ON_FREE").is_some() {
        return;
    }
    // SAFETY: plain calls into the linked allocator's C API, made before
    // any other thread exists; the option is set only for the version whose
    // numbering it was taken from.
    unsafe {
        if mi::mi_version() == mi::VERSION {
            mi::mi_option_set(mi::PAGE_RECLAIM_ON_FREE, 1);
        }
    }
}

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

mod cli;

use cli::{
    Cli, Command, EventArgs, ExplainArgs, FieldsArgs, Format, QueryKind, RunArgs,
    TimelineFormatArg, TsMappings, VerifyArgs,
};

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
    tune_allocator();
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
            eprintln!(
                "sigma-match: error: {}",
                sigma_match::display_chain(e.as_ref())
            );
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
    Ok(builder.fields(
        args.shared.output.format.into(),
        &mut Stdout,
        &mut std::io::stderr(),
    )?)
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
        return Ok(sigma_match::parse_only(
            &inputs,
            &mut Stdout,
            &mut std::io::stderr(),
        )?);
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

#[cfg(test)]
mod tests {
    use super::mi;

    #[test]
    fn mimalloc_is_the_version_whose_option_numbers_main_uses() {
        // SAFETY: a plain call into the linked allocator.
        let v = unsafe { mi::mi_version() };
        assert_eq!(
            v,
            mi::VERSION,
            "mimalloc changed: check `mi_option_e` in its mimalloc.h and update `mi`"
        );
    }

    #[test]
    fn tune_allocator_sets_page_reclaim_on_free() {
        unsafe extern "C" {
            fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
        }
        if std::env::var_os("MIMALLOC_PAGE_RECLAIM_ON_FREE").is_some() {
            return;
        }
        super::tune_allocator();
        // SAFETY: a plain call into the linked allocator.
        assert_eq!(unsafe { mi_option_get(mi::PAGE_RECLAIM_ON_FREE) }, 1);
    }
}
