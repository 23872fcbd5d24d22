//! The project's configuration: `[workspace.metadata.faasm-py]` in the
//! project's `Cargo.toml` (or `[package.metadata.faasm-py]` of its root
//! package), where cargo users keep tool configuration. It names the CPython
//! version, the packages built into python.wasm or installed beside it, the
//! test suites, and the modules a snapshot pre-imports. Outside a project,
//! or in one without the table, the default configuration
//! (`third-party/default-config.toml`: numpy and the test runners) applies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// Where the configuration table lives, for error messages.
pub const TABLE: &str = "[workspace.metadata.faasm-py]";

/// The whole table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProjectConfig {
    /// `"default"`: this configuration adds to the default one (numpy, the
    /// test runners, the default suites) instead of replacing it; an entry
    /// naming a package the default has replaces the default's.
    pub extends: Option<String>,
    /// The CPython version (`"3.13"`), one the pins know; their default
    /// when absent. `--python` overrides it.
    pub python: Option<String>,
    /// Packages for the guest: built into python.wasm (C extensions) or
    /// installed into its site-packages (pure Python), with their
    /// dependencies.
    #[serde(default)]
    pub packages: Vec<PackageSpec>,
    /// Packages the test suites need in the guest (pytest, hypothesis …),
    /// installed like the others.
    #[serde(default)]
    pub test_packages: Vec<PackageSpec>,
    /// Test suites: directories with a `suite.toml`, relative to the
    /// project.
    #[serde(default)]
    pub suites: Vec<PathBuf>,
    /// Modules a snapshot imports before it is taken.
    #[serde(default)]
    pub preimport: Vec<String>,
    /// C libraries some package needs, built for wasm32 from pinned sources.
    #[serde(default)]
    pub c_libraries: Vec<CLibrary>,
}

/// One package of the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PackageSpec {
    /// Its distribution name, as on PyPI.
    pub name: String,
    /// A PEP 440 version specifier (`"2.5.5"` means `==2.5.5`); from the
    /// package index. The newest version that fits when absent.
    pub version: Option<String>,
    /// A local source directory instead, relative to the project.
    pub path: Option<PathBuf>,
    /// Options for `meson setup` (meson-python packages).
    #[serde(default)]
    pub meson_options: Vec<String>,
    /// Environment variables for its build.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// C libraries (from `c-libraries`) it is compiled and linked against.
    #[serde(default)]
    pub c_libraries: Vec<String>,
    /// A directory of `*.patch` files applied to its source, relative to
    /// the project.
    pub patches: Option<PathBuf>,
    /// Build requirements (PEP 508) besides its `[build-system] requires`:
    /// those its backend only asks for while it builds (PEP 517's
    /// `get_requires_for_build_wheel`, e.g. Cython for aio-libs' packages),
    /// which the lock cannot read from its files.
    #[serde(default)]
    pub build_requires: Vec<String>,
    /// Build it from its sdist even where the index has a pure-Python
    /// wheel: for packages whose compiled part is optional (aio-libs',
    /// charset-normalizer), whose pure wheel would leave it out.
    #[serde(default)]
    pub from_source: bool,
}

/// A C library built for wasm32 from a pinned source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CLibrary {
    /// Its name (also its stage's).
    pub name: String,
    /// Its upstream version.
    pub version: String,
    /// The source tarball's name in the download cache.
    pub file: String,
    /// What the tarball must hash to.
    pub sha256: String,
    /// Where it can be had: the same shapes as `third-party/sources.toml`.
    pub sources: Vec<crate::pins::Source>,
    /// Arguments for its `configure` (autotools), besides `--host` and
    /// `--prefix`: how it is built unless `compile` says otherwise.
    #[serde(default)]
    pub configure_args: Vec<String>,
    /// For a library without a usable `configure`: its sources compiled
    /// and archived directly.
    pub compile: Option<CompileSpec>,
}

/// A C library built by compiling its sources directly: for sources that
/// ship only CMake or autotools input files (`configure.ac`) and no
/// generated `configure`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CompileSpec {
    /// The archive's name as `-l` gives it (`yaml` makes `lib/libyaml.a`).
    pub library: String,
    /// Its C sources: globs relative to the source tree (`src/*.c`).
    pub sources: Vec<String>,
    /// Include directories, relative to the source tree.
    #[serde(default)]
    pub include_dirs: Vec<String>,
    /// Preprocessor definitions: `NAME` or `NAME=VALUE`.
    #[serde(default)]
    pub defines: Vec<String>,
    /// The public headers, relative to the source tree, installed into
    /// `include/`.
    pub headers: Vec<String>,
}

impl ProjectConfig {
    /// Parses the table from `cargo metadata`'s JSON for it; `what` names
    /// the table in errors. Every error names the offending key.
    pub fn from_json(value: &serde_json::Value, what: &str) -> Result<Self> {
        let config: ProjectConfig = serde_path_to_error::deserialize(value)
            .map_err(|e| anyhow::anyhow!("{what} {}: {}", e.path(), e.inner()))?;
        config.check().with_context(|| what.to_owned())?;
        Ok(config)
    }

    /// This configuration on top of `base` (the default one, whose suites
    /// are relative to `base_dir`), as `extends = "default"` asks: `base`'s
    /// packages, suites and pre-imports first, then this one's; a package of
    /// both is this one's.
    pub fn on_top_of(self, base: ProjectConfig, base_dir: &Path) -> ProjectConfig {
        fn packages(base: Vec<PackageSpec>, own: Vec<PackageSpec>) -> Vec<PackageSpec> {
            let mut out: Vec<PackageSpec> = base
                .into_iter()
                .filter(|b| !own.iter().any(|o| normalize(&o.name) == normalize(&b.name)))
                .collect();
            out.extend(own);
            out
        }
        fn union<T: PartialEq>(base: Vec<T>, own: Vec<T>) -> Vec<T> {
            let mut out = base;
            for item in own {
                if !out.contains(&item) {
                    out.push(item);
                }
            }
            out
        }
        ProjectConfig {
            extends: None,
            python: self.python.or(base.python),
            packages: packages(base.packages, self.packages),
            test_packages: packages(base.test_packages, self.test_packages),
            suites: union(
                base.suites.iter().map(|s| base_dir.join(s)).collect(),
                self.suites,
            ),
            preimport: union(base.preimport, self.preimport),
            c_libraries: union(base.c_libraries, self.c_libraries),
        }
    }

    /// Parses the table from TOML text (the default configuration).
    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        let config: ProjectConfig = harness::text::parse_toml(text, path)?;
        config.check().with_context(|| path.display().to_string())?;
        Ok(config)
    }

    fn check(&self) -> Result<()> {
        if let Some(other) = self.extends.as_deref().filter(|e| *e != "default") {
            bail!("extends: `{other}` is not a configuration this tool knows (only \"default\")");
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, p) in self.packages.iter().chain(&self.test_packages).enumerate() {
            if p.name.trim().is_empty() {
                bail!("packages[{i}]: a package needs a name");
            }
            if !names.insert(normalize(&p.name)) {
                bail!("package `{}` is listed twice", p.name);
            }
            if p.version.is_some() && p.path.is_some() {
                bail!(
                    "package `{}`: give a version (from the package index) or a path, not both",
                    p.name
                );
            }
            if let Some(version) = &p.version {
                parse_specifier(version)
                    .with_context(|| format!("package `{}`: version", p.name))?;
            }
            for lib in &p.c_libraries {
                if !self.c_libraries.iter().any(|l| &l.name == lib) {
                    bail!(
                        "package `{}` needs C library `{lib}`, which `c-libraries` does not define",
                        p.name
                    );
                }
            }
        }
        for lib in &self.c_libraries {
            if lib.sha256.len() != 64 || !lib.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!("c-libraries `{}`: sha256 must be 64 hex digits", lib.name);
            }
            if let Some(compile) = &lib.compile {
                if !lib.configure_args.is_empty() {
                    bail!(
                        "c-libraries `{}`: give configure-args (built with its configure) or compile, not both",
                        lib.name
                    );
                }
                let plain = |s: &str| {
                    !s.is_empty()
                        && s.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"_-+.".contains(&b))
                };
                if !plain(&compile.library) {
                    bail!(
                        "c-libraries `{}`: compile.library `{}` is not a library name",
                        lib.name,
                        compile.library
                    );
                }
                if compile.sources.is_empty() {
                    bail!("c-libraries `{}`: compile.sources is empty", lib.name);
                }
                for rel in compile
                    .sources
                    .iter()
                    .chain(&compile.include_dirs)
                    .chain(&compile.headers)
                {
                    let path = Path::new(rel);
                    if path.is_absolute()
                        || path
                            .components()
                            .any(|c| c == std::path::Component::ParentDir)
                    {
                        bail!(
                            "c-libraries `{}`: `{rel}` must be a path inside the source tree",
                            lib.name
                        );
                    }
                }
            }
        }
        if let Some(python) = &self.python {
            python.parse::<harness::PythonVersion>().context("python")?;
        }
        Ok(())
    }

    /// Every package, the test packages after the others.
    pub fn all_packages(&self) -> impl Iterator<Item = &PackageSpec> {
        self.packages.iter().chain(&self.test_packages)
    }
}

/// A version specifier as written in the configuration: a bare version
/// means exactly that version.
pub fn parse_specifier(text: &str) -> Result<pep440_rs::VersionSpecifiers> {
    let text = text.trim();
    let spec = if text.starts_with(|c: char| c.is_ascii_digit()) {
        format!("=={text}")
    } else {
        text.to_owned()
    };
    spec.parse()
        .map_err(|e| anyhow::anyhow!("`{text}` is not a version specifier: {e}"))
}

/// PEP 503 name normalization (`Zope.Interface` → `zope-interface`).
pub fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The default configuration, carried with the sources at `path`
/// ([`crate::layout::Layout::default_config`]).
pub fn default(path: &Path) -> Result<ProjectConfig> {
    ProjectConfig::from_toml(&fs_err::read_to_string(path)?, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> Result<ProjectConfig> {
        ProjectConfig::from_json(&json, TABLE)
    }

    #[test]
    fn a_complete_table_parses() {
        let config = parse(serde_json::json!({
            "python": "3.13",
            "packages": [
                {"name": "numpy", "version": "2.5.5"},
                {"name": "pyyaml", "version": ">=6", "c-libraries": ["libyaml"]},
                {"name": "hello-ext", "path": "examples/hello-ext", "env": {"X": "1"}},
            ],
            "test-packages": [{"name": "pytest"}],
            "suites": ["pytests/numpy"],
            "preimport": ["numpy"],
            "c-libraries": [{
                "name": "libyaml", "version": "0.2.5", "file": "yaml-0.2.5.tar.gz",
                "sha256": "c642ae9b75fee120b2d96c712538bd2cf283228d2337df2cf2988e3c02678ef4",
                "sources": [{"pypi": "x"}],
            }],
        }))
        .unwrap();
        assert_eq!(config.packages.len(), 3);
        assert_eq!(config.all_packages().count(), 4);
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let err = parse(serde_json::json!({"packages": [{"name": "numpy", "vesion": "1"}]}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("packages[0]") && err.contains("vesion"),
            "{err}"
        );
        let err = parse(serde_json::json!({"pythn": "3.13"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("pythn"), "{err}");
        let err = format!(
            "{:#}",
            parse(serde_json::json!({"packages": [{"name": "numpy", "version": "two"}]}))
                .unwrap_err()
        );
        assert!(err.contains("numpy") && err.contains("`two`"), "{err}");
        let err = format!(
            "{:#}",
            parse(serde_json::json!({"packages": [{"name": "a", "version": "1", "path": "x"}]}))
                .unwrap_err()
        );
        assert!(err.contains("not both"), "{err}");
        let err = format!(
            "{:#}",
            parse(serde_json::json!({"packages": [{"name": "a", "c-libraries": ["nope"]}]}))
                .unwrap_err()
        );
        assert!(err.contains("`nope`"), "{err}");
        let err = format!(
            "{:#}",
            parse(serde_json::json!({"python": "three"})).unwrap_err()
        );
        assert!(err.contains("python"), "{err}");
    }

    #[test]
    fn a_compiled_library_is_checked() {
        let lib = |compile: serde_json::Value, configure: serde_json::Value| {
            let table = serde_json::json!({"c-libraries": [{
                "name": "libyaml", "version": "0.2.5", "file": "y.tar.gz",
                "sha256": "fa240dbf262be053f3898006d502d514936c818e422afdcf33921c63bed9bf2e",
                "sources": [{"debian-pool": "libyaml", "file": "y.tar.gz"}],
                "configure-args": configure, "compile": compile,
            }]});
            parse(table).map_err(|e| format!("{e:#}"))
        };
        let good = serde_json::json!({"library": "yaml", "sources": ["src/*.c"], "headers": ["include/yaml.h"]});
        let config = lib(good.clone(), serde_json::json!([])).unwrap();
        assert_eq!(
            config.c_libraries[0].compile.as_ref().unwrap().library,
            "yaml"
        );
        let err = lib(good, serde_json::json!(["--x"])).unwrap_err();
        assert!(err.contains("not both"), "{err}");
        let err = lib(
            serde_json::json!({"library": "yaml", "sources": ["../*.c"], "headers": []}),
            serde_json::json!([]),
        )
        .unwrap_err();
        assert!(
            err.contains("`../*.c`") && err.contains("inside the source tree"),
            "{err}"
        );
        let err = lib(
            serde_json::json!({"library": "y a", "sources": ["*.c"], "headers": []}),
            serde_json::json!([]),
        )
        .unwrap_err();
        assert!(err.contains("not a library name"), "{err}");
        let err = lib(
            serde_json::json!({"library": "yaml", "source": ["*.c"], "headers": []}),
            serde_json::json!([]),
        )
        .unwrap_err();
        assert!(
            err.contains("c-libraries[0].compile") && err.contains("source"),
            "{err}"
        );
    }

    #[test]
    fn a_configuration_that_extends_the_default_adds_to_it() {
        let base = parse(serde_json::json!({
            "packages": [{"name": "numpy", "version": "2.5.5"}],
            "test-packages": [{"name": "pytest", "version": "8.4.2"}],
            "suites": ["pytests/numpy"],
            "preimport": ["numpy"],
        }))
        .unwrap();
        let own = parse(serde_json::json!({
            "extends": "default",
            "packages": [{"name": "msgpack"}, {"name": "NumPy", "version": ">=2"}],
            "suites": ["tests/mine", "/abs/pytests/numpy"],
            "preimport": ["msgpack", "numpy"],
        }))
        .unwrap();
        let merged = own.on_top_of(base, Path::new("/abs"));
        let names: Vec<&str> = merged.packages.iter().map(|p| p.name.as_str()).collect();
        // A package of both is the project's, once.
        assert_eq!(names, ["msgpack", "NumPy"]);
        assert_eq!(merged.packages[1].version.as_deref(), Some(">=2"));
        assert_eq!(merged.test_packages[0].name, "pytest");
        // The default's suites are found beside the default, not the project.
        assert_eq!(
            merged.suites,
            [
                PathBuf::from("/abs/pytests/numpy"),
                PathBuf::from("tests/mine")
            ]
        );
        assert_eq!(merged.preimport, ["numpy", "msgpack"]);
        assert_eq!(merged.extends, None);

        let err = parse(serde_json::json!({"extends": "mine"})).unwrap_err();
        assert!(format!("{err:#}").contains("extends: `mine`"), "{err:#}");
    }

    #[test]
    fn specifiers_accept_bare_versions() {
        let spec = parse_specifier("2.5.5").unwrap();
        assert!(spec.contains(&"2.5.5".parse().unwrap()));
        assert!(!spec.contains(&"2.5.4".parse().unwrap()));
        let spec = parse_specifier(">=6,<7").unwrap();
        assert!(spec.contains(&"6.0.4".parse().unwrap()));
    }
}
