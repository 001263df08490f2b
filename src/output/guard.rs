//! What keeps mechsim from losing a user's files: where an output directory may go, when
//! an existing one may be replaced (only when mechsim wrote it, known by its manifest),
//! a lock so two runs never share one, atomic swaps of a replaced result, atomic writes of
//! single files, and the removal of staging directories that killed runs left behind.
//!
//! The rules:
//! - an output path names a directory of its own: not empty, no NUL byte, not `.`, `..` or
//!   a root, not the working directory or one of its ancestors, and neither an input nor a
//!   directory holding an input;
//! - an existing, non-empty output directory is replaced only with `--force`, and only when
//!   its `manifest.json` says mechsim wrote it and every entry in it is one the manifest
//!   lists (or a sub-directory mechsim wrote, such as `report/`);
//! - a replaced directory is swapped, never deleted first: the new one is renamed in (an
//!   atomic exchange on Linux) and only then is the old one removed;
//! - a run takes `.<name>.lock` beside its output directory when it starts and keeps it to
//!   the end, so a second run on the same path is refused at once, naming the holder.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::core::error::{Error, Result};

/// The longest output directory name (file systems allow 255 bytes; staging and lock names
/// add up to about 30).
pub const MAX_NAME: usize = 200;

/// The marker every staging directory holds, so that only mechsim's own are ever cleaned.
pub(crate) const STAGING_MARKER: &str = ".mechsim-staging";

/// Refuses an output path that could not hold a result of its own (see the module rules).
/// `inputs` are the files and directories the command reads.
pub fn validate_target(target: &Path, inputs: &[&Path]) -> Result<()> {
    let bad = |why: &str| Err(Error::UnsafeOutput(target.to_path_buf(), why.to_string()));
    let text = target.as_os_str().to_string_lossy();
    if text.trim().is_empty() {
        return bad("an output directory must be named (it is empty)");
    }
    if text.contains('\0') {
        return bad("an output path cannot hold a NUL byte");
    }
    if target.file_name().is_none() || matches!(target.components().next_back(), Some(Component::CurDir)) {
        return bad("an output directory must be a directory of its own, not `.`, `..` or a root");
    }
    if target.file_name().is_some_and(|n| n.len() > MAX_NAME) {
        return bad(&format!(
            "its name is longer than {MAX_NAME} bytes (mechsim adds to it for staging and locks)"
        ));
    }
    let resolved = resolve(target);
    if let Ok(cwd) = std::env::current_dir() {
        let cwd = resolve(&cwd);
        if cwd.starts_with(&resolved) {
            return bad("this is the working directory or one of its parents");
        }
    }
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty())
        && resolve(Path::new(&home)).starts_with(&resolved)
    {
        return bad("this is the home directory or one of its parents");
    }
    for input in inputs {
        let input = resolve(input);
        if input == resolved {
            return bad("it is an input of this command, which this command reads");
        }
        if input.starts_with(&resolved) {
            return Err(Error::UnsafeOutput(
                target.to_path_buf(),
                format!("it holds `{}`, which this command reads", input.display()),
            ));
        }
    }
    Ok(())
}

/// `path` made absolute, with `.` and `..` resolved: through the file system where the path
/// exists (symbolic links included), lexically for the part that does not exist yet.
pub(crate) fn resolve(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut existing = absolute.clone();
    let mut rest: Vec<PathBuf> = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                push_lexically(&mut out, part);
            }
            return out;
        }
        match (existing.file_name().map(|n| n.to_os_string()), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(PathBuf::from(name));
                existing = parent.to_path_buf();
            }
            _ => {
                // Nothing of it exists (or it ends in `..`): resolve it all lexically.
                let mut out = PathBuf::new();
                push_lexically(&mut out, &absolute);
                return out;
            }
        }
    }
}

fn push_lexically(out: &mut PathBuf, path: &Path) {
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
}

/// What an existing output path holds.
#[derive(Debug, PartialEq)]
pub(crate) enum Holding {
    /// Nothing there, or an empty directory.
    Nothing,
    /// A directory mechsim wrote, and nothing else.
    Ours,
    /// Something mechsim may not delete, and why.
    Foreign(String),
}

/// Whether `dir` is mechsim's to replace: every file under it (symbolic links included,
/// never followed) is one its manifest lists, or lies in a directory mechsim wrote (its own
/// manifest, such as `report/` or a sweep's unit, or a staging directory's marker).
pub(crate) fn holding(dir: &Path) -> Holding {
    let meta = match fs::symlink_metadata(dir) {
        Err(_) => return Holding::Nothing,
        Ok(meta) => meta,
    };
    if !meta.is_dir() {
        return Holding::Foreign("it is not a directory".into());
    }
    match fs::read_dir(dir) {
        Err(_) => return Holding::Foreign("it cannot be read".into()),
        Ok(mut entries) => {
            if entries.next().is_none() {
                return Holding::Nothing;
            }
        }
    }
    let Some(listed) = manifest_files(dir) else {
        return Holding::Foreign("it has no manifest.json written by mechsim".into());
    };
    match unlisted(dir, dir, &listed) {
        Some(path) => Holding::Foreign(format!("it holds `{path}`, which mechsim did not write")),
        None => Holding::Ours,
    }
}

/// The first file under `at` (a directory inside `root`) that `listed` does not name, as a
/// path relative to `root`.
fn unlisted(root: &Path, at: &Path, listed: &Listing) -> Option<String> {
    let relative = |p: &Path| p.strip_prefix(root).unwrap_or(p).to_string_lossy().replace('\\', "/");
    let Ok(entries) = fs::read_dir(at) else {
        return Some(relative(at));
    };
    for entry in entries {
        let Ok(entry) = entry else {
            return Some(relative(at));
        };
        let path = entry.path();
        let name = relative(&path);
        if at == root && name == "manifest.json" {
            if fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                continue;
            }
            return Some(name);
        }
        if (listed.contains(&name) || leftover_of_listed(&name, listed))
            && fs::symlink_metadata(&path).is_ok_and(|m| m.is_file())
        {
            continue;
        }
        let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if !is_dir {
            return Some(name);
        }
        // A directory mechsim wrote on its own terms, or one whose files this manifest lists.
        let own_manifest = path.join("manifest.json");
        if fs::symlink_metadata(&own_manifest).is_ok_and(|m| m.is_file()) && holding(&path) == Holding::Ours {
            continue;
        }
        if fs::symlink_metadata(path.join(STAGING_MARKER)).is_ok_and(|m| m.is_file()) {
            continue;
        }
        if let Some(found) = unlisted(root, &path, listed) {
            return Some(found);
        }
    }
    None
}

/// Whether `name` is the temporary file (`.<file>.tmp-<pid>`) of a listed file that a killed
/// `write_atomic` left.
fn leftover_of_listed(name: &str, listed: &Listing) -> bool {
    let (folder, file) = name.rsplit_once('/').map_or(("", name), |(d, f)| (d, f));
    let Some((base, pid)) = file.strip_prefix('.').and_then(|f| f.rsplit_once(".tmp-")) else {
        return false;
    };
    let original = if folder.is_empty() {
        base.to_string()
    } else {
        format!("{folder}/{base}")
    };
    !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && (listed.contains(&original) || original == "manifest.json")
}

/// The files (paths relative to `dir`, `/`-separated) a mechsim manifest lists, or `None`
/// when `dir` has no such manifest. A sweep's manifest names its cells and replicates, from
/// which its files follow.
fn manifest_files(dir: &Path) -> Option<Listing> {
    let path = dir.join("manifest.json");
    if !fs::symlink_metadata(&path).ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    File::open(&path).ok()?.take(64 << 20).read_to_string(&mut text).ok()?;
    let manifest: Value = serde_json::from_str(&text).ok()?;
    manifest.get("mechsim_version")?.as_str()?;
    if manifest.get("kind").and_then(Value::as_str) == Some("sweep") {
        return Some(sweep_listing(&manifest));
    }
    let mut files: std::collections::HashSet<String> = manifest
        .get("files")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(|f| f.as_str().map(String::from)).collect())
        .unwrap_or_default();
    // Relative paths inside `dir` only.
    files.retain(|f| {
        !f.is_empty()
            && !f.starts_with('/')
            && !f.contains('\\')
            && f.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
    });
    Some(Listing::Files(files))
}

/// The files a manifest accounts for: listed one by one, or (a sweep) named by its cells
/// and replicates: `sweep.csv`, each cell's merged `rounds.csv`, and each unit's rows,
/// fingerprint and staging file (units run as directories of their own carry their own
/// manifests). Matched by pattern, so a sweep of millions of units lists nothing.
pub(crate) enum Listing {
    Files(std::collections::HashSet<String>),
    Sweep {
        cells: std::collections::HashSet<String>,
        replicates: u64,
    },
}

impl Listing {
    fn contains(&self, name: &str) -> bool {
        match self {
            Listing::Files(files) => files.contains(name),
            Listing::Sweep { cells, replicates } => {
                if name == "sweep.csv" {
                    return true;
                }
                if let Some(cell) = name.strip_prefix("cells/").and_then(|n| n.strip_suffix("/rounds.csv")) {
                    return cells.contains(cell);
                }
                let Some(unit) = name.strip_prefix("units/") else {
                    return false;
                };
                let Some((cell, rest)) = unit.rsplit_once("-r") else {
                    return false;
                };
                let Some((index, ending)) = rest.split_once('.') else {
                    return false;
                };
                cells.contains(cell)
                    && index.len() >= 4
                    && index.bytes().all(|b| b.is_ascii_digit())
                    && index.parse::<u64>().is_ok_and(|r| r < *replicates)
                    && matches!(ending, "csv" | "fingerprint" | "csv.partial")
            }
        }
    }
}

fn sweep_listing(manifest: &Value) -> Listing {
    let replicates = manifest.get("replicates_per_cell").and_then(Value::as_u64).unwrap_or(0);
    let cells = manifest
        .get("cells")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(|c| c.get("cell").and_then(Value::as_str))
        .filter(|c| !c.is_empty() && !c.contains(['/', '\\']) && *c != "." && *c != "..")
        .map(String::from)
        .collect();
    Listing::Sweep { cells, replicates }
}

/// Every file under `dir` (except its manifest and a staging marker), as `/`-separated paths
/// relative to it, sorted: what a manifest's `files` lists.
pub(crate) fn list_files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, at: &Path, out: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(at) else {
            return;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let path = entry.path();
            if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                walk(root, &path, out);
            } else {
                let name = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                if name != "manifest.json" && name != STAGING_MARKER {
                    out.push(name);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Refuses to write into `target` when it holds anything, unless `force` and mechsim wrote it.
pub fn check_replaceable(target: &Path, force: bool) -> Result<()> {
    match holding(target) {
        Holding::Nothing => Ok(()),
        Holding::Ours if force => Ok(()),
        Holding::Ours => Err(Error::OutputExists(target.to_path_buf())),
        Holding::Foreign(why) => Err(Error::UnsafeOutput(
            target.to_path_buf(),
            format!("{why}; mechsim only replaces directories it wrote (choose another output directory)"),
        )),
    }
}

/// Removes `dir`, which `holding` found to be mechsim's: first renamed aside, so a kill
/// during the removal leaves a set-aside directory (cleaned by the next run), never a
/// half-deleted result under the name.
pub(crate) fn remove_ours(dir: &Path) -> Result<()> {
    if holding(dir) != Holding::Ours {
        return Err(Error::UnsafeOutput(
            dir.to_path_buf(),
            "mechsim did not write it".into(),
        ));
    }
    let aside = sibling(dir, "old", std::process::id());
    fs::rename(dir, &aside).map_err(|e| Error::io("cannot move the old results aside", dir, e))?;
    fs::remove_dir_all(&aside).map_err(|e| Error::io("cannot remove the old results", &aside, e))
}

/// `.<name>.<what>-<pid>` beside `target`.
pub(crate) fn sibling(target: &Path, what: &str, pid: u32) -> PathBuf {
    let parent = parent_of(target);
    parent.join(format!(".{}.{what}-{pid}", name_of(target)))
}

pub(crate) fn parent_of(target: &Path) -> &Path {
    target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

pub(crate) fn name_of(target: &Path) -> String {
    target
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned())
}

/// The lock on an output path, held while a run writes it (released on drop).
#[derive(Debug)]
pub struct OutputLock {
    file: File,
    path: PathBuf,
}

impl OutputLock {
    /// Takes `.<name>.lock` beside `target`, or says which process holds it.
    pub fn acquire(target: &Path) -> Result<Self> {
        let parent = parent_of(target);
        fs::create_dir_all(parent).map_err(|e| Error::io("cannot create directory", parent, e))?;
        let path = parent.join(format!(".{}.lock", name_of(target)));
        loop {
            refuse_foreign_lock(&path)?;
            let mut file = open_no_follow(&path).map_err(|e| Error::io("cannot create the lock file", &path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    return Err(Error::OutputBusy {
                        path: target.to_path_buf(),
                        holder: if holder.is_empty() {
                            "another mechsim process".into()
                        } else {
                            format!("mechsim process {holder}")
                        },
                    });
                }
                Err(fs::TryLockError::Error(e)) => return Err(Error::io("cannot lock", &path, e)),
            }
            // A run that finished may have removed the file between our open and our lock:
            // hold the lock only on the file that is still at `path`.
            if !same_file(&file, &path) {
                continue;
            }
            file.set_len(0).map_err(|e| Error::io("cannot write", &path, e))?;
            write!(file, "{}", std::process::id()).map_err(|e| Error::io("cannot write", &path, e))?;
            return Ok(OutputLock { file, path });
        }
    }
}

/// A lock file is mechsim's when it is a plain file holding nothing or a process id; anything
/// else at that path (a symbolic link, a user's file) is never written or removed.
fn refuse_foreign_lock(path: &Path) -> Result<()> {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return Ok(());
    };
    let ours =
        meta.is_file() && meta.len() <= 20 && fs::read(path).is_ok_and(|bytes| bytes.iter().all(u8::is_ascii_digit));
    if ours {
        Ok(())
    } else {
        Err(Error::UnsafeOutput(
            path.to_path_buf(),
            "it is where the output's lock file goes, and mechsim did not write it (move it away)".into(),
        ))
    }
}

/// Opens (creating) the lock file without following a link at its path (on Unix).
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options.open(path)
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked (so no one else holds it), and only if it is still ours.
        if same_file(&self.file, &self.path) {
            let _ = fs::remove_file(&self.path);
        }
        let _ = self.file.unlock();
    }
}

/// Puts the finished `staged` directory at `target`, replacing what mechsim wrote there
/// before without a moment where neither exists.
pub(crate) fn swap_into_place(staged: &Path, target: &Path, force: bool) -> Result<()> {
    check_replaceable(target, force)?;
    let exists = fs::symlink_metadata(target).is_ok();
    if !exists {
        return fs::rename(staged, target).map_err(|e| Error::io("cannot move results into", target, e));
    }
    if exchange(staged, target).is_ok() {
        // `staged` now holds the old results.
        let _ = fs::remove_dir_all(staged);
        return Ok(());
    }
    let aside = sibling(target, "old", std::process::id());
    fs::rename(target, &aside).map_err(|e| Error::io("cannot move the old results aside", target, e))?;
    if let Err(e) = fs::rename(staged, target) {
        // Put the old results back rather than leave nothing.
        let _ = fs::rename(&aside, target);
        return Err(Error::io("cannot move results into", target, e));
    }
    let _ = fs::remove_dir_all(&aside);
    Ok(())
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Removes the staging (`.<name>.partial-<pid>`) and set-aside (`.<name>.old-<pid>`)
/// directories of `target` that runs which are no longer alive left behind. Only those
/// holding mechsim's staging marker (or, set aside, a mechsim manifest) are touched.
pub(crate) fn remove_stale(target: &Path) {
    let parent = parent_of(target);
    let prefix = format!(".{}.", name_of(target));
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let Some((what, pid)) = rest.split_once('-') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if !matches!(what, "partial" | "old") || pid == std::process::id() || alive(pid) {
            continue;
        }
        let path = entry.path();
        if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let ours = path.join(STAGING_MARKER).is_file() || holding(&path) == Holding::Ours;
        if ours {
            let _ = fs::remove_dir_all(&path);
        } else {
            // Killed before it marked its staging directory: empty, so nothing is lost.
            let _ = fs::remove_dir(&path);
        }
    }
}

#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Some(pid) = rustix::process::Pid::from_raw(pid as i32) else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        // It exists but belongs to someone else.
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    true
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename, so `path` is
/// either its old self or complete.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Ok(meta) = fs::symlink_metadata(path)
        && !meta.is_file()
    {
        return Err(Error::UnsafeOutput(
            path.to_path_buf(),
            "it exists and is not a regular file (a directory, link or device); mechsim only replaces files".into(),
        ));
    }
    let tmp = sibling(path, "tmp", std::process::id());
    let written = File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("cannot write", path, e));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io("cannot move into place", path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().expect("a parent")).expect("creates");
        fs::write(path, text).expect("writes");
    }

    fn manifest(files: &[&str]) -> String {
        serde_json::json!({"mechsim_version": "0.1.0", "kind": "tournament", "files": files}).to_string()
    }

    #[test]
    fn refuses_paths_that_are_not_a_directory_of_their_own() {
        let cwd = std::env::current_dir().expect("a working directory");
        for bad in ["", " ", ".", "..", "./", "res/..", "/", "a\0b"] {
            let err = validate_target(Path::new(bad), &[]).expect_err(bad);
            assert!(matches!(err, Error::UnsafeOutput(..)), "{bad:?}: {err}");
        }
        let parent = cwd.parent().expect("a parent").to_path_buf();
        for bad in [cwd.clone(), parent, cwd.join("x/../.")] {
            assert!(validate_target(&bad, &[]).is_err(), "{}", bad.display());
        }
        assert!(validate_target(Path::new("results/x"), &[]).is_ok());
        assert!(validate_target(Path::new("a/./b"), &[]).is_ok());
    }

    #[test]
    fn refuses_an_output_that_holds_an_input() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let input = dir.path().join("runs/a/rounds.csv");
        write(&input, "x");
        let err = validate_target(&dir.path().join("runs/a"), &[&input]).expect_err("holds the input");
        assert!(err.to_string().contains("which this command reads"), "{err}");
        let err =
            validate_target(&dir.path().join("runs/a/../a"), &[&dir.path().join("runs/a")]).expect_err("is the input");
        assert!(matches!(err, Error::UnsafeOutput(..)), "{err}");
        assert!(validate_target(&dir.path().join("runs/b"), &[&input]).is_ok());
    }

    #[test]
    fn only_directories_mechsim_wrote_are_replaceable() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let out = dir.path().join("out");
        assert_eq!(holding(&out), Holding::Nothing);
        fs::create_dir(&out).expect("creates");
        assert_eq!(holding(&out), Holding::Nothing, "an empty directory");
        write(&out.join("notes.txt"), "mine");
        assert!(matches!(holding(&out), Holding::Foreign(_)), "no manifest");
        write(&out.join("manifest.json"), &manifest(&["rounds.csv"]));
        write(&out.join("rounds.csv"), "x");
        let Holding::Foreign(why) = holding(&out) else {
            panic!("a file the manifest does not list")
        };
        assert!(why.contains("notes.txt"), "{why}");
        fs::remove_file(out.join("notes.txt")).expect("removes");
        assert_eq!(holding(&out), Holding::Ours);
        // A report mechsim wrote inside is fine; one holding a foreign file is not.
        write(&out.join("report/manifest.json"), &manifest(&["report.md"]));
        write(&out.join("report/report.md"), "x");
        assert_eq!(holding(&out), Holding::Ours);
        write(&out.join("report/mine.md"), "x");
        assert!(matches!(holding(&out), Holding::Foreign(_)));
        // A manifest that is not mechsim's, or that lists a path, protects nothing.
        write(
            &out.join("report/manifest.json"),
            r#"{"files": ["report.md", "mine.md"]}"#,
        );
        assert!(matches!(holding(&out.join("report")), Holding::Foreign(_)));
        write(
            &out.join("report/manifest.json"),
            &manifest(&["report.md", "../mine.md", "mine.md/"]),
        );
        assert!(matches!(holding(&out.join("report")), Holding::Foreign(_)));
        let file = dir.path().join("file");
        write(&file, "x");
        assert!(matches!(holding(&file), Holding::Foreign(_)), "a file");
        assert!(check_replaceable(&file, true).is_err());
        assert!(matches!(check_replaceable(&out, true), Err(Error::UnsafeOutput(..))));
    }

    #[test]
    fn swaps_keep_the_old_result_until_the_new_one_is_in() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let out = dir.path().join("out");
        write(&out.join("manifest.json"), &manifest(&["a.csv"]));
        write(&out.join("a.csv"), "old");
        let staged = dir.path().join(".out.partial-1");
        write(&staged.join("manifest.json"), &manifest(&["a.csv"]));
        write(&staged.join("a.csv"), "new");
        assert!(matches!(
            swap_into_place(&staged, &out, false),
            Err(Error::OutputExists(_))
        ));
        assert_eq!(fs::read_to_string(out.join("a.csv")).expect("reads"), "old");
        swap_into_place(&staged, &out, true).expect("swaps");
        assert_eq!(fs::read_to_string(out.join("a.csv")).expect("reads"), "new");
        assert!(!staged.exists(), "the old result is gone once the new one is in");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("lists")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out")], "nothing left beside it");
    }

    #[test]
    fn a_second_lock_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let out = dir.path().join("out");
        let first = OutputLock::acquire(&out).expect("locks");
        let err = OutputLock::acquire(&out).expect_err("held");
        assert!(
            err.to_string().contains(&std::process::id().to_string()),
            "names the holder: {err}"
        );
        drop(first);
        let again = OutputLock::acquire(&out).expect("free again");
        drop(again);
        assert!(
            !dir.path().join(".out.lock").exists(),
            "the lock file goes with the lock"
        );
    }

    #[test]
    fn stale_staging_of_dead_runs_is_removed_and_nothing_else() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let out = dir.path().join("out");
        // A pid that cannot be alive (above the kernel's maximum).
        let dead = 4_194_305 + 7;
        let stale = sibling(&out, "partial", dead);
        write(&stale.join(STAGING_MARKER), "");
        write(&stale.join("rounds.csv"), "x");
        let unmarked = sibling(&out, "partial", dead + 1);
        write(&unmarked.join("mine.txt"), "x");
        let live = sibling(&out, "partial", std::process::id());
        write(&live.join(STAGING_MARKER), "");
        let other = dir.path().join(format!(".other.partial-{dead}"));
        write(&other.join(STAGING_MARKER), "");
        remove_stale(&out);
        assert!(!stale.exists(), "a dead run's staging goes");
        assert!(unmarked.exists(), "a directory without the marker stays");
        assert!(live.exists(), "this process's own staging stays");
        assert!(other.exists(), "another output's staging stays");
    }

    #[test]
    fn atomic_writes_leave_no_temporary_file() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("chart.svg");
        write_atomic(&path, b"<svg/>").expect("writes");
        write_atomic(&path, b"<svg>2</svg>").expect("replaces");
        assert_eq!(fs::read(&path).expect("reads"), b"<svg>2</svg>");
        assert_eq!(fs::read_dir(dir.path()).expect("lists").count(), 1);
        let missing = dir.path().join("no/such/dir/chart.svg");
        assert!(write_atomic(&missing, b"x").is_err());
    }
}
