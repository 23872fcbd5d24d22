//! `cpython`: CPython cross-compiled for wasm32-wasip1 with the tarball's own
//! recipe (`Tools/wasm`: config.site, `--host`, `--with-build-python`), then
//! installed. Its output also records how CPython itself would link
//! `python.wasm` (`link.json`), which the link stage follows.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};

use super::host_python;
use super::toolchain::{TARGET, Toolchain};
use super::util::{apply_patches, fingerprint_patches, publish_link, unpack};
use crate::digest::Fingerprint;
use crate::process::{Cmd, Log};
use crate::stage::{Context, Stage};

pub const PYTHON_VERSION_SHORT: &str = "3.13";
/// Release build: optimised, no debug info in what ships.
const OPT: &str = "-DNDEBUG -g0 -O2 -Wall";
const RECIPE: &str = "3";
/// Where the guest finds the installation (CPython's default prefix).
pub const GUEST_PREFIX: &str = "/usr/local";

pub struct Cpython;

/// What the link stage needs from this build.
#[derive(Debug, Serialize, Deserialize)]
pub struct LinkInfo {
    pub libpython: PathBuf,
    pub include: PathBuf,
    /// The flags CPython compiles its own code with (optimisation,
    /// warnings; the `_WASI_EMULATED_*` defines are in its pyconfig.h).
    pub cflags: Vec<String>,
    /// Linker flags and libraries, in CPython's own order:
    /// `PY_CORE_LDFLAGS LINKFORSHARED` before the objects, the rest after.
    pub ldflags: Vec<String>,
    pub libs: Vec<String>,
}

impl LinkInfo {
    /// libpython and every archive CPython links with (`-lz` found
    /// through the `-L` directories before it; system libraries are not).
    pub fn archives(&self) -> Vec<PathBuf> {
        let mut archives = vec![self.libpython.clone()];
        let mut dirs: Vec<PathBuf> = Vec::new();
        for arg in &self.libs {
            if let Some(dir) = arg.strip_prefix("-L") {
                dirs.push(dir.into());
            } else if let Some(name) = arg.strip_prefix("-l") {
                let found = dirs
                    .iter()
                    .map(|d| d.join(format!("lib{name}.a")))
                    .find(|p| p.is_file());
                archives.extend(found);
            } else if !arg.starts_with('-') {
                archives.push(arg.into());
            }
        }
        archives.sort();
        archives.dedup();
        archives
    }

    pub fn load(cpython_out: &Path) -> Result<Self> {
        let path = cpython_out.join("link.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("malformed {}", path.display()))
    }
}

/// The installed prefix inside the stage output.
pub fn install_dir(out: &Path) -> PathBuf {
    out.join("install")
}

impl Stage for Cpython {
    fn name(&self) -> &'static str {
        "cpython"
    }
    fn deps(&self) -> Vec<&'static str> {
        vec![
            "toolchain",
            "host-python",
            "zlib",
            "bzip2",
            "xz",
            "sqlite",
            "libffi",
        ]
    }
    fn inputs(&self, cx: &Context, fp: &mut Fingerprint) -> Result<()> {
        fp.add("recipe", RECIPE);
        fp.add("opt", OPT);
        fp.add("cpython", &cx.pins.get("cpython")?.sha256);
        fingerprint_patches(cx.layout, "cpython", fp)
    }

    fn build(&self, cx: &Context, out: &Path, log: &mut Log) -> Result<()> {
        let tc = Toolchain::at(&cx.output("toolchain")?);
        let build_python = host_python::python(&cx.output("host-python")?);
        let src = unpack(cx, "cpython", out, log)?;
        apply_patches(cx.layout, "cpython", &src, log)?;
        let build = out.join("build");
        std::fs::create_dir_all(&build)?;
        let config_site = src.join("Tools/wasm/config.site-wasm32-wasi");
        if !config_site.is_file() {
            bail!("the CPython tarball has no {}", config_site.display());
        }
        let build_triple = Cmd::new(src.join("config.guess")).output(log)?;

        log.step("configure");
        let mut configure = tc
            .configure_env(Cmd::new(src.join("configure")))
            .arg(format!("--host={TARGET}"))
            .arg(format!("--build={}", build_triple.trim()))
            .arg(format!("--with-build-python={}", build_python.display()))
            .arg(format!("--prefix={GUEST_PREFIX}"))
            .env("CONFIG_SITE", &config_site)
            .env("OPT", OPT)
            .cwd(&build);
        for (var, stage, lib) in [
            ("ZLIB", "zlib", "z"),
            ("BZIP2", "bzip2", "bz2"),
            ("LIBLZMA", "xz", "lzma"),
            ("LIBSQLITE3", "sqlite", "sqlite3"),
            ("LIBFFI", "libffi", "ffi"),
        ] {
            let dir = cx.output(stage)?;
            configure = configure
                .env(
                    format!("{var}_CFLAGS"),
                    format!("-I{}/include", dir.display()),
                )
                .env(
                    format!("{var}_LIBS"),
                    format!("-L{}/lib -l{lib}", dir.display()),
                );
        }
        configure.run(log)?;

        log.step("make");
        Cmd::new("make")
            .arg(format!("-j{}", cx.jobs))
            .cwd(&build)
            .run(log)?;

        log.step("make install");
        let destdir = out.join("destdir");
        Cmd::new("make")
            .arg(format!("-j{}", cx.jobs))
            .arg("install")
            .arg(format!("DESTDIR={}", destdir.display()))
            .cwd(&build)
            .run(log)?;
        let install = install_dir(out);
        std::fs::rename(destdir.join(GUEST_PREFIX.trim_start_matches('/')), &install)
            .context("cannot move the installed tree into place")?;

        log.step("link flags");
        write_link_info(out, &build, &install, log)
    }

    fn publish(&self, cx: &Context, out: &Path) -> Result<()> {
        publish_link(&install_dir(out), &cx.layout.cpython_install())
    }
}

/// Asks CPython's own Makefile how it links `python.wasm`.
fn write_link_info(out: &Path, build: &Path, install: &Path, log: &mut Log) -> Result<()> {
    let probe = out.join("print-link.mk");
    std::fs::write(
        &probe,
        "include Makefile\nfaasm-py-print-link:\n\t@echo '$(PY_CORE_LDFLAGS) $(LINKFORSHARED)'\n\t@echo '$(LIBS) $(MODLIBS) $(SYSLIBS)'\n\t@echo '$(BASECFLAGS) $(OPT) $(CONFIGURE_CFLAGS) $(CONFIGURE_CPPFLAGS)'\n",
    )?;
    let printed = Cmd::new("make")
        .args(["-s", "-f"])
        .arg(&probe)
        .arg("faasm-py-print-link")
        .cwd(build)
        .output(log)?;
    let mut lines = printed.lines();
    let (Some(ldflags), Some(libs), Some(cflags)) = (lines.next(), lines.next(), lines.next())
    else {
        bail!("CPython's Makefile did not print its link flags");
    };
    let libpython = install.join(format!("lib/libpython{PYTHON_VERSION_SHORT}.a"));
    if !libpython.is_file() {
        bail!("the install has no {}", libpython.display());
    }
    let info = LinkInfo {
        libpython,
        include: install.join(format!("include/python{PYTHON_VERSION_SHORT}")),
        cflags: cflags.split_whitespace().map(String::from).collect(),
        ldflags: ldflags.split_whitespace().map(String::from).collect(),
        // Archives built inside the tree (libmpdec, expat, HACL) are named
        // relative to the build directory.
        libs: libs
            .split_whitespace()
            .map(|lib| match lib.starts_with('-') {
                true => lib.to_owned(),
                false => build.join(lib).to_string_lossy().into_owned(),
            })
            .collect(),
    };
    std::fs::write(out.join("link.json"), serde_json::to_string_pretty(&info)?)?;
    Ok(())
}
