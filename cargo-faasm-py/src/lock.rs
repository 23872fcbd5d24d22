//! `faasm-py.lock`: the configuration's packages and all their dependencies
//! resolved, for each CPython version the pins know: every file's name,
//! version, source and sha256, and the host build tools each package needs.
//! `cargo faasm-py lock` writes it beside the project's `Cargo.toml`;
//! builds read only the lock (and refuse one that no longer matches the
//! configuration), so a build never asks the package index anything.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

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

/// How a guest package arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A pure-Python wheel: unpacked into site-packages.
    Wheel,
    /// A source distribution from the index: built for wasm32.
    Sdist,
    /// A local source directory of the project: built for wasm32.
    Path,
}

/// One guest package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LockedPackage {
    /// Its normalized name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// How it arrives.
    pub kind: Kind,
    /// Its file on the index (wheel or sdist); none for a path.
    pub file: Option<String>,
    /// The file's sha256.
    pub sha256: Option<String>,
    /// A path package's directory, relative to the project.
    pub path: Option<String>,
    /// The guest packages it needs at run time (normalized names).
    #[serde(default)]
    pub requires: Vec<String>,
    /// For a built package: its PEP 517 build backend.
    pub build_backend: Option<String>,
    /// For a built package: the build tools it needs (names of
    /// `build-tool` entries).
    #[serde(default)]
    pub build_requires: Vec<String>,
    /// For a built package: guest packages its build needs (numpy's headers
    /// for pandas).
    #[serde(default)]
    pub build_requires_guest: Vec<String>,
    /// A wheel of the same version for the host, the native reference.
    pub native: Option<LockedFile>,
    /// Whether it is a test package (installed for the suites only).
    #[serde(default)]
    pub test: bool,
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
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "{} does not exist: run `cargo faasm-py lock` to resolve the configured packages",
                path.display()
            ),
            Err(e) => return Err(e.into()),
        };
        let lock: Lock = harness::text::parse_toml(&text, &path)?;
        if lock.format != FORMAT {
            bail!(
                "{} has format {}, this cargo faasm-py reads {FORMAT}: run `cargo faasm-py lock`",
                path.display(),
                lock.format
            );
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
        bail!(
            "{} does not match the configuration ({}): run `cargo faasm-py lock`",
            path.display(),
            differs.join("; ")
        )
    }

    /// The resolution for CPython `version` (`"3.13"`).
    pub fn for_python(&self, version: &str) -> Result<&Resolution> {
        self.python.get(version).with_context(|| {
            format!("the lock has no resolution for CPython {version}: run `cargo faasm-py lock`")
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
                    kind: Kind::Sdist,
                    file: Some("numpy-2.5.5.tar.gz".into()),
                    sha256: Some("0".repeat(64)),
                    path: None,
                    requires: vec![],
                    build_backend: Some("mesonpy".into()),
                    build_requires: vec!["cython".into()],
                    build_requires_guest: vec![],
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
    }

    #[test]
    fn a_missing_lock_says_how_to_make_one() {
        let dir = tempfile::tempdir().unwrap();
        let err = Lock::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("cargo faasm-py lock"), "{err}");
    }
}
