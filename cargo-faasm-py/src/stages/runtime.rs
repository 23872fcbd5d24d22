//! `runtime`: the tree the guest sees, mounted read-only at the prefix
//! CPython was configured with: the standard library with its compiled
//! bytecode (the guest cannot write `__pycache__`).

use std::path::Path;

use anyhow::{Context as _, Result};

use super::PYTHON_VERSION_SHORT;
use super::cpython::install_dir;
use super::host_python;
use super::util::{publish_link, unzip};
use crate::digest::Fingerprint;
use crate::process::{Cmd, Log};
use crate::stage::{Context, Stage};

const RECIPE: &str = "1";

pub struct Runtime {
    /// Package stages whose Python files go into site-packages.
    pub packages: Vec<&'static str>,
}

impl Stage for Runtime {
    fn name(&self) -> &'static str {
        "runtime"
    }
    fn deps(&self) -> Vec<&'static str> {
        let mut deps = vec!["host-python", "cpython", "link"];
        deps.extend(&self.packages);
        deps
    }
    fn inputs(&self, cx: &Context, fp: &mut Fingerprint) -> Result<()> {
        fp.add("recipe", RECIPE);
        for dep in super::test_dependencies(cx.layout)? {
            fp.add(&dep, &cx.pins.get(&dep)?.sha256);
        }
        Ok(())
    }

    fn build(&self, cx: &Context, out: &Path, log: &mut Log) -> Result<()> {
        let install = install_dir(&cx.output("cpython")?);
        let lib = format!("lib/python{PYTHON_VERSION_SHORT}");
        std::fs::create_dir_all(out.join("lib"))?;
        log.step("copy the standard library");
        // `cp -a` keeps the mtimes the installed bytecode was stamped with.
        Cmd::new("cp")
            .arg("-a")
            .arg(install.join(&lib))
            .arg(out.join("lib"))
            .run(log)?;
        // The static library and build files are for linking, not for the guest.
        let config = out
            .join(&lib)
            .join(format!("config-{PYTHON_VERSION_SHORT}-wasm32-wasi"));
        if config.exists() {
            std::fs::remove_dir_all(&config)?;
        }
        // sys.executable must be a file: platform.libc_ver() reads it, and
        // test_time and test_strptime call that at import.
        std::fs::create_dir_all(out.join("bin"))?;
        let exe = out.join(format!("bin/python{PYTHON_VERSION_SHORT}"));
        let wasm = cx.output("link")?.join("python.wasm");
        if std::fs::hard_link(&wasm, &exe).is_err() {
            std::fs::copy(&wasm, &exe)
                .with_context(|| format!("cannot copy {} to {}", wasm.display(), exe.display()))?;
        }
        // getpath warns unless the platform library directory exists.
        std::fs::create_dir_all(out.join(&lib).join("lib-dynload"))?;

        let site = out.join(&lib).join("site-packages");
        std::fs::create_dir_all(&site)?;
        for package in &self.packages {
            log.step(&format!("copy {package}"));
            let files = cx.output(package)?.join("site-packages");
            Cmd::new("cp")
                .arg("-a")
                .arg(format!("{}/.", files.display()))
                .arg(&site)
                .run(log)?;
        }
        // Test dependencies are pure-Python wheels: unpacking is installing.
        for dep in super::test_dependencies(cx.layout)? {
            log.step(&format!("unpack {dep}"));
            let wheel = cx.fetcher.get(&dep, log)?;
            unzip(&wheel, &site, log)?;
        }
        // The same interpreter version writes the same bytecode; the guest
        // only reads it (timestamps kept by `cp -a`).
        log.step("compile bytecode");
        Cmd::new(host_python::python(&cx.output("host-python")?))
            .args(["-m", "compileall", "-q", "-j0"])
            .arg(&site)
            .run(log)
    }

    fn publish(&self, cx: &Context, out: &Path) -> Result<()> {
        publish_link(out, &cx.layout.runtime())
    }
}
