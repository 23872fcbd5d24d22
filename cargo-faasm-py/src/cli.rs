//! Command-line arguments. Cargo runs `cargo-faasm-py faasm-py ARGS…` for
//! `cargo faasm-py ARGS…`, hence the outer one-variant enum.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Environment variable that selects the CPython version, like `--python`.
pub const PYTHON_ENV: &str = "FAASM_PY_PYTHON";

/// `cargo …` as cargo runs a subcommand.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", styles = clap::builder::Styles::default())]
pub enum Cargo {
    /// Build CPython (and its packages) for wasm32-wasi and run it under wasmtime.
    #[command(name = "faasm-py", version)]
    FaasmPy(FaasmPy),
}

/// `cargo faasm-py [GLOBAL] COMMAND`.
#[derive(Debug, Args)]
pub struct FaasmPy {
    /// Options of every command.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options of every command.
#[derive(Debug, Default, Args)]
pub struct Global {
    /// Path to the workspace's Cargo.toml.
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Cargo's target directory (where python.wasm and logs go).
    #[arg(long, global = true, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Cache for downloads, toolchain and stage outputs
    /// [default: $FAASM_PY_CACHE, else ~/.cache/faasm-py].
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// The CPython version to build and run (one of `[python.versions]` in
    /// third-party/sources.toml) [default: `[python] default`].
    #[arg(long, global = true, value_name = "X.Y", env = PYTHON_ENV)]
    pub python: Option<String>,
    /// Never download: every input must already be in the cache.
    #[arg(long, global = true)]
    pub offline: bool,
    /// Parallel jobs for make and ninja [default: number of CPUs].
    #[arg(long, short = 'j', global = true, value_name = "N")]
    pub jobs: Option<usize>,
    /// More progress output.
    #[arg(long, short = 'v', global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Only errors.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build everything, or one stage and what it needs.
    Build {
        /// The stage to build (with what it needs) [default: all].
        #[arg(value_name = "STAGE", long_help = stage_help())]
        stage: Option<String>,
    },
    /// Download and verify every input the build uses.
    Fetch,
    /// Resolve the configured packages and their dependencies into
    /// faasm-py.lock, beside the project's Cargo.toml.
    Lock(LockArgs),
    /// Run python.wasm with the current directory mounted read-write.
    Run(RunArgs),
    /// Run test suites inside python.wasm, gated by their baselines.
    Test(TestArgs),
    /// Remove build outputs (and, with --downloads, the download cache).
    Clean {
        /// Also remove downloaded sources and tools.
        #[arg(long, conflicts_with = "stale")]
        downloads: bool,
        /// Only remove stage outputs the current build does not use (older
        /// fingerprints, interrupted builds), bringing the build up to date first.
        #[arg(long)]
        stale: bool,
    },
    /// Serves one python.wasm run for `test`, which starts this binary so
    /// it can kill the run at its deadline (harness::isolated).
    #[command(name = CHILD_COMMAND, hide = true)]
    Child {
        /// The run's request.
        request: PathBuf,
        /// Where the answer goes.
        reply: PathBuf,
    },
}

/// The hidden subcommand that serves one run in a child process.
pub const CHILD_COMMAND: &str = "__serve-run";

/// `lock`'s arguments.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// In the faasm-py repository: lock the default configuration
    /// (third-party/default-config.toml) that the binary carries.
    #[arg(long, hide = true)]
    pub default_config: bool,
}

/// `run`'s arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Stop the guest after this many seconds (a positive number, at most a
    /// year).
    #[arg(long = "timeout", value_name = "SECS", value_parser = parse_timeout)]
    pub timeout_secs: Option<std::time::Duration>,
    /// Linear-memory cap for the guest, in MiB (1 to 4096: wasm32 addresses
    /// at most 4 GiB).
    #[arg(long = "memory", value_name = "MIB", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub memory_mib: u32,
    /// Run the plain python.wasm instead of its snapshot (which has CPython
    /// started and the configured modules imported).
    #[arg(long)]
    pub no_snapshot: bool,
    /// Arguments for python, after `--`.
    #[arg(last = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// `test`'s arguments.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Suites to run (directories of pytests/ with a suite.toml) [default: all].
    pub suites: Vec<String>,
    /// Run every suite whole. Without it, a suite that defines a `[ci]`
    /// selection (a long one: pandas') runs that selection, so that the
    /// default run is the one CI makes, in minutes.
    #[arg(long)]
    pub full: bool,
    /// Also run the same selection natively (host python, numpy's wheel) for comparison.
    #[arg(long)]
    pub native: bool,
    /// Rewrite each suite's baseline from this run, keeping reasons.
    #[arg(long)]
    pub bless: bool,
    /// With --bless: the reason recorded for failures not yet in the baseline.
    #[arg(long, value_name = "TEXT", requires = "bless")]
    pub reason: Option<String>,
    /// Only modules whose path contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Run the suites on the plain python.wasm instead of its snapshot.
    #[arg(long)]
    pub no_snapshot: bool,
}

/// `build STAGE`'s long help: every stage, from the pipeline's own list.
fn stage_help() -> String {
    format!(
        "The stage to build, with the stages it needs [default: all].\n\nStages, in order: {}; each package of third-party/sources.toml is a stage of its own (named after it, between cpython and link).",
        crate::stage_id::StageId::builtin_names()
    )
}

/// The longest deadline `--timeout` accepts: a year.
const MAX_TIMEOUT_SECS: f64 = 365.0 * 24.0 * 3600.0;

/// `--timeout`: seconds as a positive, finite number no larger than a year.
fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !secs.is_finite() || secs <= 0.0 || secs > MAX_TIMEOUT_SECS {
        return Err(format!(
            "`{text}` is out of range: give a positive number of seconds, at most {MAX_TIMEOUT_SECS}"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<FaasmPy, clap::Error> {
        let mut argv = vec!["cargo", "faasm-py"];
        argv.extend_from_slice(args);
        Cargo::try_parse_from(argv).map(|Cargo::FaasmPy(args)| args)
    }

    #[test]
    fn timeouts_out_of_range_are_clear_errors() {
        for bad in ["-1", "inf", "NaN", "0", "1e300", "soon"] {
            let err = parse(&["run", &format!("--timeout={bad}"), "--", "-c", "pass"])
                .expect_err(bad)
                .to_string();
            assert!(err.contains("--timeout"), "{bad}: {err}");
            assert!(!err.contains("panicked"), "{bad}: {err}");
        }
        let ok = parse(&["run", "--timeout", "2.5", "--", "-c", "pass"]).unwrap();
        let Command::Run(run) = ok.command else {
            panic!("not run")
        };
        assert_eq!(
            run.timeout_secs,
            Some(std::time::Duration::from_millis(2500))
        );
    }

    #[test]
    fn memory_is_bounded_by_wasm32() {
        for bad in ["0", "4097", "-5", "18446744073709551615", "lots"] {
            let err = parse(&["run", &format!("--memory={bad}"), "--", "-c", "pass"])
                .expect_err(bad)
                .to_string();
            assert!(err.contains("--memory"), "{bad}: {err}");
        }
        let ok = parse(&["run", "--memory", "4096"]).unwrap();
        let Command::Run(run) = ok.command else {
            panic!("not run")
        };
        assert_eq!(run.memory_mib, 4096);
    }
}

#[cfg(test)]
mod help_tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn build_help_lists_every_stage() {
        let mut cmd = Cargo::command();
        let help = cmd
            .find_subcommand_mut("faasm-py")
            .and_then(|c| c.find_subcommand_mut("build"))
            .expect("build")
            .render_long_help()
            .to_string();
        for stage in crate::stage_id::StageId::BUILTIN {
            assert!(help.contains(stage.name()), "{stage} missing from:\n{help}");
        }
    }
}
