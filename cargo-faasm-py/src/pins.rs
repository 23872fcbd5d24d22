//! `third-party/sources.toml`: every external input, pinned by sha256.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pins {
    pub debian: DebianRelease,
    pub artifact: BTreeMap<String, Artifact>,
    /// Packages built for the guest, in build order.
    #[serde(default)]
    pub package: Vec<Package>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Package {
    pub name: String,
    /// The artifact holding its source distribution.
    pub sdist: String,
    pub backend: Backend,
    /// Artifacts (wheels) installed into the host build environment.
    #[serde(default)]
    pub build_tools: Vec<String>,
    #[serde(default)]
    pub meson_options: Vec<String>,
    /// C files under `third-party/shims/` linked in with the package.
    #[serde(default)]
    pub shims: Vec<String>,
    /// A native wheel of the same version, installed into the host
    /// reference environment.
    pub native_wheel: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    Meson,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebianRelease {
    /// The suite the Debian inputs come from, e.g. `trixie`.
    pub suite: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    pub version: String,
    /// The name of the file in the download cache.
    pub file: String,
    pub sha256: String,
    pub sources: Vec<Source>,
}

/// One place an artifact can be had; tried in order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Source {
    /// A file of a PyPI project, found through the index pip uses.
    Pypi { pypi: String },
    /// A binary package from Debian's archive.
    DebianPackage { debian: String, version: String },
    /// One file (usually the upstream tarball) of a Debian source package.
    DebianSourceFile {
        #[serde(rename = "debian-source")]
        debian_source: String,
        file: String,
    },
    /// A plain download.
    Url { url: String },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Pypi { pypi } => write!(f, "PyPI project {pypi}"),
            Source::DebianPackage { debian, version } => {
                write!(f, "Debian package {debian}={version}")
            }
            Source::DebianSourceFile {
                debian_source,
                file,
            } => write!(f, "Debian source package {debian_source} ({file})"),
            Source::Url { url } => write!(f, "{url}"),
        }
    }
}

impl Pins {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the pins file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid pins file {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self> {
        let pins: Pins = toml::from_str(text)?;
        for (name, artifact) in &pins.artifact {
            artifact
                .validate()
                .with_context(|| format!("artifact `{name}`"))?;
        }
        let mut names = std::collections::BTreeSet::new();
        for package in &pins.package {
            let what = || format!("package `{}`", package.name);
            if !names.insert(&package.name) {
                bail!("package `{}` is listed twice", package.name);
            }
            let artifacts = std::iter::once(&package.sdist)
                .chain(&package.build_tools)
                .chain(&package.native_wheel);
            for artifact in artifacts {
                pins.get(artifact).with_context(what)?;
            }
        }
        Ok(pins)
    }

    pub fn get(&self, name: &str) -> Result<&Artifact> {
        self.artifact.get(name).with_context(|| {
            format!("`{name}` is not pinned in third-party/sources.toml (add an [artifact.{name}] table)")
        })
    }
}

impl Artifact {
    fn validate(&self) -> Result<()> {
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("sha256 must be 64 hex digits, got `{}`", self.sha256);
        }
        if self.file.is_empty() || self.file.contains('/') || self.file.starts_with('.') {
            bail!("file must be a plain file name, got `{}`", self.file);
        }
        if self.sources.is_empty() {
            bail!("no sources: say where the file can be had");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
        [debian]
        suite = "trixie"

        [artifact.zlib]
        version = "1.3.1"
        file = "zlib-1.3.1.tar.gz"
        sha256 = "60dd315c07f616887caa029408308a018ace66e3d142726a97db164b3b8f69fb"
        sources = [
          { debian-source = "zlib", file = "zlib_1.3.1.orig.tar.gz" },
          { url = "https://example.org/zlib-1.3.1.tar.gz" },
        ]

        [artifact.zig]
        version = "0.17.0"
        file = "zig.whl"
        sha256 = "97079827064a7492cce5541ceb438ae8003ce1e54e399676da2d62fb7a5dc08b"
        sources = [{ pypi = "ziglang" }, { debian = "wasi-libc", version = "1" }]
    "#;

    #[test]
    fn parses_every_source_kind() {
        let pins = Pins::parse(SAMPLE).unwrap();
        assert_eq!(pins.debian.suite, "trixie");
        let zlib = pins.get("zlib").unwrap();
        assert_eq!(
            zlib.sources,
            vec![
                Source::DebianSourceFile {
                    debian_source: "zlib".into(),
                    file: "zlib_1.3.1.orig.tar.gz".into()
                },
                Source::Url {
                    url: "https://example.org/zlib-1.3.1.tar.gz".into()
                },
            ]
        );
        let zig = pins.get("zig").unwrap();
        assert_eq!(
            zig.sources[1],
            Source::DebianPackage {
                debian: "wasi-libc".into(),
                version: "1".into()
            }
        );
    }

    #[test]
    fn the_project_pins_parse() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../third-party/sources.toml");
        let pins = Pins::load(&path).unwrap();
        for name in ["cpython", "ziglang", "wasi-libc", "zlib"] {
            pins.get(name).unwrap();
        }
    }

    #[test]
    fn rejects_a_malformed_hash() {
        let bad = SAMPLE.replace("60dd315c", "xyz");
        let err = format!("{:#}", Pins::parse(&bad).unwrap_err());
        assert!(
            err.contains("artifact `zlib`") && err.contains("64 hex"),
            "{err}"
        );
    }

    #[test]
    fn rejects_an_unknown_source_kind() {
        let bad = SAMPLE.replace("{ pypi = \"ziglang\" }", "{ git = \"x\" }");
        assert!(Pins::parse(&bad).is_err());
    }

    #[test]
    fn unknown_artifact_names_the_table_to_add() {
        let pins = Pins::parse(SAMPLE).unwrap();
        let err = pins.get("numpy").unwrap_err().to_string();
        assert!(err.contains("[artifact.numpy]"), "{err}");
    }
}
