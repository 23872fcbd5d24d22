//! `build-tools`: a virtual environment of the host python with the pinned
//! wheels that package builds run (Cython, ninja, …), installed offline from
//! the download cache.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::host_python;
use crate::digest::Fingerprint;
use crate::process::Log;
use crate::stage::{Context, Stage};

const RECIPE: &str = "1";

pub struct BuildTools;

/// The environment's `bin/` directory inside the stage output.
pub fn bin(out: &Path) -> PathBuf {
    out.join("venv/bin")
}

/// Every build tool any package asks for, once, in a stable order.
fn tools<'a>(cx: &Context<'a>) -> Vec<&'a str> {
    let mut tools: Vec<&str> = cx
        .pins
        .package
        .iter()
        .flat_map(|p| p.build_tools.iter().map(String::as_str))
        .collect();
    tools.sort_unstable();
    tools.dedup();
    tools
}

impl Stage for BuildTools {
    fn name(&self) -> &'static str {
        "build-tools"
    }
    fn deps(&self) -> Vec<&'static str> {
        vec!["host-python"]
    }
    fn inputs(&self, cx: &Context, fp: &mut Fingerprint) -> Result<()> {
        fp.add("recipe", RECIPE);
        for tool in tools(cx) {
            fp.add(tool, &cx.pins.get(tool)?.sha256);
        }
        Ok(())
    }

    fn build(&self, cx: &Context, out: &Path, log: &mut Log) -> Result<()> {
        host_python::venv_with_wheels(cx, out, &tools(cx), log)
    }
}
