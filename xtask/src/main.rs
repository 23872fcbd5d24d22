//! Repository automation: `cargo xtask bench`, `cargo xtask ci`.

mod bench;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <bench [--runs N] [--suites | --ops] | ci>";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => bench::bench(&parse_bench(&args[1..])?),
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

fn parse_bench(args: &[String]) -> Result<bench::Options> {
    let mut options = bench::Options {
        runs: 10,
        suites: false,
        operations: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                let n = args.next().map_or("", String::as_str);
                options.runs = match n.parse::<usize>() {
                    Ok(runs @ 1..=1000) => runs,
                    _ => bail!("--runs takes a whole number from 1 to 1000, got `{n}`"),
                };
            }
            "--suites" => options.suites = true,
            "--ops" => options.operations = true,
            _ => bail!("{USAGE}"),
        }
    }
    if options.suites && options.operations {
        bail!("--suites and --ops are two different benchmarks: give one\n{USAGE}");
    }
    Ok(options)
}
