//! Helpers shared by the end-to-end tests: the CLI run as cargo would run it.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

/// `cargo faasm-py run [flags] -- args…` in `cwd`.
pub fn faasm_py_run(cwd: &Path, flags: &[&str], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-faasm-py"))
        .arg("faasm-py")
        .arg("--manifest-path")
        .arg(workspace().join("Cargo.toml"))
        .arg("run")
        .args(flags)
        .arg("--")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("cannot start cargo-faasm-py")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The guest's stdout, after asserting it exited 0 (showing both streams if not).
#[track_caller]
pub fn assert_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}
