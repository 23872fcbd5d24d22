//! What each subcommand does.

use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};

use crate::cli::{Command, FaasmPy, Global, RunArgs};
use crate::layout::Layout;
use crate::pins::Pins;
use crate::stage::{self, Context};
use crate::ui::{Ui, Verbosity};

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
    let layout = Layout::discover(
        args.global.manifest_path.as_deref(),
        args.global.target_dir.as_deref(),
        args.global.cache_dir.as_deref(),
    )?;
    match args.command {
        Command::Build { stage } => {
            build(&layout, &args.global, stage.as_deref(), &ui)?;
            if stage.is_none() {
                ui.info(&crate::modules::Report::load(&layout.modules_report())?.summary());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Fetch => {
            build(&layout, &args.global, Some("fetch"), &ui)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(run_args) => {
            // Bring stale outputs up to date, quietly when nothing is stale.
            let quiet_ui = Ui {
                show_fresh: false,
                ..ui.clone()
            };
            build(&layout, &args.global, None, &quiet_ui)?;
            run(&layout, run_args, &ui)
        }
        Command::Test(test_args) => {
            let quiet_ui = Ui {
                show_fresh: false,
                ..ui.clone()
            };
            build(&layout, &args.global, None, &quiet_ui)?;
            crate::commands_test::test(&layout, test_args, jobs(&args.global), &ui)
        }
        Command::Clean { stale: true, .. } => {
            let stale = build_then(&layout, &args.global, None, &ui, |cx| cx.stale_outputs())?;
            for dir in stale {
                ui.info(&format!("removing {}", dir.display()));
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("cannot remove {}", dir.display()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Clean { downloads, .. } => {
            clean(&layout, downloads, &ui)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn build(layout: &Layout, global: &Global, target: Option<&str>, ui: &Ui) -> Result<()> {
    build_then(layout, global, target, ui, |_| Ok(()))
}

/// Brings the stages for `target` up to date, then hands their context on.
fn build_then<T>(
    layout: &Layout,
    global: &Global,
    target: Option<&str>,
    ui: &Ui,
    then: impl FnOnce(&Context) -> Result<T>,
) -> Result<T> {
    let pins = Pins::load(&layout.sources_toml())?;
    let cx = Context::new(layout, &pins, global.offline, jobs(global));
    let stages = crate::stages::all(&pins);
    let plan = stage::plan(&stages, target)?;
    stage::run(&cx, &plan, ui)?;
    then(&cx)
}

fn jobs(global: &Global) -> usize {
    global
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

/// The built python.wasm, compiled for this machine (or taken from the
/// module cache), with its runtime tree.
pub fn load_python(layout: &Layout, ui: &Ui) -> Result<harness::Python> {
    let engine = harness::Engine::new(harness::EngineOptions::default())?;
    let loaded = engine.load_module_with(&layout.python_wasm(), &layout.modules(), || {
        ui.info("compiling python.wasm for this machine (once per build)…")
    })?;
    harness::Python::with_module(engine, loaded.module, &layout.runtime())
}

/// Exit codes for guest failures that are not an exit, as shells know them.
const EXIT_TRAP: u8 = 134;
const EXIT_TIMEOUT: u8 = 124;
const EXIT_OOM: u8 = 137;

fn run(layout: &Layout, args: RunArgs, ui: &Ui) -> Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    if cwd.parent().is_none() {
        bail!("refusing to mount / read-write into the guest: run from a project directory");
    }
    let guest_cwd = cwd
        .to_str()
        .context("the current directory's path is not UTF-8")?
        .to_owned();
    let python = load_python(layout, ui)?;
    let scratch = tempfile::Builder::new()
        .prefix("faasm-py-run-")
        .tempdir()
        .context("cannot create a scratch directory")?;
    let outcome = python.run(harness::PythonRun {
        args: args.args,
        scratch: scratch.path().to_owned(),
        cwd: Some((cwd, guest_cwd)),
        extra_preopens: Vec::new(),
        extra_env: Vec::new(),
        stdin: harness::Input::Inherit,
        stdout: harness::Output::Inherit,
        stderr: harness::Output::Inherit,
        deadline: args.timeout_secs,
        memory_limit: Some((args.memory_mib as usize) << 20),
    })?;
    Ok(match outcome.status {
        harness::Status::Exited(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        ref status => {
            eprintln!("error: python.wasm {status}");
            ExitCode::from(match status {
                harness::Status::TimedOut { .. } => EXIT_TIMEOUT,
                harness::Status::OutOfMemory { .. } => EXIT_OOM,
                _ => EXIT_TRAP,
            })
        }
    })
}

fn clean(layout: &Layout, downloads: bool, ui: &Ui) -> Result<()> {
    let mut dirs = vec![
        layout.out(),
        layout.builds(),
        layout.modules(),
        layout.workspace.join("third-party/cpython"),
    ];
    if downloads {
        dirs.push(layout.downloads());
        dirs.push(layout.apt());
    }
    for dir in dirs {
        if std::fs::symlink_metadata(&dir).is_ok() {
            ui.info(&format!("removing {}", dir.display()));
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        }
    }
    Ok(())
}
