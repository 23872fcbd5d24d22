//! Helpers shared by the integration tests: tiny WASI modules written in
//! WAT.

#![allow(dead_code)]

use harness::{Engine, EngineOptions, Module};

pub fn engine() -> Engine {
    engine_with(EngineOptions::default())
}

pub fn engine_with(options: EngineOptions) -> Engine {
    Engine::new(options).expect("engine")
}

pub fn module(engine: &Engine, wat: &str) -> Module {
    let wasm = wat::parse_str(wat).expect("valid wat");
    Module::new(engine.wasmtime(), wasm).expect("module compiles")
}

pub const EXIT_3: &str = r#"
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $proc_exit (i32.const 3))))
"#;

/// Writes "hello" to file descriptor `fd`.
pub fn hello_to(fd: u32) -> String {
    format!(
        r#"
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 5))
    (drop (call $fd_write (i32.const {fd}) (i32.const 0) (i32.const 1) (i32.const 8)))))
"#
    )
}

/// Writes its environment (NUL-separated) to stdout and its arguments to
/// stderr.
pub const DUMP_ARGS_AND_ENV: &str = r#"
(module
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get"
    (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $write_buf (param $fd i32)
    (i32.store (i32.const 16) (i32.const 8192))
    (i32.store (i32.const 20) (i32.load (i32.const 4)))
    (drop (call $fd_write (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 24))))
  (func (export "_start")
    (drop (call $environ_sizes_get (i32.const 0) (i32.const 4)))
    (drop (call $environ_get (i32.const 1024) (i32.const 8192)))
    (call $write_buf (i32.const 1))
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (drop (call $args_get (i32.const 1024) (i32.const 8192)))
    (call $write_buf (i32.const 2))))
"#;
