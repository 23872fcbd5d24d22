//! Every path the tool reads or writes, derived in one place.
//!
//! Build outputs live in the cache directory, one directory per stage and
//! fingerprint, so a fresh clone on a machine that has built the same inputs
//! before finds them again. The checkout and the cargo target directory only
//! hold links to the current outputs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Environment variable that overrides the cache directory.
pub const CACHE_ENV: &str = "FAASM_PY_CACHE";

/// Host paths: the workspace, cargo's target directory and the cache.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The workspace root (where `third-party/` lives).
    pub workspace: PathBuf,
    /// Cargo's target directory.
    pub target: PathBuf,
    /// Downloads, toolchain, stage outputs, compiled modules.
    pub cache: PathBuf,
}

impl Layout {
    /// Finds the workspace and target directory through `cargo metadata`.
    pub fn discover(
        manifest_path: Option<&Path>,
        target_dir: Option<&Path>,
        cache_dir: Option<&Path>,
    ) -> Result<Self> {
        let mut cmd = cargo_metadata::MetadataCommand::new();
        cmd.no_deps();
        if let Some(path) = manifest_path {
            cmd.manifest_path(path);
        }
        let meta = cmd.exec().context(
            "cannot read the workspace with `cargo metadata` (run inside the faasm-py checkout or pass --manifest-path)",
        )?;
        let workspace = meta.workspace_root.into_std_path_buf();
        let target = match target_dir {
            Some(dir) => absolute(dir)?,
            None => meta.target_directory.into_std_path_buf(),
        };
        let cache = match cache_dir {
            Some(dir) => absolute(dir)?,
            None => default_cache_dir()?,
        };
        Ok(Self {
            workspace,
            target,
            cache,
        })
    }

    /// The pins.
    pub fn sources_toml(&self) -> PathBuf {
        self.workspace.join("third-party/sources.toml")
    }
    /// Patches to upstream sources, one directory per package.
    pub fn patches(&self) -> PathBuf {
        self.workspace.join("third-party/patches")
    }
    /// Small C sources linked in to stand in for missing runtime pieces.
    pub fn shims(&self) -> PathBuf {
        self.workspace.join("third-party/shims")
    }
    /// libffi's target part for wasm32-wasi (our code; the rest is upstream).
    pub fn libffi_wasi(&self) -> PathBuf {
        self.workspace.join("third-party/libffi-wasi")
    }
    /// Test suites, their baselines and the in-guest support files.
    pub fn pytests(&self) -> PathBuf {
        self.workspace.join("pytests")
    }
    /// Verified downloads, named as in `sources.toml`.
    pub fn downloads(&self) -> PathBuf {
        self.cache.join("downloads")
    }
    /// The private apt configuration and package lists.
    pub fn apt(&self) -> PathBuf {
        self.cache.join("apt")
    }
    /// Stage outputs, `<stage>-<fingerprint>`.
    pub fn builds(&self) -> PathBuf {
        self.cache.join("build")
    }
    /// wasm modules compiled for this machine (the harness's cache).
    pub fn compiled_modules(&self) -> PathBuf {
        self.cache.join("modules")
    }
    /// Everything this tool puts in cargo's target directory.
    pub fn out(&self) -> PathBuf {
        self.target.join("faasm-py")
    }
    /// Test reports (JUnit XML, JSON) and per-module test logs.
    pub fn reports(&self) -> PathBuf {
        self.out().join("reports")
    }
    /// One log per stage.
    pub fn logs(&self) -> PathBuf {
        self.out().join("logs")
    }
    /// The linked interpreter (a link to the link stage's output).
    pub fn python_wasm(&self) -> PathBuf {
        self.out().join("python.wasm")
    }
    /// Which extension modules python.wasm has, and why others are missing.
    pub fn module_report(&self) -> PathBuf {
        self.out().join("modules.json")
    }
    /// The tree the guest sees read-only (a link to the runtime stage's output).
    pub fn runtime(&self) -> PathBuf {
        self.out().join("runtime")
    }
    /// The C toolchain that built python.wasm (`bin/clang` …), for C code
    /// that must agree with it, such as the ctypes layout test.
    pub fn toolchain(&self) -> PathBuf {
        self.out().join("toolchain")
    }
    /// The C++ runtime and `bin/clang++` (a link to the `cxx-runtime`
    /// stage's output).
    pub fn cxx_runtime(&self) -> PathBuf {
        self.out().join("cxx-runtime")
    }
    /// The host python with native builds of the packages (the reference).
    pub fn native_env(&self) -> PathBuf {
        self.out().join("native")
    }
    /// Where the wasm CPython install is published in the checkout.
    pub fn cpython_install(&self) -> PathBuf {
        self.workspace.join("third-party/cpython/install/wasm")
    }
    /// Where the native build python is published in the checkout.
    pub fn host_python_install(&self) -> PathBuf {
        self.workspace.join("third-party/cpython/install/host")
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot resolve path {}", path.display()))
}

/// `$FAASM_PY_CACHE`, else `$XDG_CACHE_HOME/faasm-py`, else `~/.cache/faasm-py`.
pub fn default_cache_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(CACHE_ENV).filter(|v| !v.is_empty()) {
        return absolute(Path::new(&dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir).join("faasm-py"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .context("cannot find a cache directory: set FAASM_PY_CACHE or HOME")?;
    Ok(PathBuf::from(home).join(".cache/faasm-py"))
}
