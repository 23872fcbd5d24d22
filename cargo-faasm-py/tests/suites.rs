//! The test suites as a cargo test target (`harness = false`), so `cargo
//! test` and `cargo nextest run --partition count:I/N` run the same trials as
//! `cargo faasm-py test`. Which suites: `$FAASM_PY_SUITES` (comma-separated,
//! default `smoke`), each by its `[ci]` selection where it has one, as `cargo
//! faasm-py test` does; `$FAASM_PY_FULL=1` runs them whole. Needs a
//! build (`cargo faasm-py build`); without one there is nothing to run.

mod common;

use std::sync::{Arc, Mutex};

use cargo_faasm_py::commands::{SuiteOptions, plan_suite};
use harness::runner::{Interpreter, trials};
use harness::suite::SuiteDef;

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let layout = common::layout();
    if !layout.python_wasm().exists() {
        eprintln!(
            "no {}: run `cargo faasm-py build` first",
            layout.python_wasm().display()
        );
        libtest_mimic::run(&args, Vec::new()).exit();
    }
    let interp = Arc::new(Interpreter::Wasm(common::python()));
    // As `cargo faasm-py test` plans them (plan_suite), but run as trials
    // here, so the test runner can list and shard them.
    let options = SuiteOptions {
        full: std::env::var("FAASM_PY_FULL").is_ok_and(|v| v == "1"),
        ..SuiteOptions::default()
    };
    let names = std::env::var("FAASM_PY_SUITES").unwrap_or_else(|_| "smoke".into());
    let pytests = layout.pytests();
    let pins = common::pins();
    let logs = layout.reports().join("cargo-test");
    let mut all = Vec::new();
    for name in names.split(',').filter(|n| !n.is_empty()) {
        let suite = SuiteDef::load(&pytests, name).expect("suite");
        let planned = plan_suite(&layout, &pins, suite, &options, &logs).expect("selection");
        all.extend(trials(
            Arc::new(planned.plan),
            interp.clone(),
            planned.baseline,
            Arc::new(Mutex::new(Vec::new())),
        ));
    }
    libtest_mimic::run(&args, all).exit();
}
