//! `cargo faasm-py run -- ARGS`: python.wasm with the current directory
//! mounted read-write, stdio attached.

use std::process::ExitCode;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use super::build::build_quietly;
use super::python::{Modules, load_python};
use crate::cli::{Global, RunArgs};
use crate::layout::Layout;
use crate::ui::Ui;

/// Exit codes for guest failures that are not an exit, as shells know them.
const EXIT_TRAP: u8 = 134;
const EXIT_TIMEOUT: u8 = 124;
const EXIT_OOM: u8 = 137;

/// Builds what is stale, then runs python.wasm once.
pub fn run(layout: &Layout, global: &Global, args: RunArgs, ui: &Ui) -> Result<ExitCode> {
    let (inputs, _) = build_quietly(layout, global, ui)?;
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    if cwd.parent().is_none() {
        bail!("refusing to mount / read-write into the guest: run from a project directory");
    }
    let guest_cwd = cwd
        .to_str()
        .with_context(|| format!("the current directory {} is not UTF-8", cwd.display()))?
        .to_owned();
    let scratch = tempfile::Builder::new()
        .prefix("faasm-py-run-")
        .tempdir()
        .context("cannot create a scratch directory")?;
    let run = harness::PythonRun {
        args: args.args,
        scratch: scratch.path().to_owned(),
        cwd: Some((cwd.clone(), guest_cwd)),
        extra_preopens: Vec::new(),
        extra_env: Vec::new(),
        stdin: harness::Input::Inherit,
        stdout: harness::Output::Inherit,
        stderr: harness::Output::Inherit,
        deadline: args.timeout_secs,
        memory_limit_bytes: Some((args.memory_mib as usize) << 20),
    };
    // One module is loaded: the snapshot unless this run asks for what it
    // cannot give (harness::snapshot_refusal) or for the plain module.
    let modules = if args.no_snapshot
        || harness::snapshot_refusal(&run.args, &harness::python_env(&run)).is_some()
    {
        Modules::Plain
    } else {
        Modules::Snapshot
    };
    // Without --timeout the guest is compiled without epoch checks, which
    // only deadlines need.
    let options = harness::EngineOptions {
        deadlines: run.deadline.is_some(),
        ..harness::EngineOptions::default()
    };
    let python = load_python(layout, &inputs.pins, modules, options, ui)?;
    // The run's start as the kernel stamps files (its file clock is coarser
    // than SystemTime::now() and lags it by up to a tick, so a link the
    // guest makes at once could otherwise look older than the run): the
    // scratch directory's own stamp, made before the module was loaded.
    let started = std::fs::metadata(scratch.path())
        .and_then(|m| m.modified())
        .context("cannot read the scratch directory's time")?;
    let output = python.run(run)?;
    // The guest may create links whose targets climb out of the working
    // directory (it cannot follow them itself); the host's tools would.
    for (link, target) in escaping_links(&cwd, started) {
        eprintln!(
            "warning: python.wasm left a link that points outside {}: {} -> {}",
            cwd.display(),
            link.display(),
            target.display()
        );
    }
    Ok(match output.status {
        harness::Status::Exited(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        ref status => {
            eprintln!("error: python.wasm {status}");
            ExitCode::from(match status {
                harness::Status::TimedOut { .. } => EXIT_TIMEOUT,
                harness::Status::OutOfMemory { .. } => EXIT_OOM,
                _ => EXIT_TRAP,
            })
        }
    })
}

/// Most entries the link scan visits: a huge working directory is not
/// walked whole after every run.
const SCAN_LIMIT: usize = 100_000;

/// Links under `root` made at or after `since` whose target, resolved
/// against the link's own directory without following anything, lies
/// outside `root`.
fn escaping_links(root: &Path, since: std::time::SystemTime) -> Vec<(PathBuf, PathBuf)> {
    let mut found = Vec::new();
    let mut visited = 0;
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            visited += 1;
            if visited > SCAN_LIMIT {
                return found;
            }
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                dirs.push(path);
            } else if meta.file_type().is_symlink()
                && meta.modified().is_ok_and(|m| m >= since)
                && let Ok(target) = std::fs::read_link(&path)
                && !stays_inside(root, &dir, &target)
            {
                found.push((path, target));
            }
        }
    }
    found
}

/// Whether `target`, as written in a link in `dir`, names something under
/// `root` (by its components alone: `..` climbs, nothing is followed).
fn stays_inside(root: &Path, dir: &Path, target: &Path) -> bool {
    use std::path::Component;
    let mut at: Vec<Component> = if target.is_absolute() {
        Vec::new()
    } else {
        dir.components().collect()
    };
    for part in target.components() {
        match part {
            Component::ParentDir => {
                at.pop();
            }
            Component::CurDir => {}
            other => at.push(other),
        }
    }
    let resolved: PathBuf = at.iter().collect();
    resolved.starts_with(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_that_climb_out_are_found_and_others_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        let before = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
        std::os::unix::fs::symlink("../../../../etc/passwd", root.join("sub/out")).unwrap();
        std::os::unix::fs::symlink("../inside.txt", root.join("sub/in")).unwrap();
        std::os::unix::fs::symlink("/etc/hosts", root.join("abs")).unwrap();
        let mut found: Vec<String> = escaping_links(root, before)
            .into_iter()
            .map(|(link, _)| link.strip_prefix(root).unwrap().display().to_string())
            .collect();
        found.sort();
        assert_eq!(found, ["abs", "sub/out"]);
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
        assert!(
            escaping_links(root, later).is_empty(),
            "older links are the user's"
        );
    }
}
