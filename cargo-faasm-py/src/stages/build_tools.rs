//! A package's build tools: a virtual environment of the host python with
//! the pinned wheels its build runs (Cython, meson, ninja, …) and nothing
//! else, installed offline from the download cache into the package
//! stage's own output. Each package gets its own, so adding or changing
//! another package never changes what builds it.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::host_python;
use crate::pipeline::StageContext;
use crate::process::Log;

/// The environment's directory inside a package stage's output.
pub fn dir(out: &Path) -> PathBuf {
    out.join("tools")
}

/// The environment's `bin/` directory.
pub fn bin(dir: &Path) -> PathBuf {
    dir.join("venv/bin")
}

/// The environment's site-packages, for pythons other than the venv's own
/// that must import the tools (a venv has the same
/// `lib/pythonX.Y/site-packages` as the guest).
pub fn site(dir: &Path, guest: &harness::GuestLayout) -> PathBuf {
    dir.join("venv").join(guest.site_packages_dir())
}

/// Creates the environment in `dir` with the wheels `tools` (artifact
/// names).
pub fn create(cx: &StageContext, dir: &Path, tools: &[String], log: &mut Log) -> Result<()> {
    log.step("build tools");
    host_python::venv_with_wheels(cx, dir, tools, log)
}
