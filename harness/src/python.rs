//! The conventions for running python.wasm, so callers state only what
//! differs between runs (arguments, directories, streams, limits).
//!
//! Layout seen by the guest (paths from [`GuestLayout`]):
//! - [`GUEST_PREFIX`] (`/usr/local`): the runtime tree, read-only; it is
//!   `PYTHONHOME`, so the stdlib is [`GuestLayout::guest_stdlib`].
//! - [`GUEST_TMP`] (`/tmp`): a per-run scratch directory, read-write; `HOME`
//!   and `TMPDIR`.
//! - optionally a read-write working directory at a caller-chosen path.
//! - `/`: an empty read-only directory holding the mount points (without a
//!   root, paths such as `/tmp/x` do not resolve).
//! - `/dev`: a per-run directory whose `null` is an empty file (WASI has no
//!   devices), added by [`Python::run`].
//!
//! WASI preview 1 has no working directory, so the guest's `main()` calls
//! `chdir($PWD)` before starting Python; `PWD` is therefore how the working
//! directory is chosen.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use wasmtime::Module;

use crate::engine::Engine;
use crate::guest::{GUEST_PREFIX, GUEST_TMP, GuestLayout};
use crate::run::{self, Preopen, RunConfig};
use crate::snapshot::{self, Snapshot};
use crate::status::RunOutput;
use crate::stdio::{Input, Output};

/// python.wasm, compiled, plus the runtime tree it needs.
#[derive(Debug, Clone)]
pub struct Python {
    engine: Engine,
    module: Module,
    /// The snapshot of `module` (see [`crate::snapshot`]), used for every run
    /// it can serve ([`snapshot_refusal`]).
    snapshot: Option<Module>,
    runtime: PathBuf,
    guest: GuestLayout,
    /// An empty directory mounted read-only at `/`: without a root, `/`
    /// does not exist for the guest and `os.makedirs("/tmp/x")` fails.
    /// Holds the mount points' parents (`/usr`) so they exist too.
    root: Arc<tempfile::TempDir>,
}

/// One python.wasm invocation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PythonRun {
    /// Python's arguments, without `argv[0]` (e.g. `["-c", "pass"]`).
    pub args: Vec<String>,
    /// Host directory mounted read-write at [`GUEST_TMP`].
    pub scratch: PathBuf,
    /// Extra read-write mount (host dir, absolute guest path) that becomes
    /// the working directory. Without it the working directory is
    /// [`GUEST_TMP`].
    pub cwd: Option<(PathBuf, String)>,
    /// Further mounts (test data, site-packages, ...).
    pub extra_preopens: Vec<Preopen>,
    /// Added to the fixed environment; a name given here replaces the fixed
    /// value. Output is block-buffered when captured, so pass
    /// `PYTHONUNBUFFERED=1` to keep what was printed before a timeout.
    pub extra_env: Vec<(String, String)>,
    /// The guest's standard input.
    pub stdin: Input,
    /// Where the guest's stdout goes.
    pub stdout: Output,
    /// Where the guest's stderr goes.
    pub stderr: Output,
    /// Wall-clock limit for the run.
    pub deadline: Option<Duration>,
    /// Cap on the guest's linear memory, in bytes.
    pub memory_limit_bytes: Option<usize>,
}

impl PythonRun {
    /// A run of `python <args>` with `scratch` as `/tmp`, captured output
    /// and no limits.
    pub fn new<S: Into<String>>(
        args: impl IntoIterator<Item = S>,
        scratch: impl Into<PathBuf>,
    ) -> Self {
        Self {
            args: args.into_iter().map(Into::into).collect(),
            scratch: scratch.into(),
            cwd: None,
            extra_preopens: Vec::new(),
            extra_env: Vec::new(),
            stdin: Input::Null,
            stdout: Output::Capture,
            stderr: Output::Capture,
            deadline: None,
            memory_limit_bytes: None,
        }
    }

    /// The guest working directory this run will use.
    pub fn guest_cwd(&self) -> &str {
        self.cwd
            .as_ref()
            .map_or(GUEST_TMP, |(_, guest)| guest.as_str())
    }
}

impl Python {
    /// Loads `wasm` (through the compiled-module cache in `cache_dir`) and
    /// checks that `runtime` is a runtime tree laid out as `guest` says.
    pub fn new(
        engine: Engine,
        wasm: &Path,
        runtime: &Path,
        guest: GuestLayout,
        cache_dir: &Path,
    ) -> Result<Self> {
        let module = engine.load_module(wasm, cache_dir)?;
        Self::with_module(engine, module, runtime, guest)
    }

    /// Like [`Python::new`] for an already loaded module, e.g. one from
    /// [`Engine::load_module_with`] that reported a cache miss.
    pub fn with_module(
        engine: Engine,
        module: Module,
        runtime: &Path,
        guest: GuestLayout,
    ) -> Result<Self> {
        // Resolved once: the path may be a link another build re-points
        // while this interpreter is in use.
        let runtime = &fs_err::canonicalize(runtime)?;
        let stdlib = runtime.join(guest.stdlib_dir());
        if !stdlib.is_dir() {
            bail!(
                "{} is not a Python runtime tree: {} is not a directory",
                runtime.display(),
                stdlib.display()
            );
        }
        Ok(Self {
            engine,
            module,
            snapshot: None,
            runtime: runtime.to_path_buf(),
            guest,
            root: Arc::new(empty_root()?),
        })
    }

    /// Runs on `snapshot` (python.wasm pre-initialised, from
    /// [`make_snapshot`]) whenever a run allows it; the plain module runs
    /// the others.
    pub fn with_snapshot(mut self, snapshot: Module) -> Self {
        self.snapshot = Some(snapshot);
        self
    }

    /// The module `r` runs on: the snapshot unless there is none or `r`
    /// asks for what it cannot give.
    pub fn module_for(&self, r: &PythonRun) -> &Module {
        match &self.snapshot {
            Some(snapshot) if snapshot_refusal(&r.args, &python_env(r)).is_none() => snapshot,
            _ => &self.module,
        }
    }

    /// The engine the module was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The compiled python.wasm.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// The host runtime tree mounted at [`GUEST_PREFIX`].
    pub fn runtime(&self) -> &Path {
        &self.runtime
    }

    /// Where things are inside the guest.
    pub fn guest(&self) -> &GuestLayout {
        &self.guest
    }

    /// Runs python.wasm once; see [`run::run`] for what is an error.
    pub fn run(&self, mut r: PythonRun) -> Result<RunOutput> {
        let what = format!("cannot run python {}", r.args.join(" "));
        let module = self.module_for(&r).clone();
        // WASI has no devices; `/dev/null` is a per-run empty file (pytest
        // and logging open it), in a directory that lives as long as the run.
        let dev = dev_dir()?;
        r.extra_preopens
            .push(Preopen::read_write(dev.path(), "/dev"));
        let cfg = self.run_config(r)?;
        run::run(&self.engine, &module, cfg).with_context(|| what)
    }

    /// The [`RunConfig`] for `r`: what [`Python::run`] uses, before it adds
    /// the per-run `/dev`.
    pub fn run_config(&self, r: PythonRun) -> Result<RunConfig> {
        run_config(&self.runtime, &self.guest, self.root.path(), r)
    }
}

/// A per-run `/dev` whose `null` is an empty file (WASI has no devices;
/// pytest and logging open it).
fn dev_dir() -> Result<tempfile::TempDir> {
    let dev = tempfile::Builder::new()
        .prefix("faasm-py-dev-")
        .tempdir()
        .context("cannot create the guest's /dev")?;
    fs_err::write(dev.path().join("null"), "")?;
    Ok(dev)
}

/// An empty directory for the guest's `/`.
fn empty_root() -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("faasm-py-root-")
        .tempdir()
        .context("cannot create the guest's empty root directory")
}

/// The [`RunConfig`] of `r` with `runtime` mounted as `guest` says and
/// `root` as `/`.
fn run_config(runtime: &Path, guest: &GuestLayout, root: &Path, r: PythonRun) -> Result<RunConfig> {
    let env = python_env(&r);
    let mut args = Vec::with_capacity(r.args.len() + 1);
    args.push(guest.argv0());
    args.extend(r.args);

    let mut preopens = vec![
        Preopen::read_only(runtime, GUEST_PREFIX),
        Preopen::read_write(r.scratch, GUEST_TMP),
    ];
    if let Some((host, guest)) = r.cwd {
        if !guest.starts_with('/') {
            bail!("the guest working directory {guest:?} is not an absolute path");
        }
        preopens.push(Preopen::read_write(host, guest));
    }
    preopens.extend(r.extra_preopens);
    for preopen in &preopens {
        let inside_root = root.join(preopen.guest.trim_start_matches('/'));
        fs_err::create_dir_all(&inside_root)?;
    }
    preopens.insert(0, Preopen::read_only(root, "/"));

    Ok(RunConfig {
        args,
        env,
        preopens,
        stdin: r.stdin,
        stdout: r.stdout,
        stderr: r.stderr,
        deadline: r.deadline,
        memory_limit_bytes: r.memory_limit_bytes,
        ..RunConfig::default()
    })
}

/// The guest's locale unless a run sets another.
const FIXED_LANG: &str = "C.UTF-8";

/// The environment variable naming the modules a snapshot imports
/// (comma-separated), read by python.wasm's `wizer-initialize`.
pub const SNAPSHOT_IMPORTS_ENV: &str = "FAASM_PY_SNAPSHOT_IMPORTS";

/// python.wasm (`wasm`, not yet compiled) pre-initialised: CPython started
/// and `imports` imported, in a run set up as `base` says (its scratch
/// directory, mounts and environment; its arguments are not used). The
/// snapshot stage passes a bare run; tests add mounts. What stays fixed in
/// every run of the result is in python.wasm's entry point
/// (`third-party/shims/python-main.c`) and docs/snapshot.md.
pub fn make_snapshot(
    engine: &Engine,
    wasm: &[u8],
    runtime: &Path,
    guest: &GuestLayout,
    imports: &[String],
    mut base: PythonRun,
) -> Result<Snapshot> {
    if let Some(bad) = imports
        .iter()
        .find(|m| m.is_empty() || !m.split('.').all(is_identifier))
    {
        bail!("cannot import `{bad}` into a snapshot: it is not a dotted module name");
    }
    let root = empty_root()?;
    let dev = dev_dir()?;
    base.args.clear();
    base.extra_env
        .push((SNAPSHOT_IMPORTS_ENV.to_owned(), imports.join(",")));
    base.extra_preopens
        .push(Preopen::read_write(dev.path(), "/dev"));
    let runtime = &fs_err::canonicalize(runtime)?;
    let cfg = run_config(runtime, guest, root.path(), base)?;
    snapshot::make(
        engine,
        wasm,
        snapshot::INIT_EXPORT,
        snapshot::RESUME_EXPORT,
        cfg,
    )
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Why a run of python with `args` (without `argv[0]`) and `env` cannot use
/// a snapshot, or `None` when it can. A snapshot has made some choices once
/// and for all (the hash secret, `site`, `-O`, `-X` options, stdio
/// encoding, the locale); runs that ask for other ones run the plain
/// module. Allowed:
/// `-c`, `-m`, a script, `-`, `-u`, `-B`, `-s`, `-q`, `-i`, `-W`, and the
/// variables `PYTHONPATH`, `PYTHONUNBUFFERED`, `PYTHONDONTWRITEBYTECODE`,
/// `PYTHONWARNINGS`, `PYTHONNOUSERSITE`, `PYTHONSTARTUP` and the fixed
/// `PYTHONHOME`. python.wasm checks the same again when it resumes.
pub fn snapshot_refusal(args: &[String], env: &[(String, String)]) -> Option<String> {
    const ALLOWED_ENV: &[&str] = &[
        "PYTHONPATH",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONWARNINGS",
        "PYTHONNOUSERSITE",
        "PYTHONSTARTUP",
    ];
    for (name, value) in env {
        // The locale (and with it the stdio encoding) is chosen at start-up.
        if (name == "LANG" && value != FIXED_LANG) || name == "LC_ALL" || name == "LC_CTYPE" {
            return Some(format!("{name}={value}"));
        }
        if name == "PYTHONHOME" {
            if value != GUEST_PREFIX {
                return Some(format!("PYTHONHOME={value}"));
            }
        } else if name.starts_with("PYTHON") && !ALLOWED_ENV.contains(&name.as_str()) {
            return Some(name.clone());
        }
    }
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let Some(flags) = arg.strip_prefix('-') else {
            return None; // the script; the rest is its own
        };
        if flags.is_empty() || flags == "-" {
            return None; // `-` (stdin) or `--` (a script follows)
        }
        if flags.starts_with('-') {
            return Some(arg.clone()); // --help, --version, --check-hash-based-pycs
        }
        for (i, flag) in flags.char_indices() {
            match flag {
                'c' | 'm' => return None,
                'u' | 'B' | 's' | 'q' | 'i' => {}
                'W' => {
                    if i + 1 == flags.len() {
                        args.next();
                    }
                    break;
                }
                _ => return Some(format!("-{flag}")),
            }
        }
    }
    None
}

/// The guest environment: the fixed variables, with `extra_env` added and
/// overriding any fixed one of the same name (WASI does not deduplicate,
/// and libc's `getenv` would see the first).
pub fn python_env(r: &PythonRun) -> Vec<(String, String)> {
    let fixed = [
        ("PYTHONHOME", GUEST_PREFIX),
        ("PYTHONDONTWRITEBYTECODE", "1"),
        ("HOME", GUEST_TMP),
        ("TMPDIR", GUEST_TMP),
        ("LANG", FIXED_LANG),
        ("PWD", r.guest_cwd()),
    ];
    let overridden = |name: &str| r.extra_env.iter().any(|(k, _)| k == name);
    fixed
        .iter()
        .filter(|(k, _)| !overridden(k))
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .chain(r.extra_env.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(r: &PythonRun) -> Vec<String> {
        python_env(r)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    #[test]
    fn default_env_uses_tmp_as_cwd() {
        let r = PythonRun::new(["-c", "pass"], "/scratch");
        assert_eq!(
            env_of(&r),
            [
                "PYTHONHOME=/usr/local",
                "PYTHONDONTWRITEBYTECODE=1",
                "HOME=/tmp",
                "TMPDIR=/tmp",
                "LANG=C.UTF-8",
                "PWD=/tmp",
            ]
        );
    }

    #[test]
    fn cwd_mount_sets_pwd_and_extra_env_overrides() {
        let mut r = PythonRun::new(["-m", "test"], "/scratch");
        r.cwd = Some(("/host/work".into(), "/work".into()));
        r.extra_env = vec![("LANG".into(), "C".into()), ("X".into(), "1".into())];
        let env = env_of(&r);
        assert!(env.contains(&"PWD=/work".to_owned()));
        assert!(env.contains(&"LANG=C".to_owned()));
        assert!(!env.contains(&"LANG=C.UTF-8".to_owned()));
        assert_eq!(env.last().map(String::as_str), Some("X=1"));
    }

    fn refusal(args: &[&str], env: &[(&str, &str)]) -> Option<String> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        snapshot_refusal(&args, &env)
    }

    #[test]
    fn snapshot_serves_plain_runs_and_refuses_what_it_fixed() {
        for ok in [
            &["-c", "pass"][..],
            &["-m", "pytest", "-X", "dev"],
            &["script.py", "-O"],
            &["-u", "-B", "-W", "error", "-c", "1"],
            &["-uBWerror", "-m", "x"],
            &["-uc", "pass"],
            &["-", "-X"],
            &["--", "-S"],
            &[],
        ] {
            assert_eq!(refusal(ok, &[]), None, "{ok:?}");
        }
        assert_eq!(refusal(&["-X", "dev", "-c", "1"], &[]), Some("-X".into()));
        assert_eq!(refusal(&["-O", "-c", "1"], &[]), Some("-O".into()));
        assert_eq!(refusal(&["-uI", "x.py"], &[]), Some("-I".into()));
        assert_eq!(refusal(&["--version"], &[]), Some("--version".into()));
        let env_ok = [
            ("PYTHONHOME", GUEST_PREFIX),
            ("PYTHONPATH", "/x"),
            ("PYTHONUNBUFFERED", "1"),
            ("LANG", "C.UTF-8"),
        ];
        assert_eq!(refusal(&["-c", "1"], &env_ok), None);
        assert_eq!(
            refusal(&["-c", "1"], &[("PYTHONHASHSEED", "0")]),
            Some("PYTHONHASHSEED".into())
        );
        assert_eq!(
            refusal(&["-c", "1"], &[("LANG", "C"), ("LANG", "C.UTF-8")]),
            Some("LANG=C".into())
        );
        assert_eq!(
            refusal(&["-c", "1"], &[("PYTHONHOME", "/elsewhere")]),
            Some("PYTHONHOME=/elsewhere".into())
        );
    }
}
