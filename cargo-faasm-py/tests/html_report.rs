//! The HTML report in a real browser. Two small suites run through
//! `run_suites` as `cargo faasm-py test --native` runs them (python.wasm in
//! child processes, then natively), into a scratch target directory: one
//! whose suite, module and case names, messages and baseline reason carry
//! markup and script, with a regression only the guest has, one that fails
//! everywhere, an expected failure, a fixed case, a skip and a stale entry;
//! then a plain one. Headless Chromium (Debian's `chromium`) loads the page
//! and the test checks what it shows: both suites, their counts, the
//! regressions before the module table, the baseline's reason as text, the
//! links to each module's output, and that no injected script ran while the
//! page's own did.
//!
//! Needs `cargo faasm-py build`. Without `chromium` on `PATH` the test says
//! so and passes, unless `FAASM_PY_REQUIRE_BROWSER=1` (CI sets it), which
//! makes that a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cargo_faasm_py::commands::{SuiteOptions, run_suites};
use cargo_faasm_py::layout::Layout;
use cargo_faasm_py::ui::{Ui, Verbosity};
use harness::runner::Interpreter;
use harness::suite::SuiteDef;

/// Makes a missing browser a failure rather than a skip.
const REQUIRE_ENV: &str = "FAASM_PY_REQUIRE_BROWSER";
/// How long Chromium may take to load and dump the page.
const BROWSER_DEADLINE: Duration = Duration::from_secs(120);

/// Would set the title and add an element, were it ever run.
const PAYLOAD: &str = "<script>document.title='PWNED';document.body.append(Object.assign(document.createElement('b'),{id:'pwned'}))</script>&\"q\"";
/// The hostile suite's name (no `/`: it names files).
const SUITE: &str = "<img src=x onerror=alert(1)>&'q'";
/// Its one module.
const MODULE: &str = "test_<img src=x onerror=alert(2)>&'q'.py";

#[test]
fn the_page_shows_every_suite_and_runs_no_injected_script() {
    let Some(browser) = chromium() else {
        if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
            panic!(
                "{REQUIRE_ENV}=1 but there is no `chromium` on PATH (Debian: apt-get install chromium)"
            );
        }
        eprintln!("skipped: no `chromium` on PATH to load the HTML report in");
        return;
    };
    let built = common::built();
    let scratch = tempfile::tempdir().unwrap();
    // The real build and sources, but reports go to a scratch target.
    let layout = Layout {
        target: scratch.path().join("target"),
        ..built.clone()
    };
    std::fs::create_dir_all(layout.out()).unwrap();
    std::os::unix::fs::symlink(built.native_env(), layout.native_env()).unwrap();

    let hostile_dir = scratch.path().join("hostile");
    std::fs::create_dir(&hostile_dir).unwrap();
    std::fs::write(
        hostile_dir.join(MODULE),
        format!(
            r#"import sys

import pytest

PAYLOAD = {PAYLOAD:?}


@pytest.mark.parametrize("text", [PAYLOAD])
def test_everywhere(text):
    assert text == "not " + text


def test_wasm_only():
    assert sys.platform != "wasi", "fails only in the guest: " + PAYLOAD


def test_known():
    assert False, "expected " + PAYLOAD


def test_fixed():
    pass


def test_passes():
    pass


@pytest.mark.skip(reason="skipped " + PAYLOAD)
def test_skipped():
    pass
"#
        ),
    )
    .unwrap();
    let reason = format!("needs fenv {PAYLOAD}");
    std::fs::write(
        hostile_dir.join("baseline.toml"),
        format!(
            "[[group]]\nreason = {reason:?}\ncases = [{:?}, {:?}, {:?}]\n",
            format!("{MODULE}::test_known"),
            format!("{MODULE}::test_fixed"),
            format!("{MODULE}::test_gone"),
        ),
    )
    .unwrap();
    let plain_dir = scratch.path().join("plain");
    std::fs::create_dir(&plain_dir).unwrap();
    std::fs::write(
        plain_dir.join("test_plain.py"),
        "def test_one():\n    assert 1 + 1 == 2\n",
    )
    .unwrap();
    let suites = vec![
        SuiteDef::pytest_dir(SUITE, &hostile_dir, &["test_*.py"]),
        SuiteDef::pytest_dir("plain", &plain_dir, &["test_*.py"]),
    ];

    let options = SuiteOptions {
        full: false,
        filter: None,
        native: true,
        jobs: 2,
    };
    let ui = Ui {
        verbosity: Verbosity::Quiet,
        show_fresh: false,
    };
    let wasm = Arc::new(Interpreter::WasmProcess(common::isolated_python()));
    let page = layout.html_report();
    let mut finished = 0;
    let outcomes = run_suites(
        &layout,
        &common::pins(),
        suites,
        wasm,
        &options,
        &ui,
        |_| {
            // The page is rewritten as each suite ends, naming the rest.
            finished += 1;
            let html = std::fs::read_to_string(&page).unwrap();
            assert_eq!(
                html.contains("Not finished: plain."),
                finished == 1,
                "{html}"
            );
            Ok(())
        },
    )
    .expect("the suites ran");
    // What the page should show, as the gate saw it.
    let regressed: Vec<&str> = outcomes[0]
        .verdict
        .regressions
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(regressed.len(), 2, "{regressed:?}");
    assert!(outcomes[1].verdict.ok());

    let dom = dump_dom(&browser, &page);
    let text = visible_text(&dom);

    // The page's own script ran (it adds the filter box), so scripts do run
    // here; none of the injected ones did, and no injected tag exists.
    assert!(dom.contains("placeholder=\"filter modules\""), "{dom}");
    assert!(
        dom.contains("<title>faasm-py test: FAILED, 2 regressed</title>"),
        "{dom}"
    );
    assert!(!dom.contains("PWNED</title>"), "{dom}");
    assert!(!dom.contains("id=\"pwned\""), "{dom}");
    assert_eq!(dom.matches("<script").count(), 1, "{dom}");
    assert!(!dom.contains("<img"), "{dom}");
    // The injected text is shown as text instead.
    assert!(text.contains(PAYLOAD), "{text}");
    assert!(text.contains(&format!("{SUITE} FAILED")), "{text}");
    assert!(text.contains(&reason), "{text}");

    // Both suites, with their counts for the guest and natively (the guest
    // has one more failure: test_wasm_only).
    assert!(text.contains("plain ok"), "{text}");
    let counts = "passed failed skipped expected failures fixed regressed stale";
    assert!(
        text.contains(&format!("{counts} wasm 2 3 1 1 1 2 1 native 3 2 1 1 1 1 1")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{counts} wasm 1 0 0 0 0 0 0 native 1 0 0 0 0 0 0")),
        "{text}"
    );

    // Regressions and fixed cases come first, then the modules, then the
    // baseline's groups; each regression says how it did natively.
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not shown:\n{text}"))
    };
    let wasm_only = format!("failed {MODULE}::test_wasm_only passes natively output");
    let everywhere = format!("failed {MODULE}::test_everywhere[");
    assert!(at("Regressions (2)") < at(&wasm_only), "{text}");
    assert!(at(&everywhere) < at("Fixed (1)"), "{text}");
    assert!(text.contains("also fails natively"), "{text}");
    assert!(at("Fixed (1)") < at("Modules (1)"), "{text}");
    assert!(
        at("Modules (1)") < at("Baseline (1 group, 3 cases)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{MODULE} 6 2 3 1 2 1 ")),
        "module row: {text}"
    );
    assert!(
        text.contains(&format!("not run {MODULE}::test_gone")),
        "{text}"
    );

    // Every link is to a module's output that exists: the guest's and the
    // native one of both modules, and each regression's.
    let links = hrefs(&dom);
    let logs: Vec<&String> = links.iter().filter(|h| h.ends_with(".log")).collect();
    assert_eq!(logs.len(), 6, "{links:?}");
    let reports = page.parent().unwrap();
    for href in logs {
        let file = reports.join(percent_decode(href));
        let output = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{href} -> {}: {e}", file.display()));
        assert!(output.contains("passed"), "{}: {output}", file.display());
    }
}

/// Debian's Chromium, if it is on `PATH`.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
}

/// The page's DOM after loading, as Chromium serialises it. Chromium runs
/// as root here, hence no sandbox; without the background services off it
/// waits on the network this machine does not have.
fn dump_dom(browser: &Path, page: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(err.reopen().unwrap())
        .spawn()
        .expect("cannot start chromium");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {BROWSER_DEADLINE:?}:\n{}",
                std::fs::read_to_string(err.path()).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let dom = std::fs::read_to_string(out.path()).unwrap();
    assert!(
        status.success() && dom.contains("</html>"),
        "chromium: {status}\n{}",
        std::fs::read_to_string(err.path()).unwrap_or_default()
    );
    dom
}

/// The text a reader sees, roughly: the body without tags (each tag a
/// space), entities decoded, white space collapsed.
fn visible_text(dom: &str) -> String {
    let body = dom.split_once("<body>").map_or(dom, |(_, b)| b);
    let body = body.split_once("<script>").map_or(body, |(b, _)| b);
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every `href` in the serialised DOM.
fn hrefs(dom: &str) -> Vec<String> {
    dom.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(h, _)| h.replace("&amp;", "&")))
        .collect()
}

/// `%XX` back to bytes; the links are made of ASCII and such escapes.
fn percent_decode(href: &str) -> PathBuf {
    let bytes = href.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = href
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    PathBuf::from(String::from_utf8(out).expect("a UTF-8 link"))
}
