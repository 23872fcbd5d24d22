//! `cargo faasm-py build [STAGE]` and `fetch`, and the build that `run`,
//! `test` and `clean --stale` start with.

use std::process::ExitCode;

use anyhow::Result;

use super::inputs::{Inputs, context, inputs};
use crate::cli::Global;
use crate::layout::Layout;
use crate::module_report::Report;
use crate::pipeline::{self, Context};
use crate::ui::Ui;

/// Builds `target` (everything when `None`), then prints the module report
/// after a whole build.
pub fn build(layout: &Layout, global: &Global, target: Option<&str>, ui: &Ui) -> Result<ExitCode> {
    build_then(layout, global, target, ui, |_| Ok(()))?;
    if target.is_none() {
        ui.info(&Report::load(&layout.module_report())?.summary());
    }
    Ok(ExitCode::SUCCESS)
}

/// `fetch`: every input the build uses, downloaded or checked again (a
/// cached file changed since it was verified is hashed, and replaced if it
/// no longer matches its pin), whatever the stages' state.
pub fn fetch(layout: &Layout, global: &Global, ui: &Ui) -> Result<ExitCode> {
    let inputs = inputs(layout, global)?;
    let fetcher = crate::fetch::Fetcher::new(layout, &inputs.pins, global.offline);
    let _lock = pipeline::lock_builds(layout, ui)?;
    let mut log = crate::process::Log::create(&layout.logs().join("fetch.log"))?;
    let files = fetcher.get_all(&mut log)?;
    ui.info(&format!(
        "{} inputs verified in {}",
        files.len(),
        layout.downloads().display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// Brings the stages for `target` up to date under the build lock, then
/// hands their context on while still holding it.
pub fn build_then<T>(
    layout: &Layout,
    global: &Global,
    target: Option<&str>,
    ui: &Ui,
    then: impl FnOnce(&Context) -> Result<T>,
) -> Result<T> {
    build_inputs(layout, &inputs(layout, global)?, global, target, ui, then)
}

/// [`build_then`] for inputs already read.
pub fn build_inputs<T>(
    layout: &Layout,
    inputs: &Inputs,
    global: &Global,
    target: Option<&str>,
    ui: &Ui,
    then: impl FnOnce(&Context) -> Result<T>,
) -> Result<T> {
    let cx = context(layout, inputs, global)?;
    let stages = crate::stages::all(&inputs.plan, &inputs.pins)?;
    let plan = pipeline::plan(&stages, target)?;
    let _lock = pipeline::lock_builds(layout, ui)?;
    pipeline::run(&cx, &plan, ui)?;
    then(&cx)
}

/// Ui that stays quiet about stages already up to date (for `run` and
/// `test`, which build first).
fn quiet_when_fresh(ui: &Ui) -> Ui {
    Ui {
        show_fresh: false,
        ..ui.clone()
    }
}

/// Brings every stage up to date, quietly when nothing is stale; returns
/// the inputs, and each built package's source tree (where its own tests
/// are).
pub fn build_quietly(
    layout: &Layout,
    global: &Global,
    ui: &Ui,
) -> Result<(
    Inputs,
    std::collections::BTreeMap<String, std::path::PathBuf>,
)> {
    let inputs = inputs(layout, global)?;
    let sources = build_inputs(layout, &inputs, global, None, &quiet_when_fresh(ui), |cx| {
        inputs
            .plan
            .packages
            .iter()
            .map(|p| Ok((p.name.clone(), cx.output_of(&p.stage()?)?.join("src"))))
            .collect()
    })?;
    Ok((inputs, sources))
}
