//! One package build, whatever its backend: the setup both backends need
//! (toolchain, CPython's build, build tools, compiler wrapper, guest build
//! view), the backend's own build, then the same collection: extension
//! files out of site-packages, modules privatized, shims, manifest.

use std::path::{Path, PathBuf};

use anyhow::Result;
use fs_err as fs;

use super::absent;
use super::cross::{Wrap, build_shims, guest_build_deps_view, write_wrapper};
use super::manifest::Manifest;
use super::modules;
use crate::pipeline::{StageContext, StageId};
use crate::plan::Package;
use crate::process::Log;
use crate::stages::build_tools;
use crate::stages::cpython::CpythonBuild;
use crate::stages::host_python;
use crate::stages::toolchain::Toolchain;
use crate::stages::util::files_under;

/// What a backend builds with, set up alike for every backend.
pub struct Build<'p> {
    pub package: &'p Package,
    /// The package's unpacked, patched source tree.
    pub src: PathBuf,
    /// The stage's output directory.
    pub out: PathBuf,
    pub tc: Toolchain,
    pub cpython: CpythonBuild,
    /// The build tools' venv `bin/` and site-packages.
    pub tools_bin: PathBuf,
    pub tools_site: PathBuf,
    /// The native python of CPython's version. Not the build tools' venv's
    /// python: sysconfig's `venv` scheme would report the host's headers.
    pub host_python: PathBuf,
    /// The compiler wrapper (`cc`, `c++`, `static_ext_cc.py`).
    pub wrap: Wrap,
    /// The guest packages the build compiles against
    /// ([`guest_build_deps_view`]), for `PYTHONPATH`.
    pub guest_build_deps: Option<PathBuf>,
}

/// What differs between build backends.
pub trait Backend {
    /// The directory the compilers run in, against which the wrapper
    /// resolves the relative paths of their command lines.
    fn build_dir(&self, src: &Path, out: &Path) -> PathBuf;

    /// Builds the package, leaving its extension modules with the wrapper
    /// and its Python files (with a `.dist-info`) in `site`.
    fn build(&self, cx: &StageContext, build: &Build, site: &Path, log: &mut Log) -> Result<()>;

    /// Checks the modules that were built.
    fn check(&self, _cx: &StageContext, _build: &Build, _manifest: &Manifest) -> Result<()> {
        Ok(())
    }
}

/// Builds `package` from its source tree `src` with `backend` into `out`.
pub fn build(
    cx: &StageContext,
    backend: &dyn Backend,
    package: &Package,
    src: &Path,
    out: &Path,
    log: &mut Log,
) -> Result<()> {
    let tc = Toolchain::with_cxx(
        &cx.output(&StageId::Toolchain)?,
        &cx.output(&StageId::CxxRuntime)?,
    );
    let cpython = CpythonBuild::load(&cx.output(&StageId::Cpython)?)?;
    let tools = build_tools::dir(out);
    let tools_bin = build_tools::bin(&tools);
    let wrap = write_wrapper(
        &tc,
        &tools_bin.join("python"),
        out,
        &backend.build_dir(src, out),
        &cpython,
    )?;
    let build = Build {
        package,
        src: src.to_owned(),
        out: out.to_owned(),
        tc,
        cpython,
        tools_site: build_tools::site(&tools, cx.guest()?),
        tools_bin,
        host_python: host_python::python(&cx.output(&StageId::HostPython)?),
        wrap,
        guest_build_deps: guest_build_deps_view(cx, package, out, log)?,
    };
    let site = out.join("site-packages");
    backend.build(cx, &build, &site, log)?;

    log.step("collect");
    remove_extension_files(cx, &site)?;
    absent::write(package, &site)?;
    let mut manifest = Manifest {
        modules: modules::privatize(&build.tc, &package.name, &build.wrap.modules, out, log)?,
        extra_archives: Vec::new(),
    };
    backend.check(cx, &build, &manifest)?;
    if !package.shims.is_empty() {
        manifest
            .extra_archives
            .push(build_shims(cx, &build.tc, package, out, log)?);
    }
    manifest.save(out)
}

/// Removes the files installed as extension modules (`EXT_SUFFIX`): they
/// are the wrapper's archives, linked into python.wasm instead.
fn remove_extension_files(cx: &StageContext, site: &Path) -> Result<()> {
    let suffix = cx.guest()?.ext_suffix();
    for path in files_under(site)? {
        if path.to_string_lossy().ends_with(&suffix) {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}
