//! `harness::Python`'s conventions, checked with a stand-in module that
//! reports the arguments and environment it was given.

mod common;

use std::fs;

use harness::{GuestLayout, Python, PythonRun, Status, python_env};

/// Any version will do: the layout follows it.
fn guest() -> GuestLayout {
    GuestLayout::for_version("3.99.1").unwrap()
}

fn fake_runtime(root: &std::path::Path) -> std::path::PathBuf {
    let runtime = root.join("runtime");
    fs::create_dir_all(runtime.join(guest().stdlib_dir())).unwrap();
    runtime
}

fn split_nul(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

#[test]
fn python_gets_the_fixed_argv0_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = fake_runtime(dir.path());
    let scratch = dir.path().join("scratch");
    let work = dir.path().join("work");
    fs::create_dir_all(&scratch).unwrap();
    fs::create_dir_all(&work).unwrap();

    let engine = common::engine();
    let module = common::module(&engine, common::DUMP_ARGS_AND_ENV);
    let python = Python::with_module(engine, module, &runtime, guest()).unwrap();

    let mut r = PythonRun::new(["-c", "pass"], &scratch);
    r.cwd = Some((work, "/work".into()));
    r.extra_env = vec![("PYTHONUNBUFFERED".into(), "1".into())];
    let expected_env: Vec<String> = python_env(&r)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();

    let out = python.run(r).unwrap();
    assert_eq!(out.status, Status::Exited(0));
    assert_eq!(split_nul(&out.stdout), expected_env);
    assert!(expected_env.contains(&"PWD=/work".to_owned()));
    assert!(expected_env.contains(&"PYTHONHOME=/usr/local".to_owned()));
    assert_eq!(
        split_nul(&out.stderr),
        [guest().argv0().as_str(), "-c", "pass"]
    );
}

#[test]
fn runtime_without_stdlib_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::engine();
    let module = common::module(&engine, common::EXIT_3);
    let err = Python::with_module(engine, module, dir.path(), guest()).unwrap_err();
    assert!(err.to_string().contains(&guest().stdlib_dir()), "{err}");
}

#[test]
fn relative_guest_cwd_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = fake_runtime(dir.path());
    let engine = common::engine();
    let module = common::module(&engine, common::EXIT_3);
    let python = Python::with_module(engine, module, &runtime, guest()).unwrap();
    let mut r = PythonRun::new(["-c", "pass"], dir.path());
    r.cwd = Some((dir.path().to_path_buf(), "work".into()));
    let err = python.run(r).unwrap_err();
    assert!(
        format!("{err:#}").contains("not an absolute path"),
        "{err:#}"
    );
}
