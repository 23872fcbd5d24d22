//! `link`: python.wasm from libpython, the C libraries and a generated main.

use std::path::Path;

use anyhow::Result;

use super::cpython::LinkInfo;
use super::toolchain::Toolchain;
use super::util::publish_link;
use crate::digest::Fingerprint;
use crate::inittab::{self, Entry};
use crate::process::{Cmd, Log};
use crate::stage::{Context, Stage};

const RECIPE: &str = "1";
/// DWARF goes, the name section stays: traps then name the guest function.
const LINK_FLAGS: &[&str] = &["-Wl,--strip-debug"];

pub struct Link;

/// Extension modules linked in beyond CPython's own (none yet: packages
/// append theirs).
fn extra_modules() -> Vec<Entry> {
    Vec::new()
}

impl Stage for Link {
    fn name(&self) -> &'static str {
        "link"
    }
    fn deps(&self) -> &'static [&'static str] {
        &["toolchain", "cpython"]
    }
    fn inputs(&self, _cx: &Context, fp: &mut Fingerprint) -> Result<()> {
        fp.add("recipe", RECIPE);
        fp.add("flags", LINK_FLAGS.join(" "));
        fp.add("main.c", inittab::main_c(&extra_modules())?);
        Ok(())
    }

    fn build(&self, cx: &Context, out: &Path, log: &mut Log) -> Result<()> {
        let tc = Toolchain::at(&cx.output("toolchain")?);
        let info = LinkInfo::load(&cx.output("cpython")?)?;
        log.step("compile main.c");
        std::fs::write(out.join("main.c"), inittab::main_c(&extra_modules())?)?;
        Cmd::new(tc.tool("clang"))
            .args(&info.cflags)
            .arg("-I")
            .arg(&info.include)
            .args(["-c", "main.c", "-o", "main.o"])
            .cwd(out)
            .run(log)?;
        log.step("link python.wasm");
        Cmd::new(tc.tool("clang"))
            .args(&info.ldflags)
            .args(LINK_FLAGS)
            .args(["-o", "python.wasm.tmp", "main.o"])
            .arg(&info.libpython)
            .args(&info.libs)
            .cwd(out)
            .run(log)?;
        std::fs::rename(out.join("python.wasm.tmp"), out.join("python.wasm"))?;
        Ok(())
    }

    fn publish(&self, cx: &Context, out: &Path) -> Result<()> {
        publish_link(&out.join("python.wasm"), &cx.layout.python_wasm())
    }
}
