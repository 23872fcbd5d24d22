//! Calls through one embedded `harness::Python` on the snapshot, as a host
//! that serves many calls has it: a call never sees what an earlier call
//! left (files, module globals and `sys.modules`, builtins, environment,
//! random state), and a call that traps, times out or runs out of memory
//! ends with that status while calls on other threads and the next call on
//! the same `Python` go on unharmed. The hostile cases of the embedding API,
//! beside hostile.rs's through the CLI (`cargo faasm-py build` first).

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use harness::{Python, PythonRun, RunOutput, Status};

/// The built python.wasm with its snapshot, on an engine with deadlines,
/// as an embedder loads it: the snapshot serves every run here.
fn embedded() -> Python {
    cargo_faasm_py::commands::python_files(&common::built(), &common::pins(), false)
        .and_then(|files| files.load(harness::EngineOptions::default(), |_| {}))
        .expect("cannot load python.wasm and its snapshot")
}

/// Runs `code` with `args` after it, with a fresh `/tmp`.
fn call(
    python: &Python,
    code: &str,
    args: &[&str],
    edit: impl FnOnce(&mut PythonRun),
) -> RunOutput {
    let scratch = tempfile::tempdir().unwrap();
    let mut run = PythonRun::new(
        ["-c", code].into_iter().chain(args.iter().copied()),
        scratch.path(),
    );
    edit(&mut run);
    python.run(run).expect("the run could be set up")
}

/// The stdout of a run that must exit 0.
#[track_caller]
fn ok(out: &RunOutput) -> String {
    assert_eq!(
        out.status,
        Status::Exited(0),
        "stdout:\n{}\nstderr:\n{}",
        common::text(&out.stdout),
        common::text(&out.stderr)
    );
    common::text(&out.stdout)
}

/// Leaves a mark everywhere a call can write state: the environment
/// (`os.environ` sets libc's too, from which a run's `os.environ` is
/// built), builtins, a preimported module's attributes and its C state
/// (numpy's print options), `__main__`'s globals, `sys.modules`,
/// `sys.path`, a standard-library function, the recursion limit, `/tmp`,
/// the working directory and `/dev`.
const POISON: &str = r#"
import builtins, json, os, sys, numpy
os.environ["POISON"] = "environ"
builtins.poison = numpy.poison = "attribute"
numpy.float64 = None
numpy.set_printoptions(precision=2)
poison_global = "__main__"
sys.modules["poison"] = sys
sys.path.insert(0, "/poison")
json.dumps = None
sys.setrecursionlimit(77)
for path in ("/tmp/poison", "poison", "/dev/poison"):
    with open(path, "w") as f:
        f.write("poison")
"#;

/// Prints, as a list, every mark [`POISON`] leaves that this call can see,
/// then `TAG SUM` for its first argument: a sum over numpy the host knows.
const CLEAN: &str = r#"
import builtins, json, os, sys, numpy
seen = [f"environ:{k}" for k in os.environ if k.startswith("POISON")]
seen += ["builtins"] if hasattr(builtins, "poison") else []
seen += ["numpy attribute"] if hasattr(numpy, "poison") else []
seen += ["numpy.float64"] if numpy.float64 is None else []
seen += ["numpy printoptions"] if numpy.get_printoptions()["precision"] != 8 else []
seen += ["__main__ global"] if "poison_global" in globals() else []
seen += ["sys.modules"] if "poison" in sys.modules else []
seen += ["sys.path"] if "/poison" in sys.path else []
seen += ["json.dumps"] if json.dumps is None else []
seen += ["recursion limit"] if sys.getrecursionlimit() != 1000 else []
seen += [f"tmp:{f}" for f in os.listdir("/tmp")]
seen += [f"cwd:{f}" for f in os.listdir(".") if os.getcwd() != "/tmp"]
seen += [f"dev:{f}" for f in os.listdir("/dev") if f != "null"]
tag = int(sys.argv[1])
print(seen, tag, int(numpy.arange(tag + 10).sum()))
"#;

/// A well-behaved call tagged `tag` that must see none of [`POISON`]'s
/// marks and compute its sum right.
#[track_caller]
fn clean_call(python: &Python, tag: usize) {
    let out = call(python, CLEAN, &[&tag.to_string()], |_| {});
    let sum: usize = (0..tag + 10).sum();
    assert_eq!(ok(&out), format!("[] {tag} {sum}\n"));
}

#[test]
fn a_call_never_sees_an_earlier_calls_files_globals_or_environment() {
    let python = embedded();
    // Without a working directory of its own (it is `/tmp`), and with one,
    // mounted at the same guest path in every call.
    for own_cwd in [false, true] {
        let work = tempfile::tempdir().unwrap();
        let setup = |r: &mut PythonRun| {
            if own_cwd {
                r.cwd = Some((work.path().to_owned(), "/work".into()));
                r.extra_env = vec![("POISON_GIVEN".into(), "given".into())];
            }
        };
        // The marks, seen by the call that made them: the check sees them.
        let out = call(&python, &format!("{POISON}\n{CLEAN}"), &["1"], setup);
        let seen = ok(&out);
        for mark in [
            "environ:POISON",
            "builtins",
            "numpy.float64",
            "numpy printoptions",
            "__main__ global",
            "sys.modules",
            "json.dumps",
            "recursion limit",
            "tmp:poison",
            "dev:poison",
        ] {
            assert!(
                seen.contains(mark),
                "{mark} not seen by the call that made it: {seen}"
            );
        }
        assert_eq!(seen.contains("POISON_GIVEN"), own_cwd, "{seen}");
        assert_eq!(seen.contains("cwd:poison"), own_cwd, "{seen}");
        clean_call(&python, 2);
        let next_work = tempfile::tempdir().unwrap();
        let out = call(&python, CLEAN, &["3"], |r| {
            r.cwd = Some((next_work.path().to_owned(), "/work".into()));
        });
        assert_eq!(ok(&out), format!("[] 3 {}\n", (0..13).sum::<usize>()));
    }
}

#[test]
fn a_call_cannot_write_where_the_next_call_would_look() {
    // Everything outside a call's own mounts is read-only: the shared `/`
    // and the runtime tree, where a file would outlive the call.
    let python = embedded();
    let code = r#"
import os, sys
for path in ("/planted", "/usr/planted", sys.prefix + "/planted", os.__file__):
    try:
        open(path, "a").write("x")
        print("wrote", path)
    except OSError:
        print("refused")
"#;
    assert_eq!(ok(&call(&python, code, &[], |_| {})), "refused\n".repeat(4));
    let out = call(
        &python,
        "import os, sys; print(os.path.exists('/planted'), os.path.exists(sys.prefix + '/planted'))",
        &[],
        |_| {},
    );
    assert_eq!(ok(&out), "False False\n");
}

#[test]
fn a_call_sees_only_the_environment_it_is_given() {
    let python = embedded();
    let code =
        "import os, json; os.environ['SET_BY_CALL'] = '1'; print(json.dumps(sorted(os.environ)))";
    let given = ok(&call(&python, code, &[], |r| {
        r.extra_env = vec![("GIVEN".into(), "1".into())];
    }));
    assert!(
        given.contains("\"GIVEN\"") && given.contains("SET_BY_CALL"),
        "{given}"
    );
    let next = ok(&call(&python, code, &[], |_| {}));
    assert_eq!(
        next.trim(),
        r#"["HOME", "LANG", "PWD", "PYTHONDONTWRITEBYTECODE", "PYTHONHOME", "SET_BY_CALL", "TMPDIR"]"#
    );
}

#[test]
fn every_call_draws_its_own_random_numbers() {
    let python = embedded();
    // Each generator a call can reach without a seed; tempfile's name
    // sequence too (a repeated name would collide in a shared directory).
    let code = r#"
import json, os, random, tempfile, uuid, numpy
print(json.dumps({
    "random": random.random(),
    "system_random": random.SystemRandom().random(),
    "numpy_legacy": float(numpy.random.random()),
    "numpy_default_rng": float(numpy.random.default_rng().random()),
    "urandom": os.urandom(16).hex(),
    "uuid4": str(uuid.uuid4()),
    "tempfile": next(tempfile._get_candidate_names()),
}))
"#;
    let draws: Vec<serde_json::Value> = (0..4)
        .map(|_| serde_json::from_str(&ok(&call(&python, code, &[], |_| {}))).unwrap())
        .collect();
    let kinds = draws[0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(kinds.len(), 7);
    for kind in &kinds {
        let mut values: Vec<String> = draws.iter().map(|d| d[kind].to_string()).collect();
        values.sort();
        values.dedup();
        assert_eq!(
            values.len(),
            draws.len(),
            "{kind} repeated across calls: {draws:?}"
        );
    }
}

#[test]
fn concurrent_calls_each_see_their_own_argv_environment_and_files() {
    let python = embedded();
    let code = "import os, sys, time\n\
                me = sys.argv[1]\n\
                open('/tmp/me', 'w').write(me)\n\
                open('mine', 'w').write(me)\n\
                time.sleep(0.01)\n\
                print(me, os.environ['ME'], open('/tmp/me').read(), open('mine').read(), sorted(os.listdir('/tmp')))\n";
    std::thread::scope(|s| {
        for thread in 0..3 {
            let python = &python;
            s.spawn(move || {
                for i in 0..4 {
                    let me = format!("t{thread}c{i}");
                    let work = tempfile::tempdir().unwrap();
                    let out = call(python, code, &[&me], |r| {
                        r.extra_env = vec![("ME".into(), me.clone())];
                        r.cwd = Some((work.path().to_owned(), "/work".into()));
                    });
                    assert_eq!(ok(&out), format!("{me} {me} {me} {me} ['me']\n"));
                    assert_eq!(
                        std::fs::read_to_string(work.path().join("mine")).unwrap(),
                        me
                    );
                }
            });
        }
    });
}

/// Runs `hostile` on this thread while two other threads make
/// [`clean_call`]s on the same `python` until it has ended (at least one
/// each); then one more clean call on this thread. Returns how `hostile`
/// ended.
fn alongside(python: &Python, hostile: impl FnOnce() -> RunOutput) -> RunOutput {
    let done = AtomicBool::new(false);
    let out = std::thread::scope(|s| {
        let others: Vec<_> = (0..2)
            .map(|thread| {
                let done = &done;
                s.spawn(move || {
                    let mut calls = 0;
                    while calls == 0 || !done.load(Ordering::Relaxed) {
                        clean_call(python, thread * 1000 + calls);
                        calls += 1;
                    }
                })
            })
            .collect();
        let out = hostile();
        done.store(true, Ordering::Relaxed);
        for other in others {
            if let Err(panic) = other.join() {
                std::panic::resume_unwind(panic);
            }
        }
        out
    });
    clean_call(python, 7);
    out
}

/// [`POISON`], then `code`.
fn poisoned(code: &str) -> String {
    format!("{POISON}\n{code}\n")
}

#[test]
fn a_trapping_call_does_not_disturb_the_others_or_the_next() {
    let python = embedded();
    for (how, code) in [
        // A store far outside linear memory.
        (
            "out of bounds memory access",
            "import ctypes; ctypes.memset(0xFFFFFF00, 0, 1024)",
        ),
        // abort(): wasm `unreachable`.
        (
            "unreachable",
            "import faulthandler; faulthandler._sigsegv()",
        ),
    ] {
        let out = alongside(&python, || call(&python, &poisoned(code), &[], |_| {}));
        match &out.status {
            Status::Trapped { reason } => assert!(reason.contains(how), "{reason}"),
            other => panic!("{code}: {other}\n{}", common::text(&out.stderr)),
        }
    }
}

#[test]
fn a_timed_out_call_does_not_disturb_the_others_or_the_next() {
    let python = embedded();
    let out = alongside(&python, || {
        call(&python, &poisoned("while True: pass"), &[], |r| {
            r.deadline = Some(Duration::from_secs(1));
        })
    });
    assert!(
        matches!(out.status, Status::TimedOut { after, .. } if after >= Duration::from_millis(900)),
        "{}",
        out.status
    );
}

#[test]
fn an_out_of_memory_call_does_not_disturb_the_others_or_the_next() {
    let python = embedded();
    let limit = 256 << 20;
    for code in [
        // Refused growth ends in MemoryError: exit 1, judged out of memory.
        "hoard = []\nwhile True: hoard.append(bytearray(8 << 20))",
        // One allocation beyond the cap, through numpy.
        "import numpy; numpy.ones(1 << 30, dtype=numpy.uint8)",
    ] {
        let out = alongside(&python, || {
            call(&python, &poisoned(code), &[], |r| {
                r.memory_limit_bytes = Some(limit)
            })
        });
        assert_eq!(
            out.status,
            Status::OutOfMemory { limit },
            "{code}\n{}",
            common::text(&out.stderr)
        );
    }
    // The cap is per call: the next one may use more than the last was given.
    let out = call(
        &python,
        "import numpy; print(numpy.ones(300 << 20, dtype=numpy.uint8).sum())",
        &[],
        |_| {},
    );
    assert_eq!(ok(&out), format!("{}\n", 300 << 20));
}

/// A call's working directory is its own, and so is its `/tmp`: what it
/// wrote there is the host's to read after it, and nobody else's.
#[test]
fn what_a_call_writes_lands_in_its_own_directories() {
    let python = embedded();
    let (tmp, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut run = PythonRun::new(
        [
            "-c",
            "open('/tmp/a', 'w').write('tmp'); open('b', 'w').write('work')",
        ],
        tmp.path(),
    );
    run.cwd = Some((work.path().to_owned(), "/work".into()));
    ok(&python.run(run).unwrap());
    let read = |dir: &Path, name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    assert_eq!(
        (read(tmp.path(), "a"), read(work.path(), "b")),
        ("tmp".into(), "work".into())
    );
}
