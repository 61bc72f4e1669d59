//! The entry points besides the run: [`RulesBuilder::verify`],
//! [`RulesBuilder::explain`], [`RulesBuilder::fields`] and [`parse_only`].
//! Each writes what the matching `sigma-match` subcommand prints to `out`
//! (and diagnostics to `err`) and returns the exit decision.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::api::{Context, Failure, bail, ensure};

use super::{
    Error, Exit, FormatOptions, ReportFormat, RulesBuilder, Scoping, mapping_of, say_ignored_keys,
};
use crate::compile::CompileOptions;
use crate::compile::field_usage::FieldUsage;
use crate::compile::loader::RuleFilter;
use crate::mapping::sigmac::SigmacChain;
use crate::run::preflight;
use crate::timesketch::query::{Statuses, TimesketchConfig};

/// Options of [`RulesBuilder::verify`].
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Table (a line per finding and a summary) or JSON.
    pub format: ReportFormat,
    /// Move each rule file with an error into this folder (keeping its
    /// relative path; never overwrites) and append the reasons to its
    /// `debug.log`.
    pub move_to: Option<PathBuf>,
    /// [`Exit::Strict`] also when there are only warnings.
    pub deny_warnings: bool,
    /// Only the summary, not one line per finding.
    pub quiet: bool,
    /// Check the rules as Timesketch imports and runs them (with its one
    /// configuration): the rules it cannot convert, with the error it logs,
    /// and the stable rules whose stored query OpenSearch rejects.
    pub timesketch: bool,
    /// With `timesketch`: check the queries of all rules, not only the
    /// `stable` ones Timesketch's Sigma analyzer runs.
    pub all_statuses: bool,
}

/// Which query [`RulesBuilder::explain`] also prints for a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// OpenSearch/Elasticsearch `query_string` (Lucene syntax), as pasted
    /// into Timesketch's search bar.
    Lucene,
    /// The query Timesketch itself stores for the rule (its `es_query`, made
    /// by legacy sigmac 0.19.1; needs Timesketch's one configuration).
    Timesketch,
}

/// Options of [`RulesBuilder::explain`].
#[derive(Debug, Clone, Default)]
pub struct ExplainOptions {
    /// Evaluate the rule on one event: `FILE:LINE` (1-based line number).
    pub event: Option<String>,
    /// Evaluate the rule on every event of this file and explain the
    /// matching ones.
    pub events: Option<PathBuf>,
    /// With `events`: how many matching events to explain.
    pub limit: usize,
    /// Also print the rule as a query for another system.
    pub query: Option<QueryKind>,
    /// What the format modules add to events.
    pub format: FormatOptions,
}

/// The files a [`RulesBuilder`] names, read.
pub(super) struct ReadOptions {
    pub(super) placeholders: HashMap<String, Vec<String>>,
    pub(super) filter: RuleFilter,
    pub(super) chain: SigmacChain,
}

impl RulesBuilder {
    /// Whether any rule filter (status, level, minimum level, exclusions)
    /// is set.
    fn has_filters(&self) -> bool {
        !self.filter.statuses.is_empty()
            || !self.filter.levels.is_empty()
            || self.filter.min_level.is_some()
            || !self.filter.exclude.is_empty()
            || !self.exclusion_files.is_empty()
    }

    /// Reads the placeholder files, the exclusion files and the mapping
    /// configurations, in that order.
    pub(super) fn read_options(&self) -> Result<ReadOptions, Error> {
        let mut placeholders = HashMap::new();
        for p in &self.placeholder_files {
            placeholders.extend(crate::mapping::load_placeholders(p).map_err(Error::Placeholders)?);
        }
        placeholders.extend(self.placeholders.clone());
        let mut filter = self.filter.clone();
        for p in &self.exclusion_files {
            filter
                .exclude
                .extend(crate::compile::loader::read_exclusions(p).map_err(Error::Exclusions)?);
        }
        let chain = SigmacChain::load(&self.configs).map_err(Error::Config)?;
        Ok(ReadOptions {
            placeholders,
            filter,
            chain,
        })
    }

    /// Checks the rule files of the builder's paths (syntax, the
    /// specification's metadata, that they compile) and writes the findings
    /// and a summary (`sigma-match verify`). [`Exit::Strict`] when a rule
    /// has an error. Rules given as text are not checked.
    pub fn verify(
        self,
        options: &VerifyOptions,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<Exit, Error> {
        Ok(self.verify_inner(options, out, err)?)
    }

    fn verify_inner(
        self,
        options: &VerifyOptions,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<Exit, Failure> {
        use crate::tools::verify::{self as v, output};
        if let Some(missing) = self.paths.iter().find(|p| !p.exists()) {
            bail!("{}: no such file or directory", missing.display());
        }
        if options.timesketch {
            return self.verify_timesketch(options, out);
        }
        let ReadOptions {
            placeholders,
            filter,
            chain,
        } = self.read_options()?;
        say_ignored_keys(&chain, self.verbose, err)?;
        for w in chain.warnings() {
            writeln!(err, "sigma-match: {w}")?;
        }
        let mapping = mapping_of(&chain);
        let verified = v::verify_paths(
            &self.paths,
            &v::Options {
                mapping,
                placeholders: &placeholders,
                keyword_fields: self.keyword_fields.clone(),
                filter: &filter,
            },
        );
        let moved = move_erroring(&verified, &self.paths, options)?;
        match options.format {
            ReportFormat::Json => {
                writeln!(out, "{}", output::to_json(&verified, moved.as_deref()))?
            }
            ReportFormat::Table => {
                write_verify_table(&verified, moved.as_deref(), options.quiet, out)?
            }
        }
        let warned = verified
            .findings
            .iter()
            .any(|f| f.severity == v::Severity::Warning);
        Ok(
            if verified.has_errors() || (options.deny_warnings && warned) {
                Exit::Strict
            } else {
                Exit::Ok
            },
        )
    }

    /// `verify --timesketch`: the same output as `verify`, with Timesketch's
    /// reasons.
    fn verify_timesketch(
        &self,
        options: &VerifyOptions,
        out: &mut dyn Write,
    ) -> Result<Exit, Failure> {
        use crate::tools::verify::output;
        use crate::tools::verify::timesketch::{TimesketchOptions, verify_timesketch};
        ensure!(
            !self.has_filters(),
            "verify --timesketch checks the rules as Timesketch imports them: \
             --status, --level, --min-level and --exclude-rules do not apply (see --all-statuses)"
        );
        let config = timesketch_config(&self.configs)?;
        let (verified, summary) = verify_timesketch(
            &self.paths,
            &config,
            TimesketchOptions {
                include_all: options.all_statuses,
            },
        );
        let moved = move_erroring(&verified, &self.paths, options)?;
        match options.format {
            ReportFormat::Json => {
                let mut doc: serde_json::Value =
                    serde_json::from_str(&output::to_json(&verified, moved.as_deref()))?;
                if let Some(obj) = doc.as_object_mut() {
                    obj.insert(
                        "timesketch".into(),
                        serde_json::json!({
                            "converted": summary.converted,
                            "analyzed": summary.analyzed,
                            "not_analyzed": summary.not_analyzed,
                            "all_statuses": options.all_statuses,
                        }),
                    );
                }
                writeln!(out, "{doc}")?;
            }
            ReportFormat::Table => {
                write_verify_table(&verified, moved.as_deref(), options.quiet, out)?;
                writeln!(
                    out,
                    "timesketch: {} rules converted; {} run by the Sigma analyzer{}, {} skipped (status not stable)",
                    summary.converted,
                    summary.analyzed,
                    if options.all_statuses {
                        " (--all-statuses: queries of all checked)"
                    } else {
                        " (stable)"
                    },
                    summary.not_analyzed
                )?;
            }
        }
        Ok(if verified.has_errors() {
            Exit::Strict
        } else {
            Exit::Ok
        })
    }

    /// Explains one rule (a file, or an id looked up in the builder's
    /// paths): how it reads after mapping and, with an event or an events
    /// file, why it did or did not match (`sigma-match explain`). A
    /// correlation rule is explained by the correlation stage.
    pub fn explain(
        self,
        rule: &str,
        options: &ExplainOptions,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<Exit, Error> {
        Ok(self.explain_inner(rule, options, out, err)?)
    }

    fn explain_inner(
        self,
        rule: &str,
        options: &ExplainOptions,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<Exit, Failure> {
        use crate::tools::explain as ex;
        let ReadOptions {
            placeholders,
            filter,
            chain,
        } = self.read_options()?;
        say_ignored_keys(&chain, self.verbose, err)?;
        let mapping = mapping_of(&chain);
        let ts_config = match options.query {
            Some(QueryKind::Timesketch) => Some(timesketch_config(&self.configs)?),
            _ => None,
        };
        let format_options = options.format;
        {
            // A correlation rule (or legacy aggregation) is explained by the
            // correlation stage.
            let opts = CompileOptions {
                mapping,
                placeholders: &placeholders,
                keyword_fields: self.keyword_fields.clone(),
            };
            if let Some(text) = crate::correlation::explain::explain(
                rule,
                &self.paths,
                options.events.as_deref(),
                opts,
                &crate::correlation::Options::default(),
            )? {
                write!(out, "{text}")?;
                return Ok(Exit::Ok);
            }
        }
        let rules = match ex::find_rules(rule, &self.paths) {
            Ok(r) if self.has_filters() => {
                let kept: Vec<_> = r
                    .into_iter()
                    .filter(|r| filter.dropped(r).is_none())
                    .collect();
                ensure!(
                    !kept.is_empty(),
                    "{}: left out by --status, --level, --min-level or --exclude-rules",
                    rule
                );
                kept
            }
            Ok(r) => r,
            Err(e) => {
                // Timesketch may still import a file sigma-match cannot load.
                let as_path = Path::new(rule);
                if let (Some(cfg), true) = (&ts_config, as_path.is_file()) {
                    write_timesketch_query(cfg, as_path, out)?;
                }
                return Err(e.into());
            }
        };
        for (n, rule) in rules.into_iter().enumerate() {
            if n > 0 {
                writeln!(out)?;
            }
            let rule_path = rule.path.clone();
            let lucene = match options.query {
                Some(QueryKind::Lucene) => Some(crate::tools::lucene::to_query(
                    &rule,
                    mapping,
                    &placeholders,
                )),
                _ => None,
            };
            let opts = CompileOptions {
                mapping,
                placeholders: &placeholders,
                keyword_fields: self.keyword_fields.clone(),
            };
            let rs = match ex::compile_one(rule, opts) {
                Ok(rs) => rs,
                Err(e) => {
                    if let Some(cfg) = &ts_config {
                        write_timesketch_query(cfg, &rule_path, out)?;
                    }
                    return Err(e.into());
                }
            };
            if let Some(spec) = &options.event {
                let (file, line) = spec
                    .rsplit_once(':')
                    .and_then(|(f, l)| Some((f, l.parse::<usize>().ok().filter(|l| *l > 0)?)))
                    .with_context(|| {
                        format!("--event wants FILE:LINE (1-based line), got `{spec}`")
                    })?;
                let text = ex::read_event_line(Path::new(file), line)?;
                let mut m = crate::eval::Matcher::new(&rs);
                m.view.options = format_options;
                match ex::Outcome::evaluate(&mut m, &text) {
                    Ok(o) => {
                        writeln!(out, "event: {file}:{line}")?;
                        write!(out, "{}", ex::render(&rs, mapping, Some(&o)))?;
                    }
                    Err(e) => bail!("{file}:{line}: malformed event: {e}"),
                }
            } else if let Some(path) = &options.events {
                let (text, lines, matched, malformed) =
                    ex::explain_events(&rs, mapping, path, options.limit, format_options)?;
                write!(out, "{text}")?;
                if matched == 0 {
                    write!(out, "{}", ex::render(&rs, mapping, None))?;
                }
                writeln!(
                    out,
                    "{}: {matched} of {lines} events matched ({malformed} malformed){}",
                    path.display(),
                    if matched > options.limit {
                        format!("; first {} explained", options.limit)
                    } else {
                        String::new()
                    }
                )?;
            } else {
                write!(out, "{}", ex::render(&rs, mapping, None))?;
            }
            match lucene {
                Some(Ok(q)) => {
                    writeln!(out, "lucene: {}", q.query)?;
                    for c in q.caveats {
                        writeln!(out, "  caveat: {c}")?;
                    }
                }
                Some(Err(e)) => writeln!(out, "lucene: not expressible: {e}")?,
                None => {}
            }
            if let Some(cfg) = &ts_config {
                write_timesketch_query(cfg, &rule_path, out)?;
            }
        }
        Ok(Exit::Ok)
    }

    /// Lists every field the rules reference, before and after mapping,
    /// with rule counts (`sigma-match fields`).
    pub fn fields(
        self,
        format: ReportFormat,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<Exit, Error> {
        Ok(self.fields_inner(format, out, err)?)
    }

    fn fields_inner(
        self,
        format: ReportFormat,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<Exit, Failure> {
        preflight::check_paths(&self.paths, &[])?;
        let verbose = self.verbose;
        let rules = self.scoping(Scoping::Off).build()?;
        say_ignored_keys(rules.mapping_chain(), verbose, err)?;
        let usage = FieldUsage::of(rules.ruleset());
        let failed = rules.failed_rules();
        for w in rules.mapping_chain().warnings() {
            writeln!(err, "sigma-match: {w}")?;
        }
        match format {
            ReportFormat::Json => writeln!(out, "{}", usage.to_json())?,
            ReportFormat::Table => {
                write!(out, "{}", usage.to_table())?;
                if !failed.is_empty() {
                    writeln!(
                        out,
                        "\n{} rules not loaded (run them for details)",
                        failed.len()
                    )?;
                }
            }
        }
        Ok(Exit::Ok)
    }
}

/// The benchmark floor: reads and JSON-parses every event line of
/// `inputs` (files, folders, `-`), evaluates nothing, and writes one line
/// of totals and speed. [`Exit::Error`] when an input could not be read.
pub fn parse_only(
    inputs: &[String],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, Error> {
    Ok(parse_only_inner(inputs, out, err)?)
}

fn parse_only_inner(
    inputs: &[String],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, Failure> {
    ensure!(!inputs.is_empty(), "--parse-only needs event files");
    let inputs = crate::input::walk::expand(inputs, &[]).inputs;
    let s = crate::run::floor::parse_only(&inputs);
    let secs = s.elapsed.as_secs_f64();
    writeln!(
        out,
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
    )?;
    for e in &s.input_errors {
        writeln!(err, "sigma-match: error: {e}")?;
    }
    Ok(if s.input_errors.is_empty() {
        Exit::Ok
    } else {
        Exit::Error
    })
}

/// `verify --move DIR`: moves each rule file with an error into DIR.
fn move_erroring(
    verified: &crate::tools::verify::Verified,
    paths: &[PathBuf],
    options: &VerifyOptions,
) -> Result<Option<Vec<crate::tools::verify::relocate::Moved>>, Failure> {
    use crate::tools::verify::relocate;
    Ok(match &options.move_to {
        Some(dir) => Some(
            relocate::move_erroring(verified, paths, dir)
                .with_context(|| format!("moving rules into {}", dir.display()))?,
        ),
        None => None,
    })
}

/// `verify`'s table: a line per finding (unless `quiet`), the moved files,
/// the summary.
fn write_verify_table(
    verified: &crate::tools::verify::Verified,
    moved: Option<&[crate::tools::verify::relocate::Moved]>,
    quiet: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    use crate::tools::verify::output;
    if !quiet {
        write!(out, "{}", output::finding_lines(verified))?;
    }
    if let Some(m) = moved {
        write!(out, "{}", output::moved_lines(m))?;
    }
    write!(out, "{}", output::summary(verified))
}

/// The one configuration Timesketch converts with (`-c`, exactly once).
pub(super) fn timesketch_config(paths: &[PathBuf]) -> Result<TimesketchConfig, Failure> {
    match paths {
        [one] => Ok(TimesketchConfig::load(one)?),
        _ => bail!(
            "Timesketch mode needs exactly one -c file: the sigma_config.yaml Timesketch converts with \
             (got {})",
            paths.len()
        ),
    }
}

/// Writes what Timesketch stores for the rule file: `timesketch: <es_query>`
/// (the rest of the line byte for byte), or why it cannot import it.
fn write_timesketch_query(
    config: &TimesketchConfig,
    path: &Path,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    use crate::timesketch::query::{ConvertOptions, timesketch_query};
    let converted = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e}", path.display()))
        .and_then(|text| {
            timesketch_query(&text, path, config, &ConvertOptions::default())
                .map_err(|e| format!("{e}\n  logged: {}", e.log_line()))
        });
    match converted {
        Ok(q) => {
            writeln!(out, "timesketch: {}", q.es_query)?;
            if !q.is_analyzed(Statuses::Stable) {
                writeln!(
                    out,
                    "  note: status is {}; Timesketch's Sigma analyzer runs only stable rules",
                    q.status
                        .as_deref()
                        .unwrap_or("not set (stored as experimental)")
                )?;
            }
        }
        Err(e) => writeln!(out, "timesketch: not imported: {e}")?,
    }
    Ok(())
}
