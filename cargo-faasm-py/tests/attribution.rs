//! Guest failures are charged to the test case that caused them, and the
//! other trials still run: an endless loop (deadline), a C stack overflow
//! (trap) and endless allocation (memory cap), each in its own module next
//! to a passing case; in this process (epoch deadlines) and in child
//! processes killed at the deadline (as `cargo faasm-py test` runs). Runs
//! the real python.wasm (`cargo faasm-py build`).

mod common;

use harness::runner::{Interpreter, module_regressions, run_module};
use harness::suite::{Baseline, CaseOutcome, ModuleResult, SuiteDef};

#[test]
fn failures_are_charged_to_their_case_and_the_other_trials_run_in_process() {
    failures_are_charged_to_their_case(Interpreter::Wasm(common::python()));
}

#[test]
fn failures_are_charged_to_their_case_and_the_other_trials_run_in_child_processes() {
    failures_are_charged_to_their_case(Interpreter::WasmProcess(common::isolated_python()));
}

fn failures_are_charged_to_their_case(interp: Interpreter) {
    let suite_dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "test_loop.py",
            "def test_ok():\n    pass\n\ndef test_forever():\n    while True:\n        pass\n",
        ),
        (
            "test_stack.py",
            "import sys\n\ndef test_ok():\n    pass\n\ndef test_overflow():\n    # C recursion (repr of a deeply nested list): CPython's guard or the\n    # wasm stack limit stops it, never the host.\n    sys.setrecursionlimit(10**7)\n    nested = []\n    for _ in range(10**6):\n        nested = [nested]\n    repr(nested)\n",
        ),
        (
            "test_alloc.py",
            "def test_ok():\n    pass\n\ndef test_endless():\n    hoard = []\n    while True:\n        hoard.append(bytearray(16 << 20))\n",
        ),
        ("test_fine.py", "def test_a():\n    assert 1 + 1 == 2\n"),
    ];
    for (name, text) in files {
        std::fs::write(suite_dir.path().join(name), text).unwrap();
    }
    let mut suite = SuiteDef::pytest_dir("attribution", suite_dir.path(), &["test_*.py"]);
    // The passing module shares the cores with three that burn CPU to their
    // deadline (and, in CI, with everything else the machine runs): 15 s
    // was too tight for it on a loaded 2-core machine.
    suite.timeout_secs = 30;
    suite.memory_mib = 256;
    let logs = tempfile::tempdir().unwrap();
    let plan = common::ad_hoc_plan(suite, logs.path());
    // The modules run side by side, as trials do; each fails alone.
    let results: Vec<ModuleResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = plan
            .modules
            .iter()
            .map(|module| scope.spawn(|| run_module(&plan, &interp, module).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let baseline = Baseline::default();
    let regressed: Vec<&str> = results
        .iter()
        .filter(|m| !module_regressions(m, &baseline).is_empty())
        .map(|m| m.module.as_str())
        .collect();
    assert_eq!(
        regressed,
        ["test_alloc.py", "test_loop.py", "test_stack.py"]
    );

    let outcome = |id: &str| {
        results
            .iter()
            .flat_map(|m| &m.cases)
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no result for {id}: {results:#?}"))
            .clone()
    };
    for module in ["test_loop.py", "test_stack.py", "test_alloc.py"] {
        assert_eq!(
            outcome(&format!("{module}::test_ok")).outcome,
            CaseOutcome::Passed
        );
    }
    assert_eq!(outcome("test_fine.py::test_a").outcome, CaseOutcome::Passed);

    let forever = outcome("test_loop.py::test_forever");
    assert_eq!(forever.outcome, CaseOutcome::Timeout, "{forever:?}");
    assert!(forever.message.contains("timed out"), "{forever:?}");

    let overflow = outcome("test_stack.py::test_overflow");
    assert!(overflow.outcome.is_failure(), "{overflow:?}");
    assert!(
        overflow.message.contains("stack") || overflow.message.contains("Recursion"),
        "{overflow:?}"
    );

    let endless = outcome("test_alloc.py::test_endless");
    assert!(endless.outcome.is_failure(), "{endless:?}");
    assert!(
        endless.message.contains("memory") || endless.message.contains("MemoryError"),
        "{endless:?}"
    );
}
