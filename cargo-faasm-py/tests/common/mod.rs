//! Helpers shared by the end-to-end tests: the CLI run as cargo would run
//! it, and the build's paths and pins from the library itself.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cargo_faasm_py::layout::Layout;
use cargo_faasm_py::pins::Pins;
use harness::GuestLayout;

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The build's paths, as `cargo faasm-py` finds them.
pub fn layout() -> Layout {
    Layout::discover(Some(&workspace().join("Cargo.toml")), None, None)
        .expect("cannot read the workspace")
}

/// The pins the build used (the CPython version `FAASM_PY_PYTHON` names,
/// as for the CLI, else the default).
pub fn pins() -> Pins {
    let python = std::env::var(cargo_faasm_py::cli::PYTHON_ENV).ok();
    Pins::load(&layout().sources_toml())
        .and_then(|p| p.select_python(python.as_deref()))
        .expect("cannot read the pins")
}

/// The version of the guest package `name` the build used, from the lock
/// (for the selected CPython version).
pub fn locked_version(name: &str) -> String {
    let pins = pins();
    let python = pins
        .guest_layout()
        .expect("no guest layout")
        .short_version();
    let lock =
        cargo_faasm_py::lock::Lock::load(&layout().lock_dir()).expect("cannot read the lock");
    let resolution = lock.for_python(&python).expect("no resolution");
    resolution
        .package
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} is not locked"))
        .version
        .clone()
}

/// Where things are inside the guest.
pub fn guest() -> GuestLayout {
    pins().guest_layout().expect("no guest layout")
}

/// python.wasm, after asserting it was built.
pub fn built() -> Layout {
    let layout = layout();
    assert!(
        layout.python_wasm().exists(),
        "no {}: run `cargo faasm-py build` first",
        layout.python_wasm().display()
    );
    layout
}

/// The built python.wasm, loaded as the CLI loads it.
pub fn python() -> harness::Python {
    let layout = built();
    let engine = harness::Engine::new(harness::EngineOptions::default()).expect("engine");
    harness::Python::new(
        engine,
        &layout.python_wasm(),
        &layout.runtime(),
        guest(),
        &layout.compiled_modules(),
    )
    .expect("cannot load python.wasm")
}

/// A plan for an ad-hoc suite over the built runtime, with the repository's
/// reporters, logging into `logs`.
pub fn ad_hoc_plan(suite: harness::suite::SuiteDef, logs: &Path) -> harness::runner::Plan {
    let layout = built();
    harness::runner::Plan::new(
        suite,
        &layout.runtime(),
        guest(),
        false,
        None,
        layout.pytests().join("support"),
        logs.to_owned(),
    )
    .expect("cannot plan the suite")
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

/// The built python.wasm and its snapshot, run in child processes of the
/// CLI as `cargo faasm-py test` runs them.
pub fn isolated_python() -> harness::isolated::IsolatedPython {
    let files = cargo_faasm_py::commands::python_files(&built(), &pins(), false)
        .expect("cannot describe python.wasm");
    let isolated = harness::isolated::IsolatedPython::new(
        env!("CARGO_BIN_EXE_cargo-faasm-py"),
        ["faasm-py", cargo_faasm_py::cli::CHILD_COMMAND],
        files,
    )
    .expect("cannot describe python.wasm");
    isolated.load_here(|_| {}).expect("cannot load python.wasm");
    isolated
}
