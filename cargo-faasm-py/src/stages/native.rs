//! `native`: the host python with the packages' native wheels: the
//! reference that guest results are compared with.

use std::path::Path;

use anyhow::Result;

use super::host_python;
use super::util::publish_link;
use crate::digest::Fingerprint;
use crate::process::Log;
use crate::stage::{Context, Stage};

const RECIPE: &str = "1";

pub struct Native;

/// The packages' native wheels and the suites' test dependencies.
fn wheels(cx: &Context) -> Result<Vec<String>> {
    let mut wheels: Vec<String> = cx
        .pins
        .package
        .iter()
        .filter_map(|p| p.native_wheel.clone())
        .collect();
    wheels.extend(super::test_dependencies(cx.layout)?);
    Ok(wheels)
}

impl Stage for Native {
    fn name(&self) -> &'static str {
        "native"
    }
    fn deps(&self) -> Vec<&'static str> {
        vec!["host-python"]
    }
    fn inputs(&self, cx: &Context, fp: &mut Fingerprint) -> Result<()> {
        fp.add("recipe", RECIPE);
        for wheel in wheels(cx)? {
            fp.add(&wheel, &cx.pins.get(&wheel)?.sha256);
        }
        Ok(())
    }

    fn build(&self, cx: &Context, out: &Path, log: &mut Log) -> Result<()> {
        host_python::venv_with_wheels(cx, out, &wheels(cx)?, log)
    }

    fn publish(&self, cx: &Context, out: &Path) -> Result<()> {
        publish_link(&out.join("venv"), &cx.layout.native_env())
    }
}
