//! sha256 of files and fingerprints of stage inputs.

use std::io::Read;
use std::path::Path;

use anyhow::Result;
use sha2::{Digest, Sha256};

/// Checks `file` against the `expected` sha256; a mismatch removes the
/// file (so nothing half-trusted stays in the cache) and says what it was.
/// Every download is checked here.
pub fn verify_sha256(file: &Path, expected: &str, what: impl std::fmt::Display) -> Result<()> {
    let actual = sha256_file(file)?;
    if actual != expected {
        let _ = std::fs::remove_file(file);
        anyhow::bail!(
            "sha256 mismatch for {what}: expected {expected}, got {actual}; the file was removed"
        );
    }
    Ok(())
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = fs_err::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// A stage's fingerprint: a hash over named inputs, in the order given.
/// Keys are part of the hash, so moving a value between inputs changes it.
#[derive(Clone, Default)]
pub struct Fingerprint {
    hasher: Sha256,
}

impl Fingerprint {
    pub fn add(&mut self, key: &str, value: impl AsRef<[u8]>) -> &mut Self {
        let value = value.as_ref();
        // Length-prefixed so that ("ab", "c") and ("a", "bc") differ.
        for part in [key.as_bytes(), value] {
            self.hasher.update((part.len() as u64).to_le_bytes());
            self.hasher.update(part);
        }
        self
    }

    /// Adds a file's contents (patches, shims: small inputs of a recipe).
    pub fn add_file(&mut self, key: &str, path: &Path) -> Result<&mut Self> {
        let bytes = fs_err::read(path)?;
        Ok(self.add(key, bytes))
    }

    pub fn hex(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(pairs: &[(&str, &str)]) -> String {
        let mut f = Fingerprint::default();
        for (k, v) in pairs {
            f.add(k, v);
        }
        f.hex()
    }

    #[test]
    fn same_inputs_same_fingerprint() {
        assert_eq!(fp(&[("a", "1"), ("b", "2")]), fp(&[("a", "1"), ("b", "2")]));
    }

    #[test]
    fn any_change_changes_it() {
        let base = fp(&[("a", "1"), ("b", "2")]);
        assert_ne!(base, fp(&[("a", "1"), ("b", "3")]));
        assert_ne!(base, fp(&[("a", "12"), ("b", "")]));
        assert_ne!(base, fp(&[("b", "2"), ("a", "1")]));
    }

    #[test]
    fn hashes_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
