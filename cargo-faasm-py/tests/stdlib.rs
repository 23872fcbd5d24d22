//! The guest's standard library: the issue's one-liner over ctypes, bz2,
//! lzma, sqlite3 and numpy, CPython's allocator, and the build's module
//! report against what the guest really has.

mod common;

use cargo_faasm_py::module_report::Report;
use common::{assert_ok, faasm_py_run};

#[test]
fn data_modules_and_ctypes_import_together() {
    let dir = tempfile::tempdir().unwrap();
    let out = faasm_py_run(
        dir.path(),
        &[],
        &[
            "-c",
            "import ctypes, bz2, lzma, sqlite3, numpy; print(ctypes.sizeof(ctypes.c_long), numpy.ctypeslib.as_array((ctypes.c_double*3)(1,2,3)).sum())",
        ],
    );
    assert_eq!(assert_ok(&out), "4 6.0\n");
}

#[test]
fn small_objects_come_from_pymalloc_in_the_snapshot_and_the_plain_module() {
    // configure leaves pymalloc out on WASI unless asked (cpython.rs asks):
    // without it every small object is a trip through wasi-libc's malloc.
    let dir = tempfile::tempdir().unwrap();
    let code = "import _testinternalcapi; print(_testinternalcapi.pymem_getallocatorsname())";
    for flags in [&[][..], &["--no-snapshot"][..]] {
        let out = faasm_py_run(dir.path(), flags, &["-c", code]);
        assert_eq!(assert_ok(&out), "pymalloc\n", "{flags:?}");
    }
}

#[test]
fn sqlite3_bz2_and_lzma_work_on_files() {
    let dir = tempfile::tempdir().unwrap();
    let code = r#"
import bz2, lzma, sqlite3
db = sqlite3.connect("t.db")
db.execute("create table t (k integer primary key, v text)")
db.executemany("insert into t (v) values (?)", [(bz2.compress(b"x" * n).hex(),) for n in range(50)])
db.commit()
db.close()
db = sqlite3.connect("t.db")
rows = db.execute("select v from t order by k").fetchall()
assert [len(bz2.decompress(bytes.fromhex(v))) for (v,) in rows] == list(range(50))
with lzma.open("t.xz", "wb") as f:
    f.write(b"wasm" * 1000)
with lzma.open("t.xz") as f:
    assert f.read() == b"wasm" * 1000
print(sqlite3.sqlite_version, len(rows))
"#;
    let out = faasm_py_run(dir.path(), &[], &["-c", code]);
    assert_eq!(assert_ok(&out), "3.46.1 50\n");
    // The database was written through the mounted working directory.
    assert!(dir.path().join("t.db").is_file());
}

#[test]
fn mmap_maps_memory_and_copies_of_files_never_a_file_it_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.bin"), b"0123456789").unwrap();
    let code = r#"
import errno, mmap
m = mmap.mmap(-1, 4096)
m[:5] = b"hello"
m.seek(4090)
m.write(b"end")
print(m[:5], m.find(b"end", 0), len(m))
with open("data.bin", "r+b") as f:
    try:
        mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as e:
        print(errno.errorcode[e.errno])
    copy = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY, trackfd=False)
    copy[:1] = b"X"
    print(copy[:4], mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ, trackfd=False)[:4])
    try:
        mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_WRITE, trackfd=False)
    except OSError as e:
        print(errno.errorcode[e.errno])
print(open("data.bin", "rb").read())
"#;
    let out = faasm_py_run(dir.path(), &[], &["-c", code]);
    assert_eq!(
        assert_ok(&out),
        "b'hello' 4090 4096\nENOTSUP\nb'X123' b'0123'\nENOTSUP\nb'0123456789'\n"
    );
}

#[test]
fn module_report_matches_the_guest() {
    let report = Report::load(&common::built().module_report()).unwrap();
    let unavailable: Vec<&String> = report.unavailable.iter().map(|u| &u.name).collect();
    for wanted in ["_ctypes", "_sqlite3", "_bz2", "_lzma", "zlib", "mmap"] {
        assert!(
            report.stdlib.iter().any(|m| m == wanted),
            "{wanted} not in the report"
        );
    }
    for missing in ["_posixsubprocess", "_ssl", "fcntl"] {
        assert!(
            unavailable.iter().any(|m| *m == missing),
            "{missing} not reported missing"
        );
    }
    for u in &report.unavailable {
        assert!(!u.reason.contains("no reason"), "no reason for {}", u.name);
    }
    // The guest: every reported module is built in, every missing one is not.
    let code = format!(
        "import sys, json; b = set(sys.builtin_module_names); print(json.dumps([[m for m in {all:?} if m not in b], [m for m in {missing:?} if m in b]]))",
        all = report
            .stdlib
            .iter()
            .chain(&report.packages)
            .collect::<Vec<_>>(),
        missing = unavailable,
    );
    let dir = tempfile::tempdir().unwrap();
    let out = assert_ok(&faasm_py_run(dir.path(), &[], &["-c", &code]));
    assert_eq!(
        out.trim(),
        "[[], []]",
        "report and sys.builtin_module_names disagree"
    );
}
