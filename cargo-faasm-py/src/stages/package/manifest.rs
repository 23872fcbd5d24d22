//! A package stage's manifest: its extension modules and extra link inputs.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::stages::util::{load_json, save_json};

/// One statically built extension module, as the compiler wrapper recorded it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleRow {
    /// Dotted name, e.g. `numpy._core._multiarray_umath`.
    pub module: String,
    /// Its init function, renamed to be unique per dotted name.
    pub init: String,
    /// The module's own objects.
    pub archive: PathBuf,
    /// Static libraries the build linked it with (shared between modules).
    pub libs: Vec<PathBuf>,
    /// Other link inputs (`-lNAME` of system libraries), for the final link.
    #[serde(default)]
    pub link_flags: Vec<String>,
}

/// `manifest.json` of a package stage.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// The package's extension modules.
    pub modules: Vec<ModuleRow>,
    /// Archives linked in besides the modules (compiled shims).
    pub extra_archives: Vec<PathBuf>,
}

const FILE: &str = "manifest.json";

impl Manifest {
    /// The manifest in a package stage's output.
    pub fn load(stage_out: &Path) -> Result<Self> {
        load_json(&stage_out.join(FILE))
    }

    /// Writes the manifest into a package stage's output.
    pub fn save(&self, stage_out: &Path) -> Result<()> {
        save_json(&stage_out.join(FILE), self)
    }

    /// Every archive, each once, modules' own first.
    pub fn archives(&self) -> Vec<&Path> {
        let mut seen = std::collections::BTreeSet::new();
        let own = self.modules.iter().map(|m| m.archive.as_path());
        let libs = self
            .modules
            .iter()
            .flat_map(|m| m.libs.iter().map(PathBuf::as_path));
        own.chain(libs)
            .chain(self.extra_archives.iter().map(PathBuf::as_path))
            .filter(|p| seen.insert(*p))
            .collect()
    }

    /// The modules' other link inputs, each once, in order.
    pub fn link_flags(&self) -> Vec<&str> {
        let mut seen = std::collections::BTreeSet::new();
        self.modules
            .iter()
            .flat_map(|m| m.link_flags.iter().map(String::as_str))
            .filter(|f| seen.insert(*f))
            .collect()
    }
}
