//! The pipeline's stages, in order: fetch → toolchain (and its C++
//! runtime) → host python → C
//! libraries (and libffi) → cpython → build tools → packages → link →
//! runtime (and the native reference).

pub mod build_tools;
mod clibs;
pub mod cpython;
pub mod cxx_runtime;
mod fetch;
pub mod host_python;
mod libffi;
mod link;
mod native;
pub mod package;
mod runtime;
pub mod toolchain;
pub mod util;

use anyhow::Result;

use crate::pins::Pins;
use crate::pipeline::{Stage, StageId};

/// Every stage, in pipeline order (each after the stages it depends on).
/// Packages come from the pins, each a stage named after the package.
pub fn all(pins: &Pins) -> Result<Vec<Box<dyn Stage>>> {
    let packages: Vec<package::PackageStage> = pins
        .package
        .iter()
        .map(package::PackageStage::new)
        .collect::<Result<_>>()?;
    let package_ids: Vec<StageId> = packages.iter().map(|p| p.id()).collect();
    let mut stages: Vec<Box<dyn Stage>> = vec![
        Box::new(fetch::Fetch),
        Box::new(toolchain::ToolchainStage),
        Box::new(cxx_runtime::CxxRuntime),
        Box::new(host_python::HostPython),
        Box::new(clibs::Zlib),
        Box::new(clibs::Bzip2),
        Box::new(clibs::Xz),
        Box::new(clibs::Sqlite),
        Box::new(clibs::Zstd),
        Box::new(libffi::Libffi),
        Box::new(cpython::Cpython),
        Box::new(build_tools::BuildTools),
    ];
    for stage in packages {
        stages.push(Box::new(stage));
    }
    stages.push(Box::new(link::Link {
        packages: package_ids.clone(),
    }));
    stages.push(Box::new(runtime::Runtime {
        packages: package_ids,
    }));
    stages.push(Box::new(native::Native));
    Ok(stages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_stage_is_in_the_pipeline_in_order() {
        let pins = Pins::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../third-party/sources.toml"),
        )
        .unwrap();
        let ids: Vec<StageId> = all(&pins)
            .unwrap()
            .iter()
            .map(|s| s.id())
            .filter(|id| !matches!(id, StageId::Package(_)))
            .collect();
        assert_eq!(ids, StageId::BUILTIN);
    }
}
