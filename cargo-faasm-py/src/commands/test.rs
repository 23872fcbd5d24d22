//! `cargo faasm-py test [SUITE…]`: suites inside python.wasm, gated by
//! their baselines, with reports.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, bail};
use fs_err as fs;
use harness::GuestLayout;
use harness::runner::{Interpreter, Plan, run_reference, run_suite};
use harness::suite::{Baseline, SuiteDef, gate, report};

use super::build::build_quietly;
use super::inputs::jobs;
use super::python::isolated_python;
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
/// default), writes its reports, and gates it (or blesses its baseline).
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
    let pytests = layout.pytests();
    let guest = pins.guest_layout()?;
    // Every module runs under its suite's deadline, in a child process.
    let wasm = Arc::new(Interpreter::WasmProcess(isolated_python(
        layout,
        pins,
        args.no_snapshot,
        ui,
    )?));
    let jobs = jobs(global);
    let mut all_ok = true;
    for suite in suites {
        let baseline_path = suite.baseline_path(pins.non_default_python());
        let baseline = Arc::new(Baseline::load(&baseline_path)?);
        let name = suite.name.clone();
        let uses_ci = !args.full && suite.ci.is_some();
        let plan = Plan::new(
            suite,
            &layout.runtime(),
            guest,
            !args.full,
            args.filter.as_deref(),
            pytests.join("support"),
            layout.reports().join("wasm").join(&name),
        )?;
        ui.info(&format!(
            "suite {name}: {} modules{}",
            plan.modules.len(),
            if uses_ci {
                " (its [ci] selection; --full runs it whole)"
            } else {
                ""
            }
        ));
        let native_plan = args.native.then(|| Plan {
            log_dir: layout.reports().join("native").join(&name),
            ..plan.clone()
        });
        let run = run_suite(Arc::new(plan), wasm.clone(), baseline.clone(), jobs);
        let verdict = gate::judge(&run, &baseline);
        let native_run = match native_plan {
            Some(native_plan) => {
                ui.info(&format!("suite {name}: the same selection natively"));
                let interp = native_interpreter(layout, &guest)?;
                let run = run_reference(Arc::new(native_plan), interp, jobs);
                let verdict = gate::judge(&run, &baseline);
                Some((run, verdict))
            }
            None => None,
        };
        println!(
            "{}",
            report::summary(&run, &verdict, native_run.as_ref().map(|(r, v)| (r, v)))
        );
        let reports = layout.reports();
        fs::create_dir_all(&reports)?;
        let xml = reports.join(format!("{name}.junit.xml"));
        fs::write(&xml, report::junit_xml(&run, &verdict))?;
        let json = reports.join(format!("{name}.json"));
        report::JsonReport::new(&run, &verdict).write(&json)?;
        // The native run's own report, for per-module time ratios
        // (`cargo xtask bench --suites`).
        if let Some((native_run, native_verdict)) = &native_run {
            report::JsonReport::new(native_run, native_verdict)
                .write(&reports.join(format!("{name}.native.json")))?;
        }
        ui.info(&format!(
            "reports: {} and {}",
            xml.display(),
            json.display()
        ));
        if args.bless {
            let coverage = if uses_ci || args.filter.is_some() {
                gate::Coverage::Partial
            } else {
                gate::Coverage::Whole
            };
            let blessed = gate::bless(&run, &baseline, args.reason.as_deref(), coverage)?;
            fs::write(&baseline_path, blessed.render())?;
            ui.info(&format!("blessed {}", baseline_path.display()));
        } else if !verdict.ok() {
            all_ok = false;
        }
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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

/// The host python with the native wheels, for `--native`.
fn native_interpreter(layout: &Layout, guest: &GuestLayout) -> Result<Arc<Interpreter>> {
    let venv = layout.native_env();
    let python = venv.join("bin/python");
    // A venv's python links to the base interpreter, whose prefix holds
    // the standard library.
    let base = fs::canonicalize(&python)?;
    let Some(prefix) = base.parent().and_then(|bin| bin.parent()) else {
        bail!("cannot find the prefix of {}", base.display());
    };
    Ok(Arc::new(Interpreter::Native {
        site_packages: venv.join(guest.site_packages_dir()),
        stdlib: prefix.join(guest.stdlib_dir()),
        python,
    }))
}
