//! The download cache: every pinned artifact, verified against its sha256.
//!
//! A file appears under `downloads/` only after its hash matched, and a
//! stamp (`downloads/.verified/<file>`) records the size and modification
//! time it had then. A later build trusts the file while both still match;
//! a file changed since (truncated, overwritten) is hashed again, and one
//! that no longer matches its pin is deleted and fetched anew.

mod crates;
mod debian;
pub mod pypi;
pub mod url;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::digest::sha256_file;
use crate::layout::Layout;
use crate::pins::{Artifact, Pins, Source};
use crate::process::Log;

pub struct Fetcher<'a> {
    layout: &'a Layout,
    pins: &'a Pins,
    offline: bool,
}

impl<'a> Fetcher<'a> {
    pub fn new(layout: &'a Layout, pins: &'a Pins, offline: bool) -> Self {
        Self {
            layout,
            pins,
            offline,
        }
    }

    /// The cached, verified file of artifact `name`, downloading it if needed.
    pub fn get(&self, name: &str, log: &mut Log) -> Result<PathBuf> {
        let artifact = self.pins.get(name)?;
        let dest = self.layout.downloads().join(&artifact.file);
        if dest.is_file() {
            if self.still_verified(artifact, &dest)? {
                return Ok(dest);
            }
            log.note(&format!(
                "{} changed since it was verified and no longer matches its sha256: fetching it again",
                dest.display()
            ));
            fs_err::remove_file(&dest)?;
        }
        if self.offline {
            bail!(
                "{} ({name} {}) is not in the download cache {} and --offline was given",
                artifact.file,
                artifact.version,
                self.layout.downloads().display()
            );
        }
        log.step(&format!("download {}", artifact.file));
        let staging = self.layout.downloads().join(".partial").join(name);
        let _ = std::fs::remove_dir_all(&staging);
        fs_err::create_dir_all(&staging)?;
        let mut failures = Vec::new();
        for source in &artifact.sources {
            match self.try_source(artifact, source, &staging, log) {
                Ok(file) => {
                    verify(&file, artifact, source)?;
                    std::fs::rename(&file, &dest).with_context(|| {
                        format!("cannot move {} into {}", file.display(), dest.display())
                    })?;
                    self.stamp(artifact, &dest)?;
                    let _ = std::fs::remove_dir_all(&staging);
                    return Ok(dest);
                }
                Err(err) => {
                    log.note(&format!("{source}: {err:#}"));
                    failures.push(format!("{source}: {err:#}"));
                }
            }
        }
        let _ = std::fs::remove_dir_all(&staging);
        let hint = artifact
            .hint
            .as_deref()
            .map(|h| format!("\n{h}"))
            .unwrap_or_default();
        bail!(
            "cannot download {} ({name} {}) from any of its sources:\n  {}{hint}\n(or put the file, sha256 {}, into {})",
            artifact.file,
            artifact.version,
            failures.join("\n  "),
            artifact.sha256,
            self.layout.downloads().display()
        )
    }

    fn stamp_path(&self, artifact: &Artifact) -> PathBuf {
        self.layout
            .downloads()
            .join(".verified")
            .join(&artifact.file)
    }

    /// Records that `file` matched its pin, as it is now.
    fn stamp(&self, artifact: &Artifact, file: &Path) -> Result<()> {
        let path = self.stamp_path(artifact);
        if let Some(dir) = path.parent() {
            fs_err::create_dir_all(dir)?;
        }
        fs_err::write(&path, identity(artifact, file)?)?;
        Ok(())
    }

    /// Whether the cached `file` is still the one that was verified, hashing
    /// it again (and stamping it) when its size or time changed.
    fn still_verified(&self, artifact: &Artifact, file: &Path) -> Result<bool> {
        let stamp = std::fs::read_to_string(self.stamp_path(artifact)).unwrap_or_default();
        if stamp == identity(artifact, file)? {
            return Ok(true);
        }
        if sha256_file(file)? == artifact.sha256 {
            self.stamp(artifact, file)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Every pinned artifact.
    pub fn get_all(&self, log: &mut Log) -> Result<Vec<PathBuf>> {
        self.pins
            .artifact
            .keys()
            .map(|name| self.get(name, log))
            .collect()
    }

    fn try_source(
        &self,
        artifact: &Artifact,
        source: &Source,
        staging: &Path,
        log: &mut Log,
    ) -> Result<PathBuf> {
        match source {
            Source::Pypi { pypi } => pypi::download(pypi, &artifact.file, staging, log),
            Source::Url { url } => url::download(url, &staging.join(&artifact.file), log),
            Source::Crate { name, version } => crates::download(
                name,
                version,
                &artifact.sha256,
                &staging.join(&artifact.file),
                log,
            ),
            Source::DebianPackage { debian, version } => {
                let apt = debian::Apt::prepare(self.layout, &self.pins.debian.suite, log)?;
                apt.download(debian, version, staging, log)
            }
            Source::DebianPool { debian_pool, file } => {
                let mirrors = debian::read_machine_mirrors()?;
                let url = debian::pool_url(&mirrors.archive, debian_pool, file);
                url::download(&url, &staging.join(&artifact.file), log)
            }
            Source::DebianSourceFile {
                debian_source,
                file,
            } => {
                let apt = debian::Apt::prepare(self.layout, &self.pins.debian.suite, log)?;
                apt.source_file(debian_source, file, staging, log)
            }
        }
    }
}

/// What a stamp records: the pin's sha256 and the file's size and
/// modification time.
fn identity(artifact: &Artifact, file: &Path) -> Result<String> {
    let meta = fs_err::metadata(file)?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok(format!("{} {} {mtime}\n", artifact.sha256, meta.len()))
}

/// Checks `file` against the pin; a mismatch deletes the file.
pub fn verify(file: &Path, artifact: &Artifact, source: &Source) -> Result<()> {
    crate::digest::verify_sha256(
        file,
        &artifact.sha256,
        format_args!("{} from {source}", artifact.file),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(sha256: &str) -> Artifact {
        Artifact {
            version: "1".into(),
            file: "f.tar.gz".into(),
            sha256: sha256.into(),
            sources: vec![Source::Url {
                url: "https://example.org/f.tar.gz".into(),
            }],
            hint: None,
        }
    }

    #[test]
    fn a_matching_file_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.tar.gz");
        std::fs::write(&file, "abc").unwrap();
        let art = artifact("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        verify(&file, &art, &art.sources[0]).unwrap();
        assert!(file.exists());
    }

    #[test]
    fn a_wrong_hash_is_rejected_and_the_file_removed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.tar.gz");
        std::fs::write(&file, "abd").unwrap();
        let art = artifact(&"0".repeat(64));
        let err = verify(&file, &art, &art.sources[0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("sha256 mismatch for f.tar.gz"), "{err}");
        assert!(err.contains(&"0".repeat(64)), "{err}");
        assert!(
            err.contains("a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9"),
            "{err}"
        );
        assert!(!file.exists());
    }
}
