//! `verify --move DIR`: moving rule files with errors out of a ruleset.
//!
//! This module owns the file moves. A file keeps its path relative to the
//! rule root it was found under; the move never overwrites anything (a hard
//! link or a `create_new` copy fails if the destination exists) and the
//! source is removed only after the destination is complete, so no file is
//! ever lost. Each moved file's errors are appended to `DIR/debug.log`, as
//! Timesketch's rule verifier did.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use super::{Severity, Verified};

/// Why a file was not moved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MoveError {
    #[error("destination {0} already exists (never overwritten)")]
    Exists(PathBuf),
    #[error("{0}")]
    Io(String),
}

/// One attempted move.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    pub from: PathBuf,
    pub to: PathBuf,
    pub error: Option<MoveError>,
}

/// The path of `file` relative to the root it was found under (a root that
/// is the file itself keeps only the file name).
pub fn relative_to_roots(file: &Path, roots: &[PathBuf]) -> PathBuf {
    for r in roots {
        if r.as_path() == file {
            break;
        }
        if let Ok(rel) = file.strip_prefix(r)
            && !rel.as_os_str().is_empty()
        {
            return rel.to_path_buf();
        }
    }
    // A file given directly: its name, or its normal components as a
    // last resort so `..` can never escape DIR.
    match file.file_name() {
        Some(n) => PathBuf::from(n),
        None => file
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect(),
    }
}

/// Moves every file holding a rule with an error into `dir`, appending the
/// reasons to `dir/debug.log`. The `Err` case is a failure to create `dir`
/// or write the log; per-file failures are reported in [`Moved::error`].
pub fn move_erroring(v: &Verified, roots: &[PathBuf], dir: &Path) -> std::io::Result<Vec<Moved>> {
    std::fs::create_dir_all(dir)?;
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("debug.log"))?;
    let mut out = Vec::new();
    for from in v.erroring_files() {
        let to = dir.join(relative_to_roots(from, roots));
        let error = move_file(from, &to).err();
        if error.is_none() {
            for f in v
                .findings
                .iter()
                .filter(|f| f.path == from && f.severity == Severity::Error)
            {
                let pos = f.pos.map(|p| format!(" ({p})")).unwrap_or_default();
                writeln!(
                    log,
                    "{} -> {}: {}: {}{pos}",
                    from.display(),
                    to.display(),
                    f.category,
                    f.message
                )?;
            }
            log.flush()?;
        }
        out.push(Moved {
            from: from.to_path_buf(),
            to,
            error,
        });
    }
    Ok(out)
}

/// Moves one file without ever overwriting `to` and without losing `from`.
pub fn move_file(from: &Path, to: &Path) -> Result<(), MoveError> {
    let io = |e: std::io::Error| MoveError::Io(e.to_string());
    if !from.is_file() {
        return Err(MoveError::Io(format!("{} is not a file", from.display())));
    }
    if to.exists() {
        return Err(MoveError::Exists(to.to_path_buf()));
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    // Same file system: a hard link is an atomic, no-clobber "copy".
    match std::fs::hard_link(from, to) {
        Ok(()) => return std::fs::remove_file(from).map_err(io),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(MoveError::Exists(to.to_path_buf()));
        }
        Err(_) => {}
    }
    // Other file system (or no hard links): copy into a new file, check, then remove.
    let copy = || -> std::io::Result<()> {
        let mut src = std::fs::File::open(from)?;
        let mut dst = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(to)?;
        let n = std::io::copy(&mut src, &mut dst)?;
        dst.sync_all()?;
        if n != std::fs::metadata(from)?.len() {
            return Err(std::io::Error::other("copy is incomplete"));
        }
        Ok(())
    };
    match copy() {
        Ok(()) => std::fs::remove_file(from).map_err(io),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(MoveError::Exists(to.to_path_buf()))
        }
        Err(e) => {
            let _ = std::fs::remove_file(to); // our own partial copy
            Err(io(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        let roots = vec![PathBuf::from("/r/rules"), PathBuf::from("/x/one.yml")];
        assert_eq!(
            relative_to_roots(Path::new("/r/rules/win/a.yml"), &roots),
            PathBuf::from("win/a.yml")
        );
        assert_eq!(
            relative_to_roots(Path::new("/x/one.yml"), &roots),
            PathBuf::from("one.yml")
        );
    }

    #[test]
    fn never_overwrites_and_never_loses() {
        let d = crate::tools::verify::tests::tempdir("mv");
        std::fs::write(d.join("a.yml"), "A").unwrap();
        std::fs::write(d.join("b.yml"), "B").unwrap();
        assert_eq!(
            move_file(&d.join("a.yml"), &d.join("b.yml")),
            Err(MoveError::Exists(d.join("b.yml")))
        );
        assert_eq!(std::fs::read_to_string(d.join("a.yml")).unwrap(), "A");
        assert_eq!(std::fs::read_to_string(d.join("b.yml")).unwrap(), "B");
        move_file(&d.join("a.yml"), &d.join("sub/a.yml")).unwrap();
        assert!(!d.join("a.yml").exists());
        assert_eq!(std::fs::read_to_string(d.join("sub/a.yml")).unwrap(), "A");
        assert!(move_file(&d.join("gone.yml"), &d.join("x.yml")).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
