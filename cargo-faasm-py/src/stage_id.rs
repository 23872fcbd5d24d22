//! A stage's name ([`StageId`]): what stages, the build plan and the CLI
//! call a stage by, apart from the engine that runs them.

use std::fmt;

use anyhow::{Result, bail};

/// A stage's name. Package stages are named after their package, which may
/// not take a built-in stage's name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StageId {
    /// Every pinned input into the download cache.
    Fetch,
    /// The C compiler for wasm32-wasi.
    Toolchain,
    /// The C++ runtime (with exceptions) and `clang++`.
    CxxRuntime,
    /// The native build python.
    HostPython,
    /// rustc with an unwinding wasm32 standard library (only for builds
    /// with Rust packages).
    RustToolchain,
    /// zlib for wasm32.
    Zlib,
    /// bzip2 for wasm32.
    Bzip2,
    /// liblzma for wasm32.
    Xz,
    /// SQLite for wasm32.
    Sqlite,
    /// libzstd for wasm32.
    Zstd,
    /// libffi with our wasm32-wasi target part.
    Libffi,
    /// OpenBLAS for wasm32 (numpy's BLAS).
    Openblas,
    /// CPython for wasm32-wasi.
    Cpython,
    /// One package, built for the guest.
    Package(String),
    /// A C library of the configuration, built for wasm32.
    Library(String),
    /// python.wasm.
    Link,
    /// The guest's read-only tree.
    Runtime,
    /// python.wasm pre-initialised.
    Snapshot,
    /// The native reference environment.
    Native,
}

impl StageId {
    /// The built-in stages, in pipeline order (packages go between
    /// `cpython` and `link`).
    pub const BUILTIN: [StageId; 17] = [
        StageId::Fetch,
        StageId::Toolchain,
        StageId::CxxRuntime,
        StageId::HostPython,
        StageId::RustToolchain,
        StageId::Zlib,
        StageId::Bzip2,
        StageId::Xz,
        StageId::Sqlite,
        StageId::Zstd,
        StageId::Libffi,
        StageId::Openblas,
        StageId::Cpython,
        StageId::Link,
        StageId::Runtime,
        StageId::Snapshot,
        StageId::Native,
    ];

    /// The name users type (`cargo faasm-py build host-python`).
    pub fn name(&self) -> &str {
        match self {
            StageId::Fetch => "fetch",
            StageId::Toolchain => "toolchain",
            StageId::CxxRuntime => "cxx-runtime",
            StageId::HostPython => "host-python",
            StageId::RustToolchain => "rust-toolchain",
            StageId::Zlib => "zlib",
            StageId::Bzip2 => "bzip2",
            StageId::Xz => "xz",
            StageId::Sqlite => "sqlite",
            StageId::Zstd => "zstd",
            StageId::Libffi => "libffi",
            StageId::Openblas => "openblas",
            StageId::Cpython => "cpython",
            StageId::Package(name) | StageId::Library(name) => name,
            StageId::Link => "link",
            StageId::Runtime => "runtime",
            StageId::Snapshot => "snapshot",
            StageId::Native => "native",
        }
    }

    /// The stage for a package, unless the name is taken by a built-in
    /// stage (whose outputs it would shadow) or is not a plain name.
    pub fn package(name: &str) -> Result<Self> {
        if Self::BUILTIN.iter().any(|s| s.name() == name) {
            return Err(crate::mistake::Mistake::PackageNamedLikeStage {
                package: name.to_owned(),
            }
            .into());
        }
        let plain = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if name.is_empty() || !plain || name.starts_with('.') {
            bail!("`{name}` is not a valid package name");
        }
        Ok(StageId::Package(name.to_owned()))
    }

    /// The stage for a configured C library (the same rules as a
    /// package's name).
    pub fn library(name: &str) -> Result<Self> {
        match Self::package(name)? {
            StageId::Package(name) => Ok(StageId::Library(name)),
            other => Ok(other),
        }
    }

    /// A built-in stage that is a C library (`include/`, `lib/`) a recipe
    /// can build its package against (`c-libraries` in
    /// `third-party/recipes/<name>.toml`).
    pub fn builtin_library(name: &str) -> Result<Self> {
        const LIBRARIES: [StageId; 1] = [StageId::Openblas];
        match LIBRARIES.iter().find(|s| s.name() == name) {
            Some(stage) => Ok(stage.clone()),
            None => bail!(
                "`{name}` is not a built-in C library (there is: {})",
                LIBRARIES.map(|s| s.name().to_owned()).join(", ")
            ),
        }
    }

    /// The built-in stage names, for help texts.
    pub fn builtin_names() -> String {
        Self::BUILTIN
            .iter()
            .map(StageId::name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_cannot_take_a_builtin_stage_name() {
        for builtin in StageId::BUILTIN {
            let err = StageId::package(builtin.name()).unwrap_err().to_string();
            assert!(err.contains("built-in stage"), "{err}");
        }
        assert!(StageId::package("../x").is_err());
        assert!(StageId::package("").is_err());
        assert_eq!(
            StageId::package("numpy").unwrap(),
            StageId::Package("numpy".into())
        );
    }

    #[test]
    fn recipes_name_only_builtin_c_libraries() {
        assert_eq!(
            StageId::builtin_library("openblas").unwrap(),
            StageId::Openblas
        );
        let err = StageId::builtin_library("cpython").unwrap_err().to_string();
        assert!(
            err.contains("`cpython` is not a built-in C library (there is: openblas)"),
            "{err}"
        );
    }
}
