//! What the engine holds while it runs ([`Context`]: host paths, pins,
//! the fetcher, the outputs built so far) and the narrow view a stage gets
//! of it ([`StageContext`]: only what its contract granted).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context as _, Result, bail};
use fs_err as fs;
use harness::GuestLayout;

use super::contract::Grant;
use crate::fetch::Fetcher;
use crate::layout::Layout;
use crate::pins::{Artifact, Pins};
use crate::process::Log;
use crate::stage_id::StageId;

/// The engine's state: host paths, pins, downloads, and the outputs of the
/// stages built so far. Stages never see it whole.
pub struct Context<'a> {
    pub(super) layout: &'a Layout,
    pub(super) pins: &'a Pins,
    pub(super) guest: GuestLayout,
    fetcher: Fetcher<'a>,
    jobs: usize,
    built: Mutex<BTreeMap<StageId, Built>>,
}

#[derive(Debug, Clone)]
pub(super) struct Built {
    pub(super) dir: PathBuf,
    pub(super) fingerprint: String,
}

impl<'a> Context<'a> {
    /// A context for building with `pins` into `layout`'s cache.
    pub fn new(layout: &'a Layout, pins: &'a Pins, offline: bool, jobs: usize) -> Result<Self> {
        Ok(Self {
            layout,
            pins,
            guest: pins.guest_layout()?,
            fetcher: Fetcher::new(layout, pins, offline),
            jobs,
            built: Mutex::default(),
        })
    }

    pub(super) fn built(&self, stage: &StageId) -> Option<Built> {
        self.built
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(stage)
            .cloned()
    }

    pub(super) fn record(&self, stage: StageId, built: Built) {
        self.built
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(stage, built);
    }

    /// The output directory of a stage built (or found complete) by
    /// [`super::run`], for commands that read a finished build.
    pub fn output_of(&self, stage: &StageId) -> Result<PathBuf> {
        self.built(stage)
            .map(|b| b.dir)
            .with_context(|| format!("stage `{stage}` has not been built"))
    }

    /// Stage outputs in the cache that no stage built so far uses: older
    /// fingerprints and interrupted builds. Meaningful after a full `run`.
    pub fn stale_outputs(&self) -> Result<Vec<PathBuf>> {
        let builds = self.layout.builds();
        let current: BTreeSet<PathBuf> = self
            .built
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|b| b.dir.clone())
            .collect();
        let mut stale = Vec::new();
        if builds.is_dir() {
            for entry in fs::read_dir(&builds)? {
                let path = entry?.path();
                if path.is_dir() && !current.contains(&path) {
                    stale.push(path);
                }
            }
        }
        stale.sort();
        Ok(stale)
    }
}

/// A stage's view of the build: what its contract granted and nothing
/// else. Each accessor refuses what was not declared, naming the stage and
/// the contract method that declares it.
pub struct StageContext<'c, 'a> {
    cx: &'c Context<'a>,
    stage: StageId,
    grant: Grant,
}

impl<'c, 'a> StageContext<'c, 'a> {
    pub(super) fn new(cx: &'c Context<'a>, stage: StageId, grant: Grant) -> Self {
        Self { cx, stage, grant }
    }

    fn undeclared(&self, what: String, how: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "stage `{}` reads {what}, which its contract does not declare (add `.{how}` to its `contract()`)",
            self.stage
        )
    }

    /// The output directory of `dep`, which the stage must have declared.
    pub fn output(&self, dep: &StageId) -> Result<PathBuf> {
        if !self.grant.stages.contains(dep) {
            bail!(
                "stage `{}` reads the output of `{dep}`, which it does not declare as a dependency",
                self.stage
            );
        }
        self.cx
            .built(dep)
            .map(|b| b.dir)
            .with_context(|| format!("stage `{}` needs `{dep}`, which is not built", self.stage))
    }

    /// The pinned artifact `name` (its version, its file).
    pub fn pin(&self, name: &str) -> Result<&'a Artifact> {
        if !self.grant.has_pin(name) {
            return Err(self.undeclared(format!("pin `{name}`"), "pin(..)"));
        }
        self.cx.pins.get(name)
    }

    /// The verified download of the pinned artifact `name`.
    pub fn fetch(&self, name: &str, log: &mut Log) -> Result<PathBuf> {
        self.pin(name)?;
        self.cx.fetcher.get(name, log)
    }

    /// Every pinned artifact into the download cache.
    pub fn fetch_every_pin(&self, log: &mut Log) -> Result<Vec<PathBuf>> {
        if !self.grant.every_pin {
            return Err(self.undeclared("every pin".into(), "every_pin()"));
        }
        self.cx.fetcher.get_all(log)
    }

    /// The shim `rel` (under `third-party/shims/`).
    pub fn shim(&self, rel: &str) -> Result<PathBuf> {
        self.grant
            .shims
            .get(rel)
            .cloned()
            .ok_or_else(|| self.undeclared(format!("shim `{rel}`"), "shim(..)"))
    }

    /// `path`, a file the contract names.
    pub fn file<'p>(&self, path: &'p Path) -> Result<&'p Path> {
        match self.grant.files.contains(path) {
            true => Ok(path),
            false => Err(self.undeclared(format!("file {}", path.display()), "file(..)")),
        }
    }

    /// `dir`, a directory tree the contract names.
    pub fn tree<'p>(&self, dir: &'p Path) -> Result<&'p Path> {
        match self.grant.trees.contains(dir) {
            true => Ok(dir),
            false => Err(self.undeclared(format!("directory {}", dir.display()), "tree(..)")),
        }
    }

    /// The patches of `name`, in the order they apply.
    pub fn patches(&self, name: &str) -> Result<&[PathBuf]> {
        self.grant
            .patches
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| self.undeclared(format!("the patches of `{name}`"), "patches(..)"))
    }

    /// Where things live in the guest (from the CPython pin).
    pub fn guest(&self) -> Result<&GuestLayout> {
        self.grant
            .guest
            .as_ref()
            .ok_or_else(|| self.undeclared("the guest layout".into(), "guest()"))
    }

    /// Parallel jobs for make and ninja (not part of any output).
    pub fn jobs(&self) -> usize {
        self.cx.jobs
    }
}
