//! The static-archive compiler wrapper's own unit tests (Python's
//! unittest, run by the host's python3).

use std::path::Path;
use std::process::Command;

#[test]
fn static_ext_cc_unit_tests_pass() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .args(["-m", "unittest", "-v", "test_static_ext_cc"])
        .env("PYTHONPATH", here.join("src/stages/package"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(here.join("tests/python"))
        .output()
        .expect("cannot run python3");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("OK"), "{text}");
}
