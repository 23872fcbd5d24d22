//! The gate never loses a module: a module whose run fails on the host side
//! (here: the interpreter cannot be started) is a regression with its
//! reason, and `run_suite` gives every module of the plan a result (so does
//! `run_reference`, the native side of `--native`, which judges nothing).
//! Needs no build: the failure is injected before any guest starts.

use std::sync::Arc;

use harness::GuestLayout;
use harness::runner::{Interpreter, Plan, run_reference, run_suite};
use harness::suite::{Baseline, CaseOutcome, SuiteDef, gate};

/// A two-module suite and an interpreter that cannot start.
fn broken_suite() -> (tempfile::TempDir, tempfile::TempDir, Plan, Interpreter) {
    let suite_dir = tempfile::tempdir().unwrap();
    for name in ["test_a.py", "test_b.py"] {
        std::fs::write(suite_dir.path().join(name), "def test_x():\n    pass\n").unwrap();
    }
    let mut suite = SuiteDef::pytest_dir("lost", suite_dir.path(), &["test_*.py"]);
    suite.timeout_secs = 30;
    suite.memory_mib = 64;
    let logs = tempfile::tempdir().unwrap();
    let plan = Plan::new(
        suite,
        suite_dir.path(),
        GuestLayout::for_version("3.99").unwrap(),
        false,
        None,
        suite_dir.path().to_owned(),
        logs.path().to_owned(),
    )
    .unwrap();
    let broken = Interpreter::Native {
        python: "/nonexistent/faasm-py-python".into(),
        site_packages: "/nonexistent".into(),
        stdlib: "/nonexistent".into(),
    };
    (suite_dir, logs, plan, broken)
}

#[test]
fn a_module_that_cannot_start_is_a_regression() {
    let (_suite_dir, _logs, plan, broken) = broken_suite();
    let baseline = Baseline::default();
    let run = run_suite(
        Arc::new(plan),
        Arc::new(broken),
        Arc::new(baseline.clone()),
        2,
    );
    let modules: Vec<&str> = run.modules.iter().map(|m| m.module.as_str()).collect();
    assert_eq!(
        modules,
        ["test_a.py", "test_b.py"],
        "every module has a result"
    );
    let verdict = gate::judge(&run, &baseline);
    assert!(
        !verdict.ok(),
        "a module that did not run must fail the gate"
    );
    assert_eq!(verdict.regressions.len(), 2);
    for regression in &verdict.regressions {
        assert_eq!(regression.outcome, CaseOutcome::Error);
        assert!(
            regression.id.ends_with("::<run>")
                && regression.message.contains("the module did not run")
                && regression.message.contains("/nonexistent/faasm-py-python"),
            "{regression:?}"
        );
    }
}

#[test]
fn the_reference_run_records_every_module_and_runs_no_trials() {
    let (_suite_dir, _logs, plan, broken) = broken_suite();
    let run = run_reference(Arc::new(plan), Arc::new(broken), 2);
    let modules: Vec<&str> = run.modules.iter().map(|m| m.module.as_str()).collect();
    assert_eq!(modules, ["test_a.py", "test_b.py"]);
    for module in &run.modules {
        assert_eq!(module.cases.len(), 1);
        assert!(
            module.cases[0]
                .message
                .contains("/nonexistent/faasm-py-python"),
            "{module:?}"
        );
    }
}
