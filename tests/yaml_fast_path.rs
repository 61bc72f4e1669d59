//! The YAML fast path (`sigma::yaml::fast`) against saphyr: on every `.yml`
//! file of `testdata/` and of the shared SigmaHQ snapshot (all folders; when
//! SIGMA_MATCH_SHARED is set), and on mutated copies of them, a tree the
//! fast path returns must be the tree saphyr's events give, positions
//! included, and saphyr must not reject a text the fast path accepted.

use std::path::{Path, PathBuf};

use sigma_match::sigma::yaml::{load_documents_fast, load_documents_saphyr};

fn yml_files(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_type().is_file()
                && e.path()
                    .extension()
                    .is_some_and(|x| x == "yml" || x == "yaml")
        })
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

/// Compares both parsers on `text`; `Some(accepted)` or a description of
/// the difference.
fn compare(text: &str) -> Result<bool, String> {
    let Some(fast) = load_documents_fast(text) else {
        return Ok(false);
    };
    match load_documents_saphyr(text) {
        Ok(slow) => {
            // Debug text, so that NaN equals NaN.
            let (f, s) = (format!("{fast:?}"), format!("{slow:?}"));
            if f == s {
                Ok(true)
            } else {
                let at = f.bytes().zip(s.bytes()).take_while(|(a, b)| a == b).count();
                let from = at.saturating_sub(150);
                Err(format!(
                    "trees differ at:\nfast: ...{}\nslow: ...{}",
                    f.get(from..(at + 100).min(f.len())).unwrap_or(""),
                    s.get(from..(at + 100).min(s.len())).unwrap_or("")
                ))
            }
        }
        Err(e) => Err(format!("fast path accepted what saphyr rejects: {e}")),
    }
}

/// Small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Characters that matter to YAML's block style.
const PIECES: &[&str] = &[
    " ", "  ", "\n", "\n  ", "\n- ", ":", ": ", "#", " #", "-", "- ", "'", "\"", "\\", "|", ">",
    "&a ", "*a", "!", "?", "[", "{", ",", "\t", "\r", "---\n", "...", "%", "é", "a", "0", "''",
    "\n\n", "x: y\n", ": |\n  ", "\\u0041", "\\n",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut s = text.to_string();
    for _ in 0..1 + rng.below(3) {
        let mut at = rng.below(s.len() + 1);
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        match rng.below(3) {
            0 => s.insert_str(at, PIECES[rng.below(PIECES.len())]),
            1 => {
                let mut to = (at + 1 + rng.below(4)).min(s.len());
                while !s.is_char_boundary(to) {
                    to += 1;
                }
                s.replace_range(at..to, "");
            }
            _ => {
                let mut to = (at + 1).min(s.len());
                while !s.is_char_boundary(to) {
                    to += 1;
                }
                s.replace_range(at..to, PIECES[rng.below(PIECES.len())]);
            }
        }
    }
    s
}

/// Compares both parsers on every file under `root` and on `mutations`
/// mutated copies of each; returns (files, files the fast path took).
fn check_tree(root: &Path, mutations: usize) -> (usize, usize) {
    let mut failures = Vec::new();
    let (mut files, mut fast) = (0, 0);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for path in yml_files(root) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        files += 1;
        match compare(&text) {
            Ok(took) => {
                fast += usize::from(took);
                if !took && std::env::var_os("YAML_FAST_PATH_LIST").is_some() {
                    eprintln!("not taken: {}", path.display());
                }
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
        for i in 0..mutations {
            let m = mutate(&text, &mut rng);
            if let Err(e) = compare(&m) {
                failures.push(format!(
                    "{} (mutation {i}): {e}\n--- text ---\n{m}",
                    path.display()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences, first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    (files, fast)
}

#[test]
fn fast_path_matches_saphyr_on_testdata() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let (files, fast) = check_tree(&root, 20);
    assert!(files > 50, "{files} files");
    eprintln!("testdata: fast path took {fast} of {files} files");
}

#[test]
fn fast_path_handles_the_usual_shapes() {
    let text = "title: a\nid: 1\ntags:\n  - x\n  - 'y'\ndetection:\n  sel:\n    - a|contains: \"b\\\\c\"\n      d: e # f\n  condition: sel\ndescription: |\n  line one\n\n  line two\n\nlevel: high\n";
    assert_eq!(compare(text), Ok(true));
    let indentless = "a:\n- x\n- y: z\n  w: v\nb: ~\n";
    assert_eq!(compare(indentless), Ok(true));
}

#[test]
#[cfg_attr(
    not(shared_corpus),
    ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
)]
fn fast_path_matches_saphyr_on_the_shared_sigmahq_snapshot() {
    let Some(dir) = std::env::var_os("SIGMA_MATCH_SHARED") else {
        eprintln!("SIGMA_MATCH_SHARED is not set: YAML fast path corpus test NOT run");
        return;
    };
    let root = PathBuf::from(dir).join("sigmahq");
    assert!(root.join("rules").is_dir(), "{} missing", root.display());
    // YAML_FAST_PATH_MUTATIONS=N checks N mutated copies of each file
    // instead of 3 (a longer one-off run).
    let mutations = std::env::var("YAML_FAST_PATH_MUTATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let (files, fast) = check_tree(&root, mutations);
    assert!(files >= 4000, "{files} files");
    // The point of the fast path: most rule files take it.
    assert!(fast * 10 >= files * 9, "fast path took only {fast} of {files}");
    eprintln!("SigmaHQ: fast path took {fast} of {files} files");
}
