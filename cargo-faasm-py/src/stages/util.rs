//! Small steps shared by stages: unpacking, patching, running make,
//! reading and writing the JSON files stages hand each
//! other.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use fs_err as fs;
use serde::Serialize;
use serde::de::DeserializeOwned;

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
    untar(&cx.fetch(artifact, log)?, &src, log)?;
    Ok(src)
}

/// `make -jN [targets…]` in `dir`.
pub fn make(cx: &StageContext, dir: &Path, targets: &[&str], log: &mut Log) -> Result<()> {
    Cmd::new("make")
        .arg(format!("-j{}", cx.jobs()))
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
    fn path_with_puts_dirs_first() {
        let path = path_with(&[Path::new("/opt/a"), Path::new("/opt/b")]);
        let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
        assert_eq!(
            dirs[..2],
            [PathBuf::from("/opt/a"), PathBuf::from("/opt/b")]
        );
    }
}
