//! Running a WASI preview-1 command module once, in isolation.
//!
//! Every run gets a fresh store and WASI context holding exactly the
//! arguments, environment, directories and streams in its [`RunConfig`], and
//! executes on its own thread so the guest can have a large native stack.

use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use wasmtime::{Instance, Linker, Module, Store, Trap};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::byte_names;
use crate::engine::Engine;
use crate::epoch::TICK;
use crate::error::WasmtimeResultExt;
use crate::limiter::MemoryLimiter;
use crate::status::{self, RunOutput, Status};
use crate::stdio::{self, Input, Output, Stream};

/// Native stack beyond the engine's `max_wasm_stack` that a guest thread
/// always gets, for host calls (WASI) and wasmtime's own frames.
const HOST_STACK_HEADROOM: usize = 8 << 20;

/// Default [`RunConfig::native_stack`].
pub const DEFAULT_NATIVE_STACK: usize = 80 << 20;

/// A host directory made visible to the guest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Preopen {
    /// Directory on the host.
    pub host: PathBuf,
    /// Absolute path at which the guest sees it.
    pub guest: String,
    /// Whether the guest may create, modify and delete files in it.
    pub writable: bool,
}

impl Preopen {
    /// A directory the guest can only read.
    pub fn read_only(host: impl Into<PathBuf>, guest: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            guest: guest.into(),
            writable: false,
        }
    }

    /// A directory the guest can read and write.
    pub fn read_write(host: impl Into<PathBuf>, guest: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            guest: guest.into(),
            writable: true,
        }
    }
}

/// Everything that defines one guest run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunConfig {
    /// Guest argv; `args[0]` is the program name.
    pub args: Vec<String>,
    /// The guest's entire environment; nothing is inherited from the host.
    pub env: Vec<(String, String)>,
    /// Directories visible to the guest.
    pub preopens: Vec<Preopen>,
    /// The guest's standard input.
    pub stdin: Input,
    /// Where the guest's stdout goes.
    pub stdout: Output,
    /// Where the guest's stderr goes.
    pub stderr: Output,
    /// Wall-clock limit; the guest is stopped (with a backtrace) after it.
    /// Resolution is [`crate::TICK`].
    pub deadline: Option<Duration>,
    /// Cap on each linear memory, in bytes.
    pub memory_limit_bytes: Option<usize>,
    /// Native stack of the thread the guest runs on. Raised if needed to the
    /// engine's `max_wasm_stack` plus room for host calls.
    pub native_stack: usize,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            args: Vec::new(),
            env: Vec::new(),
            preopens: Vec::new(),
            stdin: Input::Null,
            stdout: Output::Capture,
            stderr: Output::Capture,
            deadline: None,
            memory_limit_bytes: None,
            native_stack: DEFAULT_NATIVE_STACK,
        }
    }
}

/// Per-store host state.
pub(crate) struct Host {
    pub(crate) wasi: WasiP1Ctx,
    pub(crate) limiter: MemoryLimiter,
    /// Host names that are not UTF-8 ([`byte_names`]).
    pub(crate) names: byte_names::Names,
}

/// A store and linker set up for one guest under a [`RunConfig`]: its WASI
/// context, memory limit and deadline, with the guest's output collectors.
pub(crate) struct Prepared {
    store: Store<Host>,
    linker: Linker<Host>,
    stdout: stdio::Captured,
    stderr: stdio::Captured,
    deadline: Option<Duration>,
    memory_limit_bytes: Option<usize>,
    /// Native stack the guest's thread needs.
    stack: usize,
}

/// Sets up the WASI context, linker and store for `cfg`.
pub(crate) fn prepare(engine: &Engine, cfg: RunConfig) -> Result<Prepared> {
    let RunConfig {
        args,
        env,
        preopens,
        stdin,
        stdout,
        stderr,
        deadline,
        memory_limit_bytes,
        native_stack,
    } = cfg;

    let mut builder = WasiCtxBuilder::new();
    builder
        .args(&args)
        .envs(&env)
        // The guest runs on a dedicated thread in a synchronous call, so
        // blocking filesystem calls there need no detour through tokio.
        .allow_blocking_current_thread(true);
    let names = byte_names::Names::new(&preopens);
    for p in &preopens {
        let perms = if p.writable {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        builder
            .preopened_dir(&p.host, &p.guest, perms)
            .wt()
            .with_context(|| format!("cannot mount {} at {}", p.host.display(), p.guest))?;
    }
    stdio::set_stdin(&mut builder, stdin);
    let out = stdio::set_output(&mut builder, Stream::Stdout, &stdout)?;
    let err = stdio::set_output(&mut builder, Stream::Stderr, &stderr)?;

    let mut linker: Linker<Host> = Linker::new(engine.wasmtime());
    p1::add_to_linker_sync(&mut linker, |h: &mut Host| &mut h.wasi)
        .wt()
        .context("cannot add WASI preview 1 to the linker")?;
    byte_names::install(&mut linker, |h| &mut h.wasi, |h| &mut h.names)
        .wt()
        .context("cannot add the WASI functions for names that are not UTF-8")?;

    let mut store = Store::new(
        engine.wasmtime(),
        Host {
            wasi: builder.build_p1(),
            limiter: MemoryLimiter::new(memory_limit_bytes),
            names,
        },
    );
    store.limiter(|h| &mut h.limiter);
    if engine.options().count_operations {
        store
            .set_fuel(OPERATIONS_BUDGET)
            .wt()
            .context("cannot give the run its operation counter")?;
    }
    if engine.options().deadlines {
        store.set_epoch_deadline(deadline.map_or(u64::MAX / 2, deadline_ticks));
        store.epoch_deadline_trap();
    } else if let Some(d) = deadline {
        bail!(
            "a run with a deadline ({d:?}) needs an engine with deadlines (EngineOptions::deadlines)"
        );
    }
    let stack = native_stack.max(
        engine
            .options()
            .max_wasm_stack
            .saturating_add(HOST_STACK_HEADROOM),
    );
    Ok(Prepared {
        store,
        linker,
        stdout: out,
        stderr: err,
        deadline,
        memory_limit_bytes,
        stack,
    })
}

/// Runs `f` on a thread of its own with `stack` bytes of native stack (the
/// guest's frames live there), and waits for it.
pub(crate) fn on_guest_thread<R: Send>(
    stack: usize,
    f: impl FnOnce() -> Result<R> + Send,
) -> Result<R> {
    thread::scope(|scope| {
        thread::Builder::new()
            .name("wasm-guest".into())
            .stack_size(stack)
            .spawn_scoped(scope, f)
            .context("cannot spawn the guest thread")?
            .join()
            .map_err(|panic| anyhow!("the guest thread panicked: {}", panic_message(&panic)))?
    })
}

/// What a run's memory limit makes of a guest's end: a refused growth that
/// ended in a trap or a failing exit is running out of memory.
pub(crate) fn judge_memory(limit: Option<usize>, status: Status, refused: bool) -> Status {
    match (limit, status) {
        (Some(limit), Status::Trapped { .. }) if refused => Status::OutOfMemory { limit },
        (Some(limit), Status::Exited(code)) if refused && code != 0 => {
            Status::OutOfMemory { limit }
        }
        (_, status) => status,
    }
}

impl Prepared {
    /// On a guest thread: instantiates `module`, calls its `export` (which
    /// takes and returns nothing) and, when that returns, `then` with the
    /// store and instance. Returns how the guest ended, what it printed,
    /// and what `then` gave (`None` when the guest did not return).
    pub(crate) fn execute<R: Send>(
        self,
        module: &Module,
        export: &str,
        then: impl FnOnce(&mut Store<Host>, Instance) -> Result<R> + Send,
    ) -> Result<(RunOutput, Option<R>)> {
        let Prepared {
            mut store,
            linker,
            stdout,
            stderr,
            deadline,
            memory_limit_bytes,
            stack,
        } = self;
        let (status, elapsed, refused, operations, after) = on_guest_thread(stack, move || {
            let start = Instant::now();
            let result = match linker.instantiate(&mut store, module) {
                Ok(instance) => {
                    let entry = instance
                        .get_typed_func::<(), ()>(&mut store, export)
                        .wt()
                        .with_context(|| format!("the module has no `{export}() -> ()` export"))?;
                    entry.call(&mut store, ()).map(|()| instance)
                }
                // The start function trapped, exited, or an initial memory
                // was refused: all guest outcomes.
                Err(e) if is_guest_failure(&e) || store.data().limiter.refused() => Err(e),
                Err(e) => return Err(e).wt().context("cannot instantiate the module"),
            };
            let elapsed = start.elapsed();
            // Err when the engine does not count: then there is no count.
            let operations = store.get_fuel().ok().map(|left| OPERATIONS_BUDGET - left);
            let refused = store.data().limiter.refused();
            Ok(match result {
                Ok(instance) => (
                    Status::Exited(0),
                    elapsed,
                    refused,
                    operations,
                    Some(then(&mut store, instance)?),
                ),
                Err(e) => (
                    status::classify(&e, elapsed, deadline.is_some()),
                    elapsed,
                    refused,
                    operations,
                    None,
                ),
            })
        })?;
        let output = RunOutput {
            status: judge_memory(memory_limit_bytes, status, refused),
            stdout: stdout.bytes(),
            stderr: stderr.bytes(),
            elapsed,
            operations,
        };
        Ok((output, after))
    }
}

/// Runs `module`'s `_start` under `cfg`.
///
/// Returns `Err` only when the run cannot be set up (a preopen or output
/// file that cannot be opened, a module with unsatisfiable imports or no
/// `_start`). Whatever the guest does ends up in [`RunOutput::status`].
pub fn run(engine: &Engine, module: &Module, cfg: RunConfig) -> Result<RunOutput> {
    let (output, _) = prepare(engine, cfg)?.execute(module, "_start", |_, _| Ok(()))?;
    Ok(output)
}

/// The fuel a counting run starts with: wasmtime keeps fuel as an i64, and
/// no run comes near this many operators.
const OPERATIONS_BUDGET: u64 = i64::MAX as u64;

/// Ticks from now until `deadline` has surely passed: the next tick may
/// come at any moment, hence one extra.
fn deadline_ticks(deadline: Duration) -> u64 {
    let ticks = deadline.as_nanos().div_ceil(TICK.as_nanos()) + 1;
    u64::try_from(ticks)
        .unwrap_or(u64::MAX / 2)
        .min(u64::MAX / 2)
}

pub(crate) fn is_guest_failure(e: &wasmtime::Error) -> bool {
    e.is::<Trap>() || e.is::<I32Exit>()
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_ticks_round_up_plus_one() {
        assert_eq!(deadline_ticks(Duration::from_millis(200)), 21);
        assert_eq!(deadline_ticks(Duration::from_millis(1)), 2);
        assert_eq!(deadline_ticks(Duration::ZERO), 1);
        assert_eq!(deadline_ticks(Duration::MAX), u64::MAX / 2);
    }
}
