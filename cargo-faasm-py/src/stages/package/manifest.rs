//! A package stage's manifest: its extension modules and extra link inputs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

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
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub modules: Vec<ModuleRow>,
    /// Archives linked in besides the modules (compiled shims).
    pub extra_archives: Vec<PathBuf>,
}

const FILE: &str = "manifest.json";

impl Manifest {
    pub fn load(stage_out: &Path) -> Result<Self> {
        let path = stage_out.join(FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("malformed {}", path.display()))
    }

    pub fn save(&self, stage_out: &Path) -> Result<()> {
        let path = stage_out.join(FILE);
        std::fs::write(&path, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("cannot write {}", path.display()))
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
}
