//! The pipeline's stages, in order: fetch → toolchain (and its C++
//! runtime) → host python → the Rust toolchain (for Rust packages) → C
//! libraries (and libffi, OpenBLAS) → cpython → packages (each with its
//! own build tools) → link → runtime → snapshot (and the native reference).

pub mod build_tools;
mod clibs;
pub mod cpython;
pub mod cxx_runtime;
mod fetch;
pub mod host_python;
mod libffi;
mod link;
mod native;
mod openblas;
pub mod package;
mod runtime;
pub mod rust_toolchain;
mod script;
pub mod snapshot;
pub mod toolchain;
pub mod util;

use anyhow::Result;

use crate::pins::Pins;
use crate::pipeline::{Stage, StageId};
use crate::plan::BuildPlan;

/// Every stage, in pipeline order (each after the stages it depends on).
/// Packages come from the build plan, each a stage named after the package.
pub fn all(plan: &BuildPlan, pins: &Pins) -> Result<Vec<Box<dyn Stage>>> {
    let packages: Vec<package::PackageStage> = plan
        .packages
        .iter()
        .map(package::PackageStage::new)
        .collect::<Result<_>>()?;
    let package_ids: Vec<StageId> = packages.iter().map(|p| p.id()).collect();
    let libraries = plan.libraries.iter().map(|library| {
        Box::new(clibs::ConfiguredLibrary {
            library: library.clone(),
        }) as Box<dyn Stage>
    });
    let mut stages: Vec<Box<dyn Stage>> = vec![
        Box::new(fetch::Fetch),
        Box::new(toolchain::ToolchainStage),
        Box::new(cxx_runtime::CxxRuntime),
        Box::new(host_python::HostPython),
    ];
    // Only a build with a Rust package fetches and builds Rust.
    if plan.needs_rust() {
        stages.push(Box::new(rust_toolchain::RustToolchainStage::new(pins)));
    }
    stages.extend([
        Box::new(clibs::Zlib) as Box<dyn Stage>,
        Box::new(clibs::Bzip2),
        Box::new(clibs::Xz),
        Box::new(clibs::Sqlite),
        Box::new(clibs::Zstd),
        Box::new(libffi::Libffi),
        Box::new(openblas::Openblas),
        Box::new(cpython::Cpython),
    ]);
    stages.extend(libraries);
    for stage in packages {
        stages.push(Box::new(stage));
    }
    stages.push(Box::new(link::Link {
        packages: package_ids.clone(),
    }));
    stages.push(Box::new(runtime::Runtime {
        packages: package_ids,
        wheels: plan.wheels.clone(),
    }));
    stages.push(Box::new(snapshot::SnapshotStage {
        imports: plan.preimport.clone(),
    }));
    stages.push(Box::new(native::Native {
        wheels: plan.native_wheels.clone(),
    }));
    Ok(stages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_stage_is_in_the_pipeline_in_order() {
        // Without a Rust package no pin is read.
        let pins = Pins::parse(
            "[debian]\nsuite = \"trixie\"\n[artifact.cpython]\nversion = \"3.13.5\"\nfile = \"P.tar.xz\"\nsha256 = \"93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640\"\nsources = [{ url = \"https://example.org/P.tar.xz\" }]\n",
        )
        .unwrap();
        let ids: Vec<StageId> = all(&BuildPlan::default(), &pins)
            .unwrap()
            .iter()
            .map(|s| s.id())
            .filter(|id| !matches!(id, StageId::Package(_) | StageId::Library(_)))
            .collect();
        let without_rust: Vec<StageId> = StageId::BUILTIN
            .into_iter()
            .filter(|id| *id != StageId::RustToolchain)
            .collect();
        assert_eq!(ids, without_rust);
    }
}
