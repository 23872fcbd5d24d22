//! Runs any WASI preview-1 command module with the harness: the current
//! directory mounted read-write at its own path, stdio inherited, the
//! module's exit code (or 134 for a trap) as this process's.
//!
//! `cargo run -p harness --example wasm_command -- prog.wasm [args…]`

use std::process::ExitCode;

use anyhow::{Context, Result};
use harness::{Engine, EngineOptions, Input, Output, Preopen, RunConfig, Status};

fn main() -> Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    let wasm = args
        .next()
        .context("usage: wasm_command PROG.wasm [ARGS…]")?;
    // No deadline is ever set, so no epoch checks in the compiled code.
    let engine = Engine::new(EngineOptions {
        deadlines: false,
        ..EngineOptions::default()
    })?;
    let bytes = std::fs::read(&wasm).with_context(|| format!("cannot read {wasm}"))?;
    let module = harness::Module::new(engine.wasmtime(), bytes)
        .map_err(|e| anyhow::anyhow!("cannot compile {wasm}: {e}"))?;
    let cwd = std::env::current_dir()?;
    let guest_cwd = cwd.to_string_lossy().into_owned();
    let mut argv = vec![wasm.clone()];
    argv.extend(args);
    let outcome = harness::run(
        &engine,
        &module,
        RunConfig {
            args: argv,
            env: vec![("PWD".into(), guest_cwd.clone())],
            preopens: vec![Preopen::read_write(&cwd, guest_cwd)],
            stdin: Input::Inherit,
            stdout: Output::Inherit,
            stderr: Output::Inherit,
            ..RunConfig::default()
        },
    )?;
    Ok(match outcome.status {
        Status::Exited(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        status => {
            eprintln!("wasm_command: {wasm} {status}");
            ExitCode::from(134)
        }
    })
}
