//! `cargo xtask bench`: python.wasm against the native python of the same
//! CPython version with numpy's wheel of the same version, interleaved in
//! one run (the machine is noisy: each round runs both sides back to back),
//! printing medians and the ratio wasm / native.
//!
//! - start-up as a user sees it: the whole `cargo-faasm-py faasm-py run`
//!   process (snapshot and plain; the release build, as `cargo install`
//!   gives it), against `python -c`;
//! - start-up as a Rust embedder sees it: one more run of a warm
//!   `harness::Python` (module loaded, engine up), in-process;
//! - compute: `bench/compute.py`, run by both, which times each case inside
//!   the interpreter (the wheel's OpenBLAS on one thread, as in the guest);
//! - `--suites`: per-module times of `cargo faasm-py test numpy --native`;
//! - `--ops`: the WebAssembly operators python.wasm executes for start-up
//!   and for one call of each compute case, counted by wasmtime (no native
//!   side and no time: a count the machine's load cannot move, to compare
//!   two builds of python.wasm on a noisy machine);
//! - `--load`: the embedding API under load, many calls from every core
//!   through one `harness::Python` (see [`load`]).
//!
//! `--manifest-path` benches another project's python.wasm (the scientific
//! project's: its preimported modules become start-up rows, and the
//! compute script adds its pandas and SciPy cases where it can import
//! them, on both sides).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use cargo_faasm_py::commands::{Modules, inputs, load_python};
use cargo_faasm_py::layout::Layout;
use cargo_faasm_py::ui::{Ui, Verbosity};
use harness::suite::report::JsonReport;

use crate::{cargo, check, workspace_root};

pub mod load;

/// The start-up cases, as names and `python -c` code: `-c pass`, then an
/// import of each module the configuration's snapshot preimports (numpy by
/// default; pandas and the scientific stack where a project lists them),
/// which should cost about as much as `-c pass` from the snapshot.
fn startup_cases(layout: &Layout) -> Result<Vec<(String, String)>> {
    let mut cases = vec![("-c pass".to_owned(), "pass".to_owned())];
    for module in &layout.config()?.preimport {
        let code = format!("import {module}");
        cases.push((code.clone(), code));
    }
    Ok(cases)
}

/// Options of `cargo xtask bench`.
pub struct Options {
    /// Rounds of each case (each round runs both sides).
    pub runs: usize,
    /// Per-module ratios of numpy's suite instead of the cases.
    pub suites: bool,
    /// Operator counts instead of times.
    pub operations: bool,
    /// The load benchmark instead of the cases.
    pub load: Option<load::Options>,
    /// The project whose python.wasm is benched (default: this workspace).
    pub manifest: Option<PathBuf>,
}

pub fn bench(options: &Options) -> Result<()> {
    let manifest = match &options.manifest {
        Some(path) => std::path::absolute(path)
            .with_context(|| format!("--manifest-path {}", path.display()))?,
        None => workspace_root().join("Cargo.toml"),
    };
    if !manifest.is_file() {
        bail!("--manifest-path {}: no such file", manifest.display());
    }
    let project = ["--manifest-path".to_owned(), manifest.display().to_string()];
    check(
        cargo()
            .args(["faasm-py"])
            .args(&project)
            .args(["build", "-q"]),
    )?;
    let layout = Layout::discover(Some(&manifest), None, None)?;
    if options.suites {
        return suites(&layout, &project);
    }
    if options.operations {
        return operations(&layout);
    }
    if let Some(load) = &options.load {
        return load::load(&layout, load);
    }
    // As a user has it: `cargo install` builds the release profile.
    check(cargo().args([
        "build",
        "--quiet",
        "--release",
        "--locked",
        "-p",
        "cargo-faasm-py",
        "--bin",
        "cargo-faasm-py",
    ]))?;
    // This workspace's target directory, which another project's need not share.
    let own = Layout::discover(Some(&workspace_root().join("Cargo.toml")), None, None)?;
    let faasm_py = own.target.join("release/cargo-faasm-py");
    let native = layout.native_env().join("bin/python");
    if !native.is_file() {
        bail!(
            "no native python at {} (the native stage builds it)",
            native.display()
        );
    }
    let runs = options.runs;
    println!(
        "python.wasm vs native CPython with numpy's wheel, same versions; {runs} interleaved rounds, medians\n"
    );
    println!(
        "{:<44} {:>11} {:>11} {:>8}",
        "case", "wasm", "native", "ratio"
    );

    let startup = startup_cases(&layout)?;
    whole_process_startup(&faasm_py, &project, &native, &startup, runs)?;
    warm_startup(&layout, &native, &startup, runs)?;
    compute(&faasm_py, &project, &native, runs)
}

/// Start-up, as a user sees it: `cargo faasm-py run` (snapshot and plain)
/// against the native python, whole processes.
fn whole_process_startup(
    faasm_py: &Path,
    project: &[String],
    native: &Path,
    cases: &[(String, String)],
    runs: usize,
) -> Result<()> {
    for (name, code) in cases {
        for (what, extra) in [("snapshot", None), ("plain", Some("--no-snapshot"))] {
            let mut w = Vec::new();
            let mut n = Vec::new();
            for _ in 0..runs {
                let mut cmd = Command::new(faasm_py);
                cmd.arg("faasm-py").args(project).args(["-q", "run"]);
                cmd.args(extra);
                cmd.args(["--", "-c", code]);
                w.push(time(&mut cmd)?);
                n.push(time(Command::new(native).args(["-c", code]))?);
            }
            row(&format!("{name}, whole process ({what})"), &mut w, &mut n);
        }
    }
    Ok(())
}

/// Start-up, as an embedder sees it: the same runs through a warm
/// harness::Python (snapshot and plain), against whole native processes.
/// As `run` without --timeout: no deadlines, no epoch checks.
fn warm_startup(
    layout: &Layout,
    native: &Path,
    cases: &[(String, String)],
    runs: usize,
) -> Result<()> {
    let warm = snapshot_and_plain(
        layout,
        harness::EngineOptions {
            deadlines: false,
            ..harness::EngineOptions::default()
        },
    )?;
    for (name, code) in cases {
        for (what, python) in &warm {
            let mut w = Vec::new();
            let mut n = Vec::new();
            for _ in 0..runs {
                w.push(embedded(python, code)?);
                n.push(time(Command::new(native).args(["-c", code]))?);
            }
            row(
                &format!("{name}, warm harness::Python ({what})"),
                &mut w,
                &mut n,
            );
        }
    }
    Ok(())
}

/// Compute, timed inside each interpreter.
fn compute(faasm_py: &Path, project: &[String], native: &Path, runs: usize) -> Result<()> {
    let script = "xtask/bench/compute.py";
    let mut w: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    let mut n: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    for _ in 0..runs {
        let mut cmd = Command::new(faasm_py);
        cmd.arg("faasm-py")
            .args(project)
            .args(["-q", "run", "--", script, "3"]);
        collect(&mut w, &output(cmd.current_dir(workspace_root()))?)?;
        let mut cmd = Command::new(native);
        // python.wasm has no threads: the wheel's OpenBLAS gets one too.
        cmd.args([script, "3"]).env("OPENBLAS_NUM_THREADS", "1");
        collect(&mut n, &output(cmd.current_dir(workspace_root()))?)?;
    }
    if let Some(only) = w.keys().find(|name| !n.contains_key(*name)) {
        bail!("case `{only}` is missing from the native side's output");
    }
    let names: Vec<String> = n.keys().cloned().collect();
    for name in names {
        let (Some(wt), Some(nt)) = (w.get_mut(&name), n.get_mut(&name)) else {
            bail!("case `{name}` is missing from one side's output");
        };
        row(&name, wt, nt);
    }
    Ok(())
}

/// `--ops`: operators executed by start-up (snapshot and plain) and by one
/// call of each compute case (a run with one more call than another).
fn operations(layout: &Layout) -> Result<()> {
    let pythons = snapshot_and_plain(
        layout,
        harness::EngineOptions {
            deadlines: false,
            count_operations: true,
            ..harness::EngineOptions::default()
        },
    )?;
    let [(_, snapshot), _] = &pythons;
    println!("WebAssembly operators executed by python.wasm (wasmtime's fuel count)\n");
    println!("{:<44} {:>16}", "case", "operators");
    let dir = tempfile::tempdir()?;
    let scratch = dir.path();
    for (name, code) in startup_cases(layout)? {
        for (what, python) in &pythons {
            let ops = counted(python, scratch, &["-c", &code])?.0;
            println!("{:<44} {ops:>16}", format!("{name} ({what})"));
        }
    }
    fs_err::copy(
        workspace_root().join("xtask/bench/compute.py"),
        scratch.join("compute.py"),
    )?;
    let guest_script = format!("{}/compute.py", harness::GUEST_TMP);
    let (_, listed) = counted(snapshot, scratch, &[&guest_script, "--list"])?;
    let names: Vec<String> = serde_json::from_str(listed.trim())
        .with_context(|| format!("compute.py --list printed {listed:?}"))?;
    for name in names {
        let run =
            |calls: &str| counted(snapshot, scratch, &[&guest_script, "--case", &name, calls]);
        let (warm, _) = run("0")?;
        let (one_more, _) = run("1")?;
        let ops = one_more.checked_sub(warm).with_context(|| {
            format!("case `{name}`: a run with one more call counted fewer operators")
        })?;
        println!("{name:<44} {ops:>16}");
    }
    Ok(())
}

/// python.wasm's snapshot and its plain module, each loaded once on an
/// engine with `options`, named as the bench prints them.
fn snapshot_and_plain(
    layout: &Layout,
    options: harness::EngineOptions,
) -> Result<[(&'static str, harness::Python); 2]> {
    let ui = Ui {
        verbosity: Verbosity::Quiet,
        show_fresh: false,
    };
    let pins = inputs(layout, &cargo_faasm_py::cli::Global::default())?.pins;
    let load = |modules| load_python(layout, &pins, modules, options.clone(), &ui);
    Ok([
        ("snapshot", load(Modules::Snapshot)?),
        ("plain", load(Modules::Plain)?),
    ])
}

/// `out` if the guest exited with 0, else an error with its stderr.
fn succeeded(out: harness::RunOutput, args: &[&str]) -> Result<harness::RunOutput> {
    if !out.status.success() {
        bail!(
            "python.wasm {args:?} {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out)
}

/// One run of `python <args>` on a counting `python`, with `scratch` as
/// its `/tmp`: its operator count and stdout.
fn counted(python: &harness::Python, scratch: &Path, args: &[&str]) -> Result<(u64, String)> {
    let out = succeeded(
        python.run(harness::PythonRun::new(args.iter().copied(), scratch))?,
        args,
    )?;
    let ops = out
        .operations
        .context("the engine counts operations, but the run reported none")?;
    Ok((ops, String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// One run of `code` through a warm `python`, timed from the call to its
/// return, as an embedder pays it.
fn embedded(python: &harness::Python, code: &str) -> Result<Duration> {
    let scratch = tempfile::tempdir()?;
    let run = harness::PythonRun::new(["-c", code], scratch.path());
    let start = Instant::now();
    let out = python.run(run)?;
    let elapsed = start.elapsed();
    succeeded(out, &["-c", code])?;
    Ok(elapsed)
}

fn row(name: &str, wasm: &mut [Duration], native: &mut [Duration]) {
    let (w, n) = (median(wasm), median(native));
    println!(
        "{name:<44} {:>9.1}ms {:>9.1}ms {:>7.2}x",
        ms(w),
        ms(n),
        w.as_secs_f64() / n.as_secs_f64()
    );
}

fn collect(into: &mut BTreeMap<String, Vec<Duration>>, json: &str) -> Result<()> {
    let cases: BTreeMap<String, f64> = serde_json::from_str(json.trim())
        .with_context(|| format!("the compute script printed no JSON object: {json:?}"))?;
    for (name, secs) in cases {
        if !(secs.is_finite() && secs >= 0.0) {
            bail!("case `{name}` took {secs} s");
        }
        into.entry(name)
            .or_default()
            .push(Duration::from_secs_f64(secs));
    }
    Ok(())
}

/// `cargo faasm-py test numpy --native`, then each module's wall time in
/// the guest over its native time, and the sums.
fn suites(layout: &Layout, project: &[String]) -> Result<()> {
    // The gate's verdict does not matter here, only the times.
    let _ = cargo()
        .arg("faasm-py")
        .args(project)
        .args(["test", "numpy", "--native"])
        .status();
    // Read through the type `test` writes them with.
    let read = |file: PathBuf| -> Result<BTreeMap<String, f64>> {
        let report = JsonReport::load(&file)?;
        Ok(report
            .modules
            .into_iter()
            .map(|m| (m.module, m.wall))
            .collect())
    };
    let wasm = read(layout.json_report("numpy"))?;
    let native = read(layout.native_json_report("numpy"))?;
    let mut rows: Vec<(&String, f64, f64)> = wasm
        .iter()
        .filter_map(|(m, w)| native.get(m).map(|n| (m, *w, *n)))
        .collect();
    rows.sort_by(|a, b| (b.1 / b.2).total_cmp(&(a.1 / a.2)));
    println!("numpy's suite, per module (slowest ratio first), wall seconds\n");
    println!(
        "{:<60} {:>9} {:>9} {:>7}",
        "module", "wasm", "native", "ratio"
    );
    for (m, w, n) in &rows {
        println!("{m:<60} {w:>9.2} {n:>9.2} {:>6.2}x", w / n);
    }
    let (ws, ns): (f64, f64) = rows.iter().fold((0.0, 0.0), |(a, b), r| (a + r.1, b + r.2));
    println!(
        "{:<60} {ws:>9.1} {ns:>9.1} {:>6.2}x",
        format!("sum of {} modules", rows.len()),
        ws / ns
    );
    Ok(())
}

fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed ({})", out.status);
    }
    String::from_utf8(out.stdout).with_context(|| format!("{cmd:?} printed non-UTF-8"))
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
