//! The test suites as a cargo test target (`harness = false`), so `cargo
//! test` and `cargo nextest run --partition count:I/N` run the same trials as
//! `cargo faasm-py test`. Which suites: `$FAASM_PY_SUITES` (comma-separated,
//! default `smoke`), each by its `[ci]` selection where it has one, as `cargo
//! faasm-py test` does; `$FAASM_PY_FULL=1` runs them whole. Needs a
//! build (`cargo faasm-py build`); without one there is nothing to run.

mod common;

use std::sync::{Arc, Mutex};

use harness::runner::{Interpreter, Plan, trials};
use harness::suite::{Baseline, SuiteDef};

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
    let ci = !std::env::var("FAASM_PY_FULL").is_ok_and(|v| v == "1");
    let names = std::env::var("FAASM_PY_SUITES").unwrap_or_else(|_| "smoke".into());
    let pytests = layout.pytests();
    let pins = common::pins();
    let mut all = Vec::new();
    for name in names.split(',').filter(|n| !n.is_empty()) {
        let suite = SuiteDef::load(&pytests, name).expect("suite");
        let baseline = Arc::new(
            Baseline::load(&suite.baseline_path(pins.non_default_python())).expect("baseline"),
        );
        let plan = Arc::new(
            Plan::new(
                suite,
                &layout.runtime(),
                common::guest(),
                ci,
                None,
                pytests.join("support"),
                layout.reports().join("cargo-test").join(name),
            )
            .expect("selection"),
        );
        all.extend(trials(
            plan,
            interp.clone(),
            baseline,
            Arc::new(Mutex::new(Vec::new())),
        ));
    }
    libtest_mimic::run(&args, all).exit();
}
