//! Hostile guests and bad input: each case asserts containment and a
//! clear message (one line naming what and where, or a contained guest
//! failure with its exit code and reason), and that nothing of the host
//! changed. Guest cases run the real python.wasm through the CLI (`cargo
//! faasm-py build` first); bad-input cases run the CLI on a scratch
//! workspace of their own. The same through one embedded `harness::Python`
//! (isolation between its calls; a trapping, timed-out or out-of-memory
//! call beside others and before the next) are in embedded.rs.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_ok, faasm_py_run, text};

/// Runs `code` in a fresh working directory; returns the output and the
/// directory (kept alive by the caller).
fn guest_in(dir: &Path, flags: &[&str], code: &str) -> Output {
    faasm_py_run(dir, flags, &["-c", code])
}

fn guest(code: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    guest_in(dir.path(), &[], code)
}

/// A host file the guest must never read or change.
fn secret() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "host secret").unwrap();
    file
}

/// Runs `code` (whose lines print `ok NAME` or `BAD NAME …`) and asserts
/// every line is `ok`, and that there are `expected` of them.
#[track_caller]
fn all_ok(out: &Output, expected: usize) {
    let stdout = assert_ok(out);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.iter().all(|l| l.starts_with("ok ")),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert_eq!(lines.len(), expected, "{stdout}");
}

/// A Python helper for the cases: `refused(name, fn)` prints `ok name` if
/// `fn()` raises OSError (or NotImplementedError), `BAD name` otherwise.
const REFUSED: &str = r#"
def refused(name, fn, errors=(OSError, NotImplementedError)):
    try:
        fn()
    except errors as e:
        print("ok", name, type(e).__name__)
    else:
        print("BAD", name, "succeeded")
"#;

// --- escapes -------------------------------------------------------------------

#[test]
fn absolute_and_dotdot_paths_out_of_every_mount_are_refused() {
    let secret = secret();
    let code = format!(
        "{REFUSED}\nimport sys\nfor i, p in enumerate([{secret:?}, '/etc/passwd', '/root', '/proc/self/environ', '../' * 30 + 'etc/passwd', '/tmp/../../etc/passwd', sys.prefix + '/../../etc/passwd', '/usr/local/lib/../../../etc/passwd']):\n    refused('read%d' % i, lambda: open(p).read())\n",
        secret = secret.path().display().to_string()
    );
    all_ok(&guest(&code), 8);
    assert_eq!(
        std::fs::read_to_string(secret.path()).unwrap(),
        "host secret"
    );
}

#[test]
fn the_root_holds_only_the_mount_points() {
    let out = assert_ok(&guest(
        "import os; print(sorted(os.listdir('/'))); print(os.path.exists('/proc'), os.path.exists('/etc'))",
    ));
    let mut lines = out.lines();
    let root = lines.next().unwrap();
    for name in ["'dev'", "'tmp'", "'usr'"] {
        assert!(root.contains(name), "{root}");
    }
    assert!(!root.contains("etc") && !root.contains("proc"), "{root}");
    assert_eq!(lines.next(), Some("False False"));
}

#[test]
fn host_made_links_out_of_a_mount_cannot_be_followed() {
    let secret = secret();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(secret.path(), dir.path().join("abs")).unwrap();
    let climb = format!(
        "{}{}",
        "../".repeat(dir.path().components().count()),
        secret.path().display().to_string().trim_start_matches('/')
    );
    std::os::unix::fs::symlink(&climb, dir.path().join("rel")).unwrap();
    let code = format!(
        "{REFUSED}\nrefused('absolute', lambda: open('abs').read())\nrefused('relative', lambda: open('rel').read())\n"
    );
    all_ok(&guest_in(dir.path(), &[], &code), 2);
}

#[test]
fn guest_made_links_out_are_refused_or_reported() {
    let dir = tempfile::tempdir().unwrap();
    let code = format!(
        "{REFUSED}\nimport os\nrefused('absolute_target', lambda: os.symlink('/etc/passwd', 'abs'))\nos.symlink('../../../../../../etc/passwd', 'rel')\nrefused('follow_relative', lambda: open('rel').read())\nos.symlink('/etc/passwd', '/tmp/x') if False else None\nrefused('tmp_absolute', lambda: os.symlink('/etc/passwd', '/tmp/abs'))\n"
    );
    let out = guest_in(dir.path(), &[], &code);
    all_ok(&out, 3);
    // The relative link exists (WASI allows it); `run` says so.
    let err = text(&out.stderr);
    assert!(
        err.contains("left a link that points outside") && err.contains("rel ->"),
        "{err}"
    );
}

#[test]
fn links_and_renames_stay_between_writable_mounts() {
    // /tmp and the working directory are both the guest's to write: moving
    // or linking a file between them is allowed. Nothing may reach into the
    // read-only runtime, where a hard link would make a runtime file
    // writable.
    let dir = tempfile::tempdir().unwrap();
    let code = format!(
        "{REFUSED}\nimport os, sys\nopen('/tmp/a', 'w').write('x')\nopen('here', 'w').write('y')\nrefused('link_runtime_to_cwd', lambda: os.link(os.__file__, 'os_copy.py'))\nrefused('link_cwd_to_runtime', lambda: os.link('here', sys.prefix + '/here'))\nrefused('rename_cwd_to_runtime', lambda: os.rename('here', sys.prefix + '/here'))\nrefused('rename_runtime_to_cwd', lambda: os.rename(os.__file__, 'stolen.py'))\nos.rename('/tmp/a', 'moved')\nprint('ok moved_between_writable_mounts')\n"
    );
    all_ok(&guest_in(dir.path(), &[], &code), 5);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("here")).unwrap(),
        "y"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("moved")).unwrap(),
        "x"
    );
    assert!(!dir.path().join("os_copy.py").exists() && !dir.path().join("stolen.py").exists());
}

#[test]
fn the_hosts_environment_is_not_visible() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-faasm-py"))
        .args(["faasm-py", "--manifest-path"])
        .arg(common::workspace().join("Cargo.toml"))
        .args([
            "run",
            "--",
            "-c",
            "import os, json; print(json.dumps(sorted(os.environ)))",
        ])
        .env("FAASM_PY_TEST_SECRET", "host secret")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let names = assert_ok(&out);
    assert_eq!(
        names.trim(),
        r#"["HOME", "LANG", "PWD", "PYTHONDONTWRITEBYTECODE", "PYTHONHOME", "TMPDIR"]"#
    );
}

// --- names that are not UTF-8 ------------------------------------------------------

/// Host files whose names are not UTF-8 behave in the guest as in native
/// CPython (surrogate escapes): listed, stat'ed, opened, created, renamed and
/// removed, with nothing left behind; escapes through such names are still
/// refused.
#[test]
fn names_that_are_not_utf8_work_as_natively() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let name = |b: &[u8]| dir.path().join(std::ffi::OsStr::from_bytes(b));
    std::fs::write(name(b"bad\xff.txt"), "abc").unwrap();
    std::fs::write(dir.path().join("good.txt"), "").unwrap();
    std::fs::create_dir(name(b"dir\xfe")).unwrap();
    std::fs::write(name(b"dir\xfe/inner"), "hi").unwrap();
    let secret = secret();
    let code = format!(
        r#"{REFUSED}
import os, shutil
def check(name, got, want):
    print("ok" if got == want else "BAD", name, repr(got))
check("listdir", sorted(os.listdir(".")), ["bad\udcff.txt", "dir\udcfe", "good.txt"])
check("scandir", sorted((e.name, e.is_dir()) for e in os.scandir(".")), [("bad\udcff.txt", False), ("dir\udcfe", True), ("good.txt", False)])
check("stat", os.stat("bad\udcff.txt").st_size, 3)
check("read", open("bad\udcff.txt").read(), "abc")
check("listdir-inside", os.listdir("dir\udcfe"), ["inner"])
check("walk", sorted(f for _, _, fs in os.walk(".") for f in fs), ["bad\udcff.txt", "good.txt", "inner"])
with open("new\udcfa.txt", "w") as f:
    f.write("made")
refused("exclusive", lambda: open("new\udcfa.txt", "x"))
os.rename("bad\udcff.txt", "renamed.txt")
check("renamed", sorted(os.listdir(".")), ["dir\udcfe", "good.txt", "new\udcfa.txt", "renamed.txt"])
os.rename("renamed.txt", "again\udcfb")
os.remove("again\udcfb")
os.makedirs("made\udcf0/sub\udcf1")
check("made", os.listdir("made\udcf0"), ["sub\udcf1"])
shutil.rmtree("made\udcf0")
shutil.rmtree("dir\udcfe")
check("removed", sorted(os.listdir(".")), ["good.txt", "new\udcfa.txt"])
refused("escape-open", lambda: open("\udcff/" + "../" * 30 + {secret:?}.lstrip("/")))
refused("escape-stat", lambda: os.stat("\udcff/../../../../../../../../etc/passwd"))
refused("missing-read-only", lambda: open("/usr/local/x\udcff"))
refused("write-read-only", lambda: open("/usr/local/x\udcff", "w"))
"#,
        secret = secret.path().display().to_string()
    );
    let out = guest_in(dir.path(), &[], &code);
    all_ok(&out, 14);
    let mut left: Vec<Vec<u8>> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().as_bytes().to_vec())
        .collect();
    left.sort();
    assert_eq!(left, [b"good.txt".to_vec(), b"new\xfa.txt".to_vec()]);
    assert_eq!(std::fs::read(name(b"new\xfa.txt")).unwrap(), b"made");
    assert_eq!(
        std::fs::read_to_string(secret.path()).unwrap(),
        "host secret"
    );
    assert!(
        !text(&out.stderr).contains("faasm-py:"),
        "{}",
        text(&out.stderr)
    );
}

// --- the read-only runtime --------------------------------------------------------

/// (path, size, modification time, mode) of every file of the runtime tree.
fn tree_listing(root: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                dirs.push(entry.path());
            } else {
                out.push((
                    entry.path(),
                    meta.len(),
                    meta.modified().unwrap(),
                    meta.permissions().mode(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_runtime_refuses_every_change_and_stays_unchanged() {
    let runtime = std::fs::canonicalize(common::built().runtime()).unwrap();
    let before = tree_listing(&runtime);
    let code = format!(
        r#"{REFUSED}
import os, sys
target = os.__file__
refused('write', lambda: open(target, 'a').write('x'))
refused('create', lambda: open(os.path.join(sys.prefix, 'new.txt'), 'w'))
refused('delete', lambda: os.remove(target))
refused('rename', lambda: os.rename(target, target + '.moved'))
refused('mkdir', lambda: os.mkdir(os.path.join(sys.prefix, 'newdir')))
refused('rmdir', lambda: os.rmdir(os.path.dirname(target) + '/json'))
refused('utime', lambda: os.utime(target, (0, 0)))
refused('truncate', lambda: os.truncate(target, 0))
# WASI has no permission bits: chmod changes nothing anywhere (checked below).
try:
    os.chmod(target, 0o777)
except (OSError, NotImplementedError):
    pass
print('ok chmod')
"#
    );
    all_ok(&guest(&code), 9);
    assert!(tree_listing(&runtime) == before, "the runtime tree changed");
}

// --- isolation between runs ---------------------------------------------------------

#[test]
fn each_run_gets_a_fresh_tmp() {
    let first = assert_ok(&guest(
        "import os; open('/tmp/marker', 'w').write('1'); print(sorted(os.listdir('/tmp')))",
    ));
    assert!(first.contains("marker"), "{first}");
    let second = assert_ok(&guest(
        "import os; print(os.path.exists('/tmp/marker'), sorted(os.listdir('/tmp')))",
    ));
    assert_eq!(second, "False []\n");
}

// --- limits ---------------------------------------------------------------------------

#[test]
fn a_sleeping_loop_is_stopped_by_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = guest_in(
        dir.path(),
        &["--timeout", "2"],
        "import time\nwhile True: time.sleep(0.05)",
    );
    assert_eq!(out.status.code(), Some(124), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("timed out after 2"));
    assert!(started.elapsed() < Duration::from_secs(120));
}

#[test]
fn memory_growth_is_stopped_by_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let out = guest_in(
        dir.path(),
        &["--memory", "128"],
        "hoard = []\nwhile True: hoard.append(bytearray(8 << 20))",
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(137), "{err}");
    assert!(err.contains("ran out of memory (limit 128 MiB)"), "{err}");
}

#[test]
fn deep_c_recursion_is_contained() {
    let out = guest(
        "import sys\nsys.setrecursionlimit(10**7)\nx = []\nfor _ in range(10**6): x = [x]\ntry:\n    repr(x)\nexcept RecursionError:\n    print('recursion error')\n",
    );
    let code = out.status.code();
    // CPython's own guard (RecursionError) or the wasm stack limit (a trap,
    // 134): either way the guest alone ends.
    assert!(
        code == Some(0) && text(&out.stdout).contains("recursion error") || code == Some(134),
        "{code:?} {}",
        text(&out.stderr)
    );
}

/// Peak resident memory of a running process, from /proc, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn hundreds_of_megabytes_of_output_are_streamed_not_buffered() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-faasm-py"))
        .args(["faasm-py", "--manifest-path"])
        .arg(common::workspace().join("Cargo.toml"))
        .args([
            "run",
            "--",
            "-c",
            "import sys\nchunk = b'x' * (1 << 20)\nfor _ in range(300): sys.stdout.buffer.write(chunk)",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        peak = peak.max(peak_rss_kib(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(20));
    }
    let copied = reader.join().unwrap().unwrap();
    assert_eq!(copied, 300 << 20);
    // python.wasm's own memory is part of the process; 300 MB of output is not.
    assert!(peak < 250 * 1024, "peak RSS {peak} KiB");
}

#[test]
fn running_out_of_descriptors_is_an_error_in_the_guest() {
    let out = assert_ok(&guest(
        "files = []\ntry:\n    while True: files.append(open('/tmp/f%d' % len(files), 'w'))\nexcept OSError as e:\n    print('stopped', type(e).__name__, len(files) > 100)\n",
    ));
    assert_eq!(out, "stopped OSError True\n");
}

#[test]
fn filling_scratch_is_stopped_by_the_deadline() {
    // Scratch has no size cap of its own: the deadline bounds it.
    let dir = tempfile::tempdir().unwrap();
    let out = guest_in(
        dir.path(),
        &["--timeout", "2"],
        "import itertools\nchunk = b'x' * (1 << 20)\nfor i in itertools.count():\n    with open('/tmp/f%d' % (i % 64), 'wb') as f: f.write(chunk)",
    );
    assert_eq!(out.status.code(), Some(124), "{}", text(&out.stderr));
}

// --- missing capabilities are Python exceptions ---------------------------------------

#[test]
fn missing_capabilities_raise_instead_of_trapping() {
    let code = format!(
        r#"{REFUSED}
import subprocess, socket, threading, ctypes
refused('subprocess', lambda: subprocess.run(['ls']), (OSError, NotImplementedError))
refused('socket_connect', lambda: socket.create_connection(('127.0.0.1', 9)), (OSError, AttributeError))
refused('thread', lambda: threading.Thread(target=print).start(), (RuntimeError, OSError))
refused('ctypes_callback', lambda: ctypes.CFUNCTYPE(ctypes.c_int)(lambda: 0), (NotImplementedError,))
refused('dlopen', lambda: ctypes.CDLL('libm.so.6'), (OSError,))
"#
    );
    all_ok(&guest(&code), 5);
}

// --- bad input to the tool --------------------------------------------------------------

/// A workspace of its own, with `pins` as its sources.toml, and a cache of
/// its own.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new(pins: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\nname = \"scratch\"\nversion = \"0.1.0\"\nedition = \"2024\"\n[workspace]\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/lib.rs"), "").unwrap();
        std::fs::create_dir_all(root.join("third-party")).unwrap();
        std::fs::write(root.join("third-party/sources.toml"), pins).unwrap();
        // A checkout of faasm-py, so that its own pins are the ones used,
        // configured with no packages at all.
        std::fs::create_dir_all(root.join("pytests/support")).unwrap();
        std::fs::create_dir_all(root.join("cargo-faasm-py")).unwrap();
        std::fs::write(root.join("cargo-faasm-py/Cargo.toml"), "").unwrap();
        std::fs::write(root.join("third-party/default-config.toml"), "").unwrap();
        std::fs::write(
            root.join("third-party/faasm-py.lock"),
            "format = 2\nroots = []\n[python.\"3.13\"]\n",
        )
        .unwrap();
        Self { dir }
    }

    fn cli(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-faasm-py"));
        cmd.arg("faasm-py")
            .arg("--manifest-path")
            .arg(self.dir.path().join("Cargo.toml"))
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .current_dir(self.dir.path())
            // Its target directory is its own, whatever the caller's.
            .env_remove("CARGO_TARGET_DIR");
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cli(args).output().unwrap()
    }
}

/// Asserts a failure with one `error:` line (plus an indented context
/// list at most) that contains every one of `needles`, and no panic.
#[track_caller]
fn clear_error(out: &Output, needles: &[&str]) {
    let err = text(&out.stderr);
    assert!(!out.status.success(), "succeeded:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    let first = err.lines().find(|l| l.starts_with("error")).unwrap_or("");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} missing from:\n{err}");
    }
    assert!(!first.is_empty(), "no error line:\n{err}");
}

const CPYTHON_PIN: &str = r#"
[debian]
suite = "trixie"
[artifact.cpython]
version = "3.13.5"
file = "Python-3.13.5.tar.xz"
sha256 = "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640"
sources = [{ url = "file:///nonexistent/Python-3.13.5.tar.xz" }]
"#;

/// Pins whose one artifact (in the CPython role, which every pins file
/// needs) is served from `file`, with hash `sha256`.
fn pins_with_file(file: &Path, sha256: &str) -> String {
    format!(
        "[debian]\nsuite = \"trixie\"\n[artifact.cpython]\nversion = \"3.13.5\"\nfile = \"data.bin\"\nsha256 = \"{sha256}\"\nsources = [{{ url = \"file://{}\" }}]\n",
        file.display()
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn malformed_pins_name_file_line_and_column() {
    let scratch = Scratch::new("[debian]\nsuite = \"trixie\"\n[artifact.x]\nversion = 3\n");
    let out = scratch.run(&["build", "fetch"]);
    clear_error(&out, &["sources.toml:4:", "invalid type"]);
}

#[test]
fn a_malformed_hash_in_the_pins_is_named() {
    let scratch = Scratch::new(&CPYTHON_PIN.replace("93e583f2", "nothex!!"));
    clear_error(
        &scratch.run(&["build", "fetch"]),
        &["artifact `cpython`", "sha256 must be 64 hex digits"],
    );
}

#[test]
fn a_download_with_the_wrong_sha256_is_deleted_and_named() {
    let data = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(data.path(), "the real bytes").unwrap();
    let scratch = Scratch::new(&pins_with_file(data.path(), &"0".repeat(64)));
    let out = scratch.run(&["fetch"]);
    clear_error(&out, &["sha256 mismatch for data.bin", &"0".repeat(64)]);
    assert!(!scratch.dir.path().join("cache/downloads/data.bin").exists());
}

#[test]
fn a_damaged_download_in_the_cache_is_fetched_again() {
    let data = tempfile::NamedTempFile::new().unwrap();
    let bytes = vec![7u8; 1 << 20];
    std::fs::write(data.path(), &bytes).unwrap();
    let scratch = Scratch::new(&pins_with_file(data.path(), &sha256_hex(&bytes)));
    assert!(scratch.run(&["fetch"]).status.success());
    let cached = scratch.dir.path().join("cache/downloads/data.bin");
    // Truncated behind the tool's back.
    std::fs::write(&cached, &bytes[..1000]).unwrap();
    let out = scratch.run(&["fetch"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        std::fs::read(&cached).unwrap() == bytes,
        "not fetched again"
    );
    // Offline, the same damage is an error, not a trusted file.
    std::fs::write(&cached, &bytes[..1000]).unwrap();
    clear_error(
        &scratch.run(&["--offline", "fetch"]),
        &["data.bin", "--offline"],
    );
}

#[test]
fn unknown_stage_and_suite_names_list_the_known_ones() {
    let scratch = Scratch::new(CPYTHON_PIN);
    clear_error(
        &scratch.run(&["build", "numpyy"]),
        &["unknown stage `numpyy`", "toolchain"],
    );
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-faasm-py"))
        .args(["faasm-py", "--manifest-path"])
        .arg(common::workspace().join("Cargo.toml"))
        .args(["test", "nosuch"])
        .output()
        .unwrap();
    clear_error(&out, &["unknown suite `nosuch`", "numpy"]);
}

#[test]
fn malformed_suite_and_baseline_files_name_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("bad");
    std::fs::create_dir_all(&suite).unwrap();
    std::fs::write(
        suite.join("suite.toml"),
        "runner = \"pytest\"\nroot = \"suite\"\nmodules = [\"t.py\"]\ntimeout-secs = \"soon\"\nmemory-mib = 64\n",
    )
    .unwrap();
    let err = format!(
        "{:#}",
        harness::suite::SuiteDef::load(dir.path(), "bad").unwrap_err()
    );
    assert!(err.contains("suite.toml:4:"), "{err}");
    std::fs::write(
        suite.join("suite.toml"),
        "runner = \"pytest\"\nroot = \"suite\"\nmodules = [\"t.py\"]\ntimeout-secs = 10\nmemory-mib = 5000\n",
    )
    .unwrap();
    let err = format!(
        "{:#}",
        harness::suite::SuiteDef::load(dir.path(), "bad").unwrap_err()
    );
    assert!(err.contains("memory-mib must be from 1 to 4096"), "{err}");
    let baseline = suite.join("baseline.toml");
    std::fs::write(
        &baseline,
        "[[group]]\nreason = \"r\"\ncases = [\"a\", \"a\"]\n",
    )
    .unwrap();
    let err = harness::suite::Baseline::load(&baseline)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("baseline.toml:3") && err.contains("listed twice"),
        "{err}"
    );
    let err = format!(
        "{:#}",
        harness::suite::SuiteDef::load(dir.path(), "../etc").unwrap_err()
    );
    assert!(err.contains("not a suite name"), "{err}");
}

#[test]
fn out_of_range_cli_values_are_errors_not_panics() {
    for args in [
        &["run", "--timeout=-1", "--", "-c", "pass"][..],
        &["run", "--timeout=inf", "--", "-c", "pass"],
        &["run", "--memory=0", "--", "-c", "pass"],
        &["run", "--memory=99999999999", "--", "-c", "pass"],
        &["--jobs=-2", "build"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_cargo-faasm-py"))
            .arg("faasm-py")
            .args(args)
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("error:") && !err.contains("panicked"),
            "{err}"
        );
    }
}

#[test]
fn a_build_killed_mid_stage_resumes() {
    // The download blocks on a FIFO until the build is killed; the next
    // build, with the file in place, finishes.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("data.bin");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let bytes = b"data after the kill".to_vec();
    let scratch = Scratch::new(&pins_with_file(&fifo, &sha256_hex(&bytes)));
    let mut first = scratch
        .cli(&["fetch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    first.kill().unwrap();
    first.wait().unwrap();
    std::fs::remove_file(&fifo).unwrap();
    std::fs::write(&fifo, &bytes).unwrap();
    let out = scratch.run(&["fetch"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cached = scratch.dir.path().join("cache/downloads/data.bin");
    assert!(std::fs::read(&cached).unwrap() == bytes, "not resumed");
}

#[test]
fn two_builds_at_once_take_turns() {
    let data = tempfile::NamedTempFile::new().unwrap();
    let bytes = vec![3u8; 8 << 20];
    std::fs::write(data.path(), &bytes).unwrap();
    let pins = pins_with_file(data.path(), &sha256_hex(&bytes));
    let scratch = Scratch::new(&pins);
    let spawn = || {
        scratch
            .cli(&["fetch"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", text(&a.stderr));
    assert!(b.status.success(), "{}", text(&b.stderr));
    assert!(
        std::fs::read(scratch.dir.path().join("cache/downloads/data.bin")).unwrap() == bytes,
        "the download is not whole"
    );
}

// --- a test module that attacks the harness ------------------------------------------

#[test]
fn a_report_swapped_for_a_link_is_not_read() {
    use harness::runner::{Interpreter, run_module};
    use harness::suite::SuiteDef;

    let suite_dir = tempfile::tempdir().unwrap();
    // Each module ends by putting a link where its report was: to a host
    // file (climbing out of /tmp), and to /dev/zero (which would never
    // end), via the relative links WASI lets a guest make.
    let climb = "../".repeat(12);
    for (name, target) in [
        ("test_to_host.py", format!("{climb}etc/passwd")),
        ("test_to_zero.py", format!("{climb}dev/zero")),
    ] {
        std::fs::write(
            suite_dir.path().join(name),
            format!(
                "import os\n\ndef test_ok():\n    pass\n\ndef teardown_module():\n    report = os.environ['FAASM_PY_REPORT']\n    os.remove(report)\n    os.symlink({target:?}, report)\n"
            ),
        )
        .unwrap();
    }
    let mut suite = SuiteDef::pytest_dir("swap", suite_dir.path(), &["test_*.py"]);
    suite.timeout_secs = 60;
    let logs = tempfile::tempdir().unwrap();
    let plan = common::ad_hoc_plan(suite, logs.path());
    let interp = Interpreter::Wasm(common::python());
    for module in &plan.modules {
        let started = Instant::now();
        let result = run_module(&plan, &interp, module).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{module} hung the host"
        );
        let report = result
            .cases
            .iter()
            .find(|c| c.id.ends_with("::<report>"))
            .unwrap_or_else(|| panic!("{module}: {result:#?}"));
        assert!(
            report.message.contains("not a regular file") && report.message.contains("link"),
            "{report:?}"
        );
        assert!(
            !report.message.contains("root:"),
            "host data leaked: {report:?}"
        );
    }
}
