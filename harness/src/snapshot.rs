//! Pre-initialised modules: run a module's initialisation export once and
//! save the instance (memory and globals) as a new module, with
//! wasmtime-wizer, so that later runs start where it ended.
//!
//! The guest runs under a [`RunConfig`] like any run (WASI context, mounts,
//! limits); only the entry point differs.

use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};

use anyhow::{Context, Result, bail};
use wasmtime::{Instance, Module, Store, Val};
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

use crate::engine::Engine;
use crate::error::WasmtimeResultExt;
use crate::run::{self, Host, RunConfig};
use crate::status::{RunOutput, Status};

/// The export python.wasm's snapshot starts from (wizer's default name).
pub const INIT_EXPORT: &str = "wizer-initialize";
/// python.wasm's export that becomes the snapshot's `_start`.
pub const RESUME_EXPORT: &str = "faasm-py-resume";

/// The harness's sources that decide what a snapshot holds: how a run is
/// set up and how its instance is saved. A build tool that caches snapshots
/// makes them part of its cache key (the `snapshot` stage's recipe).
pub const SOURCES: &[&str] = &[
    include_str!("snapshot.rs"),
    include_str!("python.rs"),
    include_str!("run.rs"),
    include_str!("byte_names.rs"),
];

/// A module saved after its initialisation, with what the initialisation
/// printed.
#[derive(Debug)]
pub struct Snapshot {
    /// The pre-initialised module.
    pub wasm: Vec<u8>,
    /// How the initialisation ended (always [`Status::Exited`] `0` here)
    /// and what it printed.
    pub init: RunOutput,
}

/// Instantiates `wasm` under `cfg`, calls its `init` export (which takes and
/// returns nothing) and returns the instance saved as a module whose
/// `_start` is the export `resume` (the original `_start` would run the
/// initialisation's constructors again). An initialisation that traps,
/// exits or runs out of time is an error that says how it ended and what it
/// printed on stderr.
pub fn make(
    engine: &Engine,
    wasm: &[u8],
    init: &str,
    resume: &str,
    cfg: RunConfig,
) -> Result<Snapshot> {
    let mut wizer = Wizer::new();
    wizer.init_func(init).func_rename("_start", resume);
    let (cx, instrumented) = wizer
        .instrument(wasm)
        .wt()
        .context("cannot prepare the module for a snapshot")?;
    let module = Module::new(engine.wasmtime(), &instrumented)
        .wt()
        .context("cannot compile the module to snapshot")?;
    let (init, saved) = run::prepare(engine, cfg)?.execute(&module, init, |store, instance| {
        block_on(wizer.snapshot(&cx, &mut Saving { store, instance }))
            .wt()
            .context("cannot save the initialised module")
    })?;
    match saved {
        Some(wasm) if init.status == Status::Exited(0) => Ok(Snapshot { wasm, init }),
        _ => bail!(
            "the initialisation before the snapshot {}; it printed:\n{}",
            init.status,
            String::from_utf8_lossy(&init.stderr).trim_end()
        ),
    }
}

/// The instance's state as wizer reads it.
struct Saving<'a> {
    store: &'a mut Store<Host>,
    instance: Instance,
}

impl InstanceState for Saving<'_> {
    async fn global_get(&mut self, name: &str, _type: ValType) -> SnapshotVal {
        // wizer only asks for globals its instrumentation exported.
        let global = self
            .instance
            .get_global(&mut *self.store, name)
            .expect("wizer asks for globals it exported");
        match global.get(&mut *self.store) {
            Val::I32(x) => SnapshotVal::I32(x),
            Val::I64(x) => SnapshotVal::I64(x),
            Val::F32(x) => SnapshotVal::F32(x),
            Val::F64(x) => SnapshotVal::F64(x),
            Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            other => panic!("global {name} holds a reference ({other:?}), which wizer refuses"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self
            .instance
            .get_memory(&mut *self.store, name)
            .expect("wizer asks for memories it exported");
        contents(memory.data(&*self.store))
    }
}

/// Drives a future that never waits (wizer's snapshot over the synchronous
/// state above) to completion on this thread.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        std::thread::yield_now();
    }
}
