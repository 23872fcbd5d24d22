//! Embeds what the build needs besides downloads (the pins, patches, shims
//! (the libffi port among them), the test suites with their baselines and the in-guest
//! reporters) into the binary, so an installed `cargo-faasm-py` works in
//! any directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Repository paths that travel in the binary, relative to its root.
const EMBEDDED: &[&str] = &[
    "third-party/sources.toml",
    "third-party/default-config.toml",
    "third-party/faasm-py.lock",
    "third-party/recipes",
    "third-party/patches",
    "third-party/shims",
    "pytests",
];

fn main() {
    // Read at run time: `env!` would bake in the directory this script was
    // compiled in, and cargo reuses the compiled script for a checkout at
    // another path that shares the target directory.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let repo = PathBuf::from(manifest_dir).join("..");
    let mut files = Vec::new();
    for item in EMBEDDED {
        let path = repo.join(item);
        println!("cargo:rerun-if-changed={}", path.display());
        collect(&path, &mut files);
    }
    assert!(
        !files.is_empty(),
        "build.rs: none of the embedded files exist under {}",
        repo.display()
    );
    files.sort();
    let mut out = String::from(
        "/// Embedded files: (path relative to the repository, contents).\npub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for file in &files {
        let rel = file.strip_prefix(&repo).expect("under the repository");
        writeln!(
            out,
            "    ({:?}, include_bytes!({:?})),",
            rel.to_string_lossy(),
            file.canonicalize().expect("readable").display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("assets.rs");
    std::fs::write(dest, out).expect("cannot write assets.rs");
}

/// Every file below `path` (or `path` itself), skipping bytecode caches and
/// links (build outputs are published as links).
fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.file_type().is_symlink() {
        return;
    }
    if meta.is_dir() {
        if path.file_name().is_some_and(|n| n == "__pycache__") {
            return;
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .expect("readable directory")
            .map(|e| e.expect("readable entry").path())
            .collect();
        entries.sort();
        for entry in entries {
            collect(&entry, files);
        }
    } else {
        files.push(path.to_owned());
    }
}
