//! Expanding event paths: a folder becomes the event files under it.
//!
//! A folder is walked recursively in name order (so runs are repeatable);
//! hidden files and folders (name starting with `.`, which also covers the
//! temporary files outputs are written to) and the run's own outputs are
//! skipped, and of the rest only files whose first bytes show a supported
//! content ([`super::sniff`]: JSON lines, CSV, EVTX, plain or compressed)
//! are kept. The others are listed with what they look like, for the
//! report. A path that is not a folder is kept as given, whatever it holds:
//! reading it says what is wrong.

use std::io::Read;
use std::path::Path;

use super::sniff;

/// The result of expanding event paths.
#[derive(Debug, Default, Clone)]
pub struct Expanded {
    /// The inputs to read, in order.
    pub inputs: Vec<String>,
    /// Files inside folders that were not read: (path, what they look like).
    pub skipped: Vec<(String, String)>,
    /// Folders given that hold no event file.
    pub empty_folders: Vec<String>,
}

/// Expands `paths` (files, folders, `-`), leaving out `exclude` (the run's
/// outputs, compared as files, not names).
pub fn expand(paths: &[String], exclude: &[String]) -> Expanded {
    let excluded: Vec<_> = exclude.iter().filter_map(|p| file_id(Path::new(p))).collect();
    let mut out = Expanded::default();
    for p in paths {
        if p != "-" && Path::new(p).is_dir() {
            let before = out.inputs.len();
            walk(Path::new(p), &excluded, &mut out);
            if out.inputs.len() == before {
                out.empty_folders.push(p.clone());
            }
        } else {
            out.inputs.push(p.clone());
        }
    }
    out
}

fn walk(dir: &Path, excluded: &[FileId], out: &mut Expanded) {
    let it = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in it {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e.path().map(|p| p.display().to_string()).unwrap_or_default();
                out.skipped.push((path, format!("unreadable: {e}")));
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        let name = path.display().to_string();
        if file_id(path).is_some_and(|id| excluded.contains(&id)) {
            continue;
        }
        match what_is(path) {
            Ok(s) if s.content.is_supported() && s.content != sniff::Content::Empty => {
                out.inputs.push(name)
            }
            Ok(s) => out.skipped.push((name, s.describe())),
            Err(e) => out.skipped.push((name, format!("unreadable: {e}"))),
        }
    }
}

fn what_is(path: &Path) -> std::io::Result<sniff::Sniffed> {
    let mut f = std::fs::File::open(path)?;
    let mut head = Vec::with_capacity(sniff::HEAD);
    (&mut f).take(sniff::HEAD as u64).read_to_end(&mut head)?;
    Ok(sniff::sniff(&head, &path.to_string_lossy()))
}

#[cfg(unix)]
pub(crate) type FileId = (u64, u64);
#[cfg(not(unix))]
pub(crate) type FileId = std::path::PathBuf;

/// Identity of an existing file: (device, inode) on Unix, else the canonical path.
#[cfg(unix)]
pub(crate) fn file_id(p: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
pub(crate) fn file_id(p: &Path) -> Option<FileId> {
    p.canonicalize().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_in_order_skipping_hidden_outputs_and_other_files() {
        let d = tempfile::tempdir().unwrap();
        let p = |n: &str| d.path().join(n);
        std::fs::create_dir_all(p("sub/.hidden")).unwrap();
        std::fs::write(p("b.jsonl"), "{\"a\":1}\n").unwrap();
        std::fs::write(p("a.csv"), "message,datetime\nx,y\n").unwrap();
        std::fs::write(p("sub/c.jsonl"), "{\"a\":1}\n").unwrap();
        std::fs::write(p("sub/.hidden/d.jsonl"), "{\"a\":1}\n").unwrap();
        std::fs::write(p(".e.jsonl"), "{\"a\":1}\n").unwrap();
        std::fs::write(p("notes.txt"), "hello\n").unwrap();
        std::fs::write(p("out.jsonl"), "{\"a\":1}\n").unwrap();
        let root = d.path().display().to_string();
        let out_path = p("out.jsonl").display().to_string();
        let e = expand(&[root], &[out_path]);
        let rel: Vec<String> = e
            .inputs
            .iter()
            .map(|i| Path::new(i).strip_prefix(d.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(rel, vec!["a.csv", "b.jsonl", "sub/c.jsonl"]);
        assert_eq!(e.skipped.len(), 1);
        assert!(e.skipped[0].0.ends_with("notes.txt"));
    }
}
