//! Any other PEP 517 backend (setuptools with Cython and `build_ext`, and
//! the like): the backend's own `build_wheel`, called in the host python
//! made to report the wasm build's configuration (what crossenv did), with
//! the build tools of the lock on its path and our compilers as `CC`,
//! `CXX` and `LDSHARED`. Extension modules become static archives through
//! the same wrapper as meson's; the wheel's Python files, with its
//! `.dist-info`, go into site-packages.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use fs_err as fs;

use super::cross::{WASI_DEFINES, library_flags, sitecustomize, target_env};
use super::flow::{Backend, Build};
use crate::pipeline::StageContext;
use crate::process::{Cmd, Log};
use crate::pyproject::parse_pyproject;
use crate::stages::util::{path_with, unzip};

/// Calls a PEP 517 backend's `build_wheel` (named `module:object`) and
/// prints the wheel's name.
const BUILD_WHEEL: &str = "import importlib, sys\n\
module, _, attrs = sys.argv[1].partition(':')\n\
backend = importlib.import_module(module)\n\
for attr in filter(None, attrs.split('.')):\n    backend = getattr(backend, attr)\n\
print(backend.build_wheel(sys.argv[2]))\n";

/// A PEP 517 backend, named `module:object`.
pub struct Pep517<'b>(pub &'b str);

impl Backend for Pep517<'_> {
    fn build_dir(&self, src: &Path, _out: &Path) -> PathBuf {
        src.to_owned()
    }

    fn build(&self, cx: &StageContext, b: &Build, site: &Path, log: &mut Log) -> Result<()> {
        let (backend, package, src, wrap) = (self.0, b.package, &b.src, &b.wrap);
        let shell = |cmd: &str| format!("{} {cmd}", wrap.compiler("cc").display());
        let (includes, lib_dirs) = library_flags(cx, package)?;
        // An in-tree backend (PEP 517's `backend-path`) is imported from the
        // source tree, ahead of the build tools.
        let mut python_path = backend_path(src)?;
        python_path.push(b.tools_site.clone());
        // Every python of the build (the backend's, and those it starts: a
        // backend may run `setup.py build` in a process of its own) imports
        // this `sitecustomize`, whose hook makes setuptools' `build_ext`
        // record the dotted name of each extension it builds, by which the
        // wrapper names modules.
        fs::write(wrap.dir.join("sitecustomize.py"), sitecustomize(wrap)?)?;
        python_path.push(wrap.dir.clone());
        python_path.extend(b.guest_build_deps.clone());
        let python_path = std::env::join_paths(&python_path)
            .context("a backend-path directory cannot go on PYTHONPATH")?;

        log.step("build the wheel");
        let dist = b.out.join("dist");
        fs::create_dir_all(&dist)?;
        let mut cmd = Cmd::new(&b.host_python)
            .args(["-c", BUILD_WHEEL, backend])
            .arg(&dist)
            .cwd(src)
            .env("PYTHONPATH", &python_path)
            .env("PATH", path_with(&[&b.tools_bin]))
            .env("CC", wrap.compiler("cc"))
            .env("CXX", wrap.compiler("c++"))
            .env("LDSHARED", shell("-shared"))
            .env(
                "LDCXXSHARED",
                format!("{} -shared", wrap.compiler("c++").display()),
            )
            .env("AR", b.tc.tool("llvm-ar"))
            .env(
                "CFLAGS",
                format!("-O2 {} {includes}", WASI_DEFINES.join(" ")),
            )
            .env("LDFLAGS", &lib_dirs)
            .env("PKG_CONFIG_LIBDIR", "/nonexistent")
            .env_remove("PKG_CONFIG_PATH")
            .env("PYTHONDONTWRITEBYTECODE", "1");
        for (key, value) in target_env(cx, &b.cpython)? {
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
        fs::create_dir_all(site)?;
        unzip(&dist.join(&wheel), site, log)
    }
}

/// The source tree's `[build-system] backend-path` directories.
fn backend_path(src: &Path) -> Result<Vec<PathBuf>> {
    let file = src.join("pyproject.toml");
    if !file.is_file() {
        return Ok(Vec::new());
    }
    let pyproject = parse_pyproject(Some(&fs::read_to_string(&file)?))
        .with_context(|| file.display().to_string())?;
    pyproject
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
