//! One wasmtime engine configured for CPython, plus its epoch ticker.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use wasmtime::{Module, OptLevel, WasmBacktraceDetails};

use crate::cache::{self, Loaded};
use crate::epoch::EpochTicker;
use crate::error::WasmtimeResultExt;

/// Knobs for [`Engine::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    /// Bytes of native stack a guest may use before it traps with "call
    /// stack exhausted". CPython recurses deeply (test_json overflows the
    /// 512 KiB default), so the default is 16 MiB.
    pub max_wasm_stack: usize,
    /// Whether runs may have a deadline ([`crate::RunConfig::deadline`]).
    /// Deadlines are wasmtime's epoch interruption: the compiled code
    /// checks the epoch in every loop and function entry, which costs
    /// about a fifth of the guest's speed (pure Python, measured in
    /// `docs/notes.md`). Without it runs are faster, and a run that asks
    /// for a deadline is an error. Default: true.
    pub deadlines: bool,
    /// Whether each run counts the WebAssembly operators it executes
    /// ([`crate::RunOutput::operations`], wasmtime's fuel). Unlike time, the
    /// count does not depend on the machine's load, so two builds can be
    /// compared on a noisy machine; the counter slows the guest down, so
    /// time nothing on such an engine. Default: false.
    pub count_operations: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            max_wasm_stack: 16 << 20,
            deadlines: true,
            count_operations: false,
        }
    }
}

/// A wasmtime engine for running CPython, with (unless
/// [`EngineOptions::deadlines`] is off) a background thread that advances
/// its epoch so runs can have deadlines.
///
/// Cloning is cheap and shares the engine and ticker; the ticker stops when
/// the last clone is dropped.
#[derive(Clone)]
pub struct Engine {
    inner: wasmtime::Engine,
    options: EngineOptions,
    /// Advances the epoch; only for an engine with deadlines.
    _ticker: Option<Arc<EpochTicker>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Builds the engine and starts its epoch ticker.
    pub fn new(options: EngineOptions) -> Result<Self> {
        let mut config = wasmtime::Config::new();
        config
            .epoch_interruption(options.deadlines)
            .consume_fuel(options.count_operations)
            .max_wasm_stack(options.max_wasm_stack)
            // With the `async` feature compiled in, wasmtime refuses a
            // max_wasm_stack larger than the async stack, even for sync calls.
            .async_stack_size(options.max_wasm_stack.saturating_add(1 << 20))
            .cranelift_opt_level(OptLevel::Speed)
            .parallel_compilation(true)
            // Fixed rather than read from WASMTIME_BACKTRACE_DETAILS, so the
            // environment cannot change the compiled artefact.
            .wasm_backtrace_details(WasmBacktraceDetails::Disable);
        let inner = wasmtime::Engine::new(&config)
            .wt()
            .with_context(|| format!("cannot configure wasmtime with {options:?}"))?;
        let ticker = if options.deadlines {
            Some(Arc::new(EpochTicker::start(&inner)?))
        } else {
            None
        };
        Ok(Self {
            inner,
            options,
            _ticker: ticker,
        })
    }

    /// The underlying wasmtime engine. Deadlines only work while this
    /// [`Engine`] (or a clone) is alive, since it owns the ticker.
    pub fn wasmtime(&self) -> &wasmtime::Engine {
        &self.inner
    }

    /// The options this engine was built with.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Loads `wasm`, reusing a precompiled copy from `cache_dir` when one
    /// matches this engine; see [`Engine::load_module_with`].
    pub fn load_module(&self, wasm: &Path, cache_dir: &Path) -> Result<Module> {
        Ok(self.load_module_with(wasm, cache_dir, || {})?.module)
    }

    /// Loads `wasm` through the on-disk cache in `cache_dir`, calling
    /// `on_compile` just before a (slow) compilation starts, so a CLI can say
    /// why the first run after a rebuild takes a while.
    pub fn load_module_with(
        &self,
        wasm: &Path,
        cache_dir: &Path,
        on_compile: impl FnOnce(),
    ) -> Result<Loaded> {
        cache::load(&self.inner, wasm, cache_dir, on_compile)
    }
}
