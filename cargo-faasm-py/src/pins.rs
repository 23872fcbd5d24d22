//! `third-party/sources.toml`: every external input, pinned by sha256.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use harness::GuestLayout;
use serde::Deserialize;

/// The artifact whose version is the guest's CPython version.
pub const CPYTHON: &str = "cpython";
/// The prefix of the Rust toolchain's artifacts, fetched only by builds
/// with a Rust package.
pub const RUST_PREFIX: &str = "rust:";

/// The whole pins file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pins {
    /// Where Debian inputs come from.
    pub debian: DebianRelease,
    /// Every external file, by name. The lock's files (packages, build
    /// tools) join them when a build plan is made.
    pub artifact: BTreeMap<String, Artifact>,
    /// Which CPython versions can be built, and which is the default.
    #[serde(default)]
    pub python: PythonVersions,
    /// The version [`Pins::select_python`] chose (`None` before it runs, or
    /// when the pins name no versions).
    #[serde(skip)]
    pub selected: Option<String>,
}

/// `[python]`: the CPython versions this tool builds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PythonVersions {
    /// The version built unless `--python X.Y` picks another.
    pub default: Option<String>,
    /// Each version (`"3.13"`) and what it changes.
    #[serde(default)]
    pub versions: BTreeMap<String, PinnedPython>,
}

/// `[python.versions."X.Y"]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedPython {
    /// Artifacts that take the place of others when this version is built
    /// (role → artifact): its CPython source, and the wheels made for its
    /// ABI (build tools, native reference wheels).
    #[serde(default)]
    pub replace: BTreeMap<String, String>,
}

/// `[debian]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebianRelease {
    /// The suite the Debian inputs come from, e.g. `trixie`.
    pub suite: String,
}

/// One external file (`[artifact.NAME]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// Its upstream version.
    pub version: String,
    /// The name of the file in the download cache.
    pub file: String,
    /// What its bytes must hash to.
    pub sha256: String,
    /// Where it can be had, tried in order.
    pub sources: Vec<Source>,
    /// What to tell the user when no source delivers (e.g. where else the
    /// file can be had).
    pub hint: Option<String>,
}

/// One place an artifact can be had; tried in order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(try_from = "RawSource", into = "RawSource")]
pub enum Source {
    /// A file of a PyPI project, found through the index pip uses.
    Pypi {
        /// The project.
        pypi: String,
    },
    /// A binary package from Debian's archive.
    DebianPackage {
        /// The package.
        debian: String,
        /// Its exact version.
        version: String,
    },
    /// A file of Debian's pool, by source package and file name, from the
    /// machine's mirror: for files of Debian's moving suites that no index
    /// of the pinned suite lists.
    DebianPool {
        /// The source package.
        debian_pool: String,
        /// The file of it.
        file: String,
    },
    /// One file (usually the upstream tarball) of a Debian source package.
    DebianSourceFile {
        /// The source package.
        debian_source: String,
        /// The file of it.
        file: String,
    },
    /// A crate of the crate registry cargo uses, at the artifact's version.
    Crate {
        /// The crate.
        name: String,
        /// Its version.
        version: String,
    },
    /// A plain download.
    Url {
        /// Where.
        url: String,
    },
}

/// Every key a source table may have; which combination is given decides
/// the kind, and any other combination is an error that lists the kinds.
#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pypi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    debian: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    debian_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    debian_pool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(rename = "crate", skip_serializing_if = "Option::is_none")]
    krate: Option<String>,
}

impl From<Source> for RawSource {
    fn from(source: Source) -> Self {
        let mut raw = RawSource {
            pypi: None,
            debian: None,
            version: None,
            debian_source: None,
            debian_pool: None,
            file: None,
            url: None,
            krate: None,
        };
        match source {
            Source::Pypi { pypi } => raw.pypi = Some(pypi),
            Source::DebianPackage { debian, version } => {
                raw.debian = Some(debian);
                raw.version = Some(version);
            }
            Source::DebianSourceFile {
                debian_source,
                file,
            } => {
                raw.debian_source = Some(debian_source);
                raw.file = Some(file);
            }
            Source::DebianPool { debian_pool, file } => {
                raw.debian_pool = Some(debian_pool);
                raw.file = Some(file);
            }
            Source::Url { url } => raw.url = Some(url),
            Source::Crate { name, version } => {
                raw.krate = Some(name);
                raw.version = Some(version);
            }
        }
        raw
    }
}

const SOURCE_KINDS: &str = "a source is one of { pypi = \"PROJECT\" }, { debian = \"PACKAGE\", version = \"VERSION\" }, { debian-source = \"PACKAGE\", file = \"FILE\" }, { debian-pool = \"PACKAGE\", file = \"FILE\" }, { crate = \"NAME\", version = \"VERSION\" }, { url = \"URL\" }";

impl TryFrom<RawSource> for Source {
    type Error = String;

    fn try_from(raw: RawSource) -> std::result::Result<Self, String> {
        Ok(
            match (
                raw.pypi,
                raw.debian,
                raw.version,
                raw.debian_source,
                raw.debian_pool,
                raw.file,
                raw.url,
                raw.krate,
            ) {
                (Some(pypi), None, None, None, None, None, None, None) => Source::Pypi { pypi },
                (None, Some(debian), Some(version), None, None, None, None, None) => {
                    Source::DebianPackage { debian, version }
                }
                (None, None, None, Some(debian_source), None, Some(file), None, None) => {
                    Source::DebianSourceFile {
                        debian_source,
                        file,
                    }
                }
                (None, None, None, None, Some(debian_pool), Some(file), None, None) => {
                    Source::DebianPool { debian_pool, file }
                }
                (None, None, None, None, None, None, Some(url), None) => Source::Url { url },
                (None, None, Some(version), None, None, None, None, Some(name)) => {
                    Source::Crate { name, version }
                }
                _ => return Err(SOURCE_KINDS.to_owned()),
            },
        )
    }
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
            Source::DebianPool { debian_pool, file } => {
                write!(f, "Debian's pool, {debian_pool} ({file})")
            }
            Source::Url { url } => write!(f, "{url}"),
            Source::Crate { name, version } => write!(f, "crate {name} {version}"),
        }
    }
}

impl Pins {
    /// Reads and checks a pins file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = fs_err::read_to_string(path)?;
        Self::parse_file(&text, path)
    }

    /// Parses pins text (named `sources.toml` in errors).
    pub fn parse(text: &str) -> Result<Self> {
        Self::parse_file(text, Path::new("sources.toml"))
    }

    fn parse_file(text: &str, path: &Path) -> Result<Self> {
        let pins: Pins = harness::text::parse_toml(text, path)?;
        pins.check()
            .with_context(|| format!("invalid pins file {}", path.display()))?;
        Ok(pins)
    }

    fn check(&self) -> Result<()> {
        let pins = self;
        for (name, artifact) in &pins.artifact {
            artifact
                .validate()
                .with_context(|| format!("artifact `{name}`"))?;
        }
        if let Some(default) = &pins.python.default
            && !pins.python.versions.contains_key(default)
        {
            bail!("[python] default = \"{default}\" is not one of [python.versions]");
        }
        for (version, pinned) in &pins.python.versions {
            for (role, artifact) in &pinned.replace {
                for name in [role, artifact] {
                    pins.get(name)
                        .with_context(|| format!("[python.versions.\"{version}\"] replace"))?;
                }
            }
        }
        pins.guest_layout()?;
        Ok(())
    }

    /// Picks the CPython version to build: `wanted`, else `[python]
    /// default`. The chosen version's replacements take their roles'
    /// places, and the other versions' replacements leave the pins, so
    /// nothing of an unselected version is fetched or fingerprinted.
    pub fn select_python(mut self, wanted: Option<&str>) -> Result<Self> {
        if self.python.versions.is_empty() {
            if let Some(wanted) = wanted {
                bail!("--python {wanted}: the pins name no CPython versions to choose from");
            }
            return Ok(self);
        }
        let known = || {
            self.python
                .versions
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        };
        let chosen = match wanted.or(self.python.default.as_deref()) {
            Some(version) => version.to_owned(),
            None => bail!(
                "[python] has no default: pass --python (one of {})",
                known()
            ),
        };
        let Some(pinned) = self.python.versions.get(&chosen).cloned() else {
            bail!(
                "CPython {chosen} is not pinned in third-party/sources.toml (pinned: {})",
                known()
            );
        };
        let others: Vec<String> = self
            .python
            .versions
            .iter()
            .filter(|(version, _)| **version != chosen)
            .flat_map(|(_, v)| v.replace.values().cloned())
            .collect();
        for (role, artifact) in &pinned.replace {
            let replacement = self.get(artifact)?.clone();
            self.artifact.insert(role.clone(), replacement);
        }
        for artifact in others.iter().chain(pinned.replace.values()) {
            if !pinned.replace.contains_key(artifact) {
                self.artifact.remove(artifact);
            }
        }
        let guest = self.guest_layout()?;
        if guest.short_version() != chosen {
            bail!(
                "[python.versions.\"{chosen}\"] builds CPython {} (artifact `{CPYTHON}`): replace `{CPYTHON}` with a {chosen} source",
                self.get(CPYTHON)?.version
            );
        }
        self.selected = Some(chosen);
        Ok(self)
    }

    /// The selected CPython version when it is not the default (suites
    /// then use `baseline-X.Y.toml` rather than `baseline.toml`).
    pub fn non_default_python(&self) -> Option<&str> {
        match &self.selected {
            Some(version) if self.python.default.as_ref() != Some(version) => Some(version),
            _ => None,
        }
    }

    /// The guest's layout, from the CPython pin's version.
    pub fn guest_layout(&self) -> Result<GuestLayout> {
        let cpython = self.get(CPYTHON)?;
        GuestLayout::for_version(&cpython.version).with_context(|| format!("artifact `{CPYTHON}`"))
    }

    /// The artifact called `name`.
    pub fn get(&self, name: &str) -> Result<&Artifact> {
        self.artifact.get(name).ok_or_else(|| {
            crate::mistake::Mistake::MissingPin {
                name: name.to_owned(),
            }
            .into()
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

/// A small pins file for tests elsewhere in the crate.
#[cfg(test)]
pub(crate) const SAMPLE: &str = tests::SAMPLE;

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const SAMPLE: &str = r#"
        [debian]
        suite = "trixie"

        [artifact.cpython]
        version = "3.13.5"
        file = "Python-3.13.5.tar.xz"
        sha256 = "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640"
        sources = [{ url = "https://example.org/Python-3.13.5.tar.xz" }]

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
    fn a_bad_source_says_which_shapes_are_allowed() {
        for bad in [
            "{ git = \"x\" }",
            "{ debian = \"wasi-libc\" }",
            "{ pypi = \"a\", url = \"b\" }",
        ] {
            let text = SAMPLE.replace("{ pypi = \"ziglang\" }", bad);
            let err = format!("{:#}", Pins::parse(&text).unwrap_err());
            assert!(err.starts_with("sources.toml:"), "{bad}: {err}");
            assert!(
                err.contains("a source is one of") || err.contains("unknown field"),
                "{bad}: {err}"
            );
            assert!(!err.contains("did not match any variant"), "{err}");
        }
    }

    #[test]
    fn packages_are_no_longer_pins() {
        // Packages come from the project's configuration and lock now.
        let text = format!(
            "{SAMPLE}\n[[package]]\nname = \"numpy\"\nsdist = \"zlib\"\nbackend = \"meson\"\n"
        );
        let err = format!("{:#}", Pins::parse(&text).unwrap_err());
        assert!(err.contains("unknown field `package`"), "{err}");
    }

    const VERSIONS: &str = r#"
        [python]
        default = "3.13"
        [python.versions."3.13"]
        [python.versions."3.14"]
        replace = { cpython = "cpython-3.14" }

        [artifact."cpython-3.14"]
        version = "3.14.7"
        file = "Python-3.14.7.tar.xz"
        sha256 = "3b48dac8fb59f62eaa67ac83c1eb12bda1b7a08406dd286e252c11a66be27f81"
        sources = [{ debian-pool = "python3.14", file = "python3.14_3.14.7.orig.tar.xz" }]
    "#;

    #[test]
    fn the_default_python_leaves_other_versions_out() {
        let pins = Pins::parse(&format!("{SAMPLE}{VERSIONS}"))
            .unwrap()
            .select_python(None)
            .unwrap();
        assert_eq!(pins.selected.as_deref(), Some("3.13"));
        assert_eq!(pins.non_default_python(), None);
        assert_eq!(pins.get(CPYTHON).unwrap().version, "3.13.5");
        assert!(pins.get("cpython-3.14").is_err(), "never fetched for 3.13");
    }

    #[test]
    fn another_python_takes_its_roles() {
        let pins = Pins::parse(&format!("{SAMPLE}{VERSIONS}"))
            .unwrap()
            .select_python(Some("3.14"))
            .unwrap();
        assert_eq!(pins.non_default_python(), Some("3.14"));
        assert_eq!(pins.get(CPYTHON).unwrap().version, "3.14.7");
        assert_eq!(
            pins.get(CPYTHON).unwrap().sources,
            [Source::DebianPool {
                debian_pool: "python3.14".into(),
                file: "python3.14_3.14.7.orig.tar.xz".into()
            }]
        );
        assert_eq!(pins.guest_layout().unwrap().short_version(), "3.14");
        let err = Pins::parse(&format!("{SAMPLE}{VERSIONS}"))
            .unwrap()
            .select_python(Some("3.15"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CPython 3.15 is not pinned") && err.contains("3.13, 3.14"),
            "{err}"
        );
    }

    #[test]
    fn a_version_must_build_its_own_cpython() {
        let wrong = VERSIONS.replace("replace = { cpython = \"cpython-3.14\" }", "");
        let err = Pins::parse(&format!("{SAMPLE}{wrong}"))
            .unwrap()
            .select_python(Some("3.14"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("builds CPython 3.13.5"), "{err}");
    }

    #[test]
    fn the_guest_layout_follows_the_cpython_pin() {
        let pins = Pins::parse(&SAMPLE.replace("3.13.5", "3.14.1")).unwrap();
        assert_eq!(pins.guest_layout().unwrap().short_version(), "3.14");
    }

    #[test]
    fn unknown_artifact_names_the_table_to_add() {
        let pins = Pins::parse(SAMPLE).unwrap();
        let err = pins.get("numpy").unwrap_err().to_string();
        assert!(err.contains("[artifact.numpy]"), "{err}");
    }
}
