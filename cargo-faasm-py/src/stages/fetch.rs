//! `fetch`: every pinned artifact into the download cache.

use std::path::Path;

use anyhow::Result;

use crate::digest::Fingerprint;
use crate::process::Log;
use crate::stage::{Context, Stage};

pub struct Fetch;

impl Stage for Fetch {
    fn name(&self) -> &'static str {
        "fetch"
    }
    fn deps(&self) -> Vec<&'static str> {
        vec![]
    }
    fn inputs(&self, cx: &Context, fp: &mut Fingerprint) -> Result<()> {
        for (name, artifact) in &cx.pins.artifact {
            fp.add(name, &artifact.sha256);
        }
        Ok(())
    }
    fn build(&self, cx: &Context, _out: &Path, log: &mut Log) -> Result<()> {
        cx.fetcher.get_all(log)?;
        Ok(())
    }
}
