//! On-disk cache of precompiled modules.
//!
//! Cranelift needs seconds to compile python.wasm, while loading a
//! precompiled image takes milliseconds. Images live in the cache directory
//! as `<sha256(wasm)[..32]>-<engine compatibility hash>.cwasm`, so a rebuilt
//! wasm or a differently configured (or upgraded) engine simply misses.

use fs_err as fs;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::Module;

use crate::error::WasmtimeResultExt;
use crate::fsutil::write_atomically;
use crate::memo;

/// A module together with how it was obtained.
#[derive(Debug)]
pub struct Loaded {
    /// The ready-to-instantiate module.
    pub module: Module,
    /// True if the precompiled image was already in the cache.
    pub cache_hit: bool,
    /// Where the precompiled image lives (or would have lived, if the cache
    /// directory was not writable).
    pub cache_file: PathBuf,
}

/// The cache file name for a wasm with hex digest `digest` under `engine`.
pub fn cache_file_name(engine: &wasmtime::Engine, digest: &str) -> String {
    let prefix = digest.get(..32).unwrap_or(digest);
    format!("{prefix}-{:016x}.cwasm", compat_hash(engine))
}

/// The engine's precompile compatibility, folded to a u64 with a hasher
/// that is deterministic for a given Rust toolchain (a toolchain change at
/// worst causes one recompilation).
fn compat_hash(engine: &wasmtime::Engine) -> u64 {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Loads `wasm` via the cache in `cache_dir`; see [`crate::Engine::load_module_with`].
pub(crate) fn load(
    engine: &wasmtime::Engine,
    wasm: &Path,
    cache_dir: &Path,
    on_compile: impl FnOnce(),
) -> Result<Loaded> {
    fs::create_dir_all(cache_dir)?;

    let (digest, mut bytes) = match memo::lookup(wasm, cache_dir)? {
        memo::Lookup::Hit(digest) => (digest, None),
        memo::Lookup::Miss(key) => {
            let bytes = read_wasm(wasm)?;
            let digest = sha256_hex(&bytes);
            memo::record(cache_dir, &key, &digest);
            (digest, Some(bytes))
        }
    };

    let cache_file = cache_dir.join(cache_file_name(engine, &digest));
    if cache_file.is_file() {
        // SAFETY: `deserialize_file` trusts the file to be an image produced
        // by `precompile_module` of a compatible engine. Files in this cache
        // are only ever written by `compile_into_cache` below, from this
        // engine's own output, and they are published by an atomic rename so
        // a partial write is never visible under the final name. The name
        // carries the engine's compatibility hash, and wasmtime additionally
        // checks the version and configuration recorded in the image. Files
        // are replaced by rename, never rewritten in place, so the mapping
        // wasmtime makes of this one stays valid while it is in use.
        match unsafe { Module::deserialize_file(engine, &cache_file) } {
            Ok(module) => {
                return Ok(Loaded {
                    module,
                    cache_hit: true,
                    cache_file,
                });
            }
            Err(_) => {
                // Unreadable or from an incompatible build: recompile below,
                // which replaces it.
                let _ = fs::remove_file(&cache_file);
            }
        }
    }

    on_compile();
    let bytes = match bytes.take() {
        Some(b) => b,
        None => read_wasm(wasm)?,
    };
    // The wasm may have been replaced since the memo was written; key the
    // image by what is actually compiled.
    let actual = sha256_hex(&bytes);
    let cache_file = if actual == digest {
        cache_file
    } else {
        cache_dir.join(cache_file_name(engine, &actual))
    };
    let module = compile_into_cache(engine, wasm, &bytes, &cache_file)?;
    Ok(Loaded {
        module,
        cache_hit: false,
        cache_file,
    })
}

fn read_wasm(wasm: &Path) -> Result<Vec<u8>> {
    Ok(fs::read(wasm)?)
}

/// Compiles `bytes`, stores the image at `cache_file` and loads it from
/// there (so its code is file-backed and shared between processes).
fn compile_into_cache(
    engine: &wasmtime::Engine,
    wasm: &Path,
    bytes: &[u8],
    cache_file: &Path,
) -> Result<Module> {
    let image = engine
        .precompile_module(bytes)
        .wt()
        .with_context(|| format!("cannot compile {}", wasm.display()))?;
    if write_atomically(cache_file, &image).is_ok() {
        // SAFETY: the file was just written from `image`, which this engine
        // produced; see the comment in `load`.
        if let Ok(module) = unsafe { Module::deserialize_file(engine, cache_file) } {
            return Ok(module);
        }
    }
    // The cache directory is not writable (or the file vanished): an
    // unusable cache only costs speed next time.
    // SAFETY: `image` is the output of this engine's `precompile_module`.
    unsafe { Module::deserialize(engine, &image) }
        .wt()
        .with_context(|| format!("cannot load the compiled image of {}", wasm.display()))
}
