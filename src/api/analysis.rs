//! [`Analysis`]: the whole job of the `sigma-match RULES EVENTS...` command
//! (preflight checks, compile, the run, outputs, the correlation stage, the
//! report and the exit decision) as one library call, so that an embedder
//! does not have to copy the command line's orchestration.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::api::{Context, Failure, bail, ensure};

use super::{Error, Exit, ReportFormat, RulesBuilder, say_ignored_keys};
use crate::compile::Ruleset;
use crate::compile::loader;
use crate::mapping::sigmac::SigmacChain;
use crate::output::report::{Costs, FailedRule, Report, TableOptions};
pub use crate::output::{OutputOptions, TimelineFormat};
use crate::output::Outputs;
use crate::run::engine::{self, RunOptions};
use crate::run::preflight;

/// When the report is coloured by level: per stream it is written to
/// (the report goes to standard output, or to the error stream when an
/// output is written to standard output).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportColor {
    /// Colour the report when it goes to the output stream.
    pub on_out: bool,
    /// Colour the report when it goes to the error stream.
    pub on_err: bool,
}

impl ReportColor {
    /// Colour on a stream that is a terminal, never with `NO_COLOR` set
    /// (<https://no-color.org>: any non-empty value).
    pub fn terminals() -> ReportColor {
        let allowed = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        ReportColor {
            on_out: allowed && std::io::stdout().is_terminal(),
            on_err: allowed && std::io::stderr().is_terminal(),
        }
    }
}

/// What the report shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportOptions {
    /// Table or JSON.
    pub format: ReportFormat,
    /// List every loaded rule in the table, also those without hits
    /// (`--all-rules`; JSON always lists all).
    pub all_rules: bool,
    /// Per-rule evaluation counts and time, top rules after the table
    /// (`--profile`).
    pub profile: bool,
    /// When to colour the table.
    pub color: ReportColor,
}

/// Which mapping Timesketch created the index with (Timesketch mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimesketchMappings {
    /// `data/generic.mappings`: JSONL and CSV uploads.
    #[default]
    Generic,
    /// `data/plaso.mappings`: `.plaso` storage files.
    Plaso,
}

/// Timesketch mode: besides the specification's reading, every rule is
/// read as Timesketch's Sigma analyzer does (its query on OpenSearch,
/// emulated); the report has both counts, why they differ, and example
/// events. Needs Timesketch's `sigma_config.yaml` as the one configuration.
#[derive(Debug, Clone, Default)]
pub struct TimesketchOptions {
    /// Run every rule in Timesketch's reading, not only `status: stable`
    /// ones.
    pub all_statuses: bool,
    /// Write every (event, rule) tagged by one reading and not the other
    /// (JSON lines, `-` = standard output).
    pub diff: Option<String>,
    /// The mapping Timesketch created the index with.
    pub mappings: TimesketchMappings,
    /// Rows of the table (`None`: all).
    pub table_rows: Option<usize>,
}

/// The whole job of a run: rules (from a [`RulesBuilder`]) over event
/// inputs, with outputs, the correlation stage, the report and the exit
/// decision. Diagnostics go to the error stream given to [`Analysis::run`]
/// with the `sigma-match: ` prefix the command line prints.
#[derive(Debug)]
pub struct Analysis {
    builder: RulesBuilder,
    inputs: Vec<String>,
    outputs: OutputOptions,
    report: ReportOptions,
    format: super::FormatOptions,
    from: Option<String>,
    to: Option<String>,
    keep_malformed: usize,
    progress: bool,
    strict: bool,
    exiting: bool,
    signals: bool,
    timesketch: Option<TimesketchOptions>,
}

impl Analysis {
    /// The rules of `builder` over `inputs` (files, folders, `-` for
    /// standard input), with no outputs, a table report, and ten malformed
    /// lines shown in full.
    pub fn new(builder: RulesBuilder, inputs: Vec<String>) -> Analysis {
        Analysis {
            builder,
            inputs,
            outputs: OutputOptions::default(),
            report: ReportOptions::default(),
            format: super::FormatOptions::default(),
            from: None,
            to: None,
            keep_malformed: 10,
            progress: false,
            strict: false,
            exiting: false,
            signals: false,
            timesketch: None,
        }
    }

    /// The outputs written besides the report.
    pub fn outputs(mut self, outputs: OutputOptions) -> Self {
        self.outputs = outputs;
        self
    }

    /// What the report shows.
    pub fn report(mut self, report: ReportOptions) -> Self {
        self.report = report;
        self
    }

    /// What the format modules add to events (all on by default).
    pub fn format_options(mut self, options: super::FormatOptions) -> Self {
        self.format = options;
        self
    }

    /// Only events whose time is within `from` and `to` (ISO 8601, both
    /// inclusive; a date alone as `to` is the end of that day); read when
    /// the analysis runs.
    pub fn window(mut self, from: Option<String>, to: Option<String>) -> Self {
        self.from = from;
        self.to = to;
        self
    }

    /// How many malformed lines the report shows in full.
    pub fn keep_malformed(mut self, n: usize) -> Self {
        self.keep_malformed = n;
        self
    }

    /// Draw a progress bar on the process's standard error.
    pub fn progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    /// [`Exit::Strict`] when a rule failed to load or a line was malformed.
    pub fn strict(mut self, on: bool) -> Self {
        self.strict = on;
        self
    }

    /// The process exits after this run: leave freeing the compiled rules
    /// (tens of milliseconds for a large ruleset) to the operating system.
    pub fn exiting(mut self, on: bool) -> Self {
        self.exiting = on;
        self
    }

    /// Install handlers for SIGINT and SIGTERM that remove the partial
    /// output files before the process ends (Unix; process-wide, once).
    pub fn remove_partials_on_signals(mut self, on: bool) -> Self {
        self.signals = on;
        self
    }

    /// Timesketch mode (see [`TimesketchOptions`]).
    pub fn timesketch(mut self, options: Option<TimesketchOptions>) -> Self {
        self.timesketch = options;
        self
    }

    /// Checks the paths, compiles the rules, runs them over the inputs,
    /// writes the outputs and the report (to `out`, or to `err` when an
    /// output goes to standard output) and decides the exit status.
    /// Problems with single rules or lines are reported and do not fail
    /// the run; a missing path, no rule to run, an input without one
    /// readable event or an output that cannot be written do.
    pub fn run(self, out: &mut dyn Write, err: &mut dyn Write) -> Result<Exit, Error> {
        Ok(self.run_inner(out, err)?)
    }

    fn run_inner(mut self, out: &mut dyn Write, err: &mut dyn Write) -> Result<Exit, Failure> {
        let rule_paths = self.builder.paths.clone();
        let events = self.inputs.clone();
        preflight::check_paths(&rule_paths, &events)?;
        if self.signals {
            crate::output::remove_partials_on_signals().context("installing signal handlers")?;
        }
        let verbose = self.builder.verbose;
        let configs = self.builder.configs.clone();
        let statuses = self.builder.filter.statuses.clone();
        let mut rules = std::mem::take(&mut self.builder).build()?;
        say_ignored_keys(rules.mapping_chain(), verbose, err)?;
        preflight::check_loaded(
            rules.len(),
            rules.failed_rules(),
            rules.filtered(),
            &rule_paths,
            &events,
        )?;
        let hit_fields = crate::output::hits::HitFields::ask(rules.ruleset_mut());
        let window = match (&self.from, &self.to) {
            (None, None) => None,
            (f, t) => {
                Some(engine::TimeWindow::parse(f.as_deref(), t.as_deref()).context("--from/--to")?)
            }
        };
        let run_opts = RunOptions {
            window,
            no_evtx_xml: !self.format.evtx_xml,
            no_host_alias: !self.format.host_name_alias,
            profile: self.report.profile,
            keep_malformed: self.keep_malformed,
            progress: self.progress,
        };
        if self.exiting {
            // Freeing ~100 MB of automatons and rule trees one by one at
            // exit costs tens of milliseconds the OS does for free.
            let rules = std::mem::ManuallyDrop::new(rules);
            self.run_loaded(
                &rules,
                hit_fields,
                &rule_paths,
                &configs,
                &statuses,
                &events,
                &run_opts,
                out,
                err,
            )
        } else {
            self.run_loaded(
                &rules,
                hit_fields,
                &rule_paths,
                &configs,
                &statuses,
                &events,
                &run_opts,
                out,
                err,
            )
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run_loaded(
        &self,
        rules: &super::Rules,
        hit_fields: crate::output::hits::HitFields,
        rule_paths: &[PathBuf],
        configs: &[PathBuf],
        statuses: &[String],
        events: &[String],
        run_opts: &RunOptions,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<Exit, Failure> {
        let (ruleset, failed, chain) =
            (rules.ruleset(), rules.failed_rules(), rules.mapping_chain());
        let plan = rules.correlations();
        let filtered = rules.filtered().clone();
        if let Some(ts) = &self.timesketch {
            let job = TimesketchJob {
                options: ts,
                outputs: &self.outputs,
                format: self.report.format,
                configs,
                statuses,
            };
            return job.run(
                ruleset, failed, chain, rule_paths, events, run_opts, out, err,
            );
        }
        let o = &self.outputs;
        let spec = o.clone();
        let own_outputs: Vec<String> = [&o.tag_out, &o.matches]
            .into_iter()
            .flatten()
            .filter(|p| *p != "-")
            .cloned()
            .collect();
        let expanded = crate::input::walk::expand(events, &own_outputs);
        if !expanded.skipped.is_empty() {
            let shown: Vec<String> = expanded
                .skipped
                .iter()
                .take(5)
                .map(|(p, what)| format!("{p} ({what})"))
                .collect();
            writeln!(
                err,
                "sigma-match: note: {} files in the event folders are not event data and were not read: {}{}",
                expanded.skipped.len(),
                shown.join(", "),
                if expanded.skipped.len() > 5 {
                    ", ..."
                } else {
                    ""
                }
            )?;
        }
        if let Some(f) = expanded.empty_folders.first() {
            bail!(
                "{f}: no event files found in this folder (JSON lines, CSV, .evtx; plain or gzip/zstd/bzip2/xz)"
            );
        }
        if expanded.inputs.is_empty() {
            bail!(
                "no event files found in {} (JSON lines, CSV, .evtx; plain or gzip/zstd/bzip2/xz)",
                events.join(", ")
            );
        }
        let events = expanded.inputs;
        // With correlations, --tag-out is written in a second pass, once the
        // events that correlations tag are known.
        let corr_tag_out = if plan.is_empty() {
            None
        } else {
            spec.tag_out.clone()
        };
        let spec = OutputOptions {
            tag_out: if corr_tag_out.is_some() {
                None
            } else {
                spec.tag_out.clone()
            },
            ..spec
        };
        let mut outputs = Outputs::open(&spec, hit_fields.clone(), ruleset, &events)?;
        if let Some(t) = &corr_tag_out
            && (spec.matches.as_deref() == Some(t.as_str())
                || spec.timeline.as_deref() == Some(t.as_str()))
            && t != "-"
        {
            bail!("{t} is given for two outputs");
        }
        let mut hits = crate::output::hits::HitSummary::new(ruleset, hit_fields);
        let mut collector = crate::correlation::stage::Collector::new(plan);
        let mut stats = {
            let mut sinks = outputs.sinks();
            sinks.push(&mut hits);
            if plan.is_empty() && plan.hidden_count() == 0 {
                engine::run(ruleset, &events, run_opts, &mut sinks).context("writing output")?
            } else {
                // Rules that only feed correlations reach no output; the
                // collector sees every match.
                let n = sinks.len();
                let mut hide: Vec<crate::correlation::stage::Hide<'_>> = sinks
                    .into_iter()
                    .enumerate()
                    .map(|(i, s)| {
                        // The outputs' own sinks are finished after the firings are added.
                        if i + 1 < n {
                            crate::correlation::stage::Hide::deferring(s, &plan.hidden)
                        } else {
                            crate::correlation::stage::Hide::new(s, &plan.hidden)
                        }
                    })
                    .collect();
                let mut all: Vec<&mut dyn engine::Sink> = hide
                    .iter_mut()
                    .map(|h| h as &mut dyn engine::Sink)
                    .collect();
                all.push(&mut collector);
                engine::run(ruleset, &events, run_opts, &mut all).context("writing output")?
            }
        };
        let outcome = collector.finish_stage();
        crate::correlation::stage::hide_stats(&mut stats, plan);
        if !(plan.is_empty() && plan.hidden_count() == 0) {
            if let Some(t) = outputs.timeline_mut() {
                crate::correlation::output::timeline_rows(t, plan, &outcome);
            }
            if let Some(w) = outputs.matches_mut() {
                crate::correlation::output::write_matches(w, plan, &outcome)
                    .context("writing --matches")?;
            }
            outputs.finish_sinks().context("writing output")?;
        }
        if let Some(t) = &corr_tag_out {
            use crate::output::{Destination, TagWriter, tag::RuleAttributes};
            let mut attrs: Vec<RuleAttributes> = ruleset
                .rules
                .iter()
                .map(|r| RuleAttributes::new(&r.rule.title, r.rule.id.as_deref(), &r.rule.tags))
                .collect();
            attrs.extend(crate::correlation::output::tag_attributes(plan));
            let dest = Destination::create(t, &events)?;
            let mut w = TagWriter::with_rules(attrs, dest, o.matched_only);
            {
                let mut tagging = crate::correlation::stage::Tagging::new(
                    &mut w,
                    plan,
                    &outcome,
                    ruleset.rules.len(),
                );
                engine::run(ruleset, &events, run_opts, &mut [&mut tagging])
                    .context("writing --tag-out")?;
            }
            w.into_inner().commit()?;
        }
        let mut report = Report::new(
            ruleset,
            failed,
            &stats,
            if self.report.profile {
                Costs::Include
            } else {
                Costs::Omit
            },
        );
        report.filtered = Some(filtered);
        report.add_hits(ruleset, &hits);
        crate::correlation::output::amend_report(&mut report, ruleset, plan, &outcome);
        // Outputs on stdout keep it machine-readable: the report goes to stderr.
        let report_to_err = outputs.uses_stdout() || corr_tag_out.as_deref() == Some("-");
        report.color = if report_to_err {
            self.report.color.on_err
        } else {
            self.report.color.on_out
        };
        report.config_warnings = chain.warnings().iter().map(ToString::to_string).collect();
        let text = match self.report.format {
            ReportFormat::Json if !plan.is_empty() => {
                let mut j: serde_json::Value = serde_json::from_str(&report.to_json())?;
                j["correlations"] = crate::correlation::output::json(plan, &outcome);
                format!("{}\n", serde_json::to_string_pretty(&j)?)
            }
            ReportFormat::Json => format!("{}\n", report.to_json()),
            ReportFormat::Table => {
                let mut t = report.to_table(TableOptions {
                    show_zero: self.report.all_rules,
                    max_missing: 20,
                    profile_top: if self.report.profile { 20 } else { 0 },
                });
                t.push_str(&crate::correlation::output::table_section(
                    plan, &outcome, 5,
                ));
                t
            }
        };
        for w in crate::correlation::output::warnings(plan, &outcome) {
            writeln!(err, "sigma-match: warning: {w}")?;
        }
        if report_to_err {
            write!(err, "{text}")?;
        } else {
            write!(out, "{text}")?;
        }
        for w in &stats.input_warnings {
            writeln!(err, "sigma-match: warning: {w}")?;
        }
        let unreadable = preflight::check_inputs(&stats.inputs);
        if !stats.input_errors.is_empty() || !unreadable.is_empty() {
            for e in &stats.input_errors {
                writeln!(err, "sigma-match: error: {e}")?;
            }
            for e in &unreadable {
                writeln!(err, "sigma-match: error: {e}")?;
            }
            for what in outputs.abandon() {
                writeln!(
                    err,
                    "sigma-match: error: {what}: an input could not be read completely"
                )?;
            }
            return Ok(Exit::Error);
        }
        if outputs.unedited() > 0 {
            writeln!(
                err,
                "sigma-match: warning: {} matched lines were not JSON objects and were written untagged",
                outputs.unedited()
            )?;
        }
        outputs.commit()?;
        if self.strict
            && (!failed.is_empty() || stats.malformed > 0 || !stats.input_warnings.is_empty())
        {
            return Ok(Exit::Strict);
        }
        Ok(Exit::Ok)
    }
}

/// Timesketch mode's part of an [`Analysis`].
struct TimesketchJob<'a> {
    options: &'a TimesketchOptions,
    outputs: &'a OutputOptions,
    format: ReportFormat,
    configs: &'a [PathBuf],
    statuses: &'a [String],
}

impl TimesketchJob<'_> {
    /// The spec reading and Timesketch's, side by side.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        ruleset: &Ruleset,
        failed: &[FailedRule],
        chain: &SigmacChain,
        rule_paths: &[PathBuf],
        events: &[String],
        run_opts: &RunOptions,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<Exit, Failure> {
        use crate::output::{Destination, TagWriter, tag::RuleAttributes};
        use crate::run::engine::LineMatch;
        use crate::timesketch::diff::{self, SpecCollector};
        use crate::timesketch::index::MappingKind;
        use crate::timesketch::query::{ConvertOptions, Statuses, timesketch_query};
        use crate::timesketch::run::{self as tsrun, InputText, TsRule};

        let all_statuses = self.options.all_statuses;
        ensure!(
            self.outputs.matches.is_none(),
            "--matches lists the spec reading only; with --timesketch use --diff or --tag-out"
        );
        let ts_config = super::tools::timesketch_config(self.configs)?;
        let filter_statuses = self.statuses;
        let mut spec = SpecCollector::default();
        let stats = engine::run(ruleset, events, run_opts, &mut [&mut spec])
            .context("evaluating the spec reading")?;
        if !stats.input_errors.is_empty() {
            for e in &stats.input_errors {
                writeln!(err, "sigma-match: error: {e}")?;
            }
            return Ok(Exit::Error);
        }
        // Timesketch's reading: one query per rule file.
        let (files, _issues) = loader::rule_files(rule_paths);
        let spec_by_path: HashMap<&std::path::Path, &crate::sigma::rule::Rule> = ruleset
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
                    writeln!(err, "sigma-match: {}: {e}", path.display())?;
                    continue;
                }
            };
            let spec_rule = spec_by_path.get(path.as_path()).copied();
            let stripped = text.contains("|endswith") || text.contains("|startswith");
            let ts_rule = match timesketch_query(&text, &path, &ts_config, &convert) {
                Ok(q) => TsRule {
                    analyzed: q.is_analyzed(Statuses::all_if(all_statuses)),
                    title: q.title.clone(),
                    id: Some(q.id.clone()).filter(|i| !i.is_empty()),
                    status: q.status.clone(),
                    tags: q.tags.clone(),
                    es_query: Ok(q.es_query.clone()),
                    modifiers_stripped: stripped,
                    path: path.clone(),
                },
                Err(e) => TsRule {
                    analyzed: all_statuses
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
                || ts_rule
                    .status
                    .as_deref()
                    .is_some_and(|s| filter_statuses.iter().any(|w| w.eq_ignore_ascii_case(s)));
            if keep_status && (spec_rule.is_some() || failed_here) {
                ts_rules.push(ts_rule);
            }
        }
        let inputs: Vec<InputText> = events
            .iter()
            .map(|e| InputText::read(e))
            .collect::<Result<_, _>>()
            .context("reading events")?;
        let kind = match self.options.mappings {
            TimesketchMappings::Generic => MappingKind::Generic,
            TimesketchMappings::Plaso => MappingKind::Plaso,
        };
        let ts = tsrun::evaluate(&ts_rules, &inputs, kind);
        let d = diff::compare(ruleset, &stats.counts, &spec, &ts_rules, &ts, &inputs);
        let mut uses_stdout = false;
        if let Some(spec_out) = &self.options.diff {
            let mut dest = Destination::create(spec_out, events)?;
            uses_stdout |= dest.is_stdout();
            diff::write_diff(&mut dest, ruleset, &spec, &ts_rules, &ts, &inputs, &d)
                .context("writing --diff")?;
            dest.commit()?;
        }
        if let Some(tag_spec) = &self.outputs.tag_out {
            let dest = Destination::create(tag_spec, events)?;
            uses_stdout |= dest.is_stdout();
            let attrs: Vec<RuleAttributes> = ts_rules
                .iter()
                .map(|r| RuleAttributes::new(&r.title, r.id.as_deref(), &r.tags))
                .collect();
            let mut w = TagWriter::with_rules(attrs, dest, self.outputs.matched_only);
            for (ii, inp) in inputs.iter().enumerate() {
                let hits: HashMap<u64, &Vec<u32>> =
                    ts.hits[ii].iter().map(|(l, r)| (*l, r)).collect();
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
                engine::Sink::chunk(&mut w, &inp.name, inp.text.as_bytes(), 1, &matches)
                    .context("writing --tag-out")?;
            }
            engine::Sink::finish(&mut w).context("writing --tag-out")?;
            w.into_inner().commit()?;
        }
        let mut text = match self.format {
            ReportFormat::Json => {
                let mut j = d.to_json();
                j["config_warnings"] = serde_json::json!(
                    chain
                        .warnings()
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                );
                j["spec_failed_rules"] = serde_json::json!(failed.len());
                format!("{j}\n")
            }
            ReportFormat::Table => d.to_table(self.options.table_rows.unwrap_or(usize::MAX)),
        };
        if !failed.is_empty() && self.format == ReportFormat::Table {
            text.push_str(&format!(
                "{} rules failed to load in the spec reading (run without --timesketch for details)\n",
                failed.len()
            ));
        }
        if uses_stdout {
            write!(err, "{text}")?;
        } else {
            write!(out, "{text}")?;
        }
        Ok(Exit::Ok)
    }
}
