//! Remembers the sha256 of wasm files so that an unchanged 50 MB
//! python.wasm is not re-hashed on every run.
//!
//! The memo is one small text file in the cache directory with lines
//! `<key> <sha256>`, where the key digests the file's canonical path, length,
//! modification time and (on Unix) inode and change time: any rebuild
//! changes at least one of these. Failing to write the memo is ignored; it
//! only costs a re-hash next time.

use fs_err as fs;
use std::path::Path;

use anyhow::Result;
use sha2::{Digest, Sha256};

use crate::fsutil::write_atomically;

const MEMO_FILE: &str = "wasm-digests.txt";
/// Entries kept; older ones are dropped so the file stays small.
const MAX_ENTRIES: usize = 64;

/// Result of [`lookup`].
pub(crate) enum Lookup {
    /// The memoised sha256 (lowercase hex).
    Hit(String),
    /// No entry; pass the key to [`record`] once the digest is known.
    Miss(String),
}

/// Looks up the memoised digest of `wasm`.
pub(crate) fn lookup(wasm: &Path, cache_dir: &Path) -> Result<Lookup> {
    let key = key_of(wasm)?;
    let memo = fs::read_to_string(cache_dir.join(MEMO_FILE)).unwrap_or_default();
    let hit = memo.lines().find_map(|line| {
        let (k, digest) = line.split_once(' ')?;
        (k == key && is_sha256_hex(digest)).then(|| digest.to_owned())
    });
    Ok(match hit {
        Some(digest) => Lookup::Hit(digest),
        None => Lookup::Miss(key),
    })
}

/// Records `digest` for `key`, best effort.
pub(crate) fn record(cache_dir: &Path, key: &str, digest: &str) {
    let path = cache_dir.join(MEMO_FILE);
    let old = fs::read_to_string(&path).unwrap_or_default();
    let mut lines: Vec<&str> = old
        .lines()
        .filter(|l| l.split_once(' ').is_some_and(|(k, _)| k != key))
        .collect();
    let new = format!("{key} {digest}");
    lines.push(&new);
    let start = lines.len().saturating_sub(MAX_ENTRIES);
    let mut text = lines[start..].join("\n");
    text.push('\n');
    let _ = write_atomically(&path, text.as_bytes());
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Digest of the identity and version of the file at `wasm`.
fn key_of(wasm: &Path) -> Result<String> {
    let canonical = fs::canonicalize(wasm)?;
    let meta = fs::metadata(&canonical)?;
    let mut h = Sha256::new();
    h.update(canonical.as_os_str().as_encoded_bytes());
    h.update([0]);
    h.update(meta.len().to_le_bytes());
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    h.update(mtime.to_le_bytes());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        h.update(meta.dev().to_le_bytes());
        h.update(meta.ino().to_le_bytes());
        h.update(meta.ctime().to_le_bytes());
        h.update(meta.ctime_nsec().to_le_bytes());
    }
    Ok(hex::encode(&h.finalize()[..16]))
}
