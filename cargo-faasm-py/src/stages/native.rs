//! `native`: the host python with the packages' native wheels and the
//! runtime's pure-Python wheels: the reference that guest results are
//! compared with.

use std::path::Path;

use anyhow::Result;

use super::host_python;
use super::util::publish_link;
use crate::digest::Fingerprint;
use crate::pipeline::{Context, Stage, StageContext, StageId};
use crate::process::Log;

/// The `native` stage.
pub struct Native;

/// The built packages' native wheels and every pure-Python wheel.
fn wheels<'a>(cx: &Context<'a>) -> &'a [String] {
    &cx.plan.native_wheels
}

impl Stage for Native {
    fn id(&self) -> StageId {
        StageId::Native
    }
    fn deps(&self) -> Vec<StageId> {
        vec![StageId::HostPython]
    }
    fn recipe(&self) -> &'static [&'static str] {
        &[
            include_str!("native.rs"),
            include_str!("host_python.rs"),
            include_str!("util.rs"),
        ]
    }
    fn inputs(&self, cx: &StageContext, fp: &mut Fingerprint) -> Result<()> {
        for wheel in wheels(cx) {
            fp.add(wheel, &cx.pins.get(wheel)?.sha256);
        }
        Ok(())
    }

    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        host_python::venv_with_wheels(cx, out, wheels(cx), log)
    }

    fn publish(&self, cx: &StageContext, out: &Path) -> Result<()> {
        publish_link(&out.join("venv"), &cx.layout.native_env())
    }
}
