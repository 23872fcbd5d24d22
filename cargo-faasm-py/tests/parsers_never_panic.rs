//! Property tests of the parsers that read user input (the pins, suite
//! files, baselines, the reporter's lines and CLI values): on any input,
//! a value or an error, never a panic. Inputs are the real files mutated at
//! random (bytes flipped, spliced, truncated, lines shuffled) and random
//! TOML-shaped text, from a fixed seed so failures reproduce.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use cargo_faasm_py::cli::Cargo;
use cargo_faasm_py::pins::Pins;
use clap::Parser;
use harness::suite::{Baseline, SuiteDef, parse_report_lines};

/// xorshift64*: small, deterministic, good enough to shake parsers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const ITERATIONS: usize = 1500;
const FRAGMENTS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "\"",
    "'",
    "{",
    "}",
    ",",
    "\n",
    "#",
    "\\u",
    "\\",
    "[artifact.x]",
    "[[package]]",
    "[[group]]",
    "[python]",
    "[runtime]",
    "version",
    "sha256",
    "sources",
    "file",
    "pypi",
    "debian",
    "debian-source",
    "debian-pool",
    "url",
    "cases",
    "reason",
    "runner",
    "root",
    "modules",
    "timeout-secs",
    "memory-mib",
    "-1",
    "0",
    "99999999999999999999",
    "1e999",
    "nan",
    "true",
    "\u{0}",
    "\u{fffd}",
    "é",
    "../",
    "3.13.5",
    "3.99",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

/// One mutation of `text`.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(6) {
            0 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
            1 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes.truncate(at);
            }
            2 => {
                let at = rng.below(bytes.len() + 1);
                let piece = (*rng.pick(FRAGMENTS)).as_bytes().to_vec();
                bytes.splice(at..at, piece);
            }
            3 if bytes.len() > 2 => {
                let a = rng.below(bytes.len());
                let b = rng.below(bytes.len());
                let (a, b) = (a.min(b), a.max(b));
                bytes.drain(a..b);
            }
            4 => {
                let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
                if lines.len() > 1 {
                    let a = rng.below(lines.len());
                    let b = rng.below(lines.len());
                    lines.swap(a, b);
                }
                bytes = lines.join(&b'\n');
            }
            _ => {
                let piece: String = (0..rng.below(8)).map(|_| *rng.pick(FRAGMENTS)).collect();
                bytes.extend_from_slice(piece.as_bytes());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Runs `parse` on `ITERATIONS` mutations of `seed_text`; any panic fails
/// the test with the input that caused it.
fn never_panics(name: &str, seed_text: &str, parse: impl Fn(&str)) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    for i in 0..ITERATIONS {
        let input = if i == 0 {
            seed_text.to_owned()
        } else {
            mutate(&mut rng, seed_text)
        };
        let result = catch_unwind(AssertUnwindSafe(|| parse(&input)));
        assert!(result.is_ok(), "{name} panicked on input {i}:\n{input}");
    }
}

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)).unwrap()
}

#[test]
fn pins_parse_or_fail_cleanly() {
    never_panics("pins", &repo_file("third-party/sources.toml"), |text| {
        if let Ok(pins) = Pins::parse(text) {
            let _ = pins.guest_layout();
            let _ = pins.select_python(Some("3.14"));
        }
    });
}

#[test]
fn suite_files_parse_or_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("s");
    std::fs::create_dir_all(&suite).unwrap();
    never_panics("suite", &repo_file("pytests/numpy/suite.toml"), |text| {
        std::fs::write(suite.join("suite.toml"), text).unwrap();
        let _ = SuiteDef::load(dir.path(), "s");
    });
}

#[test]
fn baselines_parse_or_fail_cleanly() {
    never_panics(
        "baseline",
        &repo_file("pytests/cpython/baseline.toml"),
        |text| {
            let _ = Baseline::parse(text, Path::new("baseline.toml"));
        },
    );
}

#[test]
fn reporter_lines_parse_or_are_skipped() {
    let sample = concat!(
        "{\"event\": \"start\", \"id\": \"t.py::a\"}\n",
        "{\"event\": \"end\", \"id\": \"t.py::a\", \"outcome\": \"passed\", \"duration\": 0.1, \"message\": \"\"}\n",
        "{\"event\": \"start\", \"id\": \"t.py::b\"}\n",
    );
    never_panics("report", sample, |text| {
        let _ = parse_report_lines(text);
    });
}

#[test]
fn cli_values_parse_or_fail_cleanly() {
    let values = [
        "-1",
        "0",
        "1",
        "inf",
        "-inf",
        "nan",
        "1e308",
        "1e-308",
        "4096",
        "4097",
        "18446744073709551616",
        "",
        " ",
        "3.5",
        "0x10",
        "２",
        "1_000",
    ];
    let mut rng = Rng(42);
    for _ in 0..ITERATIONS {
        let seed = *rng.pick(&values);
        let value = mutate(&mut rng, seed);
        for flag in ["--timeout", "--memory", "--jobs"] {
            let arg = format!("{flag}={value}");
            let argv: Vec<&str> = match flag {
                "--jobs" => vec!["cargo", "faasm-py", &arg, "build"],
                _ => vec!["cargo", "faasm-py", "run", &arg, "--", "-c", "pass"],
            };
            let result = catch_unwind(|| Cargo::try_parse_from(argv.iter().copied()));
            assert!(result.is_ok(), "panicked on {argv:?}");
        }
    }
}
