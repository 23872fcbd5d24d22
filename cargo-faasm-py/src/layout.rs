//! Every path the tool reads or writes, derived in one place.
//!
//! Build outputs live in the cache directory, one directory per stage and
//! fingerprint, so a fresh clone on a machine that has built the same inputs
//! before finds them again. The target directory only holds links to the
//! current outputs.
//!
//! Three places matter: the *project* (the Cargo workspace `cargo faasm-py`
//! runs in, if any: its configuration and target directory), the *sources*
//! (the pins, patches, shims and default suites: the faasm-py repository
//! itself when run inside it, else the copy carried in the binary, unpacked
//! into the cache), and the *cache*. Outside any Cargo project the target
//! directory is in the cache too.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Environment variable that overrides the cache directory.
pub const CACHE_ENV: &str = "FAASM_PY_CACHE";

/// Host paths: the project, the sources, cargo's target directory and the
/// cache.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The Cargo workspace root of the project, if there is one.
    pub project: Option<PathBuf>,
    /// Where `third-party/` and `pytests/` are: the faasm-py repository, or
    /// the copy carried in the binary.
    pub sources: PathBuf,
    /// Cargo's target directory (in the cache outside any project).
    pub target: PathBuf,
    /// Downloads, toolchain, stage outputs, compiled modules.
    pub cache: PathBuf,
    /// The project's `faasm-py` configuration table, if it has one: where
    /// it is (`[workspace.metadata.faasm-py]` or the root package's), and
    /// its contents as `cargo metadata` gives them.
    pub config_table: Option<(String, serde_json::Value)>,
}

impl Layout {
    /// The linked interpreter: the file the link stage writes and publishes.
    pub const PYTHON_WASM: &str = "python.wasm";
    /// python.wasm pre-initialised: the file the snapshot stage writes and
    /// publishes, and the module `run` and `test` load.
    pub const SNAPSHOT_WASM: &str = "python-snapshot.wasm";
    /// The module report: the file the link stage writes and publishes.
    pub const MODULE_REPORT: &str = "modules.json";

    /// Finds the project and its target directory through `cargo
    /// metadata` (from `manifest_path`, else from the current directory
    /// up; remembered in `<cache>/projects`, see [`crate::cargo_project`]);
    /// outside any Cargo project, works from the cache alone.
    pub fn discover(
        manifest_path: Option<&Path>,
        target_dir: Option<&Path>,
        cache_dir: Option<&Path>,
    ) -> Result<Self> {
        let cache = match cache_dir {
            Some(dir) => absolute(dir)?,
            None => default_cache_dir()?,
        };
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let in_project = manifest_path.is_some() || find_manifest(&cwd).is_some();
        let (project, cargo_target, config_table) = if in_project {
            let found = crate::cargo_project::read(manifest_path, &cwd, &cache.join("projects"))?;
            (
                Some(found.workspace_root),
                Some(found.target_directory),
                found.config_table,
            )
        } else {
            (None, None, None)
        };
        let target = match (target_dir, cargo_target) {
            (Some(dir), _) => absolute(dir)?,
            (None, Some(dir)) => dir,
            (None, None) => cache.join("target"),
        };
        let sources = match &project {
            Some(root) if is_faasm_py_repository(root) => root.clone(),
            _ => crate::assets::unpack(&cache)?,
        };
        Ok(Self {
            project,
            sources,
            target,
            cache,
            config_table,
        })
    }

    /// The project's configuration, or the default one.
    pub fn config(&self) -> Result<crate::project::ProjectConfig> {
        let default = || crate::project::default(&self.default_config());
        match &self.config_table {
            Some((what, table)) => {
                let own = crate::project::ProjectConfig::from_json(table, what)?;
                if own.extends.is_some() {
                    Ok(own.on_top_of(default()?, &self.sources))
                } else {
                    Ok(own)
                }
            }
            None => default(),
        }
    }

    /// Where the lock is: beside the project's `Cargo.toml`; outside a
    /// project (or without a configuration of its own), the default
    /// configuration's lock carried with the sources.
    pub fn lock_dir(&self) -> PathBuf {
        match (&self.project, &self.config_table) {
            (Some(project), Some(_)) => project.clone(),
            _ => self.default_lock_dir(),
        }
    }

    /// Where the default configuration's lock is, beside it.
    pub fn default_lock_dir(&self) -> PathBuf {
        self.sources.join("third-party")
    }

    /// The pins.
    pub fn sources_toml(&self) -> PathBuf {
        self.sources.join("third-party/sources.toml")
    }
    /// The default configuration (CPython and numpy), used outside any
    /// project and for projects without a configuration of their own.
    pub fn default_config(&self) -> PathBuf {
        self.sources.join("third-party/default-config.toml")
    }
    /// Per-package build recipes (`<name>.toml`), keyed by package name.
    pub fn recipes(&self) -> PathBuf {
        self.sources.join("third-party/recipes")
    }
    /// Patches to upstream sources, one directory per package.
    pub fn patches(&self) -> PathBuf {
        self.sources.join("third-party/patches")
    }
    /// Small C sources linked in to stand in for missing runtime pieces.
    pub fn shims(&self) -> PathBuf {
        self.sources.join("third-party/shims")
    }
    /// Test suites, their baselines and the in-guest support files.
    pub fn pytests(&self) -> PathBuf {
        self.sources.join("pytests")
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
    /// Test reports (JUnit XML, JSON, the HTML page) and per-module test
    /// logs.
    pub fn reports(&self) -> PathBuf {
        self.out().join("reports")
    }
    /// The page of the last `test` run, every suite of it
    /// (`harness::suite::report::html`).
    pub fn html_report(&self) -> PathBuf {
        self.reports().join("index.html")
    }
    /// Each suite's per-module output in the guest, `<suite>/<module>.log`.
    pub fn wasm_logs(&self) -> PathBuf {
        self.reports().join("wasm")
    }
    /// The same for the native run (`test --native`).
    pub fn native_logs(&self) -> PathBuf {
        self.reports().join("native")
    }
    /// A suite's JUnit XML report.
    pub fn junit_report(&self, suite: &str) -> PathBuf {
        self.reports().join(format!("{suite}.junit.xml"))
    }
    /// A suite's JSON report (`harness::suite::report::JsonReport`).
    pub fn json_report(&self, suite: &str) -> PathBuf {
        self.reports().join(format!("{suite}.json"))
    }
    /// The JSON report of a suite's native run (`test --native`).
    pub fn native_json_report(&self, suite: &str) -> PathBuf {
        self.reports().join(format!("{suite}.native.json"))
    }
    /// One log per stage.
    pub fn logs(&self) -> PathBuf {
        self.out().join("logs")
    }
    /// The linked interpreter (a link to the link stage's output).
    pub fn python_wasm(&self) -> PathBuf {
        self.out().join(Self::PYTHON_WASM)
    }
    /// python.wasm pre-initialised (a link to the snapshot stage's output).
    pub fn python_snapshot_wasm(&self) -> PathBuf {
        self.out().join(Self::SNAPSHOT_WASM)
    }
    /// Which extension modules python.wasm has, and why others are missing.
    pub fn module_report(&self) -> PathBuf {
        self.out().join(Self::MODULE_REPORT)
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
    /// Where the wasm CPython install is published.
    pub fn cpython_install(&self) -> PathBuf {
        self.out().join("install/wasm")
    }
    /// Where the native build python is published.
    pub fn host_python_install(&self) -> PathBuf {
        self.out().join("install/host")
    }
}

/// The faasm-py repository: its own sources are used, so editing them takes
/// effect without recompiling the tool.
fn is_faasm_py_repository(root: &Path) -> bool {
    root.join("third-party/sources.toml").is_file()
        && root.join("pytests/support").is_dir()
        && root.join("cargo-faasm-py/Cargo.toml").is_file()
}

/// The nearest `Cargo.toml` from `cwd` up, as cargo finds it.
fn find_manifest(cwd: &Path) -> Option<PathBuf> {
    cwd.ancestors()
        .map(|dir| dir.join("Cargo.toml"))
        .find(|manifest| manifest.is_file())
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
