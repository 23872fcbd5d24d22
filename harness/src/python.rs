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
use crate::status::RunOutput;
use crate::stdio::{Input, Output};

/// python.wasm, compiled, plus the runtime tree it needs.
#[derive(Debug, Clone)]
pub struct Python {
    engine: Engine,
    module: Module,
    runtime: PathBuf,
    guest: GuestLayout,
    /// An empty directory mounted read-only at `/`: without a root, `/`
    /// does not exist for the guest and `os.makedirs("/tmp/x")` fails.
    /// Holds the mount points' parents (`/usr`) so they exist too.
    root: Arc<tempfile::TempDir>,
}

/// One python.wasm invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        let root = tempfile::Builder::new()
            .prefix("faasm-py-root-")
            .tempdir()
            .context("cannot create the guest's empty root directory")?;
        Ok(Self {
            engine,
            module,
            runtime: runtime.to_path_buf(),
            guest,
            root: Arc::new(root),
        })
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
        // WASI has no devices; `/dev/null` is a per-run empty file (pytest
        // and logging open it), in a directory that lives as long as the run.
        let dev = tempfile::Builder::new()
            .prefix("faasm-py-dev-")
            .tempdir()
            .context("cannot create the guest's /dev")?;
        fs_err::write(dev.path().join("null"), "")?;
        r.extra_preopens
            .push(Preopen::read_write(dev.path(), "/dev"));
        let cfg = self.run_config(r)?;
        run::run(&self.engine, &self.module, cfg).with_context(|| what)
    }

    /// The [`RunConfig`] for `r`: what [`Python::run`] uses, before it adds
    /// the per-run `/dev`.
    pub fn run_config(&self, r: PythonRun) -> Result<RunConfig> {
        let env = python_env(&r);
        let mut args = Vec::with_capacity(r.args.len() + 1);
        args.push(self.guest.argv0());
        args.extend(r.args);

        let mut preopens = vec![
            Preopen::read_only(&self.runtime, GUEST_PREFIX),
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
            let inside_root = self.root.path().join(preopen.guest.trim_start_matches('/'));
            fs_err::create_dir_all(&inside_root)?;
        }
        preopens.insert(0, Preopen::read_only(self.root.path(), "/"));

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
        ("LANG", "C.UTF-8"),
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
}
