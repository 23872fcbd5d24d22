//! The pipeline: fetch → toolchain → host python → C libraries (and libffi) → cpython →
//! packages → link → runtime.

pub mod build_tools;
mod clibs;
pub mod cpython;
mod fetch;
pub mod host_python;
mod libffi;
mod link;
mod native;
pub mod package;
mod runtime;
pub mod toolchain;
pub mod util;

use crate::pins::Pins;
use crate::stage::Stage;

/// Every stage, in pipeline order (each after the stages it depends on).
/// Packages come from the pins, each a stage named after the package.
pub fn all(pins: &Pins) -> Vec<Box<dyn Stage>> {
    let packages: Vec<package::PackageStage> = pins
        .package
        .iter()
        .map(package::PackageStage::new)
        .collect();
    let package_names: Vec<&'static str> = packages.iter().map(|p| p.name()).collect();
    let mut stages: Vec<Box<dyn Stage>> = vec![
        Box::new(fetch::Fetch),
        Box::new(toolchain::ToolchainStage),
        Box::new(host_python::HostPython),
        Box::new(clibs::Zlib),
        Box::new(clibs::Bzip2),
        Box::new(clibs::Xz),
        Box::new(clibs::Sqlite),
        Box::new(libffi::Libffi),
        Box::new(cpython::Cpython),
        Box::new(build_tools::BuildTools),
    ];
    for stage in packages {
        stages.push(Box::new(stage));
    }
    stages.push(Box::new(link::Link {
        packages: package_names.clone(),
    }));
    stages.push(Box::new(runtime::Runtime {
        packages: package_names,
    }));
    stages.push(Box::new(native::Native));
    stages
}

pub use cpython::PYTHON_VERSION_SHORT;

/// The pure-Python wheels every test suite needs (artifact names, sorted,
/// each once): unpacked into the guest's runtime tree and the native
/// reference environment alike.
pub fn test_dependencies(layout: &crate::layout::Layout) -> anyhow::Result<Vec<String>> {
    let pytests = layout.pytests();
    let mut deps = Vec::new();
    for name in harness::suites::names(&pytests)? {
        deps.extend(harness::suites::SuiteDef::load(&pytests, &name)?.deps);
    }
    deps.sort();
    deps.dedup();
    Ok(deps)
}
