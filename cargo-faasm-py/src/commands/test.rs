//! `cargo faasm-py test [SUITE…]`: suites inside python.wasm, gated by
//! their baselines, with reports.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, bail};
use fs_err as fs;
use harness::runner::Interpreter;
use harness::suite::{SuiteDef, gate, report};

use super::build::build_quietly;
use super::inputs::jobs;
use super::python::isolated_python;
use super::suites::{SuiteOptions, SuiteOutcome, run_suites};
use crate::cli::{Global, TestArgs};
use crate::layout::Layout;
use crate::plan::BuildPlan;
use crate::project::{ProjectConfig, normalize};
use crate::ui::Ui;

/// The configured suites' directories (relative to the project, or to the
/// sources for the default configuration).
fn suite_dirs(layout: &Layout, config: &ProjectConfig) -> Vec<PathBuf> {
    let base = match (&layout.project, &layout.config_table) {
        (Some(project), Some(_)) => project.clone(),
        _ => layout.sources.clone(),
    };
    config.suites.iter().map(|s| base.join(s)).collect()
}

/// The suites to run: `names`, else every configured one.
fn select_suites(
    layout: &Layout,
    config: &ProjectConfig,
    names: &[String],
) -> Result<Vec<SuiteDef>> {
    let configured: Vec<SuiteDef> = suite_dirs(layout, config)
        .iter()
        .map(|d| SuiteDef::load_dir(d))
        .collect::<Result<_>>()?;
    if names.is_empty() {
        return Ok(configured);
    }
    let mut selected = Vec::new();
    for name in names {
        match configured.iter().find(|s| s.name == *name) {
            Some(suite) => selected.push(suite.clone()),
            None => bail!(
                "unknown suite `{name}`; the configured suites are: {}",
                configured
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    Ok(selected)
}

/// Builds what is stale, then runs each suite (every configured one by
/// default) through [`run_suites`], which writes its reports; prints each
/// summary as its suite ends, and gates it (or blesses its baseline).
pub fn test(layout: &Layout, global: &Global, args: TestArgs, ui: &Ui) -> Result<ExitCode> {
    // Suites are read before building, so a bad suite file or name fails fast.
    let config = layout.config()?;
    let mut suites = select_suites(layout, &config, &args.suites)?;
    let (inputs, package_sources) = build_quietly(layout, global, ui)?;
    let pins = &inputs.pins;
    for suite in &mut suites {
        if let Some(package) = &suite.package {
            let Some(dir) = package_sources.get(&normalize(package)) else {
                bail!(
                    "suite `{}` runs the tests of package `{package}`, which this build does not build",
                    suite.name
                );
            };
            suite.tests_dir = Some(dir.clone());
        }
    }
    for suite in &suites {
        check_wheels(suite, &inputs.plan)?;
    }
    // Every module runs under its suite's deadline, in a child process.
    let wasm = Arc::new(Interpreter::WasmProcess(isolated_python(
        layout,
        pins,
        args.no_snapshot,
        ui,
    )?));
    let options = SuiteOptions {
        full: args.full,
        filter: args.filter.clone(),
        native: args.native,
        jobs: jobs(global),
    };
    let outcomes = run_suites(layout, pins, suites, wasm, &options, ui, |outcome| {
        let name = &outcome.run.suite;
        println!(
            "{}",
            report::summary(
                &outcome.run,
                &outcome.verdict,
                outcome.native.as_ref().map(|(r, v)| (r, v))
            )
        );
        ui.info(&format!(
            "reports: {} and {}",
            layout.junit_report(name).display(),
            layout.json_report(name).display()
        ));
        if args.bless {
            bless(outcome, &args)?;
            ui.info(&format!(
                "blessed {}",
                outcome.planned.baseline_path.display()
            ));
        }
        Ok(())
    })?;
    ui.info(&format!("report page: {}", layout.html_report().display()));
    // A blessed run is the new baseline: nothing in it regressed.
    let all_ok = args.bless || outcomes.iter().all(|o| o.verdict.ok());
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Rewrites the suite's baseline from its run, keeping reasons; a run of
/// part of the suite (its `[ci]` selection, or `--filter`) keeps what it
/// did not run.
fn bless(outcome: &SuiteOutcome, args: &TestArgs) -> Result<()> {
    let planned = &outcome.planned;
    let coverage = if planned.uses_ci || args.filter.is_some() {
        gate::Coverage::Partial
    } else {
        gate::Coverage::Whole
    };
    let blessed = gate::bless(
        &outcome.run,
        &planned.baseline,
        args.reason.as_deref(),
        coverage,
    )?;
    fs::write(&planned.baseline_path, blessed.render())?;
    Ok(())
}

/// A suite's guest packages must be in the build (the build never reads
/// suite files): configured, or locked as a dependency.
fn check_wheels(suite: &SuiteDef, plan: &BuildPlan) -> Result<()> {
    let deps = suite.deps();
    let missing: Vec<&str> = deps
        .iter()
        .filter(|d| !plan.guest_packages.contains(&normalize(d)))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        bail!(
            "suite `{}` needs {} in the guest: add {} to `test-packages` in {} and run `cargo faasm-py lock`",
            suite.name,
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" },
            crate::project::TABLE
        );
    }
    Ok(())
}
