//! The files the build needs besides downloads (pins, patches, shims, the
//! libffi port, the default test suites and the in-guest reporters), carried
//! inside the binary (see `build.rs`) and unpacked once per content into
//! the cache, so an installed `cargo faasm-py` works in any directory.
//! Inside the faasm-py repository the repository's own files are used
//! instead, so that editing them takes effect without recompiling.

use std::path::{Path, PathBuf};

use anyhow::Result;
use fs_err as fs;
use sha2::{Digest, Sha256};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// The embedded files: (path relative to the repository, contents).
pub fn files() -> &'static [(&'static str, &'static [u8])] {
    embedded::FILES
}

/// A digest of every embedded name and content.
fn digest() -> String {
    let mut hasher = Sha256::new();
    for (name, bytes) in files() {
        for part in [name.as_bytes(), bytes] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
    }
    hex::encode(&hasher.finalize()[..8])
}

/// The embedded files unpacked under `<cache>/assets/<digest>` (once: the
/// directory appears whole, by rename, or not at all).
pub fn unpack(cache: &Path) -> Result<PathBuf> {
    let dir = cache.join("assets").join(digest());
    if dir.is_dir() {
        return Ok(dir);
    }
    let parent = cache.join("assets");
    fs::create_dir_all(&parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".unpacking-")
        .tempdir_in(&parent)?;
    for (name, bytes) in files() {
        let path = staging.path().join(name);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(&path, bytes)?;
    }
    let staged = staging.keep();
    if let Err(err) = fs::rename(&staged, &dir) {
        // Another process unpacked the same files first.
        let _ = std::fs::remove_dir_all(&staged);
        if !dir.is_dir() {
            return Err(err.into());
        }
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_needs_travel_in_the_binary() {
        let names: Vec<&str> = files().iter().map(|(n, _)| *n).collect();
        for needed in [
            "third-party/sources.toml",
            "third-party/shims/libffi-wasi/ffi.c",
            "third-party/shims/dlfcn-program.c",
            "pytests/support/faasm_py_pytest.py",
            "pytests/numpy/suite.toml",
            "pytests/numpy/baseline.toml",
        ] {
            assert!(names.contains(&needed), "{needed} is not embedded");
        }
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("third-party/patches/numpy/")),
            "patches"
        );
        assert!(!names.iter().any(|n| n.contains("__pycache__")));
    }

    #[test]
    fn unpacking_is_done_once_and_whole() {
        let cache = tempfile::tempdir().unwrap();
        let first = unpack(cache.path()).unwrap();
        let second = unpack(cache.path()).unwrap();
        assert_eq!(first, second);
        let pins = std::fs::read(first.join("third-party/sources.toml")).unwrap();
        assert_eq!(
            pins,
            std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../third-party/sources.toml")
            )
            .unwrap()
        );
    }
}
