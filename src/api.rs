//! The front door: the small API for embedding sigma-match in another
//! program.
//!
//! Three steps, each with one type:
//!
//! 1. [`RulesBuilder`] collects rules (paths or strings) and the options
//!    that decide how they load and compile (mapping configurations,
//!    placeholders, status/level filters, keyword fields, logsource
//!    scoping) and builds [`Rules`]: an immutable compiled ruleset, shared
//!    by all threads. Rules that fail to load or compile do not stop the
//!    build; [`Rules::failed`] lists them with file and line.
//! 2. [`Scratch`] is per-thread scratch for evaluating one event at a time
//!    ([`Scratch::matches`]); the hot path does not allocate.
//! 3. [`Run`] evaluates the rules over inputs, given as paths or as any
//!    [`Read`], in parallel, and hands each input's matched lines in input
//!    order to [`Sink`]s as [`Match`] records; it returns the run's
//!    [`RunStats`].
//!
//! Every failure is an [`Error`].
//!
//! The rest of the crate (the modules listed in the crate documentation)
//! is the machinery behind these types and the command-line tools; it has
//! no stability promise.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::compile::loader::{self, Filtered, RuleFilter};
use crate::compile::{CompileOptions, Ruleset};
use crate::correlation::load::{Compiling, Eager};
use crate::eval::Matcher;
use crate::input::{Feed, Input, Origin};
use crate::mapping::scope::ScopeTable;
use crate::mapping::sigmac::SigmacChain;
use crate::mapping::{FieldMapping, Identity};
use crate::output::report::FailedRule;
use crate::run::engine::{self, RunOptions, TimeWindow};
use crate::sigma::rule;

pub use crate::correlation::Options as CorrelationOptions;
pub use crate::error::{ConfigError, RuleError, RuleIssue};
pub use crate::sigma::yaml::Pos;
pub use crate::event::time::{EventTime, TimeParseError};
pub use crate::event::{EventError, FormatOptions};
pub use crate::mapping::scope::ScopeStats;
pub use crate::run::engine::{InputStats, Malformed, WindowStats};
pub use crate::tools::verify::{LEVELS, STATUSES};
pub use crate::run::engine::{LineMatch as Match, RunStats, Sink};

mod analysis;
mod tools;

pub use analysis::{
    Analysis, OutputOptions, ReportColor, ReportOptions, TimelineFormat, TimesketchMappings,
    TimesketchOptions,
};
pub use tools::{ExplainOptions, QueryKind, VerifyOptions, parse_only};

/// What a job ([`Analysis::run`], [`RulesBuilder::verify`], ...) decided
/// the process should exit with; [`Exit::code`] is the command line's
/// exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything ran (problems with single rules or lines are reported). Code 0.
    Ok,
    /// A rule failed or a line was malformed and strictness was asked for;
    /// `verify`: a rule has an error. Code 1.
    Strict,
    /// An input could not be read completely. Code 2, as for every [`Error`].
    Error,
}

impl Exit {
    /// The process exit status: 0, 1 or 2.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Strict => 1,
            Exit::Error => 2,
        }
    }
}

/// The format of a report (the run's, `verify`'s, `fields`').
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReportFormat {
    /// Text for a terminal.
    #[default]
    Table,
    /// JSON.
    Json,
}

/// A boxed error of one of the library's stages, kept as the source of a
/// [`Failure`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure of a whole job ([`Analysis::run`], [`RulesBuilder::verify`],
/// ...), by what failed; the causes are its [`std::error::Error::source`]s.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// The job cannot run as asked: options that contradict each other, a
    /// path that does not exist, a folder without event files, an event
    /// line that is not an event where one is required. The text says why.
    #[error("{0}")]
    Refused(String),
    /// A step of the job failed (`what`, e.g. "writing --tag-out"); the
    /// source says why.
    #[error("{what}")]
    Step {
        /// The step, as the user knows it.
        what: String,
        /// Why it failed.
        #[source]
        source: BoxError,
    },
    /// An error of one of the library's stages (an input, an output, the
    /// rules), passed on as it is.
    #[error(transparent)]
    Stage(BoxError),
}

/// Returns early with [`Failure::Refused`] and a formatted reason.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::api::Failure::Refused(format!($($arg)*)))
    };
}
pub(crate) use bail;

/// [`bail!`] unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::api::bail!($($arg)*);
        }
    };
}
pub(crate) use ensure;

/// Names the step a result belongs to ([`Failure::Step`]), as the command
/// line reports it.
pub(crate) trait Context<T> {
    /// The step's name.
    fn context(self, what: &str) -> Result<T, Failure>;
    /// The step's name, made only on failure.
    fn with_context(self, what: impl FnOnce() -> String) -> Result<T, Failure>;
}

impl<T, E: Into<BoxError>> Context<T> for Result<T, E> {
    fn context(self, what: &str) -> Result<T, Failure> {
        self.map_err(|e| Failure::Step { what: what.to_string(), source: e.into() })
    }
    fn with_context(self, what: impl FnOnce() -> String) -> Result<T, Failure> {
        self.map_err(|e| Failure::Step { what: what(), source: e.into() })
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: &str) -> Result<T, Failure> {
        self.ok_or_else(|| Failure::Refused(what.to_string()))
    }
    fn with_context(self, what: impl FnOnce() -> String) -> Result<T, Failure> {
        self.ok_or_else(|| Failure::Refused(what()))
    }
}

/// Errors of the stages a job passes on as they are ([`Failure::Stage`]).
macro_rules! stage_errors {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for Failure {
            fn from(e: $t) -> Failure {
                Failure::Stage(Box::new(e))
            }
        }
    )*};
}
stage_errors!(
    std::io::Error,
    serde_json::Error,
    crate::run::preflight::RunError,
    crate::output::OutputError,
    crate::tools::explain::ExplainError,
    crate::timesketch::query::TimesketchError,
);

impl From<Failure> for Error {
    fn from(f: Failure) -> Error {
        Error::Job(f)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        match e {
            Error::Job(f) => f,
            e => Failure::Stage(Box::new(e)),
        }
    }
}

/// With `verbose`, says on `err` which keys of the mapping configurations
/// are read and ignored.
fn say_ignored_keys(chain: &SigmacChain, verbose: bool, err: &mut dyn std::io::Write) -> std::io::Result<()> {
    for c in &chain.configs {
        if verbose && !c.ignored().is_empty() {
            let keys: Vec<String> = c
                .ignored()
                .iter()
                .map(|(k, p)| format!("`{k}` (line {})", p.line))
                .collect();
            writeln!(
                err,
                "sigma-match: {}: ignored (Elasticsearch/sigmac output settings, no meaning here): {}",
                c.path.display(),
                keys.join(", ")
            )?;
        }
    }
    Ok(())
}

/// Everything that can go wrong in the front door.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A mapping configuration could not be read.
    #[error("reading mapping configuration")]
    Config(#[source] ConfigError),
    /// A placeholder file could not be read.
    #[error(transparent)]
    Placeholders(ConfigError),
    /// A rule exclusion list could not be read.
    #[error("reading the rule exclusion list")]
    Exclusions(#[source] ConfigError),
    /// A logsource table could not be read.
    #[error("reading the logsource table")]
    Logsources(#[source] ConfigError),
    /// A line is not an event (invalid JSON, not an object, invalid UTF-8).
    #[error(transparent)]
    Event(#[from] EventError),
    /// A sink failed to write.
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    /// A time window bound that does not read as a time.
    #[error(transparent)]
    Time(#[from] crate::event::time::TimeParseError),
    /// A whole job failed ([`Analysis::run`], [`RulesBuilder::verify`], ...).
    #[error(transparent)]
    Job(Failure),
}

/// Which logsource table decides the rules that apply to an event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Scoping {
    /// The built-in table (`configs/logsources.yml`): a rule runs on an
    /// event only when its logsource can apply to it. The default.
    #[default]
    Builtin,
    /// A logsource table read from this file.
    File(PathBuf),
    /// Every rule on every event.
    Off,
}

/// Collects rules and the options they load and compile with, and builds
/// [`Rules`].
#[derive(Debug, Clone, Default)]
pub struct RulesBuilder {
    paths: Vec<PathBuf>,
    texts: Vec<(PathBuf, String)>,
    configs: Vec<PathBuf>,
    placeholders: HashMap<String, Vec<String>>,
    placeholder_files: Vec<PathBuf>,
    filter: RuleFilter,
    exclusion_files: Vec<PathBuf>,
    keyword_fields: Option<Vec<String>>,
    scoping: Scoping,
    correlation: crate::correlation::Options,
    verbose: bool,
}

impl RulesBuilder {
    /// An empty builder: no rules, no mapping, all statuses and levels,
    /// keyword detections over every string value, built-in scoping.
    pub fn new() -> RulesBuilder {
        RulesBuilder::default()
    }

    /// A rule file, or a folder searched recursively for `.yml`/`.yaml`
    /// files (folders named `deprecated` are skipped).
    pub fn path(mut self, path: impl Into<PathBuf>) -> Self {
        self.paths.push(path.into());
        self
    }

    /// Rule text (one YAML file, possibly several documents); `name` is
    /// where errors say it comes from.
    pub fn text(mut self, name: impl Into<PathBuf>, yaml: impl Into<String>) -> Self {
        self.texts.push((name.into(), yaml.into()));
        self
    }

    /// A Timesketch / legacy sigmac mapping configuration (`-c`); several
    /// apply in the order given.
    pub fn config(mut self, path: impl Into<PathBuf>) -> Self {
        self.configs.push(path.into());
        self
    }

    /// Values of a `%name%` placeholder for the `expand` modifier.
    pub fn placeholder(mut self, name: impl Into<String>, values: Vec<String>) -> Self {
        self.placeholders.insert(name.into(), values);
        self
    }

    /// A placeholder file (YAML: `name: [values]`), read by [`Self::build`].
    pub fn placeholder_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.placeholder_files.push(path.into());
        self
    }

    /// Only rules with one of these statuses (empty: all).
    pub fn statuses(mut self, statuses: Vec<String>) -> Self {
        self.filter.statuses = statuses;
        self
    }

    /// Only rules with one of these levels (empty: all).
    pub fn levels(mut self, levels: Vec<String>) -> Self {
        self.filter.levels = levels;
        self
    }

    /// Only rules at this level or above (a rule without a level counts as
    /// informational).
    pub fn min_level(mut self, level: Option<String>) -> Self {
        self.filter.min_level = level;
        self
    }

    /// Leave out the rules with these ids or titles.
    pub fn exclude(mut self, ids_or_titles: Vec<String>) -> Self {
        self.filter.exclude.extend(ids_or_titles);
        self
    }

    /// Leave out the rules named in this file (one id or title per line,
    /// `#` comments), read by [`Self::build`].
    pub fn exclusion_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.exclusion_files.push(path.into());
        self
    }

    /// The fields keyword (field-less) detections search (`None`, the
    /// default: every string value).
    pub fn keyword_fields(mut self, fields: Option<Vec<String>>) -> Self {
        self.keyword_fields = fields;
        self
    }

    /// Logsource scoping ([`Scoping::Builtin`] by default).
    pub fn scoping(mut self, scoping: Scoping) -> Self {
        self.scoping = scoping;
        self
    }

    /// Options of correlation rules: the event time field, the bounds on
    /// open windows (see [`CorrelationOptions`]).
    pub fn correlation(mut self, options: crate::correlation::Options) -> Self {
        self.correlation = options;
        self
    }

    /// Say on the error stream of the jobs ([`Analysis::run`],
    /// [`Self::verify`], ...) which configuration keys are read and ignored.
    pub fn verbose(mut self, on: bool) -> Self {
        self.verbose = on;
        self
    }

    /// Reads the configurations, placeholder and exclusion files, loads,
    /// filters and compiles the rules. Rules that fail do not fail the
    /// build: see [`Rules::failed`].
    pub fn build(self) -> Result<Rules, Error> {
        let tools::ReadOptions {
            placeholders,
            filter,
            chain,
        } = self.read_options()?;
        let scope = match &self.scoping {
            Scoping::Builtin => Some(ScopeTable::builtin()),
            Scoping::File(p) => Some(ScopeTable::load(p).map_err(Error::Logsources)?),
            Scoping::Off => None,
        };
        let opts = CompileOptions {
            mapping: mapping_of(&chain),
            placeholders: &placeholders,
            keyword_fields: self.keyword_fields,
        };
        // Files first, in path order, then the texts in the order given;
        // with two or more threads rules compile here while the pool loads.
        let eager = if loader::pipelined() { Eager::Yes } else { Eager::No };
        let mut compiling = Compiling::new(&filter, opts, &self.correlation, eager);
        loader::load_paths_in_order(&self.paths, loader::Yaml::Drop, |docs| compiling.take(docs));
        for (name, text) in &self.texts {
            compiling.take(rule::parse_text(name, text));
        }
        let crate::correlation::load::LoadedRules {
            mut ruleset,
            failed,
            filtered,
            plan,
        } = compiling.finish(&self.texts);
        if let Some(t) = &scope {
            ruleset.set_scope(t);
        }
        Ok(Rules {
            ruleset,
            failed,
            filtered,
            config_warnings: chain.warnings().iter().map(ToString::to_string).collect(),
            chain,
            plan,
        })
    }
}

/// The mapping a ruleset compiles under: the configuration chain, or
/// [`Identity`] when there is none (which skips the per-rule logsource
/// resolution).
pub(crate) fn mapping_of(chain: &SigmacChain) -> &dyn FieldMapping {
    if chain.configs.is_empty() {
        &Identity
    } else {
        chain
    }
}

/// A compiled ruleset: immutable, shared by all threads.
pub struct Rules {
    pub(crate) ruleset: Ruleset,
    failed: Vec<FailedRule>,
    filtered: Filtered,
    config_warnings: Vec<String>,
    chain: SigmacChain,
    plan: crate::correlation::load::Plan,
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rules")
            .field("rules", &self.len())
            .field("failed", &self.failed.len())
            .finish_non_exhaustive()
    }
}

/// What a front-door user sees of one compiled rule.
#[derive(Debug, Clone, Copy)]
pub struct RuleInfo<'r> {
    /// The rule's `title`.
    pub title: &'r str,
    /// The rule's `id`, when it has one.
    pub id: Option<&'r str>,
    /// The rule's `level`, when it has one.
    pub level: Option<&'r str>,
    /// The rule's `status`, when it has one.
    pub status: Option<&'r str>,
    /// The file (or the name given with [`RulesBuilder::text`]) it came from.
    pub path: &'r Path,
}

impl Rules {
    /// How many rules compiled.
    pub fn len(&self) -> usize {
        self.ruleset.rules.len()
    }

    /// Whether no rule compiled.
    pub fn is_empty(&self) -> bool {
        self.ruleset.rules.is_empty()
    }

    /// The rule with this index (as in [`Match::rules`] and
    /// [`Scratch::matches`]).
    pub fn rule(&self, index: u32) -> Option<RuleInfo<'_>> {
        self.ruleset.rules.get(index as usize).map(|c| RuleInfo {
            title: &c.rule.title,
            id: c.rule.id.as_deref(),
            level: c.rule.level.as_deref(),
            status: c.rule.status.as_deref(),
            path: &c.rule.path,
        })
    }

    /// The rules that failed to load or compile, with file, line and reason.
    pub fn failed(&self) -> impl ExactSizeIterator<Item = &RuleIssue> {
        self.failed.iter().map(|f| &f.issue)
    }

    /// Warnings about the mapping configurations (keys that mean nothing here).
    pub fn config_warnings(&self) -> &[String] {
        &self.config_warnings
    }

    /// Per-thread scratch for evaluating events one at a time.
    pub fn scratch(&self) -> Scratch<'_> {
        Scratch {
            matcher: Matcher::new(&self.ruleset),
        }
    }

    // The jobs (`Analysis`, `fields`) read the compiled form behind the
    // front door; these accessors are for them, not for embedders.

    pub(crate) fn ruleset(&self) -> &Ruleset {
        &self.ruleset
    }

    pub(crate) fn ruleset_mut(&mut self) -> &mut Ruleset {
        &mut self.ruleset
    }

    /// The correlation rules of the ruleset and the rules that feed them.
    pub(crate) fn correlations(&self) -> &crate::correlation::load::Plan {
        &self.plan
    }

    pub(crate) fn failed_rules(&self) -> &[FailedRule] {
        &self.failed
    }

    pub(crate) fn filtered(&self) -> &Filtered {
        &self.filtered
    }

    pub(crate) fn mapping_chain(&self) -> &SigmacChain {
        &self.chain
    }
}

/// Per-thread scratch: evaluates one event at a time against [`Rules`].
/// Keep one per thread and reuse it; it caches scan results between events.
pub struct Scratch<'r> {
    matcher: Matcher<'r>,
}

impl std::fmt::Debug for Scratch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch").finish_non_exhaustive()
    }
}

impl Scratch<'_> {
    /// What the format modules add to events (Plaso `xml_string`
    /// resolution, the host-name alias); all on by default.
    pub fn set_format_options(&mut self, options: FormatOptions) {
        self.matcher.view.options = options;
    }

    /// The indexes of the rules one event (a JSON object, one line)
    /// matches, ascending; see [`Rules::rule`].
    pub fn matches(&mut self, event: &[u8]) -> Result<&[u32], Error> {
        Ok(self.matcher.match_line(event)?)
    }
}

/// A run of [`Rules`] over inputs: files (memory-mapped where safe,
/// compressed, CSV and EVTX recognised from their bytes) or any reader.
pub struct Run<'r> {
    rules: &'r Rules,
    sources: Vec<Origin>,
    names: Vec<String>,
    options: RunOptions,
}

impl std::fmt::Debug for Run<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("inputs", &self.names)
            .finish_non_exhaustive()
    }
}

impl<'r> Run<'r> {
    /// A run of `rules` with no inputs yet.
    pub fn new(rules: &'r Rules) -> Run<'r> {
        Run {
            rules,
            sources: Vec::new(),
            names: Vec::new(),
            options: RunOptions::default(),
        }
    }

    /// An input file (`-` is standard input), opened when its turn comes.
    /// An input that cannot be opened or read does not stop the run: it is
    /// in [`RunStats::input_errors`] and its [`RunStats::inputs`] entry.
    pub fn path(mut self, path: impl AsRef<Path>) -> Self {
        let name = path.as_ref().to_string_lossy().into_owned();
        self.sources.push(Origin::Path(name.clone()));
        self.names.push(name);
        self
    }

    /// An input read from any reader; `name` is what match records and
    /// errors call it. Compressed data, CSV and EVTX are recognised as for
    /// files.
    pub fn reader(mut self, name: impl Into<String>, reader: impl Read + Send + 'static) -> Self {
        let name = name.into();
        self.sources
            .push(Origin::Opened(Input::from_reader(&name, Box::new(reader))));
        self.names.push(name);
        self
    }

    /// What the format modules add to events (all on by default).
    pub fn format_options(mut self, options: FormatOptions) -> Self {
        self.options.no_evtx_xml = !options.evtx_xml;
        self.options.no_host_alias = !options.host_name_alias;
        self
    }

    /// Only events whose time is within `from` and `to` (ISO 8601, both
    /// inclusive; a date alone as `to` is the end of that day).
    pub fn window(mut self, from: Option<&str>, to: Option<&str>) -> Result<Self, Error> {
        self.options.window = match (from, to) {
            (None, None) => None,
            _ => Some(TimeWindow::parse(from, to)?),
        };
        Ok(self)
    }

    /// Runs in parallel (on rayon's global pool) and hands each input's
    /// matched lines, in input order, to every sink. Only a sink's write
    /// error stops it.
    pub fn run(self, sinks: &mut [&mut dyn Sink]) -> Result<RunStats, Error> {
        let feed = Feed::from_sources(self.sources, engine::batch_size());
        let mut stats = engine::run_feed(&self.rules.ruleset, feed, &self.options, sinks)?;
        for (s, n) in stats.inputs.iter_mut().zip(&self.names) {
            if s.name.is_empty() {
                s.name.clone_from(n);
            }
        }
        Ok(stats)
    }
}
