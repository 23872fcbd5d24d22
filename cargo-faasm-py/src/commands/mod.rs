//! What each subcommand does: `build`, `fetch`, `run`, `test`, `clean`.
//! This module only parses and dispatches; what several commands share is
//! in modules of its own (`inputs`, `python`), so no command takes
//! anything from here. `suites` runs test suites for `test` and for
//! callers outside the CLI (the `suites` test target, `cargo xtask bench`).

mod build;
mod clean;
mod inputs;
mod lock;
mod python;
mod run;
mod suites;
mod test;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use crate::cli::{Cargo, Command, FaasmPy};
use crate::layout::Layout;
use crate::ui::{Ui, Verbosity};

pub use build::{build_inputs, build_then};
pub use inputs::{Inputs, inputs};
pub use python::{Modules, isolated_python, load_python, python_files};
pub use suites::{PlannedSuite, SuiteOptions, SuiteOutcome, plan_suite, run_suites};

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
