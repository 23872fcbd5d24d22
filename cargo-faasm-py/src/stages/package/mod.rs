//! Package stages (numpy first): a source distribution built by its own build
//! system on the host python, against the target's sysconfig, with every
//! extension module coming out as a static archive plus a manifest row.
//! Each module keeps its own namespace, as its shared library does
//! natively (`modules.rs`).
//! Which packages exist is data (the project's configuration and lock, and
//! the built-in recipes: see `plan.rs`); this code only knows build
//! backends. A package's source is its sdist, or a directory of the
//! project, copied.

mod absent;
mod cross;
mod flow;
mod manifest;
mod maturin;
mod meson;
mod modules;
mod pep517;

use std::path::{Path, PathBuf};

use anyhow::Result;

pub use manifest::{Manifest, ModuleRow};

use crate::digest::Fingerprint;
use crate::pipeline::{Contract, Stage, StageContext, StageId};
use crate::plan::{Backend, Package, PackageSource};
use crate::process::{Cmd, Log};
use crate::stages::build_tools;
use crate::stages::util::{apply_patch_files, unpack};

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
    fn contract(&self) -> Contract {
        let p = &self.package;
        let contract = Contract::new(&[
            include_str!("mod.rs"),
            include_str!("../cpython.rs"),
            include_str!("../cxx_runtime.rs"),
            include_str!("../host_python.rs"),
            include_str!("../script.rs"),
            include_str!("../toolchain.rs"),
            include_str!("../util.rs"),
            include_str!("manifest.rs"),
            include_str!("cross.rs"),
            include_str!("flow.rs"),
            include_str!("meson.rs"),
            include_str!("modules.rs"),
            include_str!("../../namespace.rs"),
            include_str!("pep517.rs"),
            include_str!("absent.rs"),
            absent::FINDER,
            include_str!("../../pyproject.rs"),
            include_str!("../build_tools.rs"),
            cross::STATIC_EXT_CC,
        ])
        .stages([
            StageId::Toolchain,
            StageId::CxxRuntime,
            StageId::HostPython,
            StageId::Cpython,
        ])
        .stages(
            p.guest_build_deps
                .iter()
                .map(|d| StageId::Package(d.clone())),
        )
        .stages(p.c_libraries.iter().cloned())
        // The native wheels whose scripts its build runs (their headers
        // are the guest stages', read as dependencies).
        .pins(p.guest_build_deps.iter().map(|d| cross::native_artifact(d)))
        .pins(&p.build_tools)
        .pins(&p.crates)
        .shims(&p.shims)
        .guest();
        // Only a Rust package reads the Rust backend and toolchain, so
        // changing them rebuilds no other package.
        let contract = match p.backend {
            Backend::Maturin => contract
                .recipe([
                    include_str!("maturin.rs"),
                    include_str!("../rust_toolchain.rs"),
                ])
                .stage(StageId::RustToolchain),
            _ => contract,
        };
        let contract = p
            .patches
            .iter()
            .fold(contract, |c, patch| c.file(patch.clone()));
        match &p.source {
            PackageSource::Sdist(artifact) => contract.pin(artifact),
            PackageSource::Path(dir) => contract.tree(dir.clone()),
        }
    }
    fn settings(&self, fp: &mut Fingerprint) {
        let p = &self.package;
        fp.add("version", &p.version);
        fp.add("backend", format!("{:?}", p.backend));
        fp.add("meson-options", p.meson_options.join("\n"));
        for (key, value) in &p.env {
            fp.add("env", format!("{key}={value}"));
        }
        for (module, reason) in &p.absent_modules {
            fp.add("absent", format!("{module}={reason}"));
        }
    }

    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        build_tools::create(cx, &build_tools::dir(out), &self.package.build_tools, log)?;
        let src = source(cx, &self.package, out, log)?;
        match &self.package.backend {
            Backend::Meson => flow::build(cx, &meson::Meson, &self.package, &src, out, log),
            Backend::Pep517(backend) => {
                flow::build(cx, &pep517::Pep517(backend), &self.package, &src, out, log)
            }
            Backend::Maturin => flow::build(cx, &maturin::Maturin, &self.package, &src, out, log),
        }
    }
}

/// The package's source tree in `<out>/src`, patched.
fn source(cx: &StageContext, package: &Package, out: &Path, log: &mut Log) -> Result<PathBuf> {
    let src = match &package.source {
        PackageSource::Sdist(artifact) => unpack(cx, artifact, out, log)?,
        PackageSource::Path(dir) => {
            log.step("copy the source");
            let src = out.join("src");
            fs_err::create_dir_all(&src)?;
            Cmd::new("cp")
                .arg("-a")
                .arg(format!("{}/.", cx.tree(dir)?.display()))
                .arg(&src)
                .run(log)?;
            src
        }
    };
    let patches = package
        .patches
        .iter()
        .map(|p| Ok(cx.file(p)?.to_owned()))
        .collect::<Result<Vec<_>>>()?;
    apply_patch_files(&patches, &src, log)?;
    Ok(src)
}
