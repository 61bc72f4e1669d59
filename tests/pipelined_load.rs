//! Compiling rules while the pool still loads them
//! (`loader::load_paths_in_order_on` feeding `correlation::load::Compiling`
//! with `Eager::Yes`) gives the same ruleset, failed list, filtered counts
//! and correlation plan as loading everything first and compiling after
//! (`correlation::load::load_ruleset`), at several thread counts, with and
//! without filters: on the correlation fixtures and rules under
//! `testdata/`, and on the SigmaHQ snapshot (when `SIGMA_MATCH_SHARED` is
//! set).

use std::path::{Path, PathBuf};

use sigma_match::compile::CompileOptions;
use sigma_match::compile::loader::{self, RuleFilter, Yaml};
use sigma_match::correlation::load::{self, Compiling, Eager, LoadedRules};
use sigma_match::correlation::Options;

fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(p)
}

/// Everything a run reads from the rule side, as text: rules in compiled
/// order with their needles and indexes, failures in order, filter counts,
/// the correlation plan.
fn describe(l: &LoadedRules) -> String {
    let rs = &l.ruleset;
    let rules: Vec<String> = rs
        .rules
        .iter()
        .map(|r| format!("{} {:?} {:?}", r.rule.path.display(), r.rule.title, r.rule.id))
        .collect();
    let failed: Vec<String> = l
        .failed
        .iter()
        .map(|f| format!("{} {:?} {:?}", f.issue, f.title, f.id))
        .collect();
    format!(
        "rules {rules:#?}\nneedles {} {:?}\nfields {:?}\nby_needle {:?}\nby_field {:?}\nalways {:?}\ncarried {:?}\nfailed {failed:#?}\nfiltered {:?}\nplan {:?}",
        rs.needle_count,
        rs.needle_text,
        (0..rs.fields.len()).map(|f| rs.fields.name(f as u32)).collect::<Vec<_>>(),
        rs.by_needle,
        rs.by_field,
        rs.always,
        rs.carried,
        l.filtered,
        l.plan,
    )
}

fn pipelined(paths: &[PathBuf], filter: &RuleFilter, copts: &Options, threads: usize) -> LoadedRules {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    assert_eq!(loader::pipelined_on(Some(&pool)), threads >= 2);
    pipelined_on(Some(&pool), paths, filter, copts)
}

/// On `pool`, or on the current pool (`None`).
fn pipelined_on(pool: Option<&rayon::ThreadPool>, paths: &[PathBuf], filter: &RuleFilter, copts: &Options) -> LoadedRules {
    let mut compiling = Compiling::new(filter, CompileOptions::default(), copts, Eager::Yes);
    loader::load_paths_in_order_on(pool, paths, Yaml::Drop, |docs| compiling.take(docs));
    compiling.finish(&[])
}

fn same_at_every_thread_count(paths: &[PathBuf], filter: &RuleFilter, copts: &Options) {
    let want = describe(&load::load_ruleset(paths, filter, CompileOptions::default(), copts));
    for threads in [1, 2, 3, 5] {
        let got = describe(&pipelined(paths, filter, copts, threads));
        assert!(got == want, "{threads} threads, filter {filter:?}: differs\n--- got\n{got}\n--- want\n{want}");
    }
}

/// Filters that keep everything, drop rules early, late, or by name.
fn filters(exclude: &[&str]) -> Vec<RuleFilter> {
    vec![
        RuleFilter::default(),
        RuleFilter { min_level: Some("high".into()), ..RuleFilter::default() },
        RuleFilter { statuses: vec!["test".into(), "stable".into()], ..RuleFilter::default() },
        RuleFilter { exclude: exclude.iter().map(|s| s.to_string()).collect(), ..RuleFilter::default() },
    ]
}

#[test]
fn fixtures_compile_the_same_pipelined() {
    let paths = vec![data("rules"), data("correlation"), data("correlation/invalid"), data("sigmahq")];
    let copts = Options { time_field: Some("timestamp".into()), ..Options::default() };
    for filter in filters(&["Whoami Execution", "no such rule"]) {
        same_at_every_thread_count(&paths, &filter, &copts);
        same_at_every_thread_count(&paths, &filter, &Options::default());
    }
}

#[test]
fn pipelined_loads_from_inside_the_pool_do_not_block_it() {
    // Both workers of a two-thread pool run a pipelined load at once: each
    // loads chunks itself while its next one is not ready.
    let paths = vec![data("rules"), data("correlation"), data("sigmahq")];
    let (filter, copts) = (RuleFilter::default(), Options::default());
    let want = describe(&load::load_ruleset(&paths, &filter, CompileOptions::default(), &copts));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    for _ in 0..20 {
        let (a, b) = pool.install(|| {
            rayon::join(
                || pipelined_on(None, &paths, &filter, &copts),
                || pipelined_on(None, &paths, &filter, &copts),
            )
        });
        assert!(describe(&a) == want && describe(&b) == want);
    }
}

#[test]
#[cfg_attr(
    not(shared_corpus),
    ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
)]
fn sigmahq_compiles_the_same_pipelined() {
    let shared = PathBuf::from(std::env::var_os("SIGMA_MATCH_SHARED").expect("SIGMA_MATCH_SHARED"));
    let sigmahq = shared.join("sigmahq");
    assert!(sigmahq.join("rules").is_dir(), "{} has no sigmahq/rules", shared.display());
    // Placeholders left unset fail to compile mid-stream; correlations come last.
    let paths = vec![
        sigmahq.join("rules"),
        sigmahq.join("rules-placeholder"),
        sigmahq.join("rules-threat-hunting"),
        data("correlation"),
    ];
    for filter in filters(&["f7375e28-5c14-432f-b8d1-1db26c832df3", "Whoami Execution"]) {
        same_at_every_thread_count(&paths, &filter, &Options::default());
    }
}
