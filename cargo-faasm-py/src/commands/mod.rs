//! What each subcommand does: `build`, `fetch`, `run`, `test`, `clean`.

mod build;
mod clean;
mod lock;
mod run;
mod test;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use crate::cli::{Cargo, Command, FaasmPy, Global};
use crate::layout::Layout;
use crate::lock::{FILE as LOCK_FILE, Lock};
use crate::pins::Pins;
use crate::pipeline::Context;
use crate::plan::BuildPlan;
use crate::project::ProjectConfig;
use crate::ui::{Ui, Verbosity};

pub use build::{build_inputs, build_then};

/// The whole CLI: parses the arguments, runs the command, prints an error
/// as one `error:` line (plus the context chain) and exits non-zero.
pub fn main() -> ExitCode {
    let Cargo::FaasmPy(args) = Cargo::parse();
    match dispatch(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one parsed command.
pub fn dispatch(args: FaasmPy) -> Result<ExitCode> {
    let ui = Ui {
        verbosity: if args.global.quiet {
            Verbosity::Quiet
        } else if args.global.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        },
        show_fresh: true,
    };
    // A child of `test` needs no project: everything is in its request.
    if let Command::Child { request, reply } = &args.command {
        harness::isolated::serve(request, reply)?;
        return Ok(ExitCode::SUCCESS);
    }
    let layout = Layout::discover(
        args.global.manifest_path.as_deref(),
        args.global.target_dir.as_deref(),
        args.global.cache_dir.as_deref(),
    )?;
    let global = &args.global;
    match args.command {
        Command::Build { stage } => build::build(&layout, global, stage.as_deref(), &ui),
        Command::Fetch => build::fetch(&layout, global, &ui),
        Command::Lock(lock_args) => lock::lock(&layout, global, lock_args, &ui),
        Command::Run(run_args) => run::run(&layout, global, run_args, &ui),
        Command::Test(test_args) => test::test(&layout, global, test_args, &ui),
        Command::Clean { stale: true, .. } => clean::stale(&layout, global, &ui),
        Command::Clean { downloads, .. } => clean::clean(&layout, downloads, &ui),
        Command::Child { .. } => unreachable!("served above"),
    }
}

/// `--jobs`, else the number of CPUs.
fn jobs(global: &Global) -> usize {
    global
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

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

/// What a command builds: the pins for the selected CPython, the
/// project's configuration, and the plan its lock makes of them.
pub struct Inputs {
    /// The pins, the lock's files among them.
    pub pins: Pins,
    /// The project's configuration (or the default one).
    pub config: ProjectConfig,
    /// The packages to build and install.
    pub plan: BuildPlan,
}

/// Reads the configuration, the pins and the lock, and checks they agree.
pub fn inputs(layout: &Layout, global: &Global) -> Result<Inputs> {
    let config = layout.config()?;
    let python = global.python.as_deref().or(config.python.as_deref());
    let mut pins = Pins::load(&layout.sources_toml())?.select_python(python)?;
    let lock_dir = layout.lock_dir();
    let lock = Lock::load(&lock_dir)?;
    lock.check_matches(&config, &lock_dir.join(LOCK_FILE))?;
    let version = pins.guest_layout()?.short_version();
    let plan = BuildPlan::new(&config, lock.for_python(&version)?, &mut pins, layout)?;
    Ok(Inputs { pins, config, plan })
}

/// The stage context for `inputs`, for code that runs the pipeline.
fn context<'a>(layout: &'a Layout, inputs: &'a Inputs, global: &Global) -> Result<Context<'a>> {
    Context::new(
        layout,
        &inputs.pins,
        &inputs.plan,
        global.offline,
        jobs(global),
    )
}

/// Ui that stays quiet about stages already up to date (for `run` and
/// `test`, which build first).
fn quiet_when_fresh(ui: &Ui) -> Ui {
    Ui {
        show_fresh: false,
        ..ui.clone()
    }
}

/// Brings every stage up to date, quietly when nothing is stale; returns
/// the inputs, and each built package's source tree (where its own tests
/// are).
fn build_quietly(
    layout: &Layout,
    global: &Global,
    ui: &Ui,
) -> Result<(
    Inputs,
    std::collections::BTreeMap<String, std::path::PathBuf>,
)> {
    let inputs = inputs(layout, global)?;
    let sources = build_inputs(layout, &inputs, global, None, &quiet_when_fresh(ui), |cx| {
        inputs
            .plan
            .packages
            .iter()
            .map(|p| Ok((p.name.clone(), cx.output_of(&p.stage()?)?.join("src"))))
            .collect()
    })?;
    Ok((inputs, sources))
}
