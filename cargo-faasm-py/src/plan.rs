//! What this build builds: the project's configuration, its lock for the
//! selected CPython, and the built-in recipes (`third-party/recipes/`: how
//! a known package such as numpy is built for wasm32) become the packages
//! to build, the wheels to install, and the host tools to build with. The
//! lock's files join the pins, so they are fetched and verified like every
//! other input.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::layout::Layout;
use crate::lock::{LockedBuild, LockedFile, LockedPackage, LockedSource, Resolution};
use crate::pins::{Artifact, Pins, Source};
use crate::project::{CLibrary, PackageSpec, ProjectConfig, normalize};
use crate::stage_id::StageId;

/// A package's build system, as far as this tool drives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// meson-python: the package's own meson, through our cross file.
    Meson,
    /// Any other PEP 517 backend (setuptools …), called in the host
    /// python with the target's sysconfig and our compilers (`CC`,
    /// `LDSHARED` …): the backend's import path, `module:object`.
    Pep517(String),
    /// maturin: the package's Rust crate compiled for wasm32 by cargo, as
    /// a static library, with PyO3 told the guest's configuration.
    Maturin,
}

impl Backend {
    fn from_pep517(backend: &str, package: &str) -> Result<Self> {
        match backend {
            "mesonpy" => Ok(Backend::Meson),
            "maturin" => Ok(Backend::Maturin),
            "" => bail!("the lock names no build backend for package `{package}`"),
            other => Ok(Backend::Pep517(other.to_owned())),
        }
    }
}

/// Where a built package's source comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageSource {
    /// A source distribution: the artifact of that name.
    Sdist(String),
    /// A directory of the project.
    Path(PathBuf),
}

/// One package built for the guest.
#[derive(Debug, Clone)]
pub struct Package {
    /// Its normalized name, also its stage's.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its source.
    pub source: PackageSource,
    /// Its build system.
    pub backend: Backend,
    /// Guest packages its build needs (their stages come first).
    pub guest_build_deps: Vec<String>,
    /// Options for `meson setup`.
    pub meson_options: Vec<String>,
    /// Environment variables for its build.
    pub env: BTreeMap<String, String>,
    /// C files of `third-party/shims/` linked in with it.
    pub shims: Vec<String>,
    /// Modules of it the build leaves out on purpose, each with the reason
    /// an import of it gives (`scipy.odr`: Fortran).
    pub absent_modules: BTreeMap<String, String>,
    /// Patch files, applied in order.
    pub patches: Vec<PathBuf>,
    /// The stages of the C libraries it is built against: its recipe's
    /// built-in ones (OpenBLAS), then the configuration's (of the plan's
    /// `libraries`).
    pub c_libraries: Vec<StageId>,
    /// The host wheels (artifact names) of its own build tools and what
    /// they need, sorted: its build gets these and no others, so that other
    /// packages' tools never change its output.
    pub build_tools: Vec<String>,
    /// The Rust crates its build vendors (artifact names), sorted.
    pub crates: Vec<String>,
}

impl Package {
    /// Its stage.
    pub fn stage(&self) -> Result<StageId> {
        StageId::package(&self.name)
    }
}

/// How a known package is built for wasm32: `third-party/recipes/<name>.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Recipe {
    #[serde(default)]
    meson_options: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    shims: Vec<String>,
    /// Dotted module name → why this build leaves it out.
    #[serde(default)]
    absent_modules: BTreeMap<String, String>,
    /// Built-in C library stages it is built against (`openblas`).
    #[serde(default)]
    c_libraries: Vec<String>,
}

/// Everything the build does with packages.
#[derive(Debug, Clone, Default)]
pub struct BuildPlan {
    /// Packages built into python.wasm, in build order.
    pub packages: Vec<Package>,
    /// Pure-Python wheels (artifact names) unpacked into site-packages.
    pub wheels: Vec<String>,
    /// Wheels (artifact names) of the native reference environment.
    pub native_wheels: Vec<String>,
    /// Every guest package's normalized name.
    pub guest_packages: BTreeSet<String>,
    /// C libraries some package needs, built from pinned sources (each an
    /// artifact `clib:<name>`).
    pub libraries: Vec<CLibrary>,
    /// Modules the snapshot imports before it is taken.
    pub preimport: Vec<String>,
}

fn artifact_of(file: &LockedFile) -> Artifact {
    Artifact {
        version: file.version.clone(),
        file: file.file.clone(),
        sha256: file.sha256.clone(),
        sources: vec![Source::Pypi {
            pypi: file.name.clone(),
        }],
        hint: None,
    }
}

fn add(pins: &mut Pins, name: String, artifact: Artifact) -> Result<String> {
    if let Some(existing) = pins.artifact.get(&name)
        && existing.sha256 != artifact.sha256
    {
        bail!("artifact `{name}` is pinned twice, differently");
    }
    pins.artifact.insert(name.clone(), artifact);
    Ok(name)
}

impl BuildPlan {
    /// Whether a package is built from Rust (and the Rust toolchain with it).
    pub fn needs_rust(&self) -> bool {
        self.packages.iter().any(|p| p.backend == Backend::Maturin)
    }

    /// The plan for `resolution` of `config`; its files join `pins`.
    pub fn new(
        config: &ProjectConfig,
        resolution: &Resolution,
        pins: &mut Pins,
        layout: &Layout,
    ) -> Result<Self> {
        let mut plan = BuildPlan {
            preimport: config.preimport.clone(),
            ..BuildPlan::default()
        };
        for lib in &config.c_libraries {
            add(
                pins,
                format!("clib:{}", lib.name),
                Artifact {
                    version: lib.version.clone(),
                    file: lib.file.clone(),
                    sha256: lib.sha256.clone(),
                    sources: lib.sources.clone(),
                    hint: None,
                },
            )?;
            StageId::library(&lib.name)?;
            plan.libraries.push(lib.clone());
        }
        let mut tools: BTreeMap<&str, &LockedFile> = BTreeMap::new();
        for tool in &resolution.build_tool {
            add(pins, tool_artifact(&tool.name), artifact_of(tool))?;
            tools.insert(&tool.name, tool);
        }
        let specs: BTreeMap<String, &PackageSpec> = config
            .all_packages()
            .map(|p| (normalize(&p.name), p))
            .collect();
        for locked in &resolution.package {
            plan.guest_packages.insert(locked.name.clone());
            let file = |file: &str, sha256: &str| LockedFile {
                name: locked.name.clone(),
                version: locked.version.clone(),
                file: file.to_owned(),
                sha256: sha256.to_owned(),
                requires: vec![],
            };
            if let Some(native) = &locked.native {
                plan.native_wheels.push(add(
                    pins,
                    format!("native:{}", native.name),
                    artifact_of(native),
                )?);
            }
            let (source, build) = match &locked.source {
                LockedSource::Wheel { file: f, sha256 } => {
                    let name = add(
                        pins,
                        format!("wheel:{}", locked.name),
                        artifact_of(&file(f, sha256)),
                    )?;
                    plan.native_wheels.push(name.clone());
                    plan.wheels.push(name);
                    continue;
                }
                LockedSource::Sdist {
                    file: f,
                    sha256,
                    build,
                } => {
                    let artifact = add(
                        pins,
                        format!("sdist:{}", locked.name),
                        artifact_of(&file(f, sha256)),
                    )?;
                    (PackageSource::Sdist(artifact), build)
                }
                LockedSource::Path { path, build } => {
                    let project = layout
                        .project
                        .as_ref()
                        .context("a path package needs a project")?;
                    (PackageSource::Path(project.join(path)), build)
                }
            };
            let mut crates = Vec::new();
            for c in &build.crates {
                crates.push(add(
                    pins,
                    crate_artifact(&c.name, &c.version),
                    Artifact {
                        version: c.version.clone(),
                        file: format!("{}-{}.crate", c.name, c.version),
                        sha256: c.sha256.clone(),
                        sources: vec![Source::Crate {
                            name: c.name.clone(),
                            version: c.version.clone(),
                        }],
                        hint: None,
                    },
                )?);
            }
            plan.packages.push(
                built_package(
                    locked,
                    source,
                    build,
                    specs.get(&locked.name),
                    &tools,
                    layout,
                    crates,
                )
                .with_context(|| format!("package `{}`", locked.name))?,
            );
        }
        for package in &plan.packages {
            package.stage()?;
        }
        if !plan.needs_rust() {
            // Nothing of Rust is fetched or built without a Rust package.
            pins.artifact
                .retain(|name, _| !name.starts_with(crate::pins::RUST_PREFIX));
        }
        Ok(plan)
    }
}

/// The plan of a package the lock builds (from `source`, as `build` says),
/// with its recipe's and configuration's options, patches and C libraries.
fn built_package(
    locked: &LockedPackage,
    source: PackageSource,
    build: &LockedBuild,
    spec: Option<&&PackageSpec>,
    tools: &BTreeMap<&str, &LockedFile>,
    layout: &Layout,
    crates: Vec<String>,
) -> Result<Package> {
    let backend = Backend::from_pep517(&build.backend, &locked.name)?;
    let recipe = recipe(&layout.recipes(), &locked.name)?;
    let mut patches = patch_files(&layout.patches().join(&locked.name))?;
    if let (Some(spec), Some(project)) = (spec, &layout.project)
        && let Some(dir) = &spec.patches
    {
        patches.extend(patch_files(&project.join(dir))?);
    }
    let mut c_libraries = recipe
        .c_libraries
        .iter()
        .map(|name| StageId::builtin_library(name))
        .collect::<Result<Vec<_>>>()
        .with_context(|| {
            let path = layout.recipes().join(format!("{}.toml", locked.name));
            path.display().to_string()
        })?;
    if let Some(spec) = spec {
        c_libraries.extend(spec.c_libraries.iter().map(|l| StageId::Library(l.clone())));
    }
    let mut meson_options = recipe.meson_options;
    let mut env = recipe.env;
    if let Some(spec) = spec {
        meson_options.extend(spec.meson_options.iter().cloned());
        env.extend(spec.env.clone());
    }
    Ok(Package {
        name: locked.name.clone(),
        version: locked.version.clone(),
        source,
        backend,
        guest_build_deps: build.guest_packages.clone(),
        meson_options,
        env,
        shims: recipe.shims,
        absent_modules: recipe.absent_modules,
        patches,
        c_libraries,
        build_tools: tool_closure(&build.tools, tools)
            .with_context(|| format!("the lock's build tools of `{}`", locked.name))?,
        crates,
    })
}

/// The artifact of crate `name` `version`.
pub fn crate_artifact(name: &str, version: &str) -> String {
    format!("crate:{name}-{version}")
}

/// The artifact of the build tool `name`.
fn tool_artifact(name: &str) -> String {
    format!("tool:{name}")
}

/// The artifacts of `wanted` and every tool they need, each once, sorted.
fn tool_closure(wanted: &[String], tools: &BTreeMap<&str, &LockedFile>) -> Result<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = wanted.iter().map(String::as_str).collect();
    while let Some(name) = stack.pop() {
        if !seen.insert(name) {
            continue;
        }
        let tool = tools.get(name).with_context(|| {
            format!("`{name}` is not among the locked build tools: run `cargo faasm-py lock`")
        })?;
        stack.extend(tool.requires.iter().map(String::as_str));
    }
    Ok(seen.into_iter().map(tool_artifact).collect())
}

fn recipe(recipes: &Path, name: &str) -> Result<Recipe> {
    let path = recipes.join(format!("{name}.toml"));
    match fs_err::read_to_string(&path) {
        Ok(text) => harness::text::parse_toml(&text, &path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Recipe::default()),
        Err(e) => Err(e.into()),
    }
}

/// The `*.patch` files of `dir`, in name order (none if it does not exist).
pub fn patch_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut patches = Vec::new();
    if dir.is_dir() {
        for entry in fs_err::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "patch") {
                patches.push(path);
            }
        }
    }
    patches.sort();
    Ok(patches)
}
