//! `verify`, `explain` and the Lucene translation over the shared SigmaHQ
//! snapshot. Runs when SIGMA_MATCH_SHARED is set (CI sets it) and fails
//! loudly if it is set but the data is missing; prints a note otherwise.

use std::collections::HashMap;
use std::path::PathBuf;

use sigma_match::compile::CompileOptions;
use sigma_match::mapping::Identity;
use sigma_match::sigma::rule::Loaded;
use sigma_match::tools::verify::{self, Severity};

fn sigmahq() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("SIGMA_MATCH_SHARED") else {
        eprintln!(
            "SIGMA_MATCH_SHARED is not set: the shared SigmaHQ verify/explain tests did not run"
        );
        return None;
    };
    let p = PathBuf::from(dir).join("sigmahq");
    assert!(
        p.join("rules").is_dir(),
        "SIGMA_MATCH_SHARED is set but {} is missing",
        p.join("rules").display()
    );
    Some(p)
}

#[test]
#[cfg_attr(
    not(shared_corpus),
    ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
)]
fn sigmahq_main_rules_verify_clean() {
    let Some(root) = sigmahq() else { return };
    let empty = HashMap::new();
    let v = verify::verify_paths(
        &[root.join("rules")],
        &verify::Options {
            mapping: &Identity,
            placeholders: &empty,
            keyword_fields: None,
            filter: &Default::default(),
        },
    );
    assert!(v.rules.len() >= 3000, "{} rules", v.rules.len());
    let errors: Vec<String> = v
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{}: {}", f.path.display(), f.message))
        .collect();
    assert!(
        errors.is_empty(),
        "SigmaHQ's main rules should all load and compile:\n{}",
        errors.join("\n")
    );
}

#[test]
#[cfg_attr(
    not(shared_corpus),
    ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
)]
fn whole_snapshot_verifies_without_losing_count() {
    let Some(root) = sigmahq() else { return };
    let empty = HashMap::new();
    let v = verify::verify_paths(
        std::slice::from_ref(&root),
        &verify::Options {
            mapping: &Identity,
            placeholders: &empty,
            keyword_fields: None,
            filter: &Default::default(),
        },
    );
    assert_eq!(
        v.ok() + v.with(Severity::Warning) + v.with(Severity::Error),
        v.rules.len()
    );
    assert!(
        v.rules
            .iter()
            .all(|r| !r.path.components().any(|c| c.as_os_str() == "deprecated"))
    );
    // Placeholder rules need values; with a file giving every name they compile.
    let placeholder_errors = v
        .findings
        .iter()
        .filter(|f| f.category == "placeholder")
        .count();
    assert!(placeholder_errors > 0);
}

#[test]
#[cfg_attr(
    not(shared_corpus),
    ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
)]
fn every_sigmahq_rule_explains_and_translates() {
    let Some(root) = sigmahq() else { return };
    let empty = HashMap::new();
    let (mut explained, mut translated, mut untranslatable) = (0, 0, 0);
    for l in sigma_match::compile::loader::load_paths(&[root.join("rules")]) {
        let Loaded::Rule(rule) = l else { continue };
        match sigma_match::tools::lucene::to_query(&rule, &Identity, &empty) {
            Ok(q) => {
                assert!(
                    q.query.starts_with('(') && q.query.ends_with(')'),
                    "{}: {}",
                    rule.path.display(),
                    q.query
                );
                translated += 1;
            }
            Err(_) => untranslatable += 1,
        }
        let opts = CompileOptions {
            mapping: &Identity,
            placeholders: &empty,
            keyword_fields: None,
        };
        let rs = sigma_match::tools::explain::compile_one(*rule, opts).expect("SigmaHQ rules compile");
        let text = sigma_match::tools::explain::render(&rs, &Identity, None);
        assert!(
            !text.contains("compiled items:"),
            "item order reconstruction failed:\n{text}"
        );
        explained += 1;
    }
    eprintln!("explained {explained}, lucene {translated} ok, {untranslatable} not expressible");
    assert!(explained >= 3000 && translated * 100 >= explained * 99);
}
