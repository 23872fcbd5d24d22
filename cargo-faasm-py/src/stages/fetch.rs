//! `fetch`: every pinned artifact into the download cache.

use std::path::Path;

use anyhow::Result;

use crate::pipeline::{Contract, Stage, StageContext, StageId};
use crate::process::Log;

/// The `fetch` stage.
pub struct Fetch;

impl Stage for Fetch {
    fn id(&self) -> StageId {
        StageId::Fetch
    }
    fn contract(&self) -> Contract {
        Contract::new(&[include_str!("fetch.rs")]).every_pin()
    }
    fn build(&self, cx: &StageContext, _out: &Path, log: &mut Log) -> Result<()> {
        cx.fetch_every_pin(log)?;
        Ok(())
    }
}
