//! One call of the load benchmark: its own argv, environment and
//! directories, the Python it runs (`xtask/bench/load_call.py`), and the
//! check of its answer against what the host computes for that call.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Result;
use harness::PythonRun;

/// The call's Python, passed with `-c`.
pub const CODE: &str = include_str!("../../../bench/load_call.py");

/// Where the call's working directory is mounted in the guest: the same
/// path for every call, so the shared empty root gains no mount points.
const GUEST_CWD: &str = "/call";

/// A call's deadline and memory cap, as a server would give each request.
pub const DEADLINE: Duration = Duration::from_secs(60);
pub const MEMORY_LIMIT: usize = 512 << 20;

/// A call's own directories on the host, removed when it is dropped:
/// `tmp/` (the guest's `/tmp`) and `work/` (its working directory).
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("faasm-py-load-")
            .tempdir()?;
        fs_err::create_dir(dir.path().join("tmp"))?;
        fs_err::create_dir(dir.path().join("work"))?;
        Ok(Self { dir })
    }

    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }
}

/// Call `id` as a run of the embedded python.wasm.
pub fn guest_run(id: usize, scratch: &Scratch) -> PythonRun {
    let mut run = PythonRun::new(["-c", CODE, &id.to_string()], scratch.tmp());
    run.cwd = Some((scratch.work(), GUEST_CWD.to_owned()));
    run.extra_env = vec![("CALL_ID".into(), id.to_string())];
    run.deadline = Some(DEADLINE);
    run.memory_limit_bytes = Some(MEMORY_LIMIT);
    run
}

/// Call `id` as a whole native `python -c` process, with the guest's
/// environment (its own scratch as `TMPDIR` and `HOME`, and nothing of the
/// host's) and the wheel's OpenBLAS on one thread, as in the guest.
pub fn native_command(python: &Path, id: usize, scratch: &Scratch) -> Command {
    let mut cmd = Command::new(python);
    cmd.args(["-c", CODE, &id.to_string()])
        .current_dir(scratch.work())
        .env_clear()
        .env("TMPDIR", scratch.tmp())
        .env("HOME", scratch.tmp())
        .env("LANG", "C.UTF-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("CALL_ID", id.to_string());
    cmd
}

/// The random values a call drew (`random`, numpy's legacy generator,
/// `os.urandom`), which must differ from every other call's: numbers, so
/// that keeping ten thousand of them barely moves the RSS being measured.
pub type Draws = [u64; 3];

/// What a call printed, as `load_call.py` prints it.
#[derive(serde::Deserialize)]
struct Answer {
    call: usize,
    env: String,
    total: u64,
    distinct: usize,
    leftovers: Vec<String>,
    random: String,
    np_random: String,
    urandom: String,
}

/// Checks call `id`'s stdout and the file it left in its working directory
/// against what the host computes for `id`; returns its random draws, or
/// what was wrong in one line.
pub fn check(id: usize, stdout: &[u8], scratch: &Scratch) -> Result<Draws, String> {
    let answer: Answer = serde_json::from_slice(stdout).map_err(|e| {
        format!(
            "call {id} printed no answer ({e}): {:?}",
            String::from_utf8_lossy(stdout)
        )
    })?;
    let (total, distinct) = expected(id);
    let mut wrong = Vec::new();
    if answer.call != id || answer.env != id.to_string() {
        wrong.push(format!(
            "argv/environment of another call ({}, {})",
            answer.call, answer.env
        ));
    }
    if (answer.total, answer.distinct) != (total, distinct) {
        wrong.push(format!(
            "computed ({}, {}), expected ({total}, {distinct})",
            answer.total, answer.distinct
        ));
    }
    if !answer.leftovers.is_empty() {
        wrong.push(format!(
            "saw what an earlier call left: {:?}",
            answer.leftovers
        ));
    }
    // The guest's write must have reached this call's own directory.
    let written = fs_err::read_to_string(scratch.work().join("result.txt")).unwrap_or_default();
    if written != format!("{id} {total}") {
        wrong.push(format!("its working directory holds {written:?}"));
    }
    let draws = [&answer.random, &answer.np_random, &answer.urandom]
        .map(|hex| u64::from_str_radix(hex, 16).map_err(|_| hex.to_owned()));
    match draws {
        [Ok(a), Ok(b), Ok(c)] if wrong.is_empty() => Ok([a, b, c]),
        _ => {
            let bad: Vec<String> = draws.into_iter().filter_map(Result::err).collect();
            if !bad.is_empty() {
                wrong.push(format!("drew no 64-bit hex numbers: {bad:?}"));
            }
            Err(format!("call {id}: {}", wrong.join("; ")))
        }
    }
}

/// What `load_call.py` computes for `call`: the sum of squares and the
/// number of distinct values of `(k * (call + 1)) % 1009` for k < 4096.
fn expected(call: usize) -> (u64, usize) {
    let factor = call as u64 + 1;
    let mut seen = [false; 1009];
    let mut total = 0;
    for k in 0..64 * 64 {
        let v = (k * factor) % 1009;
        total += v * v;
        seen[v as usize] = true;
    }
    (total, seen.iter().filter(|s| **s).count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_answers_follow_the_residues() {
        // call 0: every k % 1009 for k < 4096 covers all 1009 residues.
        assert_eq!(expected(0).1, 1009);
        // call 1008: factor 1009, every value 0.
        assert_eq!(expected(1008), (0, 1));
        let by_hand: u64 = (0..4096u64).map(|k| (k * 2 % 1009).pow(2)).sum();
        assert_eq!(expected(1).0, by_hand);
    }

    #[test]
    fn a_wrong_answer_is_named() {
        let scratch = Scratch::new().unwrap();
        let (total, distinct) = expected(5);
        fs_err::write(scratch.work().join("result.txt"), format!("5 {total}")).unwrap();
        let answer = |call: usize, leftovers: &str| {
            format!(
                r#"{{"call": {call}, "env": "5", "total": {total}, "distinct": {distinct}, "leftovers": {leftovers}, "random": "0a", "np_random": "b", "urandom": "ffffffffffffffff"}}"#
            )
        };
        assert_eq!(
            check(5, answer(5, "[]").as_bytes(), &scratch).unwrap(),
            [10, 11, u64::MAX]
        );
        let err = check(5, answer(4, r#"["tmp:call.txt"]"#).as_bytes(), &scratch).unwrap_err();
        assert!(
            err.contains("another call") && err.contains("tmp:call.txt"),
            "{err}"
        );
        let err = check(5, b"Traceback", &scratch).unwrap_err();
        assert!(err.contains("printed no answer"), "{err}");
    }
}
