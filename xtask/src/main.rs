//! Repository automation: `cargo xtask bench`, `cargo xtask ci`.

mod bench;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <bench [--manifest-path PATH] [--runs N] [--suites | --ops | --load [--calls N] [--native-calls N] [--threads N]] | ci>";

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
        load: None,
        manifest: None,
    };
    // Given only with --load; kept apart until the end so their order does
    // not matter.
    let mut load = bench::load::Options::default();
    let mut load_knobs = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |range: std::ops::RangeInclusive<usize>| {
            let n = args.next().map_or("", String::as_str);
            match n.parse::<usize>() {
                Ok(v) if range.contains(&v) => Ok(v),
                _ => Err(anyhow::anyhow!(
                    "{arg} takes a whole number from {} to {}, got `{n}`",
                    range.start(),
                    range.end()
                )),
            }
        };
        match arg.as_str() {
            "--runs" => options.runs = number(1..=1000)?,
            "--manifest-path" => match args.next() {
                Some(path) => options.manifest = Some(path.into()),
                None => bail!("--manifest-path takes the path of a project's Cargo.toml\n{USAGE}"),
            },
            "--suites" => options.suites = true,
            "--ops" => options.operations = true,
            "--load" => options.load = Some(bench::load::Options::default()),
            "--calls" => {
                load.calls = number(1..=10_000_000)?;
                load_knobs.push(arg);
            }
            "--native-calls" => {
                load.native_calls = number(0..=10_000_000)?;
                load_knobs.push(arg);
            }
            "--threads" => {
                load.threads = number(1..=1024)?;
                load_knobs.push(arg);
            }
            _ => bail!("{USAGE}"),
        }
    }
    match &mut options.load {
        Some(chosen) => *chosen = load,
        None => {
            if let Some(knob) = load_knobs.first() {
                bail!("{knob} is an option of --load\n{USAGE}");
            }
        }
    }
    let benchmarks = [options.suites, options.operations, options.load.is_some()];
    if benchmarks.iter().filter(|b| **b).count() > 1 {
        bail!("--suites, --ops and --load are different benchmarks: give one\n{USAGE}");
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<bench::Options> {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        parse_bench(&args)
    }

    #[test]
    fn load_options_in_any_order() {
        let options = parse(&["--calls", "50", "--load", "--threads", "3"]).unwrap();
        let load = options.load.unwrap();
        assert_eq!((load.calls, load.threads), (50, 3));
        assert_eq!(
            load.native_calls,
            bench::load::Options::default().native_calls
        );
    }

    #[test]
    fn bad_bench_options_are_one_line_errors() {
        for (args, message) in [
            (
                &["--load", "--calls", "0"][..],
                "--calls takes a whole number from 1",
            ),
            (&["--load", "--threads", "many"], "got `many`"),
            (&["--calls", "5"], "--calls is an option of --load"),
            (&["--load", "--ops"], "different benchmarks"),
            (&["--runs"], "--runs takes a whole number"),
        ] {
            let err = parse(args).err().expect("an error").to_string();
            assert!(err.contains(message), "{args:?}: {err}");
        }
    }
}
