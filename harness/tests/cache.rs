//! The on-disk cache of compiled modules.

mod common;

use std::cell::Cell;
use std::fs;
use std::path::Path;

use common::{EXIT_3, engine};
use harness::{Engine, RunConfig, Status, run};

fn write_wasm(dir: &Path, wat: &str) -> std::path::PathBuf {
    let path = dir.join("prog.wasm");
    fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
    path
}

/// Loads through the cache; returns (cache hit, on_compile was called).
fn load(engine: &Engine, wasm: &Path, cache: &Path) -> (harness::Loaded, bool) {
    let compiled = Cell::new(false);
    let loaded = engine
        .load_module_with(wasm, cache, || compiled.set(true))
        .unwrap();
    (loaded, compiled.get())
}

/// Replaces `path` with `contents` as a new file. Rewriting it in place would
/// pull the pages out from under a module that still maps it (SIGBUS), which
/// is why the cache itself only ever replaces files by rename.
fn replace(path: &Path, contents: &[u8]) {
    fs::remove_file(path).unwrap();
    fs::write(path, contents).unwrap();
}

fn exits_with_3(engine: &Engine, loaded: &harness::Loaded) {
    let out = run(engine, &loaded.module, RunConfig::default()).unwrap();
    assert_eq!(out.status, Status::Exited(3));
}

#[test]
fn second_load_is_a_cache_hit() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let wasm = write_wasm(dir.path(), EXIT_3);
    let engine = engine();

    let (first, compiled) = load(&engine, &wasm, &cache);
    assert!(!first.cache_hit);
    assert!(compiled);
    assert!(first.cache_file.is_file());
    let name = first.cache_file.file_name().unwrap().to_string_lossy();
    assert!(name.ends_with(".cwasm"), "{name}");
    exits_with_3(&engine, &first);

    let (second, compiled) = load(&engine, &wasm, &cache);
    assert!(second.cache_hit);
    assert!(!compiled);
    assert_eq!(second.cache_file, first.cache_file);
    exits_with_3(&engine, &second);

    // A fresh engine with the same configuration reuses the image too.
    let (third, compiled) = load(&common::engine(), &wasm, &cache);
    assert!(third.cache_hit && !compiled);
}

#[test]
fn corrupt_cache_file_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let wasm = write_wasm(dir.path(), EXIT_3);
    let engine = engine();
    let (first, _) = load(&engine, &wasm, &cache);

    replace(&first.cache_file, b"definitely not an ELF image");
    let (again, compiled) = load(&engine, &wasm, &cache);
    assert!(!again.cache_hit);
    assert!(compiled);
    exits_with_3(&engine, &again);

    // Truncated image: also recompiled, and the rewritten file is a hit.
    let image = fs::read(&again.cache_file).unwrap();
    replace(&again.cache_file, &image[..image.len() / 2]);
    let (again, compiled) = load(&engine, &wasm, &cache);
    assert!(!again.cache_hit && compiled);
    let (last, compiled) = load(&engine, &wasm, &cache);
    assert!(last.cache_hit && !compiled);
    exits_with_3(&engine, &last);
}

#[test]
fn changed_wasm_gets_a_new_cache_file() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let wasm = write_wasm(dir.path(), EXIT_3);
    let engine = engine();
    let (first, _) = load(&engine, &wasm, &cache);

    // Different content (and length), same path.
    write_wasm(dir.path(), &common::hello_to(1));
    let (second, compiled) = load(&engine, &wasm, &cache);
    assert!(!second.cache_hit && compiled);
    assert_ne!(second.cache_file, first.cache_file);
    let out = run(&engine, &second.module, RunConfig::default()).unwrap();
    assert_eq!(out.stdout, b"hello");
}

#[test]
fn missing_wasm_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.wasm");
    let err = engine().load_module(&missing, dir.path()).unwrap_err();
    assert!(format!("{err:#}").contains("absent.wasm"), "{err:#}");
}

#[test]
fn invalid_wasm_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.wasm");
    fs::write(&bad, b"\0asm garbage").unwrap();
    let err = engine()
        .load_module(&bad, &dir.path().join("c"))
        .unwrap_err();
    assert!(format!("{err:#}").contains("bad.wasm"), "{err:#}");
}
