//! The guest's file layout, derived from the CPython version alone.
//!
//! Every path and name that depends on the interpreter's version (the
//! standard library's directory, `EXT_SUFFIX`, the sysconfig data module,
//! `argv[0]` …) comes from here, so that the build stages, the runtime tree
//! and the harness agree by construction, and selecting another CPython
//! version changes only the version pin.

use std::fmt;
use std::str::FromStr;

use anyhow::{Result, bail};

/// Where the runtime tree is mounted, read-only; also `PYTHONHOME` and the
/// prefix CPython is configured with (CPython's default).
pub const GUEST_PREFIX: &str = "/usr/local";
/// Where the per-run scratch directory is mounted, read-write.
pub const GUEST_TMP: &str = "/tmp";
/// CPython's name for the platform (`sys.platform` is `wasi`; this is the
/// `_PYTHON_HOST_PLATFORM` a cross build reports).
pub const HOST_PLATFORM: &str = "wasi-wasm32";
/// The multiarch tuple CPython's configure derives for wasm32-wasip1.
pub const MULTIARCH: &str = "wasm32-wasi";

/// A CPython feature version, `major.minor` (the patch level does not
/// change the layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PythonVersion {
    /// 3 for every version this tool builds.
    pub major: u8,
    /// 13 for CPython 3.13.x.
    pub minor: u8,
}

impl FromStr for PythonVersion {
    type Err = anyhow::Error;

    /// Parses `3.13`, `3.13.5` or `3.14.0rc1` (anything after the minor
    /// number's digits is the patch level).
    fn from_str(text: &str) -> Result<Self> {
        let mut parts = text.split('.');
        let major = parts.next().and_then(|p| p.parse::<u8>().ok());
        let minor = parts.next().and_then(|p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u8>().ok()
        });
        match (major, minor) {
            (Some(3), Some(minor)) => Ok(Self { major: 3, minor }),
            _ => bail!("`{text}` is not a CPython 3 version (expected e.g. `3.13.5`)"),
        }
    }
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Where everything lives inside the guest, for one CPython version.
///
/// Paths ending in `_dir` or `_file` are relative to the runtime tree (the
/// directory mounted at [`GUEST_PREFIX`]); the others are absolute guest
/// paths or plain names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GuestLayout {
    version: PythonVersion,
}

impl GuestLayout {
    /// The layout of a CPython `version` installed at [`GUEST_PREFIX`].
    pub fn new(version: PythonVersion) -> Self {
        Self { version }
    }

    /// The layout for a version string such as `3.13.5`.
    pub fn for_version(version: &str) -> Result<Self> {
        Ok(Self::new(version.parse()?))
    }

    /// The layout of an existing runtime tree, from its one
    /// `lib/python3.N` directory (for hosts that only have the tree).
    pub fn of_runtime(runtime: &std::path::Path) -> Result<Self> {
        let lib = runtime.join("lib");
        let mut found = Vec::new();
        for entry in fs_err::read_dir(&lib)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if let Some(version) = name.strip_prefix("python")
                && let Ok(version) = version.parse::<PythonVersion>()
            {
                found.push(version);
            }
        }
        match found[..] {
            [version] => Ok(Self::new(version)),
            [] => bail!("{} holds no python3.N directory", lib.display()),
            _ => bail!("{} holds more than one python3.N directory", lib.display()),
        }
    }

    /// The CPython feature version.
    pub fn version(&self) -> PythonVersion {
        self.version
    }

    /// `3.13`: the version as CPython writes it in paths.
    pub fn short_version(&self) -> String {
        self.version.to_string()
    }

    /// `313`: the version in ABI tags.
    pub fn abi_version(&self) -> String {
        format!("{}{}", self.version.major, self.version.minor)
    }

    /// `/usr/local`.
    pub fn prefix(&self) -> &'static str {
        GUEST_PREFIX
    }

    /// `/tmp`.
    pub fn tmp(&self) -> &'static str {
        GUEST_TMP
    }

    /// `lib/python3.13`: the standard library.
    pub fn stdlib_dir(&self) -> String {
        format!("lib/python{}", self.short_version())
    }

    /// `lib/python3.13/site-packages`.
    pub fn site_packages_dir(&self) -> String {
        format!("{}/site-packages", self.stdlib_dir())
    }

    /// `lib/python3.13/lib-dynload`: getpath expects it (empty here: every
    /// extension module is built in).
    pub fn lib_dynload_dir(&self) -> String {
        format!("{}/lib-dynload", self.stdlib_dir())
    }

    /// `lib/python3.13/config-3.13-wasm32-wasi`: the static library and
    /// build files `make install` puts there, for linking, not for guests.
    pub fn config_dir(&self) -> String {
        format!(
            "{}/config-{}-{MULTIARCH}",
            self.stdlib_dir(),
            self.short_version()
        )
    }

    /// `bin/python3.13`: the interpreter file (`sys.executable`).
    pub fn executable_file(&self) -> String {
        format!("bin/python{}", self.short_version())
    }

    /// `/usr/local/bin/python3.13`: `argv[0]` of every run, so that
    /// `sys.executable` names a real file of the runtime tree.
    pub fn argv0(&self) -> String {
        format!("{GUEST_PREFIX}/{}", self.executable_file())
    }

    /// `/usr/local/lib/python3.13`.
    pub fn guest_stdlib(&self) -> String {
        format!("{GUEST_PREFIX}/{}", self.stdlib_dir())
    }

    /// `/usr/local/lib/python3.13/site-packages`.
    pub fn guest_site_packages(&self) -> String {
        format!("{GUEST_PREFIX}/{}", self.site_packages_dir())
    }

    /// `cpython-313-wasm32-wasi`: `sysconfig.get_config_var("SOABI")`.
    pub fn soabi(&self) -> String {
        format!("cpython-{}-{MULTIARCH}", self.abi_version())
    }

    /// `.cpython-313-wasm32-wasi.so`: the file suffix of extension modules
    /// (`EXT_SUFFIX`); here they are archives linked in, but package builds
    /// name them so.
    pub fn ext_suffix(&self) -> String {
        format!(".{}.so", self.soabi())
    }

    /// `_sysconfigdata__wasi_wasm32-wasi`: the module holding the build's
    /// configuration variables.
    pub fn sysconfigdata_name(&self) -> String {
        format!("_sysconfigdata__wasi_{MULTIARCH}")
    }

    /// `libpython3.13.a`.
    pub fn libpython(&self) -> String {
        format!("libpython{}.a", self.short_version())
    }

    /// `include/python3.13`: the C headers, relative to an install prefix.
    pub fn include_dir(&self) -> String {
        format!("include/python{}", self.short_version())
    }

    /// `build/lib.wasi-wasm32-3.13`: where CPython's build tree keeps the
    /// generated sysconfig data (relative to the build directory).
    pub fn build_lib_dir(&self) -> String {
        format!("build/lib.{HOST_PLATFORM}-{}", self.short_version())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_for_3_13() {
        let g = GuestLayout::for_version("3.13.5").unwrap();
        assert_eq!(g.short_version(), "3.13");
        assert_eq!(g.abi_version(), "313");
        assert_eq!(g.prefix(), "/usr/local");
        assert_eq!(g.tmp(), "/tmp");
        assert_eq!(g.stdlib_dir(), "lib/python3.13");
        assert_eq!(g.site_packages_dir(), "lib/python3.13/site-packages");
        assert_eq!(g.lib_dynload_dir(), "lib/python3.13/lib-dynload");
        assert_eq!(g.config_dir(), "lib/python3.13/config-3.13-wasm32-wasi");
        assert_eq!(g.executable_file(), "bin/python3.13");
        assert_eq!(g.argv0(), "/usr/local/bin/python3.13");
        assert_eq!(g.guest_stdlib(), "/usr/local/lib/python3.13");
        assert_eq!(
            g.guest_site_packages(),
            "/usr/local/lib/python3.13/site-packages"
        );
        assert_eq!(g.soabi(), "cpython-313-wasm32-wasi");
        assert_eq!(g.ext_suffix(), ".cpython-313-wasm32-wasi.so");
        assert_eq!(g.sysconfigdata_name(), "_sysconfigdata__wasi_wasm32-wasi");
        assert_eq!(g.libpython(), "libpython3.13.a");
        assert_eq!(g.include_dir(), "include/python3.13");
        assert_eq!(g.build_lib_dir(), "build/lib.wasi-wasm32-3.13");
    }

    #[test]
    fn every_value_for_3_14() {
        let g = GuestLayout::for_version("3.14.2").unwrap();
        assert_eq!(g.short_version(), "3.14");
        assert_eq!(g.abi_version(), "314");
        assert_eq!(g.stdlib_dir(), "lib/python3.14");
        assert_eq!(g.site_packages_dir(), "lib/python3.14/site-packages");
        assert_eq!(g.lib_dynload_dir(), "lib/python3.14/lib-dynload");
        assert_eq!(g.config_dir(), "lib/python3.14/config-3.14-wasm32-wasi");
        assert_eq!(g.executable_file(), "bin/python3.14");
        assert_eq!(g.argv0(), "/usr/local/bin/python3.14");
        assert_eq!(g.guest_stdlib(), "/usr/local/lib/python3.14");
        assert_eq!(
            g.guest_site_packages(),
            "/usr/local/lib/python3.14/site-packages"
        );
        assert_eq!(g.soabi(), "cpython-314-wasm32-wasi");
        assert_eq!(g.ext_suffix(), ".cpython-314-wasm32-wasi.so");
        assert_eq!(g.sysconfigdata_name(), "_sysconfigdata__wasi_wasm32-wasi");
        assert_eq!(g.libpython(), "libpython3.14.a");
        assert_eq!(g.include_dir(), "include/python3.14");
        assert_eq!(g.build_lib_dir(), "build/lib.wasi-wasm32-3.14");
    }

    #[test]
    fn a_runtime_tree_names_its_version() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("lib/python3.14/site-packages")).unwrap();
        let g = GuestLayout::of_runtime(dir.path()).unwrap();
        assert_eq!(g.short_version(), "3.14");
        std::fs::create_dir_all(dir.path().join("lib/python3.13")).unwrap();
        assert!(GuestLayout::of_runtime(dir.path()).is_err());
        let empty = tempfile::tempdir().unwrap();
        assert!(GuestLayout::of_runtime(empty.path()).is_err());
    }

    #[test]
    fn versions_parse_and_bad_ones_are_named() {
        assert_eq!(
            "3.14.0rc1".parse::<PythonVersion>().unwrap(),
            PythonVersion {
                major: 3,
                minor: 14
            }
        );
        assert_eq!("3.13".parse::<PythonVersion>().unwrap().to_string(), "3.13");
        for bad in ["", "3", "2.7.18", "three.13", "3.x"] {
            let err = bad.parse::<PythonVersion>().unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }
}
