//! Repository rules, checked as tests (as rust-analyzer's xtask tidy does).

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every file under `dir` whose name ends with `suffix`, skipping build
/// outputs and links into the cache.
fn files(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() || name.starts_with('.') || name == "target" {
            continue;
        }
        if kind.is_dir() {
            files(&path, suffix, out);
        } else if name.ends_with(suffix) {
            out.push(path);
        }
    }
}

fn rust_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for crate_dir in ["cargo-faasm-py", "harness", "xtask"] {
        files(&workspace().join(crate_dir), ".rs", &mut out);
    }
    assert!(out.len() > 40, "found only {} Rust files", out.len());
    out
}

#[test]
fn every_rust_file_starts_with_a_module_doc_line() {
    let bad: Vec<String> = rust_files()
        .iter()
        .filter(|p| {
            !std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .next()
                .is_some_and(|l| l.starts_with("//!"))
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        bad.is_empty(),
        "files without a `//!` first line:\n{}",
        bad.join("\n")
    );
}

/// The CPython version lives in the pin; every path or name derived from it
/// comes from `harness::GuestLayout`. Version-shaped guest names anywhere
/// else would drift the day the pin changes.
#[test]
fn guest_names_come_from_the_guest_layout() {
    let allowed = ["harness/src/guest.rs", "xtask/tests/tidy.rs"];
    let mut bad = Vec::new();
    for path in rust_files() {
        let rel = path
            .strip_prefix(workspace())
            .unwrap()
            .display()
            .to_string();
        if allowed.iter().any(|a| rel.ends_with(a)) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            for pattern in [
                "lib/python3",
                "bin/python3.",
                "include/python3",
                "cpython-31",
                "wasm32-wasi.so",
            ] {
                if line.contains(pattern) {
                    bad.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "derive these from GuestLayout:\n{}",
        bad.join("\n")
    );
}
