//! `cargo faasm-py test`: suites inside python.wasm, gated by baselines.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use harness::runner::{Interpreter, Plan, run_suite};
use harness::suite::{Baseline, gate, report};
use harness::suites::SuiteDef;

use crate::cli::TestArgs;
use crate::layout::Layout;
use crate::stages::PYTHON_VERSION_SHORT;
use crate::ui::Ui;

pub fn test(layout: &Layout, args: TestArgs, jobs: usize, ui: &Ui) -> Result<ExitCode> {
    let pytests = layout.pytests();
    let names = if args.suites.is_empty() {
        harness::suites::names(&pytests)?
    } else {
        args.suites.clone()
    };
    let suites: Vec<SuiteDef> = names
        .iter()
        .map(|n| SuiteDef::load(&pytests, n))
        .collect::<Result<_>>()?;

    let wasm = Arc::new(Interpreter::Wasm(crate::commands::load_python(layout, ui)?));
    let mut all_ok = true;
    for suite in suites {
        let baseline_path = suite.baseline_path();
        let baseline = Arc::new(Baseline::load(&baseline_path)?);
        let name = suite.name.clone();
        let plan = Plan::new(
            suite,
            &layout.runtime(),
            args.ci,
            args.filter.as_deref(),
            pytests.join("support"),
            layout.reports().join("wasm").join(&name),
        )?;
        ui.info(&format!(
            "suite {name}: {} modules{}",
            plan.modules.len(),
            if args.ci { " (CI selection)" } else { "" }
        ));
        let native_plan = args.native.then(|| Plan {
            log_dir: layout.reports().join("native").join(&name),
            ..plan.clone()
        });
        let run = run_suite(Arc::new(plan), wasm.clone(), baseline.clone(), jobs);
        let verdict = gate::judge(&run, &baseline);
        let native_run = if let Some(native_plan) = native_plan {
            ui.info(&format!("suite {name}: the same selection natively"));
            let run = run_suite(
                Arc::new(native_plan),
                native_interpreter(layout)?,
                baseline.clone(),
                jobs,
            );
            let verdict = gate::judge(&run, &baseline);
            Some((run, verdict))
        } else {
            None
        };
        println!(
            "{}",
            report::summary(&run, &verdict, native_run.as_ref().map(|(r, v)| (r, v)))
        );
        let reports = layout.reports();
        std::fs::create_dir_all(&reports)?;
        let xml = reports.join(format!("{name}.junit.xml"));
        std::fs::write(&xml, report::junit_xml(&run, &verdict))
            .with_context(|| format!("cannot write {}", xml.display()))?;
        let json = reports.join(format!("{name}.json"));
        std::fs::write(
            &json,
            serde_json::to_string_pretty(&report::json(&run, &verdict))?,
        )
        .with_context(|| format!("cannot write {}", json.display()))?;
        ui.info(&format!(
            "reports: {} and {}",
            xml.display(),
            json.display()
        ));
        if args.bless {
            let blessed = gate::bless(&run, &baseline, args.reason.as_deref())?;
            std::fs::write(&baseline_path, blessed.render())
                .with_context(|| format!("cannot write {}", baseline_path.display()))?;
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

/// The host python with the native wheels, for `--native`.
fn native_interpreter(layout: &Layout) -> Result<Arc<Interpreter>> {
    let native_env = layout.native_env();
    Ok(Arc::new(Interpreter::Native {
        python: native_env.join("bin/python"),
        site_packages: native_env.join(format!("lib/python{PYTHON_VERSION_SHORT}/site-packages")),
        stdlib: std::fs::canonicalize(native_env.join("bin/python"))
            .ok()
            .and_then(|p| {
                p.parent()?
                    .parent()
                    .map(|d| d.join(format!("lib/python{PYTHON_VERSION_SHORT}")))
            })
            .context("cannot find the native python's standard library")?,
    }))
}
