//! `link`: python.wasm from libpython, the C libraries and a generated main.

use std::path::Path;

use anyhow::Result;

use super::cpython::LinkInfo;
use super::package::Manifest;
use super::toolchain::Toolchain;
use super::util::publish_link;
use crate::digest::Fingerprint;
use crate::inittab::{self, Entry};
use crate::process::{Cmd, Log};
use crate::stage::{Context, Stage};
use crate::symbols;

const RECIPE: &str = "1";
/// DWARF goes, the name section stays: traps then name the guest function.
const LINK_FLAGS: &[&str] = &["-Wl,--strip-debug"];

pub struct Link {
    /// Package stages whose modules are linked in.
    pub packages: Vec<&'static str>,
}

impl Link {
    fn manifests(&self, cx: &Context) -> Result<Vec<Manifest>> {
        self.packages
            .iter()
            .map(|p| Manifest::load(&cx.output(p)?))
            .collect()
    }
}

/// The inittab rows of every package module.
fn entries(manifests: &[Manifest]) -> Vec<Entry> {
    manifests
        .iter()
        .flat_map(|m| &m.modules)
        .map(|row| Entry {
            module: row.module.clone(),
            init: row.init.clone(),
        })
        .collect()
}

impl Stage for Link {
    fn name(&self) -> &'static str {
        "link"
    }
    fn deps(&self) -> Vec<&'static str> {
        let mut deps = vec!["toolchain", "cpython"];
        deps.extend(&self.packages);
        deps
    }
    fn inputs(&self, _cx: &Context, fp: &mut Fingerprint) -> Result<()> {
        // The manifests are outputs of the package stages, whose
        // fingerprints are already inputs of this one.
        fp.add("recipe", RECIPE);
        fp.add("flags", LINK_FLAGS.join(" "));
        Ok(())
    }

    fn build(&self, cx: &Context, out: &Path, log: &mut Log) -> Result<()> {
        let tc = Toolchain::at(&cx.output("toolchain")?);
        let info = LinkInfo::load(&cx.output("cpython")?)?;
        let manifests = self.manifests(cx)?;
        log.step("check duplicate symbols");
        let mut archives: Vec<std::path::PathBuf> = manifests
            .iter()
            .flat_map(|m| m.archives())
            .map(|p| p.to_owned())
            .collect();
        archives.extend(info.archives());
        let duplicates = symbols::duplicates(&archives)?;
        if !duplicates.is_empty() {
            anyhow::bail!(
                "global symbols defined by more than one archive (wasm-ld would silently keep one):\n{}",
                symbols::describe(&duplicates)
            );
        }
        log.step("compile main.c");
        std::fs::write(out.join("main.c"), inittab::main_c(&entries(&manifests))?)?;
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
            .args(manifests.iter().flat_map(|m| m.archives()))
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
