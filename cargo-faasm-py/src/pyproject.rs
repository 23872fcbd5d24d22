//! A project's `pyproject.toml` (PEP 517/518/621), read once for both the
//! lock (its build system and dependencies) and the package stage (its
//! `backend-path`).

use anyhow::{Result, bail};

/// A project's `pyproject.toml`, as far as locking and building need it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pyproject {
    /// `[build-system] requires`: PEP 518's default when absent.
    pub build_requires: Vec<String>,
    /// `[build-system] build-backend`: PEP 517's fallback when absent.
    pub build_backend: String,
    /// `[project] dependencies`, when the file states them.
    pub dependencies: Option<Vec<String>>,
    /// `[project] name`.
    pub name: Option<String>,
    /// `[project] version`.
    pub version: Option<String>,
    /// `[build-system] backend-path`: directories of the source tree the
    /// backend is imported from.
    pub backend_path: Vec<String>,
    /// `[tool.maturin]`, for a package maturin builds.
    pub maturin: Maturin,
}

/// What `[tool.maturin]` says about the extension module and its Python
/// files (maturin's own defaults where it says nothing).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Maturin {
    /// The module's dotted name; the crate's library name when absent.
    pub module_name: Option<String>,
    /// The crate's `Cargo.toml`, relative to the project; `Cargo.toml`
    /// when absent.
    pub manifest_path: Option<String>,
    /// Cargo features to enable.
    pub features: Vec<String>,
    /// Whether the crate's default features are off.
    pub no_default_features: bool,
    /// The directory with the Python package; the project's own when
    /// absent.
    pub python_source: Option<String>,
    /// `pyo3` (the default), `cffi`, `uniffi` or `bin`.
    pub bindings: Option<String>,
}

impl Maturin {
    /// The crate's manifest, relative to the project.
    pub fn manifest(&self) -> &str {
        self.manifest_path.as_deref().unwrap_or("Cargo.toml")
    }
}

impl Pyproject {
    /// Why a build with this backend and these requirements cannot make
    /// wasm32 extension modules, if it cannot: it compiles Rust, or drives
    /// CMake, which our compiler wrapper and cross configuration do not
    /// reach. `None` for meson-python, setuptools (C, C++, Cython) and the
    /// pure-Python backends.
    pub fn unsupported(&self) -> Option<String> {
        let backend = self.build_backend.split(':').next().unwrap_or_default();
        let by_backend = match backend {
            "maturin" => match self.maturin.bindings.as_deref() {
                None | Some("pyo3" | "pyo3-ffi") => None,
                Some(_) => Some("maturin bindings other than PyO3 (a library loaded at run time)"),
            },
            "scikit_build_core.build" | "scikit_build_core.setuptools.build_meta" => {
                Some("the build backend scikit-build-core (CMake)")
            }
            "py_build_cmake.build" => Some("the build backend py-build-cmake (CMake)"),
            _ => None,
        };
        if let Some(why) = by_backend {
            return Some(why.to_owned());
        }
        self.build_requires.iter().find_map(|req| {
            // One that does not parse fails the lock later, with its reason.
            let req: pep508_rs::Requirement = req.parse().ok()?;
            let name = crate::project::normalize(req.name.as_ref());
            match name.as_str() {
                "setuptools-rust" => Some("setuptools-rust (Rust extension modules)"),
                "hatch-cython" | "hatch-mypyc" => Some("a hatchling compiler plugin"),
                _ => None,
            }
            .map(|what| format!("{what}, `{name}` in its build requirements"))
        })
    }
}

/// Reads the parts of `pyproject.toml` text (or its absence) that matter.
pub fn parse_pyproject(text: Option<&str>) -> Result<Pyproject> {
    let legacy = Pyproject {
        build_requires: vec!["setuptools>=40.8.0".into()],
        build_backend: "setuptools.build_meta:__legacy__".into(),
        ..Pyproject::default()
    };
    let Some(text) = text else {
        return Ok(legacy);
    };
    let value: toml::Value = match toml::from_str(text) {
        Ok(value) => value,
        Err(e) => bail!("pyproject.toml is not valid TOML: {}", e.message()),
    };
    let strings = |v: Option<&toml::Value>| -> Option<Vec<String>> {
        v?.as_array().map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
    };
    let build = value.get("build-system");
    let project = value.get("project");
    let dynamic: Vec<String> = strings(project.and_then(|p| p.get("dynamic"))).unwrap_or_default();
    Ok(Pyproject {
        build_requires: strings(build.and_then(|b| b.get("requires")))
            .unwrap_or(legacy.build_requires),
        build_backend: build
            .and_then(|b| b.get("build-backend"))
            .and_then(|b| b.as_str())
            .unwrap_or(&legacy.build_backend)
            .to_owned(),
        dependencies: if dynamic.iter().any(|d| d == "dependencies") {
            None
        } else {
            strings(project.and_then(|p| p.get("dependencies")))
                .or_else(|| project.map(|_| Vec::new()))
        },
        name: project
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .map(String::from),
        version: project
            .and_then(|p| p.get("version"))
            .and_then(|n| n.as_str())
            .map(String::from),
        backend_path: strings(build.and_then(|b| b.get("backend-path"))).unwrap_or_default(),
        maturin: match value.get("tool").and_then(|t| t.get("maturin")) {
            Some(table) => table
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| anyhow::anyhow!("[tool.maturin]: {}", e.message()))?,
            None => Maturin::default(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_that_cannot_make_wasm32_modules_are_named() {
        let build = |backend: &str, requires: &[&str]| Pyproject {
            build_backend: backend.into(),
            build_requires: requires.iter().map(|r| r.to_string()).collect(),
            ..Pyproject::default()
        };
        let why = |p: Pyproject| p.unsupported().unwrap_or_default();
        assert_eq!(build("maturin", &["maturin>=1,<2"]).unsupported(), None);
        let mut cffi = build("maturin", &["maturin>=1,<2"]);
        cffi.maturin.bindings = Some("cffi".into());
        assert!(why(cffi).contains("other than PyO3"));
        assert!(why(build("scikit_build_core.build", &[])).contains("CMake"));
        let rust = why(build(
            "setuptools.build_meta",
            &["setuptools", "setuptools_rust>=1.5"],
        ));
        assert!(rust.contains("`setuptools-rust`"), "{rust}");
        assert!(why(build("hatchling.build", &["hatchling", "hatch-cython"])).contains("plugin"));
        for fine in [
            build("mesonpy", &["meson-python", "Cython>=3"]),
            build(
                "setuptools.build_meta:__legacy__",
                &["setuptools", "cython"],
            ),
            build("hatchling.build", &["hatchling"]),
            build("flit_core.buildapi", &["flit_core >=3.2,<4"]),
        ] {
            assert_eq!(fine.unsupported(), None, "{fine:?}");
        }
    }

    #[test]
    fn pyproject_build_systems() {
        let p = parse_pyproject(Some(
            "[build-system]\nrequires = [\"meson-python>=0.18\", \"Cython>=3.1\"]\nbuild-backend = \"mesonpy\"\n[project]\nname = \"x\"\ndependencies = [\"numpy\"]\n",
        ))
        .unwrap();
        assert_eq!(p.build_backend, "mesonpy");
        assert_eq!(p.build_requires.len(), 2);
        assert_eq!(p.dependencies, Some(vec!["numpy".into()]));
        let legacy = parse_pyproject(None).unwrap();
        assert!(legacy.build_backend.starts_with("setuptools.build_meta"));
        let dynamic = parse_pyproject(Some(
            "[project]\nname = \"y\"\ndynamic = [\"dependencies\"]\n",
        ))
        .unwrap();
        assert_eq!(dynamic.dependencies, None);
        assert!(parse_pyproject(Some("[[[")).is_err());
        let in_tree = parse_pyproject(Some(
            "[build-system]\nrequires = []\nbuild-backend = \"b\"\nbackend-path = [\"_build\"]\n",
        ))
        .unwrap();
        assert_eq!(in_tree.backend_path, ["_build"]);
        let rust = parse_pyproject(Some(
            "[build-system]\nbuild-backend = \"maturin\"\n[tool.maturin]\nmodule-name = \"a._a\"\npython-source = \"python\"\nfeatures = [\"pyo3/extension-module\"]\ninclude = []\n",
        ))
        .unwrap();
        assert_eq!(rust.maturin.module_name.as_deref(), Some("a._a"));
        assert_eq!(rust.maturin.python_source.as_deref(), Some("python"));
        assert_eq!(rust.maturin.features, ["pyo3/extension-module"]);
        assert_eq!(rust.maturin.manifest(), "Cargo.toml");
        let bad = parse_pyproject(Some("[tool.maturin]\nfeatures = 3\n"))
            .unwrap_err()
            .to_string();
        assert!(bad.contains("[tool.maturin]"), "{bad}");
    }
}
