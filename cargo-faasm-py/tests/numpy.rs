//! numpy inside python.wasm, checked against the native wheel of the same
//! version on the host.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{assert_ok, faasm_py_run};

fn guest(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    faasm_py_run(dir.path(), &["--timeout", "600"], args)
}

fn parse(json: &str) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::from_str(json.trim()) {
        Ok(serde_json::Value::Object(map)) => map,
        other => panic!("not a JSON object: {other:?}\n{json}"),
    }
}

fn close(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-10 * x.abs().max(y.abs()).max(1.0)
        }
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| close(x, y)),
        _ => a == b,
    }
}

#[test]
fn guest_results_match_native_numpy() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/numpy_checks.py");
    let code = std::fs::read_to_string(&script).unwrap();
    let wasm = parse(&assert_ok(&guest(&["-c", &code])));
    let native_python = common::built().native_env().join("bin/python");
    let native = parse(&assert_ok(
        &Command::new(&native_python)
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", native_python.display())),
    ));
    assert_eq!(
        wasm.keys().collect::<Vec<_>>(),
        native.keys().collect::<Vec<_>>()
    );
    assert!(wasm.len() > 80, "only {} checks ran", wasm.len());
    let mut mismatches = Vec::new();
    for (key, value) in &wasm {
        let reference = &native[key];
        let same = if key.starts_with("approx:") {
            close(value, reference)
        } else {
            value == reference
        };
        if !same {
            mismatches.push(format!("{key}:\n  wasm   {value}\n  native {reference}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    let pinned = common::locked_version("numpy");
    assert_eq!(wasm["version"], serde_json::Value::String(pinned));
}

#[test]
fn test_only_extension_modules_import() {
    let modules = [
        "numpy._core._multiarray_tests",
        "numpy._core._umath_tests",
        "numpy._core._rational_tests",
        "numpy._core._struct_ufunc_tests",
        "numpy._core._operand_flag_tests",
    ];
    let code = format!(
        "import importlib\nfor m in {modules:?}:\n    importlib.import_module(m)\nimport numpy._core._multiarray_tests as t\nprint(type(t).__name__, t.__name__)\n"
    );
    let out = assert_ok(&guest(&["-c", &code]));
    assert_eq!(out, "module numpy._core._multiarray_tests\n");
}

#[test]
fn show_config_describes_the_wasm_build() {
    let code = "import numpy; c = numpy.show_config(mode='dicts'); print(c['Machine Information']['host']['cpu'], c['Machine Information']['host']['system'], c['Compilers']['c++']['name'])";
    let out = assert_ok(&guest(&["-c", code]));
    assert_eq!(out, "wasm32 wasi clang\n");
}

#[test]
fn blas_and_lapack_are_the_pinned_openblas() {
    // numpy's build found OpenBLAS, BLAS and LAPACK, through its pkg-config
    // file; numpy.linalg no longer uses its bundled lapack_lite.
    let code = "import numpy; d = numpy.show_config(mode='dicts')['Build Dependencies']; b, l = d['blas'], d['lapack']; print(b['name'], b['found'], b['version'], b['detection method'], 'WASM128_GENERIC' in b['openblas configuration'], l['name'], l['found'], l['version'])";
    let out = assert_ok(&guest(&["-c", code]));
    let pinned = common::pins().get("openblas").unwrap().version.clone();
    assert_eq!(
        out,
        format!("openblas True {pinned} pkgconfig True openblas True {pinned}\n")
    );
}

#[test]
fn unique_by_hashing_runs_its_cpp_exception_paths() {
    // numpy >= 2.3 compiles its hash-based unique with C++ exceptions.
    let code = "import numpy as np; print(np.__version__, np.unique(np.array([3, 1, 3, 2]), sorted=False).size)";
    let out = assert_ok(&guest(&["-c", code]));
    let pinned = common::locked_version("numpy");
    assert_eq!(out, format!("{pinned} 3\n"));
}
