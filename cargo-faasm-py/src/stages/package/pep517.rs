//! Any other PEP 517 backend (setuptools with Cython and `build_ext`, and
//! the like): the backend's own `build_wheel`, called in the host python
//! made to report the wasm build's configuration (what crossenv did), with
//! the build tools of the lock on its path and our compilers as `CC`,
//! `CXX` and `LDSHARED`. Extension modules become static archives through
//! the same wrapper as meson's; the wheel's Python files, with its
//! `.dist-info`, go into site-packages.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use fs_err as fs;

use super::cross::{
    WASI_DEFINES, build_shims, guest_build_deps_view, library_flags, target_env, write_wrapper,
};
use super::manifest::Manifest;
use super::modules;
use crate::pipeline::{StageContext, StageId};
use crate::plan::Package;
use crate::process::{Cmd, Log};
use crate::stages::build_tools;
use crate::stages::cpython::CpythonBuild;
use crate::stages::host_python;
use crate::stages::toolchain::Toolchain;
use crate::stages::util::{files_under, path_with, unzip};

/// Calls a PEP 517 backend's `build_wheel` (named `module:object`) and
/// prints the wheel's name.
const BUILD_WHEEL: &str = "import importlib, sys\n\
module, _, attrs = sys.argv[1].partition(':')\n\
backend = importlib.import_module(module)\n\
for attr in filter(None, attrs.split('.')):\n    backend = getattr(backend, attr)\n\
print(backend.build_wheel(sys.argv[2]))\n";

/// The `sitecustomize` of a build's pythons: `static_ext_cc.py`, beside
/// it, hooks setuptools.
const SITECUSTOMIZE: &str = "import static_ext_cc\nstatic_ext_cc.setuptools_hook()\n";

/// Builds `package` from `src` with `backend` into `out`.
pub fn build(
    cx: &StageContext,
    package: &Package,
    backend: &str,
    src: &Path,
    out: &Path,
    log: &mut Log,
) -> Result<()> {
    let tc = Toolchain::with_cxx(
        &cx.output(&StageId::Toolchain)?,
        &cx.output(&StageId::CxxRuntime)?,
    );
    let cpython = CpythonBuild::load(&cx.output(&StageId::Cpython)?)?;
    let tools_bin = build_tools::bin(&build_tools::dir(out));
    let tools_site = build_tools::site(&build_tools::dir(out), &cx.guest);
    // Not the venv's python: sysconfig's `venv` scheme would report the
    // host's headers.
    let python = host_python::python(&cx.output(&StageId::HostPython)?);
    let wrap = write_wrapper(&tc, &tools_bin.join("python"), out, src, &cpython)?;
    let shell = |cmd: &str| format!("{} {cmd}", wrap.join("cc").display());
    let (includes, lib_dirs) = library_flags(cx, package)?;
    // An in-tree backend (PEP 517's `backend-path`) is imported from the
    // source tree, ahead of the build tools.
    let mut python_path = backend_path(src)?;
    python_path.push(tools_site.clone());
    // Every python of the build (the backend's, and those it starts: a
    // backend may run `setup.py build` in a process of its own) imports
    // this `sitecustomize`, whose hook makes setuptools' `build_ext`
    // record the dotted name of each extension it builds, by which the
    // wrapper names modules.
    fs::write(wrap.join("sitecustomize.py"), SITECUSTOMIZE)?;
    python_path.push(wrap.clone());
    python_path.extend(guest_build_deps_view(cx, package, out, log)?);
    let python_path = std::env::join_paths(&python_path)
        .context("a backend-path directory cannot go on PYTHONPATH")?;

    log.step("build the wheel");
    let dist = out.join("dist");
    fs::create_dir_all(&dist)?;
    let mut cmd = Cmd::new(&python)
        .args(["-c", BUILD_WHEEL, backend])
        .arg(&dist)
        .cwd(src)
        .env("PYTHONPATH", &python_path)
        .env("PATH", path_with(&[&tools_bin]))
        .env("CC", wrap.join("cc"))
        .env("CXX", wrap.join("c++"))
        .env("LDSHARED", shell("-shared"))
        .env(
            "LDCXXSHARED",
            format!("{} -shared", wrap.join("c++").display()),
        )
        .env("AR", tc.tool("llvm-ar"))
        .env(
            "CFLAGS",
            format!("-O2 {} {includes}", WASI_DEFINES.join(" ")),
        )
        .env("LDFLAGS", &lib_dirs)
        .env("PKG_CONFIG_LIBDIR", "/nonexistent")
        .env_remove("PKG_CONFIG_PATH")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    for (key, value) in target_env(cx, &cpython) {
        cmd = cmd.env(key, value);
    }
    for (key, value) in &package.env {
        cmd = cmd.env(key, value);
    }
    let printed = cmd.output(log)?;
    let wheel = printed.lines().last().unwrap_or_default().trim().to_owned();
    if wheel.is_empty() {
        bail!("the build backend `{backend}` named no wheel");
    }

    log.step("collect");
    let site = out.join("site-packages");
    fs::create_dir_all(&site)?;
    unzip(&dist.join(&wheel), &site, log)?;
    let suffix = cx.guest.ext_suffix();
    for path in files_under(&site)? {
        if path.to_string_lossy().ends_with(&suffix) {
            fs::remove_file(&path)?;
        }
    }
    let mut manifest = Manifest {
        modules: modules::privatize(&tc, &package.name, &wrap, out, log)?,
        extra_archives: Vec::new(),
    };
    if !package.shims.is_empty() {
        manifest
            .extra_archives
            .push(build_shims(cx, &tc, package, out, log)?);
    }
    manifest.save(out)
}

/// The source tree's `[build-system] backend-path` directories.
fn backend_path(src: &Path) -> Result<Vec<std::path::PathBuf>> {
    #[derive(serde::Deserialize)]
    struct Pyproject {
        #[serde(default, rename = "build-system")]
        build_system: BuildSystem,
    }
    #[derive(serde::Deserialize, Default)]
    struct BuildSystem {
        #[serde(default, rename = "backend-path")]
        backend_path: Vec<String>,
    }
    let file = src.join("pyproject.toml");
    if !file.is_file() {
        return Ok(Vec::new());
    }
    let pyproject: Pyproject = harness::text::parse_toml(&fs::read_to_string(&file)?, &file)?;
    pyproject
        .build_system
        .backend_path
        .iter()
        .map(|dir| {
            let rel = Path::new(dir);
            if rel.is_absolute()
                || rel
                    .components()
                    .any(|c| c == std::path::Component::ParentDir)
            {
                bail!(
                    "{}: backend-path `{dir}` leaves the source tree",
                    file.display()
                );
            }
            Ok(src.join(rel))
        })
        .collect()
}
