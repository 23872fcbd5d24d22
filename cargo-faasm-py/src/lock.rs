//! `faasm-py.lock`: the configuration's packages and all their dependencies
//! resolved, for each CPython version the pins know: every file's name,
//! version, source and sha256, and the host build tools each package needs.
//! `cargo faasm-py lock` writes it beside the project's `Cargo.toml`;
//! builds read only the lock (and refuse one that no longer matches the
//! configuration), so a build never asks the package index anything.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::mistake::Mistake;
use crate::project::{PackageSpec, ProjectConfig, normalize};

/// The lock file's name, beside the project's `Cargo.toml`.
pub const FILE: &str = "faasm-py.lock";
const FORMAT: u32 = 2;
const HEADER: &str = "# Made by `cargo faasm-py lock` from the faasm-py configuration.\n# Do not edit: change the configuration and lock again.\n\n";

/// The whole lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Lock {
    /// The file format.
    pub format: u32,
    /// The configuration's packages as they were locked (`name spec`), to
    /// tell a stale lock by.
    pub roots: Vec<String>,
    /// One resolution per CPython version (`"3.13"`).
    pub python: BTreeMap<String, Resolution>,
}

/// Everything locked for one CPython version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Resolution {
    /// Packages for the guest, in build order (a package after the guest
    /// packages its build needs).
    #[serde(default)]
    pub package: Vec<LockedPackage>,
    /// Wheels for the host python that builds them.
    #[serde(default)]
    pub build_tool: Vec<LockedFile>,
}

/// One guest package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawPackage", into = "RawPackage")]
pub struct LockedPackage {
    /// Its normalized name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Where it comes from, and how it is built if it is.
    pub source: LockedSource,
    /// The guest packages it needs at run time (normalized names).
    pub requires: Vec<String>,
    /// A wheel of the same version for the host, the native reference.
    pub native: Option<LockedFile>,
    /// Whether it is a test package (installed for the suites only).
    pub test: bool,
}

/// How a guest package arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockedSource {
    /// A pure-Python wheel of the index: unpacked into site-packages.
    Wheel {
        /// Its file name.
        file: String,
        /// Its sha256.
        sha256: String,
    },
    /// A source distribution of the index: built for wasm32.
    Sdist {
        /// Its file name.
        file: String,
        /// Its sha256.
        sha256: String,
        /// How it is built.
        build: LockedBuild,
    },
    /// A source directory of the project: built for wasm32.
    Path {
        /// The directory, relative to the project.
        path: String,
        /// How it is built.
        build: LockedBuild,
    },
}

/// How a guest package is built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockedBuild {
    /// Its PEP 517 build backend (`module:object`).
    pub backend: String,
    /// The build tools it needs (names of `build-tool` entries).
    pub tools: Vec<String>,
    /// Guest packages its build needs (numpy's headers for pandas).
    pub guest_packages: Vec<String>,
    /// The Rust crates its build compiles (a maturin package's
    /// `Cargo.lock`), vendored from the crate registry by sha256.
    pub crates: Vec<LockedCrate>,
}

/// One crate of the crate registry, as a `Cargo.lock` pins it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedCrate {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The sha256 of its `.crate` file (`Cargo.lock`'s checksum).
    pub sha256: String,
}

/// The registry crates of a `Cargo.lock` (`text`), sorted; crates of the
/// project itself have no source and are left out, and one from anywhere
/// but the crate registry (git) is an error.
pub fn cargo_lock_crates(text: &str) -> Result<Vec<LockedCrate>> {
    #[derive(Deserialize)]
    struct CargoLock {
        #[serde(default)]
        package: Vec<CargoLockPackage>,
    }
    #[derive(Deserialize)]
    struct CargoLockPackage {
        name: String,
        version: String,
        source: Option<String>,
        checksum: Option<String>,
    }
    let lock: CargoLock = toml::from_str(text)
        .map_err(|e| anyhow::anyhow!("Cargo.lock is not valid TOML: {}", e.message()))?;
    let mut crates = Vec::new();
    for p in lock.package {
        let Some(source) = p.source else { continue };
        if !source.starts_with("registry+") && !source.starts_with("sparse+") {
            anyhow::bail!(
                "Cargo.lock takes crate `{}` {} from {source}: only crates of the crate registry can be pinned",
                p.name,
                p.version
            );
        }
        let Some(sha256) = p.checksum else {
            anyhow::bail!(
                "Cargo.lock has no checksum for crate `{}` {}",
                p.name,
                p.version
            );
        };
        crates.push(LockedCrate {
            name: p.name,
            version: p.version,
            sha256,
        });
    }
    crates.sort();
    crates.dedup();
    Ok(crates)
}

impl LockedPackage {
    /// How it is built; `None` for a wheel.
    pub fn build(&self) -> Option<&LockedBuild> {
        match &self.source {
            LockedSource::Wheel { .. } => None,
            LockedSource::Sdist { build, .. } | LockedSource::Path { build, .. } => Some(build),
        }
    }

    /// How it is built, to change; `None` for a wheel.
    pub fn build_mut(&mut self) -> Option<&mut LockedBuild> {
        match &mut self.source {
            LockedSource::Wheel { .. } => None,
            LockedSource::Sdist { build, .. } | LockedSource::Path { build, .. } => Some(build),
        }
    }

    /// The guest packages its build needs (none for a wheel).
    pub fn guest_build_deps(&self) -> &[String] {
        self.build().map_or(&[], |b| &b.guest_packages)
    }
}

/// How the lock file spells a package's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Kind {
    Wheel,
    Sdist,
    Path,
}

/// A package as the lock file writes it: one table whose fields depend on
/// its `kind` ([`LockedPackage`] is the checked form).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPackage {
    name: String,
    version: String,
    kind: Kind,
    file: Option<String>,
    sha256: Option<String>,
    path: Option<String>,
    #[serde(default)]
    requires: Vec<String>,
    build_backend: Option<String>,
    #[serde(default)]
    build_requires: Vec<String>,
    #[serde(default)]
    build_requires_guest: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    crates: Vec<LockedCrate>,
    native: Option<LockedFile>,
    #[serde(default)]
    test: bool,
}

impl TryFrom<RawPackage> for LockedPackage {
    type Error = String;
    fn try_from(raw: RawPackage) -> std::result::Result<Self, String> {
        let name = &raw.name;
        let needs = |field: Option<String>, key: &str| {
            field.ok_or_else(|| format!("package `{name}` ({:?}) has no `{key}`", raw.kind))
        };
        let refuses = |present: bool, key: &str| match present {
            true => Err(format!(
                "package `{name}` ({:?}) cannot have `{key}`",
                raw.kind
            )),
            false => Ok(()),
        };
        let build = || -> std::result::Result<LockedBuild, String> {
            Ok(LockedBuild {
                backend: needs(raw.build_backend.clone(), "build-backend")?,
                tools: raw.build_requires.clone(),
                guest_packages: raw.build_requires_guest.clone(),
                crates: raw.crates.clone(),
            })
        };
        let source = match raw.kind {
            Kind::Wheel => {
                refuses(raw.path.is_some(), "path")?;
                refuses(raw.build_backend.is_some(), "build-backend")?;
                refuses(!raw.build_requires.is_empty(), "build-requires")?;
                refuses(!raw.build_requires_guest.is_empty(), "build-requires-guest")?;
                refuses(!raw.crates.is_empty(), "crates")?;
                LockedSource::Wheel {
                    file: needs(raw.file.clone(), "file")?,
                    sha256: needs(raw.sha256.clone(), "sha256")?,
                }
            }
            Kind::Sdist => {
                refuses(raw.path.is_some(), "path")?;
                LockedSource::Sdist {
                    file: needs(raw.file.clone(), "file")?,
                    sha256: needs(raw.sha256.clone(), "sha256")?,
                    build: build()?,
                }
            }
            Kind::Path => {
                refuses(raw.file.is_some(), "file")?;
                refuses(raw.sha256.is_some(), "sha256")?;
                LockedSource::Path {
                    path: needs(raw.path.clone(), "path")?,
                    build: build()?,
                }
            }
        };
        Ok(Self {
            name: raw.name,
            version: raw.version,
            source,
            requires: raw.requires,
            native: raw.native,
            test: raw.test,
        })
    }
}

impl From<LockedPackage> for RawPackage {
    fn from(p: LockedPackage) -> Self {
        let mut raw = RawPackage {
            name: p.name,
            version: p.version,
            kind: Kind::Wheel,
            file: None,
            sha256: None,
            path: None,
            requires: p.requires,
            build_backend: None,
            build_requires: Vec::new(),
            build_requires_guest: Vec::new(),
            crates: Vec::new(),
            native: p.native,
            test: p.test,
        };
        let build = match p.source {
            LockedSource::Wheel { file, sha256 } => {
                (raw.file, raw.sha256) = (Some(file), Some(sha256));
                None
            }
            LockedSource::Sdist {
                file,
                sha256,
                build,
            } => {
                raw.kind = Kind::Sdist;
                (raw.file, raw.sha256) = (Some(file), Some(sha256));
                Some(build)
            }
            LockedSource::Path { path, build } => {
                raw.kind = Kind::Path;
                raw.path = Some(path);
                Some(build)
            }
        };
        if let Some(build) = build {
            raw.build_backend = Some(build.backend);
            raw.build_requires = build.tools;
            raw.build_requires_guest = build.guest_packages;
            raw.crates = build.crates;
        }
        raw
    }
}

/// One file of the index (a wheel for the host).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LockedFile {
    /// Its normalized project name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its file name.
    pub file: String,
    /// Its sha256.
    pub sha256: String,
    /// For a build tool: the build tools it needs in turn (normalized
    /// names), so that each package's build gets exactly its own tools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
}

/// `name spec` of each configured package, as the lock records them.
pub fn roots(config: &ProjectConfig) -> Vec<String> {
    config
        .all_packages()
        .map(|p| root_of(p, config.test_packages.contains(p)))
        .collect()
}

fn root_of(p: &PackageSpec, test: bool) -> String {
    let what = match (&p.version, &p.path) {
        (_, Some(path)) => format!("path {}", path.display()),
        (Some(version), None) => version.trim().to_owned(),
        (None, None) => "*".to_owned(),
    };
    let source = if p.from_source { " from source" } else { "" };
    let build = if p.build_requires.is_empty() {
        String::new()
    } else {
        format!(" building with {}", p.build_requires.join(", "))
    };
    format!(
        "{}{} {what}{source}{build}",
        normalize(&p.name),
        if test { " (test)" } else { "" }
    )
}

impl Lock {
    /// Reads `faasm-py.lock` from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE);
        let text = match fs_err::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Mistake::NoLock { path }.into());
            }
            Err(e) => return Err(e.into()),
        };
        let lock: Lock = harness::text::parse_toml(&text, &path)?;
        if lock.format != FORMAT {
            return Err(Mistake::LockFormat {
                path,
                found: lock.format,
                reads: FORMAT,
            }
            .into());
        }
        Ok(lock)
    }

    /// Writes the lock into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = toml::to_string(self).context("cannot render the lock")?;
        fs_err::write(dir.join(FILE), format!("{HEADER}{text}"))?;
        Ok(())
    }

    /// A new, empty lock for `config`.
    pub fn new(config: &ProjectConfig) -> Self {
        Self {
            format: FORMAT,
            roots: roots(config),
            python: BTreeMap::new(),
        }
    }

    /// An error saying how the configuration and the lock differ, unless
    /// they agree.
    pub fn check_matches(&self, config: &ProjectConfig, path: &Path) -> Result<()> {
        let now = roots(config);
        if now == self.roots {
            return Ok(());
        }
        let added: Vec<&String> = now.iter().filter(|r| !self.roots.contains(r)).collect();
        let removed: Vec<&String> = self.roots.iter().filter(|r| !now.contains(r)).collect();
        let mut differs = Vec::new();
        if !added.is_empty() {
            differs.push(format!(
                "the configuration has {}",
                added
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !removed.is_empty() {
            differs.push(format!(
                "the lock has {}",
                removed
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if differs.is_empty() {
            differs.push("the packages are in another order".into());
        }
        Err(Mistake::StaleLock {
            path: path.to_owned(),
            differs: differs.join("; "),
        }
        .into())
    }

    /// The resolution for CPython `version` (`"3.13"`).
    pub fn for_python(&self, version: &str) -> Result<&Resolution> {
        self.python.get(version).ok_or_else(|| {
            Mistake::LockLacksPython {
                version: version.to_owned(),
            }
            .into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(packages: &[(&str, &str)]) -> ProjectConfig {
        ProjectConfig {
            packages: packages
                .iter()
                .map(|(name, version)| PackageSpec {
                    name: (*name).into(),
                    version: Some((*version).into()),
                    ..PackageSpec::default()
                })
                .collect(),
            ..ProjectConfig::default()
        }
    }

    #[test]
    fn a_lock_round_trips_and_tells_what_differs() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(&[("numpy", "2.5.5"), ("msgpack", "1.2.4")]);
        let mut lock = Lock::new(&cfg);
        lock.python.insert(
            "3.13".into(),
            Resolution {
                package: vec![LockedPackage {
                    name: "numpy".into(),
                    version: "2.5.5".into(),
                    source: LockedSource::Sdist {
                        file: "numpy-2.5.5.tar.gz".into(),
                        sha256: "0".repeat(64),
                        build: LockedBuild {
                            backend: "mesonpy".into(),
                            tools: vec!["cython".into()],
                            guest_packages: vec![],
                            crates: vec![LockedCrate {
                                name: "pyo3".into(),
                                version: "0.29.3".into(),
                                sha256: "1".repeat(64),
                            }],
                        },
                    },
                    requires: vec![],
                    native: None,
                    test: false,
                }],
                build_tool: vec![],
            },
        );
        lock.save(dir.path()).unwrap();
        let back = Lock::load(dir.path()).unwrap();
        assert_eq!(back, lock);
        back.check_matches(&cfg, Path::new("faasm-py.lock"))
            .unwrap();
        let changed = config(&[("numpy", "2.5.5"), ("msgpack", "1.2.3"), ("pyyaml", "6")]);
        let err = back
            .check_matches(&changed, Path::new("faasm-py.lock"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("msgpack 1.2.3")
                && err.contains("pyyaml 6")
                && err.contains("the lock has msgpack 1.2.4")
                && err.contains("run `cargo faasm-py lock`"),
            "{err}"
        );
        let err = back.for_python("3.14").unwrap_err().to_string();
        assert!(err.contains("3.14"), "{err}");
    }

    #[test]
    fn the_repositorys_locks_match_their_configurations() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let default =
            crate::project::default(&repo.join("third-party/default-config.toml")).unwrap();
        let lock = Lock::load(&repo.join("third-party")).unwrap();
        lock.check_matches(&default, Path::new("third-party/faasm-py.lock"))
            .unwrap();
        for version in ["3.13", "3.14"] {
            lock.for_python(version).unwrap();
        }
        // Read into types and written back, it is the same file.
        let dir = tempfile::tempdir().unwrap();
        lock.save(dir.path()).unwrap();
        assert_eq!(
            fs_err::read_to_string(dir.path().join(FILE)).unwrap(),
            fs_err::read_to_string(repo.join("third-party").join(FILE)).unwrap()
        );
    }

    #[test]
    fn a_package_whose_fields_do_not_fit_its_kind_is_refused() {
        let table = |kind_and_fields: &str| {
            format!(
                "format = {FORMAT}\nroots = []\n[[python.\"3.13\".package]]\nname = \"x\"\nversion = \"1\"\n{kind_and_fields}\n"
            )
        };
        let load = |text: String| {
            let dir = tempfile::tempdir().unwrap();
            fs_err::write(dir.path().join(FILE), text).unwrap();
            Lock::load(dir.path()).map_err(|e| format!("{e:#}"))
        };
        let ok = load(table(
            "kind = \"path\"\npath = \".\"\nbuild-backend = \"b:c\"",
        ))
        .unwrap();
        let package = &ok.python["3.13"].package[0];
        assert_eq!(package.build().unwrap().backend, "b:c");
        for (fields, says) in [
            (
                "kind = \"sdist\"\nfile = \"x.tar.gz\"\nbuild-backend = \"b\"",
                "has no `sha256`",
            ),
            (
                "kind = \"wheel\"\nfile = \"x.whl\"\nsha256 = \"0\"\nbuild-backend = \"b\"",
                "cannot have `build-backend`",
            ),
            ("kind = \"path\"\npath = \".\"", "has no `build-backend`"),
            (
                "kind = \"path\"\npath = \".\"\nbuild-backend = \"b\"\nfile = \"f\"",
                "cannot have `file`",
            ),
        ] {
            let err = load(table(fields)).unwrap_err();
            assert!(err.contains(says) && err.contains("`x`"), "{fields}: {err}");
        }
    }

    #[test]
    fn a_cargo_lock_gives_its_registry_crates() {
        let text = r#"
version = 4

[[package]]
name = "mine"
version = "0.1.0"
dependencies = ["pyo3"]

[[package]]
name = "pyo3"
version = "0.29.3"
source = "registry+https://example.org/index"
checksum = "ab"

[[package]]
name = "libc"
version = "0.2.1"
source = "sparse+https://example.org/index/"
checksum = "cd"
"#;
        let crates = cargo_lock_crates(text).unwrap();
        let names: Vec<_> = crates
            .iter()
            .map(|c| format!("{} {} {}", c.name, c.version, c.sha256))
            .collect();
        assert_eq!(names, ["libc 0.2.1 cd", "pyo3 0.29.3 ab"]);
        let git = text.replace(
            "registry+https://example.org/index",
            "git+https://example.org/x",
        );
        let err = cargo_lock_crates(&git).unwrap_err().to_string();
        assert!(err.contains("`pyo3` 0.29.3 from git+"), "{err}");
        let unchecked = text.replace("checksum = \"ab\"\n", "");
        let err = cargo_lock_crates(&unchecked).unwrap_err().to_string();
        assert!(err.contains("no checksum for crate `pyo3`"), "{err}");
    }

    #[test]
    fn a_missing_lock_says_how_to_make_one() {
        let dir = tempfile::tempdir().unwrap();
        let err = Lock::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("cargo faasm-py lock"), "{err}");
    }
}
