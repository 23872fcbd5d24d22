//! Running test suites, the one way `cargo faasm-py test`, the `suites`
//! test target and `cargo xtask bench --suites` share: each suite's plan
//! (its `[ci]` selection unless `full`) and baseline, its run in the guest
//! (and natively, with `native`), its verdict, and its reports on disk
//! (each suite's JUnit and JSON files, and one HTML page for the run).
//! Printing the outcome and blessing baselines are the callers' business.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, bail};
use fs_err as fs;
use harness::GuestLayout;
use harness::runner::{Interpreter, Plan, run_reference, run_suite};
use harness::suite::gate::{self, Verdict};
use harness::suite::report::html::{self, SuiteSection};
use harness::suite::report::{self, JsonReport};
use harness::suite::{Baseline, SuiteDef, SuiteRun};

use crate::layout::Layout;
use crate::pins::Pins;
use crate::ui::Ui;

/// How to run the selected suites.
#[derive(Debug, Clone, Default)]
pub struct SuiteOptions {
    /// Run every suite whole, ignoring its `[ci]` selection.
    pub full: bool,
    /// Only modules whose path contains this text.
    pub filter: Option<String>,
    /// Also run the same selection natively, for comparison.
    pub native: bool,
    /// Modules run at once.
    pub jobs: usize,
}

/// One suite's selection and baseline, ready to run.
pub struct PlannedSuite {
    /// The modules to run, and how.
    pub plan: Plan,
    /// The cases not expected to pass.
    pub baseline: Arc<Baseline>,
    /// Where the baseline is, for blessing.
    pub baseline_path: PathBuf,
    /// Whether the plan is the suite's `[ci]` selection rather than all of it.
    pub uses_ci: bool,
}

/// A suite's selection under `options` (its `[ci]` one where it has one,
/// unless `full`), with its baseline for the pinned CPython; each module's
/// output log goes under `logs/<suite>`.
pub fn plan_suite(
    layout: &Layout,
    pins: &Pins,
    suite: SuiteDef,
    options: &SuiteOptions,
    logs: &Path,
) -> Result<PlannedSuite> {
    let baseline_path = suite.baseline_path(pins.non_default_python());
    let baseline = Arc::new(Baseline::load(&baseline_path)?);
    let uses_ci = !options.full && suite.ci.is_some();
    let log_dir = logs.join(&suite.name);
    let plan = Plan::new(
        suite,
        &layout.runtime(),
        pins.guest_layout()?,
        !options.full,
        options.filter.as_deref(),
        layout.pytests().join("support"),
        log_dir,
    )?;
    Ok(PlannedSuite {
        plan,
        baseline,
        baseline_path,
        uses_ci,
    })
}

/// One suite's run, judged, with its reports written.
pub struct SuiteOutcome {
    /// What ran.
    pub planned: PlannedSuite,
    /// The guest's run.
    pub run: SuiteRun,
    /// The guest's run against the baseline.
    pub verdict: Verdict,
    /// The native run and its verdict, with `native`.
    pub native: Option<(SuiteRun, Verdict)>,
}

/// Runs `suites` one after another on `wasm` (and natively with `native`),
/// writes each one's reports, and hands each outcome to `done` as soon as
/// its suite has finished (so a long run shows its suites' results as they
/// come); returns every outcome. The run's HTML page is rewritten as each
/// suite ends, so a run that stops early still has one, saying what did not
/// finish.
pub fn run_suites(
    layout: &Layout,
    pins: &Pins,
    suites: Vec<SuiteDef>,
    wasm: Arc<Interpreter>,
    options: &SuiteOptions,
    ui: &Ui,
    mut done: impl FnMut(&SuiteOutcome) -> Result<()>,
) -> Result<Vec<SuiteOutcome>> {
    // Found once, for every suite.
    let native_interp = options
        .native
        .then(|| native_interpreter(layout, &pins.guest_layout()?))
        .transpose()?;
    let names: Vec<String> = suites.iter().map(|s| s.name.clone()).collect();
    let mut finished: Vec<PageSuite> = Vec::new();
    // The last run's page would tell of suites this one may not run.
    write_page(layout, &finished, &names)?;
    let mut outcomes = Vec::new();
    for suite in suites {
        let planned = plan_suite(layout, pins, suite, options, &layout.wasm_logs())?;
        let name = planned.plan.suite.name.clone();
        ui.info(&format!(
            "suite {name}: {} modules{}",
            planned.plan.modules.len(),
            if planned.uses_ci {
                " (its [ci] selection; --full runs it whole)"
            } else {
                ""
            }
        ));
        let plan = Arc::new(planned.plan.clone());
        let run = run_suite(
            plan.clone(),
            wasm.clone(),
            planned.baseline.clone(),
            options.jobs,
        );
        let verdict = gate::judge(&run, &planned.baseline);
        let mut native_logs = None;
        let native = if let Some(interp) = &native_interp {
            ui.info(&format!("suite {name}: the same selection natively"));
            let native_plan = Plan {
                log_dir: layout.native_logs().join(&name),
                ..(*plan).clone()
            };
            native_logs = Some(native_plan.log_dir.clone());
            let run = run_reference(Arc::new(native_plan), interp.clone(), options.jobs);
            let verdict = gate::judge(&run, &planned.baseline);
            Some((run, verdict))
        } else {
            None
        };
        let outcome = SuiteOutcome {
            planned,
            run,
            verdict,
            native,
        };
        let (wasm_report, native_report) = write_reports(layout, &outcome)?;
        finished.push(PageSuite {
            wasm: wasm_report,
            native: native_report,
            baseline: outcome.planned.baseline.clone(),
            wasm_logs: outcome.planned.plan.log_dir.clone(),
            native_logs,
        });
        write_page(layout, &finished, &names[finished.len()..])?;
        done(&outcome)?;
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// `<suite>.junit.xml` and `<suite>.json`, and with a native run its own
/// `<suite>.native.json`, for per-module time ratios (`cargo xtask bench
/// --suites`); returns the JSON reports, which the page is made from.
fn write_reports(
    layout: &Layout,
    outcome: &SuiteOutcome,
) -> Result<(JsonReport, Option<JsonReport>)> {
    let name = &outcome.run.suite;
    fs::create_dir_all(layout.reports())?;
    fs::write(
        layout.junit_report(name),
        report::junit_xml(&outcome.run, &outcome.verdict),
    )?;
    let wasm = JsonReport::new(&outcome.run, &outcome.verdict);
    wasm.write(&layout.json_report(name))?;
    let native = match &outcome.native {
        Some((run, verdict)) => {
            let native = JsonReport::new(run, verdict);
            native.write(&layout.native_json_report(name))?;
            Some(native)
        }
        None => None,
    };
    Ok((wasm, native))
}

/// What the page shows of one finished suite.
struct PageSuite {
    wasm: JsonReport,
    native: Option<JsonReport>,
    baseline: Arc<Baseline>,
    wasm_logs: PathBuf,
    native_logs: Option<PathBuf>,
}

/// The run's page: the suites that finished, and the names of those that
/// have not; logs are linked relative to the page.
fn write_page(layout: &Layout, finished: &[PageSuite], pending: &[String]) -> Result<()> {
    let page_dir = layout.reports();
    let relative = |dir: &Path| dir.strip_prefix(&page_dir).ok().map(Path::to_owned);
    let links: Vec<(Option<PathBuf>, Option<PathBuf>)> = finished
        .iter()
        .map(|s| {
            (
                relative(&s.wasm_logs),
                s.native_logs.as_deref().and_then(relative),
            )
        })
        .collect();
    let sections: Vec<SuiteSection<'_>> = finished
        .iter()
        .zip(&links)
        .map(|(s, (wasm_logs, native_logs))| SuiteSection {
            wasm: &s.wasm,
            native: s.native.as_ref(),
            baseline: &s.baseline,
            wasm_logs: wasm_logs.as_deref(),
            native_logs: native_logs.as_deref(),
        })
        .collect();
    fs::create_dir_all(&page_dir)?;
    fs::write(layout.html_report(), html::page(&sections, pending))?;
    Ok(())
}

/// The host python with the native wheels, for `native`.
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
