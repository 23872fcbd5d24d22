//! `cargo faasm-py run -- ARGS`: python.wasm with the current directory
//! mounted read-write, stdio attached.

use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};

use super::{build_quietly, load_python};
use crate::cli::{Global, RunArgs};
use crate::layout::Layout;
use crate::ui::Ui;

/// Exit codes for guest failures that are not an exit, as shells know them.
const EXIT_TRAP: u8 = 134;
const EXIT_TIMEOUT: u8 = 124;
const EXIT_OOM: u8 = 137;

/// Builds what is stale, then runs python.wasm once.
pub fn run(layout: &Layout, global: &Global, args: RunArgs, ui: &Ui) -> Result<ExitCode> {
    let pins = build_quietly(layout, global, ui)?;
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    if cwd.parent().is_none() {
        bail!("refusing to mount / read-write into the guest: run from a project directory");
    }
    let guest_cwd = cwd
        .to_str()
        .with_context(|| format!("the current directory {} is not UTF-8", cwd.display()))?
        .to_owned();
    let python = load_python(layout, &pins, ui)?;
    let scratch = tempfile::Builder::new()
        .prefix("faasm-py-run-")
        .tempdir()
        .context("cannot create a scratch directory")?;
    let output = python.run(harness::PythonRun {
        args: args.args,
        scratch: scratch.path().to_owned(),
        cwd: Some((cwd, guest_cwd)),
        extra_preopens: Vec::new(),
        extra_env: Vec::new(),
        stdin: harness::Input::Inherit,
        stdout: harness::Output::Inherit,
        stderr: harness::Output::Inherit,
        deadline: args.timeout_secs,
        memory_limit_bytes: Some((args.memory_mib as usize) << 20),
    })?;
    Ok(match output.status {
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
