//! python.wasm runs, each in a child process that is killed at its
//! deadline.
//!
//! An in-process deadline is wasmtime's epoch interruption, and its checks
//! in every loop and function entry cost numpy's suite a quarter of its
//! time (`docs/notes.md`, "Performance"). A child process needs none: the
//! guest is compiled without them, and the parent kills the process when
//! the deadline passes. A host-side crash (a wasmtime bug, the kernel's
//! out-of-memory killer) then ends one run, not the whole suite. The price
//! is a process start and two module loads from the compiled-module cache
//! per run (milliseconds), and a timeout without the guest's backtrace.
//!
//! The child is any program that calls [`serve`] with the two paths it is
//! given (cargo-faasm-py has a hidden subcommand for it): the parent writes
//! the request (what to load and the [`PythonRun`]) to one file, the child
//! writes its reply to the other. Both are this module's private format, so
//! parent and child must be the same build.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::engine::{Engine, EngineOptions};
use crate::fsutil::write_atomically;
use crate::guest::GuestLayout;
use crate::python::{Python, PythonRun};
use crate::status::{RunOutput, Status};
use crate::stdio::{CAPTURE_LIMIT, Input, Output};

/// The files a child loads: python.wasm, its snapshot, the runtime tree,
/// and the compiled-module cache (which the parent should have filled, so
/// children load in milliseconds instead of compiling side by side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PythonFiles {
    /// python.wasm.
    pub wasm: PathBuf,
    /// Its snapshot, used for every run it can serve.
    pub snapshot: Option<PathBuf>,
    /// The runtime tree mounted at [`crate::GUEST_PREFIX`].
    pub runtime: PathBuf,
    /// The CPython version, which fixes the guest's layout.
    pub python_version: String,
    /// The compiled-module cache.
    pub cache_dir: PathBuf,
}

impl PythonFiles {
    /// The files with every path made absolute and resolved, so a child
    /// loads exactly what they name now even if a link is re-pointed by a
    /// later build, or the child starts in another directory.
    pub fn resolved(self) -> Result<Self> {
        let canonical = |p: &Path| {
            fs_err::canonicalize(p).with_context(|| format!("python.wasm needs {}", p.display()))
        };
        Ok(Self {
            wasm: canonical(&self.wasm)?,
            snapshot: self.snapshot.as_deref().map(canonical).transpose()?,
            runtime: canonical(&self.runtime)?,
            python_version: self.python_version,
            cache_dir: std::path::absolute(&self.cache_dir)?,
        })
    }

    /// The guest layout of [`PythonFiles::python_version`].
    pub fn guest(&self) -> Result<GuestLayout> {
        GuestLayout::for_version(&self.python_version)
    }

    /// python.wasm and its snapshot on an engine with `options`, each taken
    /// from the compiled-module cache or compiled into it (the guest is
    /// compiled once per choice of options: deadlines and operation counting
    /// change the code). `on_compile` is called with a module's path just
    /// before it is compiled.
    pub fn load(&self, options: EngineOptions, on_compile: impl Fn(&Path)) -> Result<Python> {
        let engine = Engine::new(options)?;
        let module = |wasm: &Path| {
            engine
                .load_module_with(wasm, &self.cache_dir, || on_compile(wasm))
                .map(|loaded| loaded.module)
        };
        let python = Python::with_module(
            engine.clone(),
            module(&self.wasm)?,
            &self.runtime,
            self.guest()?,
        )?;
        Ok(match &self.snapshot {
            Some(snapshot) => python.with_snapshot(module(snapshot)?),
            None => python,
        })
    }
}

/// python.wasm run in child processes: [`IsolatedPython::run`] takes the
/// same [`PythonRun`] as [`Python::run`] and gives the same [`RunOutput`],
/// except that a timed-out run has no backtrace.
#[derive(Debug, Clone)]
pub struct IsolatedPython {
    program: PathBuf,
    args: Vec<OsString>,
    files: PythonFiles,
    max_wasm_stack: usize,
}

/// What the parent asks of a child.
#[derive(Debug, Serialize, Deserialize)]
struct Request {
    files: PythonFiles,
    max_wasm_stack: usize,
    /// The run, without a deadline (the parent keeps that) and with
    /// captured streams replaced by `capture` files.
    run: PythonRun,
    /// Where the child writes what it captured of stdout and stderr.
    capture: [Option<PathBuf>; 2],
}

/// What a child answers.
#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    /// The guest ran and ended so.
    Ran { status: Status, elapsed: Duration },
    /// The run could not be set up (what [`Python::run`] returns as `Err`).
    Failed(String),
}

const REQUEST_FILE: &str = "request.json";
const REPLY_FILE: &str = "reply.json";
const STDOUT_FILE: &str = "stdout";
const STDERR_FILE: &str = "stderr";

impl IsolatedPython {
    /// Runs go to `program args… REQUEST REPLY`, which must call [`serve`]
    /// with the last two arguments.
    pub fn new(
        program: impl Into<PathBuf>,
        args: impl IntoIterator<Item = impl Into<OsString>>,
        files: PythonFiles,
    ) -> Result<Self> {
        let files = files.resolved()?;
        // A bad version fails here, not in every child.
        files.guest()?;
        Ok(Self {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            files,
            max_wasm_stack: EngineOptions::default().max_wasm_stack,
        })
    }

    /// Loads the modules in this process as each child will, which fills
    /// the compiled-module cache (compiling python.wasm takes a while; two
    /// children should not both do it). `on_compile` is called with a
    /// module's path just before it is compiled.
    pub fn load_here(&self, on_compile: impl Fn(&Path)) -> Result<Python> {
        load(&self.files, self.max_wasm_stack, on_compile)
    }

    /// The files each child loads.
    pub fn files(&self) -> &PythonFiles {
        &self.files
    }

    /// Runs python.wasm once in a child process, which is killed if
    /// `r.deadline` passes. `Err` when the run cannot be set up (as for
    /// [`Python::run`]) or the child cannot be started; a child that dies
    /// without answering is a [`Status::Trapped`] run.
    pub fn run(&self, mut r: PythonRun) -> Result<RunOutput> {
        let exchange = tempfile::Builder::new()
            .prefix("faasm-py-child-")
            .tempdir()
            .context("cannot create a directory for a child's request")?;
        let dir = exchange.path();
        let deadline = r.deadline.take();
        // The child captures in memory as an in-process run would, and
        // writes what it captured to these files.
        let capture = [(&r.stdout, STDOUT_FILE), (&r.stderr, STDERR_FILE)]
            .map(|(output, name)| (*output == Output::Capture).then(|| dir.join(name)));
        let stdin = match r.stdin {
            Input::Inherit => Stdio::inherit(),
            Input::Null | Input::Bytes(_) => Stdio::null(),
        };
        // The child's own stderr is always the parent's (a panic shows
        // there); its stdout only when the guest's is.
        let stdout = match r.stdout {
            Output::Inherit => Stdio::inherit(),
            Output::Capture | Output::File(_) => Stdio::null(),
        };
        let request = Request {
            files: self.files.clone(),
            max_wasm_stack: self.max_wasm_stack,
            run: r,
            capture: capture.clone(),
        };
        let request_path = dir.join(REQUEST_FILE);
        let reply_path = dir.join(REPLY_FILE);
        fs_err::write(&request_path, serde_json::to_vec(&request)?)?;
        let started = Instant::now();
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .arg(&request_path)
            .arg(&reply_path)
            .stdin(stdin)
            .stdout(stdout)
            .spawn()
            .with_context(|| format!("cannot start {}", self.program.display()))?;
        let Some(exit) = wait_until(&mut child, deadline)? else {
            return Ok(RunOutput {
                status: Status::TimedOut {
                    after: started.elapsed(),
                    backtrace: String::new(),
                },
                stdout: read_capture(capture[0].as_deref()),
                stderr: read_capture(capture[1].as_deref()),
                elapsed: started.elapsed(),
                operations: None,
            });
        };
        let reply = fs_err::read(&reply_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Reply>(&bytes).ok());
        let (status, elapsed) = match reply {
            Some(Reply::Ran { status, elapsed }) => (status, elapsed),
            Some(Reply::Failed(why)) => bail!("{why}"),
            None => (
                Status::Trapped {
                    reason: format!("its process ended without an answer ({exit})"),
                },
                started.elapsed(),
            ),
        };
        Ok(RunOutput {
            status,
            stdout: read_capture(capture[0].as_deref()),
            stderr: read_capture(capture[1].as_deref()),
            elapsed,
            operations: None,
        })
    }
}

/// What a child captured of one stream (nothing if it wrote nothing).
fn read_capture(path: Option<&Path>) -> Vec<u8> {
    use std::io::Read;
    let Some(path) = path else {
        return Vec::new();
    };
    let mut bytes = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(CAPTURE_LIMIT as u64).read_to_end(&mut bytes);
    }
    bytes
}

/// Waits for `child`, killing it once `deadline` (from now) has passed:
/// `None` then. Polls, first often (most runs are short), then every 20 ms.
pub fn wait_until(child: &mut Child, deadline: Option<Duration>) -> Result<Option<ExitStatus>> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child
            .try_wait()
            .context("cannot wait for a child process")?
        {
            return Ok(Some(status));
        }
        if deadline.is_some_and(|d| started.elapsed() > d) {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// The child's side: reads the request at `request`, runs it, and writes
/// the reply to `reply`. `Err` only when the request cannot be read or the
/// reply cannot be written; a run that cannot be set up is a reply too.
pub fn serve(request: &Path, reply: &Path) -> Result<()> {
    let bytes = fs_err::read(request)?;
    let request: Request = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a run request", request.display()))?;
    let answer = match run_request(request) {
        Ok(answer) => answer,
        Err(err) => Reply::Failed(format!("{err:#}")),
    };
    write_atomically(reply, &serde_json::to_vec(&answer)?)
}

/// python.wasm and its snapshot, as `files` names them, on a child's
/// engine: no epoch checks, since the deadline is the parent's.
fn load(files: &PythonFiles, max_wasm_stack: usize, on_compile: impl Fn(&Path)) -> Result<Python> {
    let options = EngineOptions {
        max_wasm_stack,
        deadlines: false,
        count_operations: false,
    };
    files.load(options, on_compile)
}

fn run_request(request: Request) -> Result<Reply> {
    let Request {
        files,
        max_wasm_stack,
        run,
        capture,
    } = request;
    // The parent kept the deadline; the request has none.
    let out = load(&files, max_wasm_stack, |_| {})?.run(run)?;
    for (path, bytes) in capture.iter().zip([&out.stdout, &out.stderr]) {
        if let Some(path) = path {
            fs_err::write(path, bytes)?;
        }
    }
    Ok(Reply::Ran {
        status: out.status,
        elapsed: out.elapsed,
    })
}
