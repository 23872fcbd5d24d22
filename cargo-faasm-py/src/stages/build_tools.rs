//! `build-tools`: a virtual environment of the host python with the pinned
//! wheels that package builds run (Cython, ninja, …), installed offline from
//! the download cache.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::host_python;
use crate::digest::Fingerprint;
use crate::pipeline::{Context, Stage, StageContext, StageId};
use crate::process::Log;

/// The `build-tools` stage.
pub struct BuildTools;

/// The environment's `bin/` directory inside the stage output.
pub fn bin(out: &Path) -> PathBuf {
    out.join("venv/bin")
}

/// The venv's site-packages in the stage's output `out`, for pythons other
/// than the venv's own that must import the tools (a venv has the same
/// `lib/pythonX.Y/site-packages` as the guest).
pub fn site(out: &Path, guest: &harness::GuestLayout) -> PathBuf {
    out.join("venv").join(guest.site_packages_dir())
}

/// Every build tool the lock names for this CPython, once, in order.
fn tools<'a>(cx: &Context<'a>) -> &'a [String] {
    &cx.plan.build_tools
}

impl Stage for BuildTools {
    fn id(&self) -> StageId {
        StageId::BuildTools
    }
    fn deps(&self) -> Vec<StageId> {
        vec![StageId::HostPython]
    }
    fn recipe(&self) -> &'static [&'static str] {
        &[include_str!("build_tools.rs")]
    }
    fn inputs(&self, cx: &StageContext, fp: &mut Fingerprint) -> Result<()> {
        for tool in tools(cx) {
            fp.add(tool, &cx.pins.get(tool)?.sha256);
        }
        Ok(())
    }

    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        host_python::venv_with_wheels(cx, out, tools(cx), log)
    }
}
