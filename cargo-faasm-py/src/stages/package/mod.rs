//! Package stages (numpy first): a source distribution built by its own build
//! system on the host python, against the target's sysconfig, with every
//! extension module coming out as a static archive plus a manifest row.
//! Which packages exist is data (`[[package]]` in sources.toml); this code
//! only knows build backends.

mod manifest;
mod meson;

use std::path::Path;

use anyhow::Result;

pub use manifest::{Manifest, ModuleRow};

use crate::digest::Fingerprint;
use crate::pins::{Backend, Package};
use crate::pipeline::{Stage, StageContext, StageId};
use crate::process::Log;
use crate::stages::util::fingerprint_patches;

/// The compiler wrapper that turns extension modules into archives.
const STATIC_EXT_CC: &str = include_str!("static_ext_cc.py");

/// One package's stage.
pub struct PackageStage {
    package: Package,
    id: StageId,
}

impl PackageStage {
    /// The stage for `package`; its name may not be a built-in stage's.
    pub fn new(package: &Package) -> Result<Self> {
        Ok(Self {
            id: StageId::package(&package.name)?,
            package: package.clone(),
        })
    }
}

impl Stage for PackageStage {
    fn id(&self) -> StageId {
        self.id.clone()
    }
    fn deps(&self) -> Vec<StageId> {
        vec![
            StageId::Toolchain,
            StageId::CxxRuntime,
            StageId::HostPython,
            StageId::Cpython,
            StageId::BuildTools,
        ]
    }
    fn recipe(&self) -> &'static [&'static str] {
        &[
            include_str!("mod.rs"),
            include_str!("manifest.rs"),
            include_str!("meson.rs"),
            STATIC_EXT_CC,
        ]
    }
    fn inputs(&self, cx: &StageContext, fp: &mut Fingerprint) -> Result<()> {
        let p = &self.package;
        fp.add("sdist", &cx.pins.get(&p.sdist)?.sha256);
        fp.add("backend", format!("{:?}", p.backend));
        fp.add("meson-options", p.meson_options.join("\n"));
        fingerprint_patches(cx.layout, &p.name, fp)?;
        for shim in &p.shims {
            fp.add_file("shim", &cx.layout.shims().join(shim))?;
        }
        Ok(())
    }

    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        match self.package.backend {
            Backend::Meson => meson::build(cx, &self.package, out, log),
        }
    }
}
