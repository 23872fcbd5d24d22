//! Guest outcomes of `harness::run`, on tiny hand-written WASI modules.

mod common;

use std::fs;
use std::time::Duration;

use common::{EXIT_3, engine, engine_with, hello_to, module};
use harness::{EngineOptions, Input, Output, Preopen, RunConfig, Status, run};

fn config() -> RunConfig {
    RunConfig {
        args: vec!["test.wasm".into()],
        ..RunConfig::default()
    }
}

#[test]
fn proc_exit_code_is_reported() {
    let engine = engine();
    let m = module(&engine, EXIT_3);
    let out = run(&engine, &m, config()).unwrap();
    assert_eq!(out.status, Status::Exited(3));
    assert_eq!(out.status.to_string(), "exited with code 3");
}

#[test]
fn returning_from_start_is_exit_zero() {
    let engine = engine();
    let m = module(&engine, r#"(module (func (export "_start")))"#);
    let out = run(&engine, &m, config()).unwrap();
    assert_eq!(out.status, Status::Exited(0));
    assert!(out.status.success());
}

#[test]
fn endless_loop_times_out_with_backtrace() {
    let engine = engine();
    let m = module(
        &engine,
        r#"
(module
  (func $spin (loop $l (br $l)))
  (func $outer (call $spin))
  (func (export "_start") (call $outer)))
"#,
    );
    let cfg = RunConfig {
        deadline: Some(Duration::from_millis(200)),
        ..config()
    };
    let out = run(&engine, &m, cfg).unwrap();
    match &out.status {
        Status::TimedOut { after, backtrace } => {
            assert!(*after >= Duration::from_millis(200), "{after:?}");
            assert!(backtrace.starts_with("spin <- outer"), "{backtrace}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
    assert!(
        out.status
            .to_string()
            .contains("guest was in: spin <- outer")
    );
}

#[test]
fn endless_recursion_exhausts_the_stack() {
    let engine = engine();
    let m = module(
        &engine,
        r#"
(module
  (func $recurse (param i32) (result i32)
    (call $recurse (i32.add (local.get 0) (i32.const 1))))
  (func (export "_start") (drop (call $recurse (i32.const 0)))))
"#,
    );
    let out = run(&engine, &m, config()).unwrap();
    match &out.status {
        Status::Trapped { reason } => {
            assert!(
                reason.starts_with("call stack exhausted in recurse (x"),
                "{reason}"
            );
        }
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn unreachable_names_trap_and_function() {
    let engine = engine();
    let m = module(
        &engine,
        r#"(module (func $boom unreachable) (func (export "_start") (call $boom)))"#,
    );
    let out = run(&engine, &m, config()).unwrap();
    let text = out.status.to_string();
    assert!(text.starts_with("trapped: "), "{text}");
    assert!(text.contains("unreachable"), "{text}");
    assert!(text.contains("in boom <- "), "{text}");
}

#[test]
fn refused_growth_then_trap_is_out_of_memory() {
    let engine = engine();
    let m = module(
        &engine,
        r#"
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $l
      (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then unreachable))
      (br $l))))
"#,
    );
    let cfg = RunConfig {
        memory_limit_bytes: Some(64 << 20),
        ..config()
    };
    let out = run(&engine, &m, cfg).unwrap();
    assert_eq!(out.status, Status::OutOfMemory { limit: 64 << 20 });
    assert_eq!(out.status.to_string(), "ran out of memory (limit 64 MiB)");
}

#[test]
fn initial_memory_over_the_limit_is_out_of_memory() {
    let engine = engine();
    // 2048 pages = 128 MiB.
    let m = module(
        &engine,
        r#"(module (memory (export "memory") 2048) (func (export "_start")))"#,
    );
    let cfg = RunConfig {
        memory_limit_bytes: Some(64 << 20),
        ..config()
    };
    let out = run(&engine, &m, cfg).unwrap();
    assert_eq!(out.status, Status::OutOfMemory { limit: 64 << 20 });
}

#[test]
fn stdout_and_stderr_are_captured() {
    let engine = engine();
    let out = run(&engine, &module(&engine, &hello_to(1)), config()).unwrap();
    assert_eq!(out.status, Status::Exited(0));
    assert_eq!(out.stdout, b"hello");
    assert!(out.stderr.is_empty());

    let out = run(&engine, &module(&engine, &hello_to(2)), config()).unwrap();
    assert_eq!(out.stderr, b"hello");
    assert!(out.stdout.is_empty());
}

#[test]
fn output_file_is_appended_to() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("out.log");
    fs::write(&log, "before:").unwrap();
    let engine = engine();
    let cfg = RunConfig {
        stdout: Output::File(log.clone()),
        ..config()
    };
    let out = run(&engine, &module(&engine, &hello_to(1)), cfg).unwrap();
    assert_eq!(out.status, Status::Exited(0));
    assert!(out.stdout.is_empty());
    assert_eq!(fs::read_to_string(&log).unwrap(), "before:hello");
}

#[test]
fn stdin_bytes_are_readable() {
    let engine = engine();
    let m = module(
        &engine,
        r#"
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 100))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 4) (i32.load (i32.const 8)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"#,
    );
    let cfg = RunConfig {
        stdin: Input::Bytes(b"echo me".to_vec()),
        ..config()
    };
    let out = run(&engine, &m, cfg).unwrap();
    assert_eq!(out.status, Status::Exited(0));
    assert_eq!(out.stdout, b"echo me");
}

#[test]
fn args_and_env_are_exactly_the_configured_ones() {
    let engine = engine();
    let m = module(&engine, common::DUMP_ARGS_AND_ENV);
    let cfg = RunConfig {
        args: vec!["prog".into(), "a b".into()],
        env: vec![("ONLY".into(), "this".into())],
        ..RunConfig::default()
    };
    let out = run(&engine, &m, cfg).unwrap();
    assert_eq!(out.status, Status::Exited(0));
    assert_eq!(out.stdout, b"ONLY=this\0");
    assert_eq!(out.stderr, b"prog\0a b\0");
}

/// Opens `file.txt` in the first preopen with write rights and O_TRUNC,
/// writes "XXXX" to it, and exits with the failing errno (path_open), 1000 +
/// errno (fd_write), or 0.
const WRITE_FILE: &str = r#"
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "file.txt")
  (data (i32.const 200) "XXXX")
  (func (export "_start") (local $errno i32)
    ;; fd 3 is the first preopen; oflags 8 = O_TRUNC; rights 64 = FD_WRITE.
    (local.set $errno
      (call $path_open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 8)
        (i32.const 8) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 20)))
    (if (i32.ne (local.get $errno) (i32.const 0))
      (then (call $proc_exit (local.get $errno))))
    (i32.store (i32.const 0) (i32.const 200))
    (i32.store (i32.const 4) (i32.const 4))
    (local.set $errno
      (call $fd_write (i32.load (i32.const 20)) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (i32.ne (local.get $errno) (i32.const 0))
      (then (call $proc_exit (i32.add (i32.const 1000) (local.get $errno)))))))
"#;

#[test]
fn read_only_preopen_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file.txt");
    fs::write(&file, "original").unwrap();
    let engine = engine();
    let m = module(&engine, WRITE_FILE);
    let cfg = RunConfig {
        preopens: vec![Preopen::read_only(dir.path(), "/data")],
        ..config()
    };
    let out = run(&engine, &m, cfg).unwrap();
    match out.status {
        Status::Exited(errno) => assert!((1..1000).contains(&errno), "exit {errno}"),
        other => panic!("expected an errno exit, got {other:?}"),
    }
    assert_eq!(fs::read_to_string(&file).unwrap(), "original");
}

#[test]
fn read_write_preopen_allows_writes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file.txt");
    fs::write(&file, "original").unwrap();
    let engine = engine();
    let m = module(&engine, WRITE_FILE);
    let cfg = RunConfig {
        preopens: vec![Preopen::read_write(dir.path(), "/data")],
        ..config()
    };
    let out = run(&engine, &m, cfg).unwrap();
    assert_eq!(out.status, Status::Exited(0));
    assert_eq!(fs::read_to_string(&file).unwrap(), "XXXX");
}

#[test]
fn missing_preopen_dir_is_a_setup_error_naming_it() {
    let engine = engine();
    let m = module(&engine, EXIT_3);
    let cfg = RunConfig {
        preopens: vec![Preopen::read_only("/no/such/dir", "/x")],
        ..config()
    };
    let err = run(&engine, &m, cfg).unwrap_err();
    assert!(format!("{err:#}").contains("/no/such/dir"), "{err:#}");
}

#[test]
fn unknown_import_is_a_setup_error() {
    let engine = engine();
    let m = module(
        &engine,
        r#"(module (import "env" "nope" (func)) (func (export "_start")))"#,
    );
    let err = run(&engine, &m, config()).unwrap_err();
    assert!(
        format!("{err:#}").contains("cannot instantiate the module"),
        "{err:#}"
    );
}

#[test]
fn an_engine_without_deadlines_runs_and_refuses_a_deadline() {
    let engine = engine_with(EngineOptions {
        deadlines: false,
        ..EngineOptions::default()
    });
    let m = module(&engine, EXIT_3);
    assert_eq!(
        run(&engine, &m, config()).unwrap().status,
        Status::Exited(3)
    );
    let timed = RunConfig {
        deadline: Some(Duration::from_secs(5)),
        ..config()
    };
    let err = run(&engine, &m, timed).unwrap_err();
    assert!(
        format!("{err:#}").contains("needs an engine with deadlines"),
        "{err:#}"
    );
}

#[test]
fn a_counting_engine_counts_the_operators_a_run_executes() {
    let engine = engine_with(EngineOptions {
        count_operations: true,
        ..EngineOptions::default()
    });
    // A loop of `rounds` rounds: the count must grow with the work and be
    // the same on every run.
    let looping = |rounds: u32| {
        format!(
            r#"
(module
  (func (export "_start") (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const {rounds}))))))
"#
        )
    };
    let ops = |rounds| {
        let m = module(&engine, &looping(rounds));
        let out = run(&engine, &m, config()).unwrap();
        assert_eq!(out.status, Status::Exited(0));
        out.operations
            .expect("a counting engine reports operations")
    };
    let (small, big) = (ops(1_000), ops(2_000));
    assert_eq!(small, ops(1_000), "the count is deterministic");
    // Each round is a handful of operators; doubling the rounds adds that
    // many per extra round.
    let per_round = (big - small) / 1_000;
    assert!((4..=10).contains(&per_round), "{small} then {big}");
    // An engine that does not count reports nothing.
    let plain = common::engine();
    let m = module(&plain, &looping(10));
    assert_eq!(run(&plain, &m, config()).unwrap().operations, None);
}
