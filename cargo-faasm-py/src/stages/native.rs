//! `native`: the host python with the packages' native wheels and the
//! runtime's pure-Python wheels: the reference that guest results are
//! compared with.

use std::path::Path;

use anyhow::Result;

use super::host_python;
use crate::layout::Layout;
use crate::pipeline::{Contract, Stage, StageContext, StageId};
use crate::process::Log;

/// The `native` stage.
pub struct Native {
    /// The built packages' native wheels and every pure-Python wheel
    /// (artifact names).
    pub wheels: Vec<String>,
}

impl Stage for Native {
    fn id(&self) -> StageId {
        StageId::Native
    }
    fn contract(&self) -> Contract {
        Contract::new(&[
            include_str!("native.rs"),
            include_str!("host_python.rs"),
            include_str!("util.rs"),
        ])
        .stage(StageId::HostPython)
        .pins(&self.wheels)
        .publishes("venv", Layout::native_env)
    }

    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        host_python::venv_with_wheels(cx, out, &self.wheels, log)
    }
}
