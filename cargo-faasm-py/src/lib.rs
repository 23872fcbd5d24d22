//! `cargo faasm-py` as a library: it builds CPython and its packages for
//! wasm32-wasi into one static `python.wasm`, and runs it (and the packages'
//! own test suites) under wasmtime through the `harness` crate.
//!
//! Data flows one way: [`pins`] → [`fetch`] → [`stages`] (toolchain, host
//! python, C libraries, cpython, packages, link, runtime), run by the
//! [`pipeline`] engine into paths from [`layout`]; [`commands`] are what the
//! CLI ([`cli`]) asks for.

pub mod adapters;
pub mod assets;
pub mod cargo_project;
pub mod cli;
pub mod commands;
pub mod digest;
pub mod fetch;
pub mod inittab;
pub mod layout;
pub mod lock;
pub mod mistake;
pub mod module_report;
pub mod namespace;
pub mod pins;
pub mod pipeline;
pub mod plan;
pub mod process;
pub mod project;
pub mod pyproject;
pub mod resolve;
pub mod stage_id;
pub mod stages;
pub mod symbols;
pub mod ui;
