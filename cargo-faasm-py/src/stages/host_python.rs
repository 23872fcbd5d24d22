//! `host-python`: native CPython of exactly the target's version, from the
//! same tarball. Cross-compiling CPython needs it (`--with-build-python`), and
//! package builds run on it with the target's sysconfig.

use std::path::{Path, PathBuf};

use anyhow::{Result, ensure};
use fs_err as fs;

use super::util::{make, unpack};
use crate::layout::Layout;
use crate::pins::CPYTHON;
use crate::pipeline::{Contract, Stage, StageContext, StageId};
use crate::process::{Cmd, Log};

/// The `host-python` stage.
pub struct HostPython;

/// The installed interpreter inside the stage output (`make install`
/// names it `python3` as well as `python3.X`).
pub fn python(out: &Path) -> PathBuf {
    out.join("install/bin/python3")
}

impl Stage for HostPython {
    fn id(&self) -> StageId {
        StageId::HostPython
    }
    fn contract(&self) -> Contract {
        Contract::new(&[include_str!("host_python.rs"), include_str!("util.rs")])
            .pin(CPYTHON)
            .publishes("install", Layout::host_python_install)
    }

    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        let src = unpack(cx, CPYTHON, out, log)?;
        let build = out.join("build");
        fs::create_dir_all(&build)?;
        log.step("configure");
        Cmd::new(src.join("configure"))
            .arg(format!("--prefix={}", out.join("install").display()))
            .arg("--with-ensurepip=install")
            .env("CFLAGS", "-O2")
            .cwd(&build)
            .run(log)?;
        log.step("make");
        make(cx, &build, &[], log)?;
        log.step("make install");
        make(cx, &build, &["install"], log)?;
        log.step("check");
        let version = Cmd::new(python(out))
            .args([
                "-c",
                "import sys, zlib; print('%d.%d.%d' % sys.version_info[:3])",
            ])
            .output(log)?;
        let want = &cx.pin(CPYTHON)?.version;
        ensure!(
            version.trim() == want,
            "the host python reports version {}, expected {want}",
            version.trim()
        );
        Ok(())
    }
}

/// A virtual environment of the host python at `<out>/venv` with the given
/// pinned wheels installed offline from the download cache. The calling
/// stage declares `host-python` and the wheels' pins.
pub fn venv_with_wheels(
    cx: &StageContext,
    out: &Path,
    artifacts: &[impl AsRef<str>],
    log: &mut Log,
) -> Result<()> {
    let python = python(&cx.output(&StageId::HostPython)?);
    log.step("venv");
    Cmd::new(&python)
        .args(["-m", "venv"])
        .arg(out.join("venv"))
        .run(log)?;
    let mut wheels = Vec::new();
    for artifact in artifacts {
        wheels.push(cx.fetch(artifact.as_ref(), log)?);
    }
    if wheels.is_empty() {
        return Ok(());
    }
    log.step("install wheels");
    Cmd::new(out.join("venv/bin/python"))
        .args(["-m", "pip", "install", "--no-index", "--no-deps", "--quiet"])
        .args(&wheels)
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .run(log)
}
