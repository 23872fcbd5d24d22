//! `cargo faasm-py`: build CPython for wasm32-wasi and run it under wasmtime.

mod cli;
mod commands;
mod commands_test;
mod digest;
mod fetch;
mod inittab;
mod layout;
mod modules;
mod pins;
mod process;
mod stage;
mod stages;
mod symbols;
mod ui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli::Cargo::FaasmPy(args) = cli::Cargo::parse();
    match commands::dispatch(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
