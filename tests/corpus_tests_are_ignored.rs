//! Corpus tests must show as *ignored*, not as passed, when the shared
//! data is not configured: a test that needs `SIGMA_MATCH_SHARED` and
//! returns early without it reports "ok" although it checked nothing (the
//! note it prints is swallowed by the test harness). Every test function in
//! `tests/` whose body reads the shared corpus must carry
//! `#[cfg_attr(not(shared_corpus), ignore = "...")]` (see `build.rs`).

#[test]
fn every_corpus_test_is_marked_ignored_without_the_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut unmarked = Vec::new();
    let mut corpus_tests = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") || path.ends_with(file!()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.trim() != "#[test]" {
                continue;
            }
            // Attributes up to the `fn` line, then the body up to the
            // closing brace in column 0.
            let mut j = i + 1;
            let mut attrs = String::new();
            while j < lines.len() && !lines[j].starts_with("fn ") {
                attrs.push_str(lines[j]);
                j += 1;
            }
            let name = lines.get(j).copied().unwrap_or("");
            let mut body = String::new();
            let mut k = j + 1;
            while k < lines.len() && !lines[k].starts_with('}') {
                body.push_str(lines[k]);
                body.push('\n');
                k += 1;
            }
            let reads_corpus = ["shared()", "sigmahq()", "SIGMA_MATCH_SHARED"]
                .iter()
                .any(|s| body.contains(s));
            if reads_corpus {
                corpus_tests += 1;
                if !(attrs.contains("not(shared_corpus)") && attrs.contains("ignore")) {
                    unmarked.push(format!("{}: {name}", path.display()));
                }
            }
        }
    }
    assert!(corpus_tests >= 10, "found only {corpus_tests} corpus tests");
    assert!(
        unmarked.is_empty(),
        "corpus tests that pass silently without SIGMA_MATCH_SHARED:\n{}",
        unmarked.join("\n")
    );
}
