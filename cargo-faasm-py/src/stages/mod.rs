//! The pipeline: fetch → toolchain → host python → C libraries → cpython → link → runtime.

mod clibs;
mod cpython;
mod fetch;
mod host_python;
mod link;
mod runtime;
pub mod toolchain;
mod util;

use crate::stage::Stage;

/// Every stage, in pipeline order (each after the stages it depends on).
pub fn all() -> Vec<Box<dyn Stage>> {
    vec![
        Box::new(fetch::Fetch),
        Box::new(toolchain::ToolchainStage),
        Box::new(host_python::HostPython),
        Box::new(clibs::Zlib),
        Box::new(clibs::Bzip2),
        Box::new(clibs::Xz),
        Box::new(cpython::Cpython),
        Box::new(link::Link),
        Box::new(runtime::Runtime),
    ]
}

pub use cpython::PYTHON_VERSION_SHORT;
