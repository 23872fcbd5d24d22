//! The snapshot (python-snapshot.wasm): runs of one snapshot each see their
//! own arguments, environment, working directory, mounts and random state;
//! nothing of the process that made it (open files, its PYTHONPATH) is
//! left; runs it cannot serve go to the plain module, or are refused by the
//! snapshot itself with the option named.

mod common;

use std::path::Path;

use harness::{Preopen, PythonRun, Status};

/// The built snapshot, loaded alone (every run goes to it).
fn snapshot_only() -> harness::Python {
    snapshot_only_with(harness::EngineOptions::default())
}

/// [`snapshot_only`] on an engine with `options`.
fn snapshot_only_with(options: harness::EngineOptions) -> harness::Python {
    let layout = common::built();
    let engine = harness::Engine::new(options).expect("engine");
    harness::Python::new(
        engine,
        &layout.python_snapshot_wasm(),
        &layout.runtime(),
        common::guest(),
        &layout.compiled_modules(),
    )
    .expect("cannot load python-snapshot.wasm")
}

const REPORT: &str = r#"
import json, os, sys
first = 'numpy' in sys.modules
import random, numpy
print(json.dumps({
    "preimported": first,
    "argv": sys.argv[1:],
    "env": os.environ.get("WHO"),
    "getenv": os.getenv("WHO"),
    "cwd": os.getcwd(),
    "files": sorted(os.listdir(".")),
    "mine": sorted(os.listdir("/only-" + sys.argv[1])),
    "others": sorted(f for d in os.listdir("/") if d.startswith("only-") and d != "only-" + sys.argv[1] for f in os.listdir("/" + d)),
    "random": random.random(),
    "np_random": float(numpy.random.random()),
    "path0": sys.path[0],
}))
"#;

fn report_run(python: &harness::Python, who: &str, dir: &Path) -> serde_json::Value {
    std::fs::write(dir.join(format!("{who}.txt")), who).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let mut run = PythonRun::new(["-c", REPORT, who, "--flag"], scratch.path());
    run.cwd = Some((dir.to_owned(), format!("/work-{who}")));
    run.extra_env = vec![("WHO".into(), who.into())];
    let extra = tempfile::tempdir().unwrap();
    std::fs::write(extra.path().join(format!("{who}.data")), who).unwrap();
    run.extra_preopens = vec![Preopen::read_only(extra.path(), format!("/only-{who}"))];
    let out = python.run(run).expect("run");
    assert_eq!(
        out.status,
        Status::Exited(0),
        "{}",
        common::text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the guest printed JSON")
}

#[test]
fn each_run_of_one_snapshot_is_its_own() {
    let python = snapshot_only();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = report_run(&python, "alice", a_dir.path());
    let b = report_run(&python, "bob", b_dir.path());
    for (r, who) in [(&a, "alice"), (&b, "bob")] {
        assert_eq!(r["preimported"], true, "numpy is imported in the snapshot");
        assert_eq!(r["argv"], serde_json::json!([who, "--flag"]));
        assert_eq!(r["env"], who);
        assert_eq!(r["getenv"], who);
        assert_eq!(r["cwd"], format!("/work-{who}"));
        assert_eq!(r["files"], serde_json::json!([format!("{who}.txt")]));
        // Its own mount, and nothing of another run's (the mount points
        // of earlier runs stay as empty directories in the shared `/`).
        assert_eq!(r["mine"], serde_json::json!([format!("{who}.data")]));
        assert_eq!(r["others"], serde_json::json!([]));
        assert_eq!(r["path0"], "", "-c puts '' first on sys.path");
    }
    assert_ne!(a["random"], b["random"], "random is reseeded per run");
    assert_ne!(
        a["np_random"], b["np_random"],
        "numpy's global RandomState too"
    );
}

#[test]
fn nothing_of_the_snapshotting_process_is_left() {
    let layout = common::built();
    // A module, imported while snapshotting, that keeps a file object and a
    // raw descriptor open, from a directory on that process's PYTHONPATH;
    // and a second module, as `preimport` lists several.
    let leak = tempfile::tempdir().unwrap();
    std::fs::write(leak.path().join("second.py"), "").unwrap();
    std::fs::write(leak.path().join("data.txt"), "secret").unwrap();
    std::fs::write(
        leak.path().join("leaky.py"),
        "import os\nf = open('/leak/data.txt')\nfd = os.open('/leak/data.txt', os.O_RDONLY)\n",
    )
    .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let mut base = PythonRun::new(Vec::<String>::new(), scratch.path());
    base.extra_env = vec![("PYTHONPATH".into(), "/leak".into())];
    base.extra_preopens = vec![Preopen::read_only(leak.path(), "/leak")];
    let engine = harness::Engine::new(harness::EngineOptions::default()).unwrap();
    let wasm = std::fs::read(layout.python_wasm()).unwrap();
    let snapshot = harness::make_snapshot(
        &engine,
        &wasm,
        &layout.runtime(),
        &common::guest(),
        &["leaky".to_owned(), "second".to_owned()],
        base,
    )
    .expect("snapshot");
    let module = harness::Module::new(engine.wasmtime(), &snapshot.wasm).expect("compile");
    let python =
        harness::Python::with_module(engine, module, &layout.runtime(), common::guest()).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let code = r#"
import os, sys
leaky = sys.modules["leaky"]
try:
    os.fstat(leaky.fd)
    fd = "open"
except OSError:
    fd = "closed"
print(leaky.f.closed, fd, "/leak" in sys.path, os.path.exists("/leak"), "second" in sys.modules)
"#;
    let out = python
        .run(PythonRun::new(["-c", code], scratch.path()))
        .unwrap();
    assert_eq!(
        out.status,
        Status::Exited(0),
        "{}",
        common::text(&out.stderr)
    );
    assert_eq!(common::text(&out.stdout), "True closed False False True\n");
}

#[test]
fn options_the_snapshot_fixed_are_refused_by_it_and_served_by_the_plain_module() {
    // The snapshot itself names the option it cannot honour.
    let python = snapshot_only();
    let scratch = tempfile::tempdir().unwrap();
    let out = python
        .run(PythonRun::new(["-O", "-c", "pass"], scratch.path()))
        .unwrap();
    assert_eq!(out.status, Status::Exited(2));
    assert!(
        common::text(&out.stderr).contains("started without -O (optimize)"),
        "{}",
        common::text(&out.stderr)
    );
    // Bad options give python's usage and status 2, as natively.
    let out = python.run(PythonRun::new(["-Z"], scratch.path())).unwrap();
    assert_eq!(out.status, Status::Exited(2));
    assert!(common::text(&out.stderr).contains("usage:"));

    // `run` sends such runs to the plain module, which honours them.
    let cwd = tempfile::tempdir().unwrap();
    let out = common::faasm_py_run(
        cwd.path(),
        &[],
        &[
            "-O",
            "-X",
            "dev",
            "-c",
            "import sys; print(sys.flags.optimize, sys.flags.dev_mode)",
        ],
    );
    assert_eq!(common::assert_ok(&out), "1 True\n");
}

#[test]
fn run_options_apply_on_the_snapshot() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("mod_here.py"), "X = 7\n").unwrap();
    let code = "import sys, warnings, mod_here\n\
                print(sys.flags.dont_write_bytecode, sys.flags.no_user_site, mod_here.X)\n\
                warnings.warn('w', DeprecationWarning)";
    let out = common::faasm_py_run(cwd.path(), &[], &["-B", "-s", "-c", code]);
    assert_eq!(common::assert_ok(&out), "1 1 7\n");
    // -W error turns the warning into an exception: exit status 1.
    let out = common::faasm_py_run(cwd.path(), &[], &["-W", "error", "-c", code]);
    assert_eq!(out.status.code(), Some(1), "{}", common::text(&out.stderr));
    assert!(common::text(&out.stderr).contains("DeprecationWarning: w"));
    // A script's directory goes first on sys.path; its exit status is kept.
    std::fs::write(
        cwd.path().join("script.py"),
        "import sys, mod_here\nprint(sys.argv, sys.path[0])\nsys.exit(3)\n",
    )
    .unwrap();
    let out = common::faasm_py_run(cwd.path(), &[], &["script.py", "x"]);
    assert_eq!(out.status.code(), Some(3), "{}", common::text(&out.stderr));
    let guest_cwd = cwd.path().to_str().unwrap();
    assert_eq!(
        common::text(&out.stdout),
        format!("['script.py', 'x'] {guest_cwd}\n")
    );
}

#[test]
fn run_environment_variables_apply_on_the_snapshot() {
    // The PYTHON* variables a snapshot serves, read from this run's
    // environment as a fresh interpreter reads them at start-up.
    let python = snapshot_only();
    let lib = tempfile::tempdir().unwrap();
    std::fs::write(lib.path().join("from_lib.py"), "X = 11\n").unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let code = "import sys, warnings, from_lib\n\
                print(from_lib.X, sys.path[:2], sys.flags.dont_write_bytecode, \
                sys.flags.no_user_site, sys.warnoptions, sys.stdout.write_through)\n\
                warnings.warn('w', UserWarning)";
    let mut run = PythonRun::new(["-c", code], scratch.path());
    run.extra_preopens = vec![Preopen::read_only(lib.path(), "/lib")];
    run.extra_env = vec![
        ("PYTHONPATH".into(), "/lib".into()),
        ("PYTHONWARNINGS".into(), "error::UserWarning".into()),
        ("PYTHONUNBUFFERED".into(), "1".into()),
        ("PYTHONNOUSERSITE".into(), "1".into()),
    ];
    let out = python.run(run).unwrap();
    assert_eq!(
        out.status,
        Status::Exited(1),
        "{}",
        common::text(&out.stderr)
    );
    assert_eq!(
        common::text(&out.stdout),
        "11 ['', '/lib'] 1 1 ['error::UserWarning'] True\n"
    );
    assert!(common::text(&out.stderr).contains("UserWarning: w"));
}

#[test]
fn a_run_of_the_snapshot_ends_as_python_does() {
    // The snapshot skips tearing the interpreter down; what a program can
    // see of its end is the plain module's: atexit callbacks, buffered
    // stdout, files left open reaching the disk, the exit status.
    let script = "import atexit, sys\n\
                  f = open('text.txt', 'w'); f.write('unflushed text')\n\
                  g = open('bytes.bin', 'wb'); g.write(b'unflushed bytes')\n\
                  atexit.register(print, 'atexit ran')\n\
                  sys.stdout.write('no newline ')\n\
                  if sys.argv[1] == 'exit': sys.exit(7)\n\
                  if sys.argv[1] == 'raise': raise ValueError('boom')\n";
    for (how, status) in [("return", 0), ("exit", 7), ("raise", 1)] {
        let mut seen = Vec::new();
        // -q: the CLI's own notes (compiling a module) are not the guest's.
        for flags in [&["-q"][..], &["-q", "--no-snapshot"][..]] {
            let cwd = tempfile::tempdir().unwrap();
            let out = common::faasm_py_run(cwd.path(), flags, &["-c", script, how]);
            let stderr = common::text(&out.stderr);
            assert_eq!(out.status.code(), Some(status), "{how} {flags:?}: {stderr}");
            assert_eq!(common::text(&out.stdout), "no newline atexit ran\n");
            assert_eq!(
                stderr.contains("ValueError: boom"),
                how == "raise",
                "{stderr}"
            );
            let text = std::fs::read_to_string(cwd.path().join("text.txt")).unwrap();
            let bytes = std::fs::read(cwd.path().join("bytes.bin")).unwrap();
            assert_eq!(
                (text.as_str(), &bytes[..]),
                ("unflushed text", &b"unflushed bytes"[..])
            );
            seen.push(stderr);
        }
        assert_eq!(
            seen[0], seen[1],
            "{how}: stderr differs between snapshot and plain"
        );
    }
}

#[test]
fn a_run_of_the_snapshot_does_not_tear_the_interpreter_down() {
    // Both ways out of a run (returning, and sys.exit, which goes through
    // Py_Exit) reach python-main.c's wrappers instead of Py_FinalizeEx,
    // which would deallocate the whole snapshot (numpy included) in every
    // run. Counted, not timed: about 3.6 M operators with the wrappers,
    // 16.7 M when finalization runs (2026-12-06).
    let python = snapshot_only_with(harness::EngineOptions {
        deadlines: false,
        count_operations: true,
        ..harness::EngineOptions::default()
    });
    for (code, status) in [("pass", 0), ("import sys; sys.exit(3)", 3)] {
        let scratch = tempfile::tempdir().unwrap();
        let out = python
            .run(PythonRun::new(["-c", code], scratch.path()))
            .unwrap();
        assert_eq!(out.status, Status::Exited(status), "{code}");
        let operations = out.operations.expect("a counting engine counts");
        assert!(
            operations < 8_000_000,
            "`{code}` took {operations} operators: did the run finalize the interpreter?"
        );
    }
}
