//! Runs python.wasm (or any WASI preview-1 command module) under wasmtime.
//!
//! - [`Engine`]: one wasmtime engine configured for CPython, with the epoch
//!   ticker that makes deadlines work and an on-disk cache of compiled
//!   modules.
//! - [`run()`]: one isolated guest run described by a [`RunConfig`], ending
//!   in a [`RunOutput`] whose [`Status`] says how the guest ended.
//! - [`GuestLayout`]: where everything is inside the guest, derived from the
//!   CPython version.
//! - [`Python`]: python.wasm with its runtime tree, run with the
//!   environment and mounts it expects ([`PythonRun`]).
//! - [`isolated`]: the same runs in child processes, killed at their
//!   deadline, so the guest needs no epoch checks.
//! - [`runner`] and [`suite`]: test suites, one trial per test module, and
//!   the baseline, gate and reports that judge them.
//!
//! A Rust host embeds python.wasm like this (see `examples/run_python.rs`):
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use harness::{Engine, EngineOptions, GuestLayout, Python, PythonRun, Status};
//!
//! let engine = Engine::new(EngineOptions::default())?;
//! let guest = GuestLayout::for_version("3.13.5")?;
//! let python = Python::new(
//!     engine,
//!     "target/faasm-py/python.wasm".as_ref(),
//!     "target/faasm-py/runtime".as_ref(),
//!     guest,
//!     "/tmp/compiled-modules".as_ref(),
//! )?;
//! let scratch = tempfile::tempdir()?;
//! let out = python.run(PythonRun::new(["-c", "print(6 * 7)"], scratch.path()))?;
//! assert_eq!(out.status, Status::Exited(0));
//! assert_eq!(out.stdout, b"42\n");
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod byte_names;
mod cache;
mod engine;
mod epoch;
mod error;
mod fsutil;
pub mod guest;
pub mod guest_files;
pub mod isolated;
mod limiter;
mod memo;
mod python;
mod run;
pub mod runner;
pub mod snapshot;
mod status;
mod stdio;
pub mod suite;
pub mod text;

pub use cache::{Loaded, cache_file_name};
pub use engine::{Engine, EngineOptions};
pub use epoch::TICK;
pub use guest::{GUEST_PREFIX, GUEST_TMP, GuestLayout, PythonVersion};
pub use python::{
    Python, PythonRun, SNAPSHOT_IMPORTS_ENV, make_snapshot, python_env, snapshot_refusal,
};
pub use run::{DEFAULT_NATIVE_STACK, Preopen, RunConfig, run};
pub use status::{RunOutput, Status};
pub use stdio::{CAPTURE_LIMIT, Input, Output};
pub use wasmtime::Module;
