//! End to end through the CLI: `cargo faasm-py run` on the real python.wasm.
//!
//! Each test runs the built binary as cargo would (`cargo-faasm-py faasm-py …`)
//! from a scratch working directory. `run` brings stale stages up to date
//! first, so on a machine without a build the first test pays for it.

mod common;

use std::process::Output;

use common::{assert_ok, faasm_py_run, text};

fn python(code: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    faasm_py_run(dir.path(), &[], &["-c", code])
}

#[test]
fn reports_wasi_and_the_pinned_version() {
    let out = python("import sys; print(sys.platform, '%d.%d' % sys.version_info[:2])");
    assert_eq!(
        assert_ok(&out),
        format!("wasi {}\n", common::guest().short_version())
    );
}

#[test]
fn stdlib_c_modules_compute_real_results() {
    // Each line checks a module against a value known independently.
    let code = r#"
import zlib, bz2, lzma, json, decimal, re, unicodedata, datetime, hashlib
data = b"faasm-py " * 100
assert zlib.decompress(zlib.compress(data)) == data
assert zlib.crc32(b"hello") == 907060870
assert bz2.decompress(bz2.compress(data)) == data
assert lzma.decompress(lzma.compress(data)) == data
assert json.loads(json.dumps({"a": [1, 2.5, None]})) == {"a": [1, 2.5, None]}
decimal.getcontext().prec = 30
assert str(decimal.Decimal(1) / decimal.Decimal(7)) == "0.142857142857142857142857142857"
assert re.sub(r"(\d+)", lambda m: str(int(m[1]) * 2), "a1b22") == "a2b44"
assert unicodedata.name("\u00e9") == "LATIN SMALL LETTER E WITH ACUTE"
assert unicodedata.normalize("NFD", "\u00e9") == "e\u0301"
d = datetime.date(2024, 2, 28) + datetime.timedelta(days=2)
assert d.isoformat() == "2024-03-01"
assert hashlib.sha256(b"abc").hexdigest().startswith("ba7816bf")
print("ok")
"#;
    assert_eq!(assert_ok(&python(code)), "ok\n");
}

#[test]
fn runs_a_script_from_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hello.py"),
        "import sys\nopen('out.txt', 'w').write('written')\nprint('args', sys.argv[1:])\n",
    )
    .unwrap();
    let out = faasm_py_run(dir.path(), &[], &["hello.py", "x", "--y"]);
    assert_eq!(assert_ok(&out), "args ['x', '--y']\n");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.txt")).unwrap(),
        "written"
    );
}

#[test]
fn the_exit_code_is_the_guests() {
    let out = python("import sys; sys.exit(7)");
    assert_eq!(out.status.code(), Some(7));
}

#[test]
fn host_files_outside_the_mounts_are_invisible() {
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "secret").unwrap();
    let code = format!(
        "import os\nfor p in [{:?}, '/etc/passwd', '/root', '/proc/self/environ']:\n    try:\n        open(p).read()\n        print('READ', p)\n    except OSError as e:\n        print('denied', type(e).__name__)\n",
        secret.path().display().to_string()
    );
    let out = assert_ok(&python(&code));
    assert!(!out.contains("READ"), "{out}");
    assert_eq!(out.matches("denied").count(), 4, "{out}");
}

#[test]
fn the_runtime_tree_is_read_only() {
    let code = r#"
import os, sys
target = os.__file__
for attempt in (lambda: open(target, "a"), lambda: open(os.path.join(sys.prefix, "new.txt"), "w"),
                lambda: os.remove(target)):
    try:
        attempt()
        print("WROTE")
    except OSError as e:
        print("refused", e.errno)
"#;
    let out = assert_ok(&python(code));
    assert!(!out.contains("WROTE"), "{out}");
    assert_eq!(out.matches("refused").count(), 3, "{out}");
}

#[test]
fn an_infinite_loop_is_stopped_by_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = faasm_py_run(dir.path(), &["--timeout", "2"], &["-c", "while True: pass"]);
    assert_eq!(out.status.code(), Some(124), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("timed out after 2"), "{err}");
    // Generous: the first run may compile python.wasm before the clock starts.
    assert!(started.elapsed().as_secs() < 300);
}

#[test]
fn cpython_regression_tests_pass() {
    let dir = tempfile::tempdir().unwrap();
    let out = faasm_py_run(
        dir.path(),
        &["--timeout", "900"],
        &[
            "-m",
            "test",
            "test_math",
            "test_json",
            "test_re",
            "test_struct",
            "test_float",
            "test_decimal",
            "test_zlib",
        ],
    );
    let stdout = assert_ok(&out);
    assert!(stdout.contains("Result: SUCCESS"), "{stdout}");
    assert!(stdout.contains("All 7 tests OK"), "{stdout}");
}

#[test]
fn functions_registered_under_other_signatures_answer_as_natively() {
    // numpy's scalar __copy__ (METH_NOARGS with one parameter upstream) and
    // ndarray.dtype's setter (no closure parameter upstream) trapped before
    // CPython tolerated such calls; sloppy-ext declares one of each kind.
    let code = r#"
import copy, warnings, numpy as np, sloppy_ext
c = sloppy_ext.Counter(); c.value = 5
print(sloppy_ext.noargs(), sloppy_ext.varargs(1, 2), sloppy_ext.fast_kw_sum(3, 4), c.bump(), c.method_sum(1))
warnings.simplefilter("ignore")  # setting dtype is deprecated in numpy 2.5
a = np.zeros(2); a.dtype = np.int64
print(copy.copy(np.float64(1.5)), a.dtype)
"#;
    assert_eq!(assert_ok(&python(code)), "noargs 2 7 6 7\n1.5 int64\n");
}

#[test]
fn a_mismatched_call_cpython_does_not_route_traps_saying_so() {
    // An extension calling through a mismatched pointer itself: nothing in
    // CPython can test that call, so it traps, and the message says what
    // it means and names the function that made the call.
    let out = python("import sloppy_ext._sloppy as s; print(s.call_mismatched_pointer())");
    assert_eq!(out.status.code(), Some(134), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "indirect call type mismatch: a C function was called through a pointer of another type"
        ) && stderr.contains("call_mismatched_pointer"),
        "{stderr}"
    );
}
