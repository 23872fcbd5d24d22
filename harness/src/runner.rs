//! Runs a suite's test modules: each module is one `libtest_mimic::Trial`,
//! run in a fresh guest (or, for the native reference, a host process), its
//! cases read back from the reporter's JSON lines and judged against the
//! baseline. A trap, timeout or out-of-memory is charged to the case that was
//! running, and the other trials go on.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use libtest_mimic::{Failed, Trial};

use crate::guest::GuestLayout;
use crate::isolated::{IsolatedPython, wait_until};
use crate::python::{Python, PythonRun};
use crate::run::Preopen;
use crate::status::Status;
use crate::stdio::{Input, Output};
use crate::suite::definition::{Root, Runner, SuiteDef, expand};
use crate::suite::gate::judge_cases;
use crate::suite::results::log_file_name;
use crate::suite::{Baseline, CaseOutcome, CaseResult, ModuleResult, SuiteRun, parse_report_lines};

/// Where the support files (reporter plugin, regrtest wrapper) are mounted.
const GUEST_SUPPORT: &str = "/faasm-py";
/// Where a suite's own directory is mounted (suites whose root is `suite`).
const GUEST_SUITE: &str = "/suite";

/// The reporter's file, in the module's scratch directory (the guest's
/// `/tmp`).
const REPORT_FILE: &str = "report.jsonl";
/// The most of a report the host reads: a million cases' worth.
const REPORT_LIMIT: u64 = 512 << 20;

/// What runs the tests.
pub enum Interpreter {
    /// python.wasm under wasmtime in this process; deadlines are wasmtime's
    /// epoch checks, so `python`'s engine needs them.
    Wasm(Python),
    /// python.wasm under wasmtime, each module in a child process killed at
    /// its deadline, compiled without epoch checks (what `cargo faasm-py
    /// test` runs: the checks cost numpy's suite a quarter of its time).
    WasmProcess(IsolatedPython),
    /// The host python with the native wheels: the reference.
    Native {
        /// The interpreter to run.
        python: PathBuf,
        /// Its site-packages (the root of package suites).
        site_packages: PathBuf,
        /// Its standard library (the root of regrtest).
        stdlib: PathBuf,
    },
}

/// One suite's selection, ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The suite's definition.
    pub suite: SuiteDef,
    /// Where the test modules are inside the guest.
    pub guest: GuestLayout,
    /// Test modules, relative to the suite's root.
    pub modules: Vec<String>,
    /// Runner arguments (the suite's, then the selection's).
    pub args: Vec<String>,
    /// `pytests/support`.
    pub support: PathBuf,
    /// Per-module output logs go here.
    pub log_dir: PathBuf,
}

impl Plan {
    /// The suite's selection (the CI one if `ci`), expanded against the host
    /// runtime tree laid out as `guest` says, optionally narrowed to modules
    /// containing `filter`.
    pub fn new(
        suite: SuiteDef,
        runtime: &Path,
        guest: GuestLayout,
        ci: bool,
        filter: Option<&str>,
        support: PathBuf,
        log_dir: PathBuf,
    ) -> Result<Self> {
        let selection = suite.selection(ci);
        let root = match suite.root() {
            Root::SitePackages => runtime.join(guest.site_packages_dir()),
            Root::Stdlib => runtime.join(guest.stdlib_dir()),
            Root::Suite | Root::Source => suite.tests_dir().to_owned(),
        };
        let mut modules = expand(&root, selection)?;
        if let Some(filter) = filter {
            modules.retain(|m| m.contains(filter));
        }
        if modules.is_empty() {
            anyhow::bail!("suite `{}` selects no test modules", suite.name);
        }
        let mut args = suite.args.clone();
        args.extend(selection.args.iter().cloned());
        Ok(Self {
            suite,
            guest,
            modules,
            args,
            support,
            log_dir,
        })
    }

    fn root(&self, interp: &Interpreter) -> String {
        let native = |p: &Path| p.display().to_string();
        match (self.suite.root(), interp) {
            (Root::SitePackages, Interpreter::Native { site_packages, .. }) => {
                native(site_packages)
            }
            (Root::Stdlib, Interpreter::Native { stdlib, .. }) => native(stdlib),
            (Root::Suite | Root::Source, Interpreter::Native { .. }) => {
                native(self.suite.tests_dir())
            }
            // Both python.wasm interpreters see the guest's layout.
            (Root::SitePackages, _) => self.guest.guest_site_packages(),
            (Root::Stdlib, _) => self.guest.guest_stdlib(),
            (Root::Suite | Root::Source, _) => GUEST_SUITE.to_owned(),
        }
    }

    /// Python's arguments for one module.
    fn python_args(&self, interp: &Interpreter, module: &str) -> Vec<String> {
        let root = self.root(interp);
        let mut args: Vec<String> = match self.suite.runner {
            Runner::Pytest => [
                "-m",
                "pytest",
                "-p",
                "faasm_py_pytest",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:faulthandler",
                "--capture=sys",
                "-q",
                "-rN",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .chain([format!("--rootdir={root}"), format!("{root}/{module}")])
            .collect(),
            // As a module, like `python -m test`: sys.path[0] is then the
            // (writable) working directory, where tests create modules.
            Runner::Regrtest => vec![
                "-m".to_owned(),
                "faasm_py_regrtest".to_owned(),
                regrtest_name(module).to_owned(),
            ],
        };
        args.extend(self.args.iter().cloned());
        args
    }
}

/// `test/test_math.py` → `test_math`; `test/test_json` → `test_json`.
pub fn regrtest_name(module: &str) -> &str {
    let last = module.rsplit('/').next().unwrap_or(module);
    last.strip_suffix(".py").unwrap_or(last)
}

/// Runs one module and reads back its cases.
pub fn run_module(plan: &Plan, interp: &Interpreter, module: &str) -> Result<ModuleResult> {
    let scratch = tempfile::Builder::new()
        .prefix("faasm-py-test-")
        .tempdir()
        .context("cannot create a scratch directory")?;
    let report = scratch.path().join(REPORT_FILE);
    fs_err::create_dir_all(&plan.log_dir)?;
    let log = plan.log_dir.join(log_file_name(module));
    let _ = std::fs::remove_file(&log);
    let args = plan.python_args(interp, module);
    let deadline = Duration::from_secs(plan.suite.timeout_secs);
    let started = Instant::now();
    let guest_run = || guest_run(plan, &args, scratch.path(), &log, deadline);
    let status = match interp {
        Interpreter::Wasm(python) => python.run(guest_run())?.status,
        Interpreter::WasmProcess(python) => python.run(guest_run())?.status,
        Interpreter::Native { python, .. } => {
            native_run(python, &args, plan, scratch.path(), &report, &log, deadline)?
        }
    };
    let note = match &status {
        Status::Exited(_) => None,
        other => Some(other.to_string()),
    };
    Ok(ModuleResult {
        module: module.to_owned(),
        cases: judge(plan, module, &status, scratch.path(), &log),
        wall: started.elapsed(),
        status_note: note,
    })
}

/// The guest run of one module: the suite's files and the in-guest
/// reporter mounted read-only, its environment, output to `log`.
fn guest_run(
    plan: &Plan,
    args: &[String],
    scratch: &Path,
    log: &Path,
    deadline: Duration,
) -> PythonRun {
    let mut preopens = vec![Preopen::read_only(&plan.support, GUEST_SUPPORT)];
    if matches!(plan.suite.root(), Root::Suite | Root::Source) {
        preopens.push(Preopen::read_only(plan.suite.tests_dir(), GUEST_SUITE));
    }
    PythonRun {
        args: args.to_vec(),
        scratch: scratch.to_owned(),
        cwd: None,
        extra_preopens: preopens,
        extra_env: plan
            .suite
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .chain([
                ("PYTHONPATH".into(), GUEST_SUPPORT.into()),
                (
                    "FAASM_PY_REPORT".into(),
                    format!("{}/{REPORT_FILE}", plan.guest.tmp()),
                ),
                ("PYTHONUNBUFFERED".into(), "1".into()),
            ])
            .collect(),
        stdin: Input::Null,
        stdout: Output::File(log.to_owned()),
        stderr: Output::File(log.to_owned()),
        deadline: Some(deadline),
        memory_limit_bytes: Some(plan.suite.memory_mib << 20),
    }
}

/// The cases of a module that ended with `status`: those its report in
/// `scratch` gives, and one more for a report that cannot be trusted, a
/// run that did not end by itself (on the case it was in) or one that
/// failed without reporting.
fn judge(
    plan: &Plan,
    module: &str,
    status: &Status,
    scratch: &Path,
    log: &Path,
) -> Vec<CaseResult> {
    let exit_code = status.exit_code();
    // The guest could have replaced its report with anything.
    let (text, unreadable) =
        match crate::guest_files::read_guest_file(scratch, REPORT_FILE, REPORT_LIMIT) {
            Ok(bytes) => (
                String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned(),
                None,
            ),
            Err(err) => (String::new(), Some(format!("{err:#}"))),
        };
    let (mut cases, unfinished) = parse_report_lines(&text);
    if let Some(why) = unreadable {
        cases.push(CaseResult {
            id: format!("{module}::<report>"),
            outcome: CaseOutcome::Error,
            duration: 0.0,
            message: format!("the module's report cannot be trusted: {why}"),
        });
    }
    if !matches!(status, Status::Exited(_)) {
        let outcome = match status {
            Status::TimedOut { .. } => CaseOutcome::Timeout,
            _ => CaseOutcome::Crashed,
        };
        let id = unfinished.unwrap_or_else(|| format!("{module}::<process>"));
        cases.push(CaseResult {
            id,
            outcome,
            duration: 0.0,
            message: status.to_string(),
        });
    }
    // Reported cases are trusted; an exit that reported none (or a pytest
    // internal/usage error, 3 and 4) becomes an error case of its own.
    // pytest's 5 and regrtest's 4 mean "nothing ran" (nothing collected, or
    // a resource the module needs is denied): the module is skipped whole.
    let failed_run = match (plan.suite.runner, exit_code) {
        (_, Some(0)) | (Runner::Pytest, Some(5)) | (Runner::Regrtest, Some(4)) => false,
        (Runner::Pytest, Some(3 | 4)) => true,
        (_, Some(_)) => cases.is_empty(),
        (_, None) => false,
    };
    if failed_run {
        cases.push(CaseResult {
            id: format!("{module}::<run>"),
            outcome: CaseOutcome::Error,
            duration: 0.0,
            message: format!(
                "the runner exited with {exit_code:?} (log: {}): {}",
                log.display(),
                crate::text::last_lines(log, 5).join(" | ")
            ),
        });
    }
    cases
}

/// The native reference: a host process with the same arguments and a deadline.
fn native_run(
    python: &Path,
    args: &[String],
    plan: &Plan,
    scratch: &Path,
    report: &Path,
    log: &Path,
    deadline: Duration,
) -> Result<Status> {
    let out = fs_err::File::create(log)?.into_parts().0;
    let mut child = Command::new(python)
        .args(args)
        .current_dir(scratch)
        .envs(&plan.suite.env)
        .env("PYTHONPATH", &plan.support)
        .env("FAASM_PY_REPORT", report)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("cannot run {}", python.display()))?;
    Ok(match wait_until(&mut child, Some(deadline))? {
        Some(status) => match status.code() {
            Some(code) => Status::Exited(code),
            None => Status::Trapped {
                reason: format!("native process ended by {status}"),
            },
        },
        None => Status::TimedOut {
            after: deadline,
            backtrace: String::new(),
        },
    })
}

/// One trial per module. Each trial records its module's result in
/// `results` and fails exactly when the module has regressions. A module
/// whose run fails on the host side (no scratch directory, no interpreter,
/// an unreadable report) is recorded too, as one error case naming why:
/// a module that did not run is a regression, never a silent gap.
pub fn trials(
    plan: Arc<Plan>,
    interp: Arc<Interpreter>,
    baseline: Arc<Baseline>,
    results: Arc<Mutex<Vec<ModuleResult>>>,
) -> Vec<Trial> {
    plan.modules
        .iter()
        .map(|module| {
            let (plan, interp, baseline, results) = (
                plan.clone(),
                interp.clone(),
                baseline.clone(),
                results.clone(),
            );
            let name = module.clone();
            let kind = plan.suite.name.clone();
            Trial::test(name.clone(), move || {
                let started = Instant::now();
                let result = run_module(&plan, &interp, &name).unwrap_or_else(|err| {
                    did_not_run(&name, &format!("{err:#}"), started.elapsed())
                });
                let regressions = module_regressions(&result, &baseline);
                results.lock().expect("results poisoned").push(result);
                if regressions.is_empty() {
                    Ok(())
                } else {
                    Err(Failed::from(regressions.join("\n")))
                }
            })
            .with_kind(kind)
        })
        .collect()
}

/// The result of a module that produced none of its own: one error case,
/// `<module>::<run>`, carrying `why`.
fn did_not_run(module: &str, why: &str, wall: Duration) -> ModuleResult {
    ModuleResult {
        module: module.to_owned(),
        cases: vec![CaseResult {
            id: format!("{module}::<run>"),
            outcome: CaseOutcome::Error,
            duration: 0.0,
            message: format!("the module did not run: {why}"),
        }],
        wall,
        status_note: Some(format!("did not run: {why}")),
    }
}

/// Runs every module of `plan` as a trial on `jobs` threads and gathers the
/// results. Every module of the plan ends up with a result: one that
/// produced none (its trial panicked, or never ran) gets an error case, so
/// the gate sees it. libtest's own conclusion must agree with the gate: a
/// trial that failed although its module has no regression is recorded as
/// one too.
pub fn run_suite(
    plan: Arc<Plan>,
    interp: Arc<Interpreter>,
    baseline: Arc<Baseline>,
    jobs: usize,
) -> SuiteRun {
    let results = Arc::new(Mutex::new(Vec::new()));
    let trials = trials(plan.clone(), interp, baseline.clone(), results.clone());
    let arguments = libtest_mimic::Arguments {
        test_threads: Some(jobs.max(1)),
        ..libtest_mimic::Arguments::default()
    };
    let started = Instant::now();
    let conclusion = libtest_mimic::run(&arguments, trials);
    let mut modules = std::mem::take(&mut *results.lock().unwrap_or_else(|e| e.into_inner()));
    for module in &plan.modules {
        if !modules.iter().any(|m| &m.module == module) {
            modules.push(did_not_run(
                module,
                "its trial ended without a result (see the output above)",
                Duration::ZERO,
            ));
        }
    }
    let gate_failures = modules
        .iter()
        .filter(|m| !module_regressions(m, &baseline).is_empty())
        .count() as u64;
    if conclusion.num_failed > gate_failures {
        modules.push(did_not_run(
            "<suite>",
            &format!(
                "libtest counted {} failed trials, the gate {gate_failures}",
                conclusion.num_failed
            ),
            Duration::ZERO,
        ));
    }
    modules.sort_by(|a, b| a.module.cmp(&b.module));
    SuiteRun {
        suite: plan.suite.name.clone(),
        modules,
        wall: started.elapsed(),
    }
}

/// Runs every module of `plan` on `jobs` threads for reference (the native
/// side of `--native`): no trials and no libtest verdict, because a
/// reference is counted beside the gated run, never judged on its own (a
/// native module failing where the guest's baseline expects a pass is a
/// fact to show, not a failed test run). Prints one line when done.
pub fn run_reference(plan: Arc<Plan>, interp: Arc<Interpreter>, jobs: usize) -> SuiteRun {
    let started = Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(plan.modules.len()));
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, plan.modules.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(module) = plan.modules.get(i) else {
                        break;
                    };
                    let began = Instant::now();
                    let result = run_module(&plan, &interp, module).unwrap_or_else(|err| {
                        did_not_run(module, &format!("{err:#}"), began.elapsed())
                    });
                    let mut results = results.lock().unwrap_or_else(|e| e.into_inner());
                    results.push(result);
                    let (done, total) = (results.len(), plan.modules.len());
                    if total >= 20 && done % total.div_ceil(10) == 0 && done < total {
                        println!(
                            "reference run: {done}/{total} modules ({:.0}s)",
                            started.elapsed().as_secs_f64()
                        );
                    }
                }
            });
        }
    });
    let mut modules = results.into_inner().unwrap_or_else(|e| e.into_inner());
    modules.sort_by(|a, b| a.module.cmp(&b.module));
    let wall = started.elapsed();
    println!(
        "reference run: {} modules in {:.2}s (counts below, beside the guest's)",
        modules.len(),
        wall.as_secs_f64()
    );
    SuiteRun {
        suite: plan.suite.name.clone(),
        modules,
        wall,
    }
}

/// A module's cases that fail although the baseline expects them to pass.
pub fn module_regressions(result: &ModuleResult, baseline: &Baseline) -> Vec<String> {
    judge_cases(&result.cases, baseline)
        .regressions
        .iter()
        .map(|r| {
            let first = r.message.lines().next().unwrap_or("");
            format!("{} ({:?}): {first}", r.id, r.outcome)
        })
        .collect()
}
