//! C++ exceptions, end to end: a program built by our toolchain's `clang++`
//! (the `cxx-runtime` stage) throws through several frames, catches by
//! type, runs destructors and rethrows, under our harness; an exception
//! nobody catches ends the run with libc++abi's message and a trap, never a
//! hang; mutexes work single-threaded and a thread fails to start. Needs a
//! build (`cargo faasm-py build`).

mod common;

use std::path::Path;
use std::process::Command;

use harness::{Engine, EngineOptions, RunConfig, Status};

/// Compiles `tests/cxx/exceptions.cpp` into `dir`.
fn build(dir: &Path) -> std::path::PathBuf {
    let layout = common::built();
    let clang = layout.cxx_runtime().join("bin/clang++");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cxx/exceptions.cpp");
    let wasm = dir.join("exceptions.wasm");
    let out = Command::new(&clang)
        .args(["-O2", "-std=c++17", "-o"])
        .arg(&wasm)
        .arg(&source)
        // python.wasm has pthread_create from CPython's stubs.
        .arg("-lwasi-emulated-pthread")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", clang.display()));
    common::assert_ok(&out);
    wasm
}

fn run(wasm: &Path, args: &[&str]) -> harness::RunOutput {
    let engine = Engine::new(EngineOptions::default()).unwrap();
    let module = harness::Module::from_file(engine.wasmtime(), wasm).unwrap();
    let mut argv = vec!["exceptions".to_owned()];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    harness::run(
        &engine,
        &module,
        RunConfig {
            args: argv,
            deadline: Some(std::time::Duration::from_secs(60)),
            ..RunConfig::default()
        },
    )
    .unwrap()
}

#[test]
fn exceptions_are_thrown_caught_and_unwound() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = build(dir.path());
    let out = run(&wasm, &[]);
    let stdout = common::text(&out.stdout);
    assert_eq!(out.status, Status::Exited(0), "{stdout}");
    for check in [
        "catch_by_base_type",
        "destructors_ran_in_order",
        "catch_int_not_exception",
        "rethrow_same_object",
        "vector_at",
        "stoi",
        "many_throws",
        "mutex_and_call_once",
        "thread_start_fails",
    ] {
        assert!(
            stdout.contains(&format!("{check} ok")),
            "{check}:\n{stdout}"
        );
    }
}

#[test]
fn an_uncaught_exception_is_a_trap_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = build(dir.path());
    let out = run(&wasm, &["uncaught"]);
    match &out.status {
        Status::Trapped { reason } => {
            assert!(reason.contains("uncaught exception"), "{reason}")
        }
        other => panic!("expected a trap, got {other}"),
    }
}

#[test]
fn python_wasm_carries_exception_tags() {
    // The C++ parts of packages (numpy's unique and pocketfft) throw and
    // catch through the standard exception-handling proposal.
    let wasm = std::fs::read(common::built().python_wasm()).unwrap();
    let has_tag_section = wasmparser::Parser::new(0)
        .parse_all(&wasm)
        .any(|p| matches!(p, Ok(wasmparser::Payload::TagSection(_))));
    assert!(has_tag_section, "python.wasm has no tag section");
}
