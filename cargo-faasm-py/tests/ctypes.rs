//! ctypes inside python.wasm: layouts agree with the C compiler that built
//! it, memory helpers and numpy's ctypes bridges work, and what wasm32-wasi
//! cannot do (loading libraries, foreign calls, callbacks) raises a Python
//! exception that says so.

mod common;

use std::path::Path;
use std::process::Command;

use common::{assert_ok, faasm_py_run};
use serde_json::{Value, json};

/// The same types as `ctypes_checks.py`, laid out by clang for wasm32:
/// for each, sizeof, alignof and the field offsets, then the fundamental
/// types' sizes and alignments.
const LAYOUT_C: &str = r#"
#include <stdbool.h>
#include <stddef.h>
#include <wchar.h>
struct Inner { char c; double d; };
struct Mixed { char a; double b; short c; long long d; float e; void *f;
               unsigned char g[3]; struct Inner h; long i; long double j;
               wchar_t k; size_t l; bool m; };
#pragma pack(push, 1)
struct Packed { char a; int b; short c; };
#pragma pack(pop)
union Either { int i; double d; char s[13]; };
#define L(T) sizeof(T), _Alignof(T)
#define O(T, f) offsetof(T, f)
const unsigned long long layout[] = {
  L(struct Mixed), O(struct Mixed, a), O(struct Mixed, b), O(struct Mixed, c),
  O(struct Mixed, d), O(struct Mixed, e), O(struct Mixed, f), O(struct Mixed, g),
  O(struct Mixed, h), O(struct Mixed, i), O(struct Mixed, j), O(struct Mixed, k),
  O(struct Mixed, l), O(struct Mixed, m),
  L(struct Packed), O(struct Packed, a), O(struct Packed, b), O(struct Packed, c),
  L(union Either), O(union Either, i), O(union Either, d), O(union Either, s),
  L(char), L(short), L(int), L(long), L(long long), L(float), L(double),
  L(long double), L(void *), L(size_t), L(wchar_t), L(bool),
};
"#;

/// The numbers of `layout[]`, read from clang's assembly (`.int64 N`).
fn c_layout() -> Vec<u64> {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("layout.c");
    std::fs::write(&source, LAYOUT_C).unwrap();
    let clang = common::built().toolchain().join("bin/clang");
    let out = Command::new(&clang)
        .args(["-S", "-o", "-"])
        .arg(&source)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", clang.display()));
    let asm = assert_ok(&out);
    let data = asm
        .split_once("\nlayout:")
        .expect("no `layout:` label in clang's output")
        .1;
    data.lines()
        .skip(1) // the rest of the label's line
        .map_while(|line| line.trim().strip_prefix(".int64"))
        .map(|n| n.split('#').next().unwrap().trim().parse().unwrap())
        .collect()
}

fn guest_checks() -> serde_json::Map<String, Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ctypes_checks.py");
    let code = std::fs::read_to_string(&script).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = faasm_py_run(dir.path(), &["--timeout", "600"], &["-c", &code]);
    match serde_json::from_str(assert_ok(&out).trim()) {
        Ok(Value::Object(map)) => map,
        other => panic!("not a JSON object: {other:?}"),
    }
}

#[test]
fn ctypes_in_the_guest() {
    let checks = guest_checks();
    assert_eq!(checks["platform"], "wasi");

    // Layouts: the guest's ctypes against clang for wasm32, number for number.
    let layout = &checks["layout"];
    let mut guest: Vec<u64> = Vec::new();
    for name in ["Mixed", "Packed", "Either"] {
        guest.extend(
            layout[name]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap()),
        );
    }
    for pair in layout["fundamental"].as_array().unwrap() {
        guest.extend(pair.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()));
    }
    assert_eq!(
        guest,
        c_layout(),
        "ctypes layouts differ from clang's for wasm32"
    );

    assert_eq!(
        checks["memory"],
        json!({
            "pointer": [1.5, 4.5],
            "memmove": [1.5, 2.5, 3.5, 4.5],
            "memset": "xxxxx\u{0}",
            "from_buffer": [1, 7, [1, 0, 0, 0, 7, 0, 0, 0]],
            "addressof": true,
            "byref": true,
            "nested": ["q", 2.0, 9.25],
            "wstring_at": "wasm",
        })
    );
    assert_eq!(
        checks["numpy"],
        json!({
            "issue": [4, 6.0],
            "round_trip": [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]],
            "shares_memory": true,
            "data_as": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            "data": true,
            "as_ctypes_type": 10,
        })
    );

    // Refusals: the exception type, and a message that says why.
    let refused = &checks["refused"];
    let expect = |case: &str, kind: &str, words: &str| {
        let got = &refused[case];
        assert_eq!(got[0], kind, "{case}: {got}");
        let message = got[1].as_str().unwrap();
        assert!(message.contains(words), "{case}: {message}");
    };
    expect(
        "CDLL(libc)",
        "OSError",
        "libc.so.6: cannot load a library: dynamic loading is not available on wasm32-wasi",
    );
    expect(
        "LoadLibrary",
        "OSError",
        "dynamic loading is not available on wasm32-wasi",
    );
    expect(
        "CDLL(None).abs",
        "AttributeError",
        "abs: symbol lookup is not available on wasm32-wasi",
    );
    expect(
        "pythonapi",
        "AttributeError",
        "Py_GetVersion: symbol lookup is not available on wasm32-wasi",
    );
    expect(
        "call",
        "NotImplementedError",
        "foreign function calls are not available on wasm32-wasi",
    );
    expect(
        "too_many_arguments",
        "NotImplementedError",
        "foreign function calls are not available on wasm32-wasi",
    );
    expect(
        "callback",
        "NotImplementedError",
        "C callbacks are not available on wasm32-wasi",
    );
}
