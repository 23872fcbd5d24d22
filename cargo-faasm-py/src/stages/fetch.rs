//! `fetch`: every pinned artifact into the download cache.

use std::path::Path;

use anyhow::Result;

use crate::digest::Fingerprint;
use crate::pipeline::{Stage, StageContext, StageId};
use crate::process::Log;

/// The `fetch` stage.
pub struct Fetch;

impl Stage for Fetch {
    fn id(&self) -> StageId {
        StageId::Fetch
    }
    fn deps(&self) -> Vec<StageId> {
        vec![]
    }
    fn recipe(&self) -> &'static [&'static str] {
        &[include_str!("fetch.rs")]
    }
    fn inputs(&self, cx: &StageContext, fp: &mut Fingerprint) -> Result<()> {
        for (name, artifact) in &cx.pins.artifact {
            fp.add(name, &artifact.sha256);
        }
        Ok(())
    }
    fn build(&self, cx: &StageContext, _out: &Path, log: &mut Log) -> Result<()> {
        cx.fetcher.get_all(log)?;
        Ok(())
    }
}
