//! Small steps shared by stages: unpacking, patching, running make,
//! publishing links, reading and writing the JSON files stages hand each
//! other.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use fs_err as fs;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::digest::Fingerprint;
use crate::layout::Layout;
use crate::pipeline::StageContext;
use crate::process::{Cmd, Log};

/// Unpacks a tarball into `dest`, dropping its top directory.
fn untar(tarball: &Path, dest: &Path, log: &mut Log) -> Result<()> {
    fs::create_dir_all(dest)?;
    Cmd::new("tar")
        .arg("-xf")
        .arg(tarball)
        .arg("-C")
        .arg(dest)
        .arg("--strip-components=1")
        .run(log)
}

/// Unpacks a zip archive (a wheel) into `dest`, over what is there.
pub fn unzip(archive: &Path, dest: &Path, log: &mut Log) -> Result<()> {
    Cmd::new("unzip")
        .args(["-q", "-o"])
        .arg(archive)
        .arg("-d")
        .arg(dest)
        .run(log)
}

/// Fetches a pinned source tarball and unpacks it into `<out>/src`.
pub fn unpack(cx: &StageContext, artifact: &str, out: &Path, log: &mut Log) -> Result<PathBuf> {
    log.step("unpack");
    let src = out.join("src");
    untar(&cx.fetcher.get(artifact, log)?, &src, log)?;
    Ok(src)
}

/// `make -jN [targets…]` in `dir`.
pub fn make(cx: &StageContext, dir: &Path, targets: &[&str], log: &mut Log) -> Result<()> {
    Cmd::new("make")
        .arg(format!("-j{}", cx.jobs))
        .args(targets)
        .cwd(dir)
        .run(log)
}

/// Every file below `dir`, at any depth (directories themselves left out).
pub fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    Ok(files)
}

/// The patch files for one upstream source (`third-party/patches/<name>/`),
/// in the order they apply. With `version` (CPython's `3.14`), a patch of
/// the same name in the subdirectory `<version>/` replaces the common one:
/// the same change, for that release's code.
pub fn patches(layout: &Layout, name: &str, version: Option<&str>) -> Result<Vec<PathBuf>> {
    let dir = layout.patches().join(name);
    let mut by_name: std::collections::BTreeMap<std::ffi::OsString, PathBuf> =
        crate::plan::patch_files(&dir)?
            .into_iter()
            .filter_map(|p| Some((p.file_name()?.to_owned(), p)))
            .collect();
    if let Some(version) = version {
        for patch in crate::plan::patch_files(&dir.join(version))? {
            if let Some(file) = patch.file_name() {
                by_name.insert(file.to_owned(), patch);
            }
        }
    }
    Ok(by_name.into_values().collect())
}

/// Adds every patch of `name` (for `version`) to a stage's fingerprint.
pub fn fingerprint_patches(
    layout: &Layout,
    name: &str,
    version: Option<&str>,
    fp: &mut Fingerprint,
) -> Result<()> {
    for patch in patches(layout, name, version)? {
        fp.add_file("patch", &patch)?;
    }
    Ok(())
}

/// Applies every patch of `name` (for `version`) to the unpacked source
/// tree `src`.
pub fn apply_patches(
    layout: &Layout,
    name: &str,
    version: Option<&str>,
    src: &Path,
    log: &mut Log,
) -> Result<()> {
    apply_patch_files(&patches(layout, name, version)?, src, log)
}

/// Applies `patches`, in order, to the source tree `src`.
pub fn apply_patch_files(patches: &[PathBuf], src: &Path, log: &mut Log) -> Result<()> {
    for patch in patches {
        log.step(&format!("patch {}", patch.display()));
        Cmd::new("patch")
            .args(["-p1", "--forward", "--batch", "-i"])
            .arg(patch)
            .cwd(src)
            .run(log)
            .with_context(|| format!("patch {} does not apply", patch.display()))?;
    }
    Ok(())
}

/// Points `link` at `target`, replacing whatever link was there atomically.
pub fn publish_link(target: &Path, link: &Path) -> Result<()> {
    if std::fs::read_link(link).is_ok_and(|current| current == target) {
        return Ok(());
    }
    let parent = link
        .parent()
        .with_context(|| format!("{} has no parent directory", link.display()))?;
    fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(
        ".{}.tmp-{}",
        link.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    fs::os::unix::fs::symlink(target, &tmp)?;
    fs::rename(&tmp, link).with_context(|| {
        format!(
            "cannot replace {} (a directory in the way? remove it)",
            link.display()
        )
    })
}

/// Makes `path` executable (rwxr-xr-x).
pub fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// `PATH` with `dirs` in front of the process's own.
pub fn path_with(dirs: &[&Path]) -> OsString {
    let current = std::env::var_os("PATH").unwrap_or_default();
    let mut paths: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    paths.extend(std::env::split_paths(&current));
    std::env::join_paths(paths).unwrap_or(current)
}

/// Reads a JSON file one stage wrote for others.
pub fn load_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path)?;
    serde_json::from_str(&text).with_context(|| format!("malformed {}", path.display()))
}

/// Writes a JSON file for other stages (or users) to read.
pub fn save_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    fs::write(path, serde_json::to_string_pretty(value)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_link_replaces_an_old_link() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        let link = dir.path().join("sub/current");
        publish_link(&a, &link).unwrap();
        publish_link(&b, &link).unwrap();
        assert_eq!(std::fs::read_link(&link).unwrap(), b);
    }

    #[test]
    fn path_with_puts_dirs_first() {
        let path = path_with(&[Path::new("/opt/a"), Path::new("/opt/b")]);
        let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
        assert_eq!(
            dirs[..2],
            [PathBuf::from("/opt/a"), PathBuf::from("/opt/b")]
        );
    }
}
