//! Repository automation: `cargo xtask bench`, `cargo xtask ci`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use cargo_faasm_py::layout::Layout;

const USAGE: &str = "usage: cargo xtask <bench [--runs N] | ci>";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => bench(&args[1..]),
        Some("ci") => ci(),
        _ => bail!("{USAGE}"),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_owned()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

fn check(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// CI's script, so `cargo xtask ci` and CI run the same thing.
fn ci() -> Result<()> {
    check(Command::new("bash").arg(workspace_root().join(".ci/run")))
}

/// Startup benchmarks of python.wasm against the native build python of the
/// same version, run side by side (interleaved) so machine noise hits both.
/// The guest side is the whole `cargo-faasm-py faasm-py run` process, as a
/// user starts it: `cargo metadata`, the stages' fingerprints, loading the
/// compiled module, then python.wasm itself.
fn bench(args: &[String]) -> Result<()> {
    let runs: usize = match args {
        [] => 10,
        [flag, n] if flag == "--runs" => match n.parse::<usize>() {
            Ok(runs @ 1..=1000) => runs,
            _ => bail!("--runs takes a whole number from 1 to 1000, got `{n}`"),
        },
        _ => bail!("{USAGE}"),
    };
    check(cargo().args(["faasm-py", "build", "-q"]))?;
    let layout = Layout::discover(Some(&workspace_root().join("Cargo.toml")), None, None)?;
    let faasm_py = layout.target.join("debug/cargo-faasm-py");
    // The host python with the native numpy wheel of the same version.
    let native = layout.native_env().join("bin/python");
    if !native.is_file() {
        bail!("no native build python at {}", native.display());
    }
    let wasm = |code: &str| {
        let mut cmd = Command::new(&faasm_py);
        cmd.args(["faasm-py", "-q", "run", "--", "-c", code]);
        cmd
    };
    let host = |code: &str| {
        let mut cmd = Command::new(&native);
        cmd.args(["-c", code]);
        cmd
    };

    println!(
        "python.wasm (the whole cargo-faasm-py run process) vs native python + numpy wheel, {runs} runs each, median"
    );
    println!(
        "{:<28} {:>12} {:>12} {:>8}",
        "case", "wasm", "native", "ratio"
    );
    for (name, code) in [
        ("-c pass", "pass"),
        ("import json, decimal, re", "import json, decimal, re"),
        ("import numpy", "import numpy"),
        // Small ints: sum(range(10**7)) would measure wasm32's 32-bit C long
        // (its fast path overflows), not the interpreter.
        (
            "loop of 3e6 small-int adds",
            "s = 0\nfor i in range(3000000):\n    s += i & 7",
        ),
        (
            "numpy matmul 200x200 x20",
            "import numpy as np\na = np.ones((200, 200))\nfor _ in range(20):\n    a @ a",
        ),
    ] {
        let mut w = Vec::new();
        let mut n = Vec::new();
        for _ in 0..runs {
            w.push(time(&mut wasm(code))?);
            n.push(time(&mut host(code))?);
        }
        let (w, n) = (median(&mut w), median(&mut n));
        println!(
            "{name:<28} {:>10.1}ms {:>10.1}ms {:>7.1}x",
            ms(w),
            ms(n),
            w.as_secs_f64() / n.as_secs_f64()
        );
    }
    Ok(())
}

fn time(cmd: &mut Command) -> Result<Duration> {
    let start = Instant::now();
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(start.elapsed())
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
