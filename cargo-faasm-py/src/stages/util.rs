//! Small file-system steps shared by stages.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::digest::Fingerprint;
use crate::layout::Layout;
use crate::process::{Cmd, Log};
use crate::stage::Context;

/// Unpacks a tarball into `dest`, dropping its top directory.
fn untar(tarball: &Path, dest: &Path, log: &mut Log) -> Result<()> {
    std::fs::create_dir_all(dest).with_context(|| format!("cannot create {}", dest.display()))?;
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
pub fn unpack(cx: &Context, artifact: &str, out: &Path, log: &mut Log) -> Result<PathBuf> {
    log.step("unpack");
    let src = out.join("src");
    untar(&cx.fetcher.get(artifact, log)?, &src, log)?;
    Ok(src)
}

/// Every file below `dir`, at any depth (directories themselves left out).
pub fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
        {
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
/// in the order they apply.
pub fn patches(layout: &Layout, name: &str) -> Result<Vec<PathBuf>> {
    let dir = layout.patches().join(name);
    let mut patches = Vec::new();
    if dir.is_dir() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
        {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "patch") {
                patches.push(path);
            }
        }
    }
    patches.sort();
    Ok(patches)
}

/// Adds every patch of `name` to a stage's fingerprint.
pub fn fingerprint_patches(layout: &Layout, name: &str, fp: &mut Fingerprint) -> Result<()> {
    for patch in patches(layout, name)? {
        fp.add_file("patch", &patch)?;
    }
    Ok(())
}

/// Applies every patch of `name` to the unpacked source tree `src`.
pub fn apply_patches(layout: &Layout, name: &str, src: &Path, log: &mut Log) -> Result<()> {
    for patch in patches(layout, name)? {
        log.step(&format!("patch {}", patch.display()));
        Cmd::new("patch")
            .args(["-p1", "--forward", "--batch", "-i"])
            .arg(&patch)
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
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let tmp = parent.join(format!(
        ".{}.tmp-{}",
        link.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)
        .with_context(|| format!("cannot create link {}", tmp.display()))?;
    std::fs::rename(&tmp, link).with_context(|| {
        format!(
            "cannot replace {} (a directory in the way? remove it)",
            link.display()
        )
    })
}

/// Writes an executable shell script.
pub fn write_script(path: &Path, body: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n"))
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
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
}
