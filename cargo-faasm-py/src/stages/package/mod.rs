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
use crate::process::Log;
use crate::stage::{Context, Stage};
use crate::stages::util::fingerprint_patches;

/// Bumped when the recipe changes in a way the inputs do not show.
const RECIPE: &str = "1";
/// The compiler wrapper that turns extension modules into archives.
const STATIC_EXT_CC: &str = include_str!("static_ext_cc.py");

pub struct PackageStage {
    package: Package,
    /// The stage's name: the package's, which lives as long as the process.
    name: &'static str,
}

impl PackageStage {
    pub fn new(package: &Package) -> Self {
        Self {
            name: Box::leak(package.name.clone().into_boxed_str()),
            package: package.clone(),
        }
    }
}

impl Stage for PackageStage {
    fn name(&self) -> &'static str {
        self.name
    }
    fn deps(&self) -> Vec<&'static str> {
        vec!["toolchain", "host-python", "cpython", "build-tools"]
    }
    fn inputs(&self, cx: &Context, fp: &mut Fingerprint) -> Result<()> {
        let p = &self.package;
        fp.add("recipe", RECIPE);
        fp.add("sdist", &cx.pins.get(&p.sdist)?.sha256);
        fp.add("backend", format!("{:?}", p.backend));
        fp.add("meson-options", p.meson_options.join("\n"));
        fp.add("static_ext_cc.py", STATIC_EXT_CC);
        fp.add("meson.rs", meson::RECIPE_TEXT);
        fingerprint_patches(cx.layout, &p.name, fp)?;
        for shim in &p.shims {
            fp.add_file("shim", &cx.layout.shims().join(shim))?;
        }
        Ok(())
    }

    fn build(&self, cx: &Context, out: &Path, log: &mut Log) -> Result<()> {
        match self.package.backend {
            Backend::Meson => meson::build(cx, &self.package, out, log),
        }
    }
}
