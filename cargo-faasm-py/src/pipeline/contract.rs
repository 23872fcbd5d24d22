//! What a stage reads and writes, declared as a [`Contract`] the way a
//! capability set is built: its recipe text, the stages whose outputs it
//! reads, the pins it fetches, the files of ours it compiles or applies
//! (shims, patches, files and directories a configuration names), whether
//! it uses the guest's layout, and the links it publishes. The engine
//! derives the stage's fingerprint from exactly this and hands the stage a
//! [`Grant`] that serves exactly this, so nothing a stage reads can escape
//! its fingerprint.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Result;
use harness::GuestLayout;

use crate::digest::Fingerprint;
use crate::layout::Layout;
use crate::pins::Pins;
use crate::stage_id::StageId;

/// Where in the host's layout a stage makes (part of) its output visible.
pub type PublishedAt = fn(&Layout) -> PathBuf;

/// What a stage reads and writes. Built with [`Contract::new`] and the
/// methods that add to it; everything not added is out of the stage's
/// reach.
#[derive(Clone, Default)]
pub struct Contract {
    recipe: Vec<&'static str>,
    stages: Vec<StageId>,
    pins: BTreeSet<String>,
    every_pin: bool,
    shims: BTreeSet<String>,
    files: BTreeSet<PathBuf>,
    trees: BTreeSet<PathBuf>,
    /// Patch sets by name; `true` when a CPython version's own
    /// variants replace the common ones.
    patches: BTreeMap<String, bool>,
    guest: bool,
    publishes: Vec<(&'static str, PublishedAt)>,
}

impl Contract {
    /// A contract whose recipe is `recipe`: the source text of the stage's
    /// own files and of every `stages/` helper they use (`include_str!`; a
    /// tidy rule checks the list), so changing the code rebuilds.
    pub fn new(recipe: &[&'static str]) -> Self {
        Self {
            recipe: recipe.to_vec(),
            ..Self::default()
        }
    }

    /// More recipe text (code of another crate that shapes the output).
    pub fn recipe(mut self, more: impl IntoIterator<Item = &'static str>) -> Self {
        self.recipe.extend(more);
        self
    }

    /// Reads the output of stage `id` (and is rebuilt when it changes).
    pub fn stage(self, id: StageId) -> Self {
        self.stages([id])
    }

    /// Reads the outputs of these stages.
    pub fn stages(mut self, ids: impl IntoIterator<Item = StageId>) -> Self {
        for id in ids {
            if !self.stages.contains(&id) {
                self.stages.push(id);
            }
        }
        self
    }

    /// Fetches (or reads the version of) the pinned artifact `name`.
    pub fn pin(self, name: impl AsRef<str>) -> Self {
        self.pins([name])
    }

    /// Fetches these pinned artifacts.
    pub fn pins(mut self, names: impl IntoIterator<Item = impl AsRef<str>>) -> Self {
        self.pins
            .extend(names.into_iter().map(|n| n.as_ref().to_owned()));
        self
    }

    /// Fetches every pinned artifact (the `fetch` stage).
    pub fn every_pin(mut self) -> Self {
        self.every_pin = true;
        self
    }

    /// Compiles the shim `rel` (under `third-party/shims/`).
    pub fn shim(self, rel: impl AsRef<str>) -> Self {
        self.shims([rel])
    }

    /// Compiles these shims.
    pub fn shims(mut self, rels: impl IntoIterator<Item = impl AsRef<str>>) -> Self {
        self.shims
            .extend(rels.into_iter().map(|r| r.as_ref().to_owned()));
        self
    }

    /// Reads the file at `path` (a patch the configuration names).
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.files.insert(path.into());
        self
    }

    /// Reads every file under `dir` but its build outputs
    /// ([`is_build_output`]): a project directory built as a package.
    pub fn tree(mut self, dir: impl Into<PathBuf>) -> Self {
        self.trees.insert(dir.into());
        self
    }

    /// Applies the patches of `name` (`third-party/patches/<name>/`).
    pub fn patches(mut self, name: &str) -> Self {
        self.patches.entry(name.to_owned()).or_insert(false);
        self
    }

    /// Applies the patches of `name` where `<name>/<X.Y>/` holds the
    /// guest CPython version's own variants (and uses the guest layout).
    pub fn versioned_patches(mut self, name: &str) -> Self {
        self.patches.insert(name.to_owned(), true);
        self.guest()
    }

    /// Uses the guest's layout (paths and names of the CPython version).
    pub fn guest(mut self) -> Self {
        self.guest = true;
        self
    }

    /// Makes `from` (relative to the output; `""` for all of it) visible
    /// at `to` once built, as a symbolic link replaced atomically.
    pub fn publishes(mut self, from: &'static str, to: PublishedAt) -> Self {
        self.publishes.push((from, to));
        self
    }

    /// The stages whose outputs it reads.
    pub fn deps(&self) -> &[StageId] {
        &self.stages
    }

    /// What it publishes: (relative to the output, where).
    pub fn published(&self) -> &[(&'static str, PublishedAt)] {
        &self.publishes
    }

    /// Adds everything declared but the dependencies (whose fingerprints
    /// the engine adds) to `fp`, and gives what the stage may read.
    pub fn grant(
        &self,
        layout: &Layout,
        pins: &Pins,
        guest: &GuestLayout,
        fp: &mut Fingerprint,
    ) -> Result<Grant> {
        for text in &self.recipe {
            fp.add("recipe", text);
        }
        if self.every_pin {
            for (name, artifact) in &pins.artifact {
                fp.add(name, &artifact.sha256);
            }
        }
        for name in &self.pins {
            fp.add(name, &pins.get(name)?.sha256);
        }
        let mut shims = BTreeMap::new();
        for rel in &self.shims {
            let path = layout.shims().join(rel);
            fp.add_file("shim", &path)?;
            shims.insert(rel.clone(), path);
        }
        for file in &self.files {
            fp.add_file("file", file)?;
        }
        for dir in &self.trees {
            fingerprint_tree(dir, fp)?;
        }
        let mut patches = BTreeMap::new();
        for (name, versioned) in &self.patches {
            let version = versioned.then(|| guest.short_version());
            let files = patch_set(layout, name, version.as_deref())?;
            for patch in &files {
                fp.add_file("patch", patch)?;
            }
            patches.insert(name.clone(), files);
        }
        if self.guest {
            fp.add("guest", guest.short_version());
        }
        Ok(Grant {
            stages: self.stages.clone(),
            pins: self.pins.clone(),
            every_pin: self.every_pin,
            shims,
            files: self.files.clone(),
            trees: self.trees.clone(),
            patches,
            guest: self.guest.then_some(*guest),
        })
    }
}

/// What a stage was granted by its contract, resolved to host paths.
#[derive(Debug)]
pub struct Grant {
    pub(super) stages: Vec<StageId>,
    pub(super) pins: BTreeSet<String>,
    pub(super) every_pin: bool,
    pub(super) shims: BTreeMap<String, PathBuf>,
    pub(super) files: BTreeSet<PathBuf>,
    pub(super) trees: BTreeSet<PathBuf>,
    pub(super) patches: BTreeMap<String, Vec<PathBuf>>,
    pub(super) guest: Option<GuestLayout>,
}

impl Grant {
    /// Whether the pinned artifact `name` may be read.
    pub fn has_pin(&self, name: &str) -> bool {
        self.every_pin || self.pins.contains(name)
    }
}

/// Build outputs a project directory may hold, left out of its
/// fingerprint.
pub fn is_build_output(rel: &Path) -> bool {
    rel.components().any(|c| {
        let c = c.as_os_str().to_string_lossy();
        c == "build" || c == "__pycache__" || c.ends_with(".egg-info") || c == ".git"
    })
}

fn fingerprint_tree(dir: &Path, fp: &mut Fingerprint) -> Result<()> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(at) = dirs.pop() {
        for entry in fs_err::read_dir(&at)? {
            let path = entry?.path();
            let rel = path.strip_prefix(dir).unwrap_or(&path).to_owned();
            if is_build_output(&rel) {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push((rel, path));
            }
        }
    }
    files.sort();
    for (rel, path) in files {
        fp.add_file(&rel.to_string_lossy(), &path)?;
    }
    Ok(())
}

/// The patch files of `name` (`third-party/patches/<name>/`), in the order
/// they apply. With `version` (CPython's `3.14`), a patch of the same name
/// in the subdirectory `<version>/` replaces the common one: the same
/// change, for that release's code.
fn patch_set(layout: &Layout, name: &str, version: Option<&str>) -> Result<Vec<PathBuf>> {
    let dir = layout.patches().join(name);
    let mut by_name: BTreeMap<std::ffi::OsString, PathBuf> = crate::plan::patch_files(&dir)?
        .into_iter()
        .filter_map(|p| Some((p.file_name()?.to_owned(), p)))
        .collect();
    if let Some(version) = version {
        for patch in crate::plan::patch_files(&dir.join(version))? {
            if let Some(file) = patch.file_name() {
                by_name.insert(file.to_owned(), patch);
            }
        }
    }
    Ok(by_name.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_outputs_are_recognised_at_any_depth() {
        assert!(is_build_output(Path::new("build/lib/x.py")));
        assert!(is_build_output(Path::new("pkg/__pycache__/x.pyc")));
        assert!(is_build_output(Path::new("x.egg-info/PKG-INFO")));
        assert!(!is_build_output(Path::new("src/builder.c")));
    }
}
