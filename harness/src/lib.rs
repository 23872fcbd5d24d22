//! Runs python.wasm (or any WASI preview-1 command module) under wasmtime.
//!
//! - [`Engine`]: one wasmtime engine configured for CPython, with the epoch
//!   ticker that makes deadlines work and an on-disk cache of compiled
//!   modules.
//! - [`run()`]: one isolated guest run described by a [`RunConfig`], ending
//!   in an [`Outcome`] whose [`Status`] says how the guest ended.
//! - [`Python`]: the directory layout and environment python.wasm expects.
//! - [`suites`], [`runner`], [`suite`]: test suites, one trial per test
//!   module, and the baseline, gate and reports that judge them.

mod cache;
mod engine;
mod error;
mod fsutil;
mod limiter;
mod memo;
mod python;
mod run;
pub mod runner;
mod status;
mod stdio;
pub mod suite;
pub mod suites;
mod ticker;

pub use cache::{Loaded, cache_file_name};
pub use engine::{Engine, EngineOptions};
pub use python::{ARGV0, GUEST_PREFIX, GUEST_TMP, Python, PythonRun, STDLIB_DIR, python_env};
pub use run::{DEFAULT_NATIVE_STACK, Preopen, RunConfig, run};
pub use status::{Outcome, Status};
pub use stdio::{CAPTURE_LIMIT, Input, Output};
pub use ticker::TICK;
pub use wasmtime::Module;
