//! `runtime`: the tree the guest sees, mounted read-only at the prefix
//! CPython was configured with: the standard library with its compiled
//! bytecode (the guest cannot write `__pycache__`), the packages' Python
//! files and the pure-Python wheels of the lock (dependencies, and what
//! the test suites run on).

use std::path::Path;

use anyhow::Result;
use fs_err as fs;

use super::cpython::CpythonBuild;
use super::host_python;
use super::util::unzip;
use crate::layout::Layout;
use crate::pipeline::{Contract, Stage, StageContext, StageId};
use crate::process::{Cmd, Log};

/// The `runtime` stage.
pub struct Runtime {
    /// Package stages whose Python files go into site-packages.
    pub packages: Vec<StageId>,
    /// The pure-Python wheels of the lock (artifact names).
    pub wheels: Vec<String>,
}

impl Stage for Runtime {
    fn id(&self) -> StageId {
        StageId::Runtime
    }
    fn contract(&self) -> Contract {
        Contract::new(&[
            include_str!("runtime.rs"),
            include_str!("cpython.rs"),
            include_str!("host_python.rs"),
            include_str!("util.rs"),
        ])
        .stages([StageId::HostPython, StageId::Cpython, StageId::Link])
        .stages(self.packages.iter().cloned())
        .pins(&self.wheels)
        .guest()
        .publishes("", Layout::runtime)
    }

    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        let cpython = CpythonBuild::load(&cx.output(&StageId::Cpython)?)?;
        let guest = cx.guest()?;
        let stdlib = guest.stdlib_dir();
        fs::create_dir_all(out.join("lib"))?;
        log.step("copy the standard library");
        // `cp -a` keeps the mtimes the installed bytecode was stamped with.
        Cmd::new("cp")
            .arg("-a")
            .arg(cpython.install.join(&stdlib))
            .arg(out.join("lib"))
            .run(log)?;
        // The static library and build files are for linking, not for the guest.
        let config = out.join(guest.config_dir());
        if config.exists() {
            fs::remove_dir_all(&config)?;
        }
        // sys.executable must be a file: platform.libc_ver() reads it, and
        // test_time and test_strptime call that at import.
        let exe = out.join(guest.executable_file());
        if let Some(bin) = exe.parent() {
            fs::create_dir_all(bin)?;
        }
        let wasm = cx.output(&StageId::Link)?.join(Layout::PYTHON_WASM);
        if std::fs::hard_link(&wasm, &exe).is_err() {
            fs::copy(&wasm, &exe)?;
        }
        // getpath warns unless the platform library directory exists.
        fs::create_dir_all(out.join(guest.lib_dynload_dir()))?;

        let site = out.join(guest.site_packages_dir());
        fs::create_dir_all(&site)?;
        for package in &self.packages {
            log.step(&format!("copy {package}"));
            let files = cx.output(package)?.join("site-packages");
            Cmd::new("cp")
                .arg("-a")
                .arg(format!("{}/.", files.display()))
                .arg(&site)
                .run(log)?;
        }
        // The runtime wheels are pure Python: unpacking is installing.
        for wheel in &self.wheels {
            log.step(&format!("unpack {wheel}"));
            let file = cx.fetch(wheel, log)?;
            unzip(&file, &site, log)?;
        }
        // The same interpreter version writes the same bytecode; the guest
        // only reads it (timestamps kept by `cp -a`).
        log.step("compile bytecode");
        Cmd::new(host_python::python(&cx.output(&StageId::HostPython)?))
            .args(["-m", "compileall", "-q", "-j0"])
            .arg(&site)
            .run(log)
    }
}
