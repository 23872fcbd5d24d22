//! The Cargo project a command runs in, as `cargo metadata` describes it,
//! remembered in the cache while nothing that answer was read from has
//! changed.
//!
//! `cargo metadata` starts cargo, which reads its configuration and the
//! workspace: tens of milliseconds, most of a `cargo faasm-py run` of a
//! short script. Its answer depends on the manifests and cargo
//! configuration files from the working directory up, cargo's home
//! configuration, the workspace root's manifest and `CARGO_*` variables;
//! the memo keeps the state (size, mtime, inode) of each of those files
//! and is used only while all are as they were.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::digest::Fingerprint;

/// What the tool takes from `cargo metadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CargoProject {
    /// The workspace root.
    pub workspace_root: PathBuf,
    /// Cargo's target directory.
    pub target_directory: PathBuf,
    /// The `faasm-py` table (`[workspace.metadata.faasm-py]`, else the root
    /// package's): where it is, and its contents.
    pub config_table: Option<(String, serde_json::Value)>,
}

/// One file the answer depends on, as it was (None: absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Witness {
    path: PathBuf,
    state: Option<(u64, i128, u64)>,
}

#[derive(Serialize, Deserialize)]
struct Memo {
    witnesses: Vec<Witness>,
    project: CargoProject,
}

/// The project from `manifest_path` (else the working directory up),
/// through the memo in `memo_dir` when it is still good, else through
/// `cargo metadata` (and the memo rewritten).
pub fn read(manifest_path: Option<&Path>, cwd: &Path, memo_dir: &Path) -> Result<CargoProject> {
    let file = memo_dir.join(format!("{}.json", key(manifest_path, cwd)));
    if let Some(project) = recall(&file, manifest_path, cwd) {
        return Ok(project);
    }
    let project = from_cargo(manifest_path, cwd)?;
    let witnesses = witnesses(manifest_path, cwd, &project.workspace_root);
    // A memo that cannot be written only costs the next run the same time.
    let _ = remember(
        &file,
        &Memo {
            witnesses,
            project: project.clone(),
        },
    );
    Ok(project)
}

/// The memo's project, if the memo exists, parses, and every file it was
/// read from is as it was.
fn recall(file: &Path, manifest_path: Option<&Path>, cwd: &Path) -> Option<CargoProject> {
    let memo: Memo = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    let now = witnesses(manifest_path, cwd, &memo.project.workspace_root);
    (now == memo.witnesses).then_some(memo.project)
}

fn remember(file: &Path, memo: &Memo) -> Result<()> {
    let dir = file.parent().context("memo path has no directory")?;
    fs_err::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    serde_json::to_writer(&mut tmp, memo)?;
    tmp.persist(file)?;
    Ok(())
}

fn from_cargo(manifest_path: Option<&Path>, cwd: &Path) -> Result<CargoProject> {
    let mut cmd = cargo_metadata::MetadataCommand::new();
    cmd.no_deps().current_dir(cwd);
    if let Some(path) = manifest_path {
        cmd.manifest_path(path);
    }
    let meta = cmd
        .exec()
        .context("cannot read the Cargo project with `cargo metadata`")?;
    let config_table = config_table(&meta);
    Ok(CargoProject {
        workspace_root: meta.workspace_root.into_std_path_buf(),
        target_directory: meta.target_directory.into_std_path_buf(),
        config_table,
    })
}

fn config_table(meta: &cargo_metadata::Metadata) -> Option<(String, serde_json::Value)> {
    if let Some(table) = meta.workspace_metadata.get("faasm-py") {
        return Some((crate::project::TABLE.to_owned(), table.clone()));
    }
    let package = meta.root_package()?;
    let table = package.metadata.get("faasm-py")?;
    Some(("[package.metadata.faasm-py]".to_owned(), table.clone()))
}

/// The memo's name: where cargo starts looking, and cargo's environment.
fn key(manifest_path: Option<&Path>, cwd: &Path) -> String {
    let mut fp = Fingerprint::default();
    fp.add("cwd", cwd.as_os_str().as_encoded_bytes());
    if let Some(path) = manifest_path {
        fp.add("manifest-path", path.as_os_str().as_encoded_bytes());
    }
    let mut vars: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with("CARGO") || k == "HOME")
        .collect();
    vars.sort();
    for (k, v) in vars {
        fp.add(&k, v);
    }
    fp.hex()
}

/// Every file `cargo metadata`'s answer was read from: manifests and
/// cargo configuration from where cargo starts up to `/`, cargo's home
/// configuration, the workspace root's manifest.
fn witnesses(manifest_path: Option<&Path>, cwd: &Path, workspace_root: &Path) -> Vec<Witness> {
    let start = match manifest_path {
        Some(path) => std::path::absolute(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_owned))
            .unwrap_or_else(|| cwd.to_owned()),
        None => cwd.to_owned(),
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    if let Some(path) = manifest_path {
        paths.push(path.to_owned());
    }
    // Cargo reads configuration from the working directory up, whatever
    // the manifest path.
    for dir in cwd.ancestors().chain(start.ancestors()) {
        paths.push(dir.join("Cargo.toml"));
        paths.push(dir.join(".cargo/config"));
        paths.push(dir.join(".cargo/config.toml"));
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(home) = cargo_home {
        paths.push(home.join("config"));
        paths.push(home.join("config.toml"));
    }
    paths.push(workspace_root.join("Cargo.toml"));
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .map(|path| {
            let state = std::fs::metadata(&path).ok().map(|m| {
                use std::os::unix::fs::MetadataExt;
                let mtime = i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec());
                (m.len(), mtime, m.ino())
            });
            Witness { path, state }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn the_memo_answers_until_a_file_it_read_changes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        let memo = dir.path().join("memo");
        write(
            &root.join("Cargo.toml"),
            "[workspace]\n[workspace.metadata.faasm-py]\npreimport = [\"a\"]\n",
        );
        let first = read(None, &root, &memo).unwrap();
        assert_eq!(first.workspace_root, root);
        // (cargo's own variable wins over the default, as it does for cargo)
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        assert_eq!(first.target_directory, target);
        let table = |p: &CargoProject| p.config_table.as_ref().unwrap().1["preimport"].clone();
        assert_eq!(table(&first), serde_json::json!(["a"]));
        let file = memo.join(format!("{}.json", key(None, &root)));
        assert!(file.is_file());

        // Remembered: the memo gives the same answer, without cargo.
        assert_eq!(recall(&file, None, &root), Some(first.clone()));

        // Edited manifest: cargo is asked again.
        write(
            &root.join("Cargo.toml"),
            "[workspace]\n[workspace.metadata.faasm-py]\npreimport = [\"b\", \"c\"]\n",
        );
        assert_eq!(recall(&file, None, &root), None);
        let second = read(None, &root, &memo).unwrap();
        assert_eq!(table(&second), serde_json::json!(["b", "c"]));
        assert_eq!(recall(&file, None, &root), Some(second));

        // A cargo configuration appearing where cargo would read it.
        let sub = root.join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        read(None, &sub, &memo).unwrap();
        let sub_file = memo.join(format!("{}.json", key(None, &sub)));
        assert!(recall(&sub_file, None, &sub).is_some());
        write(&sub.join(".cargo/config.toml"), "[build]\njobs = 1\n");
        assert_eq!(recall(&sub_file, None, &sub), None);
    }

    #[test]
    fn a_broken_manifest_is_an_error_and_not_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let memo = dir.path().join("memo");
        write(&dir.path().join("ws/Cargo.toml"), "[workspace\n");
        let err = read(None, &dir.path().join("ws"), &memo).unwrap_err();
        assert!(format!("{err:#}").contains("cargo metadata"), "{err:#}");
        assert!(!memo.exists());
    }
}
