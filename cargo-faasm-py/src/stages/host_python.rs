//! `host-python`: native CPython of exactly the target's version, from the
//! same tarball. Cross-compiling CPython needs it (`--with-build-python`), and
//! package builds run on it with the target's sysconfig.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::util::{publish_link, unpack};
use crate::digest::Fingerprint;
use crate::process::{Cmd, Log};
use crate::stage::{Context, Stage};

const RECIPE: &str = "1";

pub struct HostPython;

/// The installed interpreter inside the stage output.
pub fn python(out: &Path) -> PathBuf {
    out.join(format!("install/bin/python{}", super::PYTHON_VERSION_SHORT))
}

impl Stage for HostPython {
    fn name(&self) -> &'static str {
        "host-python"
    }
    fn deps(&self) -> Vec<&'static str> {
        // Each stage fetches its own artifacts, which its inputs name; a
        // dependency on `fetch` would rebuild it whenever any pin changed.
        vec![]
    }
    fn inputs(&self, cx: &Context, fp: &mut Fingerprint) -> Result<()> {
        fp.add("recipe", RECIPE);
        fp.add("cpython", &cx.pins.get("cpython")?.sha256);
        Ok(())
    }

    fn build(&self, cx: &Context, out: &Path, log: &mut Log) -> Result<()> {
        let src = unpack(cx, "cpython", out, log)?;
        let build = out.join("build");
        std::fs::create_dir_all(&build)?;
        log.step("configure");
        Cmd::new(src.join("configure"))
            .arg(format!("--prefix={}", out.join("install").display()))
            .arg("--with-ensurepip=install")
            .env("CFLAGS", "-O2")
            .cwd(&build)
            .run(log)?;
        log.step("make");
        Cmd::new("make")
            .arg(format!("-j{}", cx.jobs))
            .cwd(&build)
            .run(log)?;
        log.step("make install");
        Cmd::new("make")
            .arg(format!("-j{}", cx.jobs))
            .arg("install")
            .cwd(&build)
            .run(log)?;
        log.step("check");
        let version = Cmd::new(python(out))
            .args([
                "-c",
                "import sys, zlib; print('%d.%d.%d' % sys.version_info[:3])",
            ])
            .output(log)?;
        let want = &cx.pins.get("cpython")?.version;
        anyhow::ensure!(
            version.trim() == want,
            "the host python reports version {}, expected {want}",
            version.trim()
        );
        Ok(())
    }

    fn publish(&self, cx: &Context, out: &Path) -> Result<()> {
        publish_link(&out.join("install"), &cx.layout.host_python_install())
    }
}

/// A virtual environment of the host python at `<out>/venv` with the given
/// pinned wheels installed offline from the download cache.
pub fn venv_with_wheels(
    cx: &Context,
    out: &Path,
    artifacts: &[impl AsRef<str>],
    log: &mut Log,
) -> Result<()> {
    let python = python(&cx.output("host-python")?);
    log.step("venv");
    Cmd::new(&python)
        .args(["-m", "venv"])
        .arg(out.join("venv"))
        .run(log)?;
    let mut wheels = Vec::new();
    for artifact in artifacts {
        wheels.push(cx.fetcher.get(artifact.as_ref(), log)?);
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
