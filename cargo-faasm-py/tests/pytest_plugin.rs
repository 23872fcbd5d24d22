//! The guest-side pytest plugin, run in python.wasm on a small suite: a
//! conftest that skips its directory (an optional dependency missing) skips
//! the module named below it, as running the directory would, instead of
//! stopping pytest.

mod common;

use std::sync::Arc;

use harness::runner::{Interpreter, run_suite};
use harness::suite::{Baseline, CaseOutcome, SuiteDef, gate};

#[test]
fn a_conftest_that_skips_its_directory_skips_the_module() {
    let suite_dir = tempfile::tempdir().unwrap();
    let sub = suite_dir.path().join("optional");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(
        suite_dir.path().join("test_plain.py"),
        "def test_runs():\n    assert 1 + 1 == 2\n",
    )
    .unwrap();
    std::fs::write(
        sub.join("conftest.py"),
        "import pytest\npytest.importorskip(\"faasm_py_no_such_module\")\n",
    )
    .unwrap();
    std::fs::write(
        sub.join("test_needs_it.py"),
        "def test_never_collected():\n    assert False\n",
    )
    .unwrap();
    let suite = SuiteDef::pytest_dir(
        "plugin",
        suite_dir.path(),
        &["test_*.py", "optional/test_*.py"],
    );
    let logs = tempfile::tempdir().unwrap();
    let plan = common::ad_hoc_plan(suite, logs.path());
    let baseline = Baseline::default();
    let run = run_suite(
        Arc::new(plan),
        Arc::new(Interpreter::Wasm(common::python())),
        Arc::new(baseline.clone()),
        2,
    );
    let cases: Vec<(String, CaseOutcome, String)> = run
        .modules
        .iter()
        .flat_map(|m| {
            m.cases.iter().map(|c| {
                (
                    format!("{}::{}", m.module, c.id),
                    c.outcome,
                    c.message.clone(),
                )
            })
        })
        .collect();
    assert_eq!(cases.len(), 2, "{cases:?}");
    let (_, outcome, message) = cases
        .iter()
        .find(|(id, ..)| id.starts_with("optional/"))
        .expect("the skipped module has a case");
    assert_eq!(*outcome, CaseOutcome::Skipped, "{cases:?}");
    assert!(
        message.contains("conftest skipped its directory")
            && message.contains("faasm_py_no_such_module"),
        "{message}"
    );
    assert!(gate::judge(&run, &baseline).ok(), "{cases:?}");
}
