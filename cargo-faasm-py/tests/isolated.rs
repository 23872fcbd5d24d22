//! python.wasm runs in child processes (harness::isolated), as `cargo
//! faasm-py test` runs suite modules: what a run gets and gives is what an
//! in-process run gets and gives, a deadline kills the child, and a child
//! that dies without answering is a failed run, not a host error. Runs the
//! real python.wasm (`cargo faasm-py build`).

mod common;

use std::time::{Duration, Instant};

use harness::isolated::IsolatedPython;
use harness::{Input, PythonRun, Status};

#[test]
fn a_child_run_sees_its_arguments_input_and_environment_and_its_output_comes_back() {
    let python = common::isolated_python();
    let scratch = tempfile::tempdir().unwrap();
    let mut run = PythonRun::new(
        [
            "-c",
            "import os, sys; print(sys.argv[1:], os.environ['WHO'], sys.stdin.read()); \
             sys.stderr.write('to stderr'); sys.exit(3)",
            "one",
            "two",
        ],
        scratch.path(),
    );
    run.extra_env = vec![("WHO".into(), "child".into())];
    run.stdin = Input::Bytes(b"from stdin".to_vec());
    let out = python.run(run).unwrap();
    assert_eq!(
        (
            out.status,
            common::text(&out.stdout),
            common::text(&out.stderr)
        ),
        (
            Status::Exited(3),
            "['one', 'two'] child from stdin\n".to_owned(),
            "to stderr".to_owned()
        )
    );
}

#[test]
fn a_deadline_kills_the_child() {
    let python = common::isolated_python();
    let scratch = tempfile::tempdir().unwrap();
    let mut run = PythonRun::new(
        ["-u", "-c", "print('started')\nwhile True: pass"],
        scratch.path(),
    );
    run.deadline = Some(Duration::from_secs(2));
    let started = Instant::now();
    let out = python.run(run).unwrap();
    assert!(
        matches!(out.status, Status::TimedOut { after, .. } if after >= Duration::from_secs(2)),
        "{:?}",
        out.status
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_child_that_dies_without_answering_is_a_failed_run() {
    let files = common::isolated_python().files().clone();
    // A "child" that kills itself before it answers, as a host-side crash
    // (or the kernel's out-of-memory killer) would.
    let python = IsolatedPython::new("sh", ["-c", "kill -9 $$", "sh"], files).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let out = python
        .run(PythonRun::new(["-c", "pass"], scratch.path()))
        .unwrap();
    match out.status {
        Status::Trapped { reason } => assert!(
            reason.contains("without an answer") && reason.contains("9"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_run_that_cannot_be_set_up_is_an_error_naming_why() {
    let python = common::isolated_python();
    let scratch = tempfile::tempdir().unwrap();
    let mut run = PythonRun::new(["-c", "pass"], scratch.path());
    run.cwd = Some((scratch.path().to_owned(), "relative/dir".into()));
    let err = python.run(run).unwrap_err();
    assert!(
        format!("{err:#}").contains("not an absolute path"),
        "{err:#}"
    );
}
