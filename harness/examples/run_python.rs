//! Embedding python.wasm in a Rust program: load it once, then run Python
//! code in fresh, isolated instances.
//!
//! `cargo run -p harness --example run_python -- target/faasm-py [CODE]`
//! (the directory `cargo faasm-py build` fills: python.wasm, its snapshot
//! and runtime/).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use harness::{Engine, EngineOptions, GuestLayout, Python, PythonRun, Status};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .context("usage: run_python FAASM_PY_DIR [CODE]")?,
    );
    let code = args
        .next()
        .unwrap_or_else(|| "import sys; print(sys.platform, sys.version.split()[0])".into());

    let runtime = out.join("runtime");
    // The runtime tree says which CPython it holds.
    let guest = GuestLayout::of_runtime(&runtime)?;
    let cache = std::env::temp_dir().join("faasm-py-example-modules");
    let engine = Engine::new(EngineOptions::default())?;
    // Compiled once (and kept in `cache`), then instantiated per run.
    let mut python = Python::new(
        engine.clone(),
        &out.join("python.wasm"),
        &runtime,
        guest,
        &cache,
    )?;
    // The snapshot (CPython started, numpy imported) serves every run it
    // can; the others run the plain module.
    let snapshot = out.join("python-snapshot.wasm");
    if snapshot.exists() {
        python = python.with_snapshot(engine.load_module(&snapshot, &cache)?);
    }

    let scratch = tempfile::tempdir()?;
    let mut run = PythonRun::new(["-c", code.as_str()], scratch.path());
    run.deadline = Some(std::time::Duration::from_secs(60));
    run.memory_limit_bytes = Some(512 << 20);
    let output = python.run(run)?;
    print!("{}", String::from_utf8_lossy(&output.stdout));
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    match output.status {
        Status::Exited(0) => Ok(()),
        status => bail!("python.wasm {status}"),
    }
}
