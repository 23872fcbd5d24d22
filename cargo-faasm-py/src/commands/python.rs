//! python.wasm as `run` and `test` load it: compiled for this machine (or
//! taken from the compiled-module cache) with its runtime tree, in this
//! process or in child processes.

use anyhow::Result;

use crate::layout::Layout;
use crate::pins::Pins;
use crate::ui::Ui;

/// Which of python.wasm's two modules a command loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modules {
    /// The plain module only (`--no-snapshot`).
    Plain,
    /// The snapshot only, for one run it can serve (`run`).
    Snapshot,
    /// Both: the snapshot for every run it can serve (`test`).
    Both,
}

/// The built python.wasm, compiled for this machine (or taken from the
/// compiled-module cache), with its runtime tree: the plain module, its
/// snapshot, or both, on an engine with `options` (the guest is compiled
/// and cached once per choice: deadlines and operation counting change the
/// compiled code).
pub fn load_python(
    layout: &Layout,
    pins: &Pins,
    modules: Modules,
    options: harness::EngineOptions,
    ui: &Ui,
) -> Result<harness::Python> {
    let files = python_files(layout, pins, modules != Modules::Both)?;
    let files = match modules {
        // The snapshot alone, as the module every run goes to.
        Modules::Snapshot => harness::isolated::PythonFiles {
            wasm: layout.python_snapshot_wasm(),
            ..files
        },
        Modules::Plain | Modules::Both => files,
    };
    files.load(options, |wasm| compiling_note(ui, wasm))
}

/// What a child process loads: the built python.wasm, its snapshot
/// (unless `no_snapshot`), the runtime tree and the compiled-module cache.
pub fn python_files(
    layout: &Layout,
    pins: &Pins,
    no_snapshot: bool,
) -> Result<harness::isolated::PythonFiles> {
    Ok(harness::isolated::PythonFiles {
        wasm: layout.python_wasm(),
        snapshot: (!no_snapshot).then(|| layout.python_snapshot_wasm()),
        runtime: layout.runtime(),
        python_version: pins.guest_layout()?.short_version(),
        cache_dir: layout.compiled_modules(),
    })
}

/// python.wasm run in child processes of this binary (its hidden
/// [`crate::cli::CHILD_COMMAND`]), each killed at its deadline, so the guest
/// is compiled without epoch checks: the snapshot for every run it can
/// serve unless `no_snapshot`. The modules are compiled into the cache here,
/// once, before any child loads them.
pub fn isolated_python(
    layout: &Layout,
    pins: &Pins,
    no_snapshot: bool,
    ui: &Ui,
) -> Result<harness::isolated::IsolatedPython> {
    let program = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot find this program to start its children: {e}"))?;
    let isolated = harness::isolated::IsolatedPython::new(
        program,
        ["faasm-py", crate::cli::CHILD_COMMAND],
        python_files(layout, pins, no_snapshot)?,
    )?;
    isolated.load_here(|wasm| compiling_note(ui, wasm))?;
    Ok(isolated)
}

/// Why the first run after a rebuild takes a while.
fn compiling_note(ui: &Ui, wasm: &std::path::Path) {
    ui.info(&format!(
        "compiling {} for this machine (once per build)…",
        wasm.file_name().unwrap_or_default().to_string_lossy()
    ))
}
