//! The stage engine: fingerprinted, resumable units of the build, run in
//! pipeline order.
//!
//! A stage's output directory is `<cache>/build/<name>-<fingerprint>`, and it
//! counts as built only once the stage has written `.complete` into it as its
//! very last act. A directory without that mark is what an interrupted build
//! left behind: it is removed and the stage starts over, so no later stage
//! ever trusts a half-built tree. Different inputs give different
//! directories, so switching between two pin sets rebuilds nothing twice.
//!
//! A stage's fingerprint covers its recipe (its own source text), the inputs
//! it names, and the fingerprints of the stages it declares. It can read the
//! outputs of those stages only: asking for any other is an error, so no
//! stage can depend on something its fingerprint does not cover.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use fs_err as fs;
use harness::GuestLayout;
use harness::text::{human_duration, last_lines};

use crate::digest::Fingerprint;
use crate::fetch::Fetcher;
use crate::layout::Layout;
use crate::pins::Pins;
use crate::plan::BuildPlan;
use crate::process::Log;
use crate::ui::Ui;

/// Stages name each other by it; a stage takes all the engine's types from
/// here.
pub use crate::stage_id::StageId;

const COMPLETE: &str = ".complete";

/// One unit of the build.
pub trait Stage {
    /// Its name.
    fn id(&self) -> StageId;
    /// Stages whose outputs this one reads; it can read no others.
    fn deps(&self) -> Vec<StageId>;
    /// The recipe's source text (`include_str!` of the stage's own files):
    /// part of the fingerprint, so changing the recipe rebuilds the stage.
    fn recipe(&self) -> &'static [&'static str];
    /// Adds every input besides the recipe and the dependencies'
    /// fingerprints: pins, flags, patch files.
    fn inputs(&self, cx: &StageContext, fp: &mut Fingerprint) -> Result<()>;
    /// Builds into `out`, an empty directory.
    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()>;
    /// Makes the output visible where users look for it (cheap, idempotent).
    fn publish(&self, _cx: &StageContext, _out: &Path) -> Result<()> {
        Ok(())
    }
}

/// What every stage may use, plus the outputs of the stages built so far.
pub struct Context<'a> {
    /// Host paths.
    pub layout: &'a Layout,
    /// Pinned inputs (the lock's files among them).
    pub pins: &'a Pins,
    /// The packages to build and install.
    pub plan: &'a BuildPlan,
    /// Where things live in the guest (from the CPython pin).
    pub guest: GuestLayout,
    /// Verified downloads.
    pub fetcher: Fetcher<'a>,
    /// Parallel jobs for make and ninja.
    pub jobs: usize,
    built: Mutex<BTreeMap<StageId, Built>>,
}

#[derive(Debug, Clone)]
struct Built {
    dir: PathBuf,
    fingerprint: String,
}

impl<'a> Context<'a> {
    /// A context for building `plan` with `pins` into `layout`'s cache.
    pub fn new(
        layout: &'a Layout,
        pins: &'a Pins,
        plan: &'a BuildPlan,
        offline: bool,
        jobs: usize,
    ) -> Result<Self> {
        Ok(Self {
            layout,
            pins,
            plan,
            guest: pins.guest_layout()?,
            fetcher: Fetcher::new(layout, pins, offline),
            jobs,
            built: Mutex::default(),
        })
    }

    fn built(&self, stage: &StageId) -> Option<Built> {
        self.built
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(stage)
            .cloned()
    }

    fn record(&self, stage: StageId, built: Built) {
        self.built
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(stage, built);
    }

    /// The output directory of a stage built (or found complete) by
    /// [`run`], for commands that read a finished build.
    pub fn output_of(&self, stage: &StageId) -> Result<PathBuf> {
        self.built(stage)
            .map(|b| b.dir)
            .with_context(|| format!("stage `{stage}` has not been built"))
    }

    /// Stage outputs in the cache that no stage built so far uses: older
    /// fingerprints and interrupted builds. Meaningful after a full `run`.
    pub fn stale_outputs(&self) -> Result<Vec<PathBuf>> {
        let builds = self.layout.builds();
        let current: BTreeSet<PathBuf> = self
            .built
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|b| b.dir.clone())
            .collect();
        let mut stale = Vec::new();
        if builds.is_dir() {
            for entry in fs::read_dir(&builds)? {
                let path = entry?.path();
                if path.is_dir() && !current.contains(&path) {
                    stale.push(path);
                }
            }
        }
        stale.sort();
        Ok(stale)
    }
}

/// A stage's view of the [`Context`]: everything in it, but only the
/// outputs of the stages it declared.
pub struct StageContext<'c, 'a> {
    cx: &'c Context<'a>,
    stage: StageId,
    deps: Vec<StageId>,
}

impl<'a> std::ops::Deref for StageContext<'_, 'a> {
    type Target = Context<'a>;
    fn deref(&self) -> &Context<'a> {
        self.cx
    }
}

impl StageContext<'_, '_> {
    /// The output directory of `dep`, which this stage must have declared.
    pub fn output(&self, dep: &StageId) -> Result<PathBuf> {
        if !self.deps.contains(dep) {
            bail!(
                "stage `{}` reads the output of `{dep}`, which it does not declare as a dependency",
                self.stage
            );
        }
        self.cx
            .built(dep)
            .map(|b| b.dir)
            .with_context(|| format!("stage `{}` needs `{dep}`, which is not built", self.stage))
    }
}

/// The stages needed for `target` (all when `None`), in pipeline order.
pub fn plan<'s>(stages: &'s [Box<dyn Stage>], target: Option<&str>) -> Result<Vec<&'s dyn Stage>> {
    let Some(target) = target else {
        return Ok(stages.iter().map(|s| &**s).collect());
    };
    let by_id: BTreeMap<StageId, &dyn Stage> = stages.iter().map(|s| (s.id(), &**s)).collect();
    let Some(target) = by_id.keys().find(|id| id.name() == target).cloned() else {
        let names: Vec<String> = stages.iter().map(|s| s.id().to_string()).collect();
        bail!("unknown stage `{target}`; stages are: {}", names.join(", "));
    };
    let mut needed = BTreeSet::new();
    let mut todo = vec![target];
    while let Some(id) = todo.pop() {
        if let Some(stage) = by_id.get(&id)
            && needed.insert(id)
        {
            todo.extend(stage.deps());
        }
    }
    Ok(stages
        .iter()
        .filter(|s| needed.contains(&s.id()))
        .map(|s| &**s)
        .collect())
}

/// One build at a time per cache: another `cargo faasm-py` (parallel
/// end-to-end tests each run one) waits here instead of deleting the stage
/// directory this one is filling. The lock goes with the returned file.
pub fn lock_builds(layout: &Layout, ui: &Ui) -> Result<std::fs::File> {
    // Beside the stage outputs, not among them.
    let path = layout.builds().with_extension("lock");
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let file = fs::File::create(&path)?.into_parts().0;
    if let Err(std::fs::TryLockError::WouldBlock) = file.try_lock() {
        ui.info("waiting for another cargo faasm-py build to finish…");
    }
    file.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(file)
}

/// Builds the planned stages in order, skipping those already complete.
/// The caller holds the build lock ([`lock_builds`]).
pub fn run(cx: &Context, plan: &[&dyn Stage], ui: &Ui) -> Result<()> {
    let total = plan.len();
    for (index, stage) in plan.iter().enumerate() {
        let id = stage.id();
        let deps = stage.deps();
        let scoped = StageContext {
            cx,
            stage: id.clone(),
            deps: deps.clone(),
        };
        let mut fp = Fingerprint::default();
        fp.add("stage", id.name());
        for text in stage.recipe() {
            fp.add("recipe", text);
        }
        for dep in &deps {
            let built = cx
                .built(dep)
                .with_context(|| format!("stage `{id}` needs `{dep}`, which comes later"))?;
            fp.add(dep.name(), built.fingerprint);
        }
        stage
            .inputs(&scoped, &mut fp)
            .with_context(|| format!("cannot compute the inputs of stage `{id}`"))?;
        let fingerprint = fp.hex();
        let dir = cx
            .layout
            .builds()
            .join(format!("{id}-{}", &fingerprint[..16]));
        let counter = format!("[{}/{total}]", index + 1);
        if dir.join(COMPLETE).is_file() {
            ui.fresh(&counter, id.name());
        } else {
            build_one(&scoped, *stage, &dir, &fingerprint, &counter, ui)?;
        }
        cx.record(
            id.clone(),
            Built {
                dir: dir.clone(),
                fingerprint,
            },
        );
        stage
            .publish(&scoped, &dir)
            .with_context(|| format!("cannot publish the output of stage `{id}`"))?;
    }
    Ok(())
}

fn build_one(
    cx: &StageContext,
    stage: &dyn Stage,
    dir: &Path,
    fingerprint: &str,
    counter: &str,
    ui: &Ui,
) -> Result<()> {
    let id = stage.id();
    let name = id.name();
    if dir.exists() {
        ui.status(counter, name, "removing an unfinished earlier attempt");
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    let mut log = Log::create(&cx.layout.logs().join(format!("{name}.log")))?;
    let log_path = log.path().to_owned();
    log.note(&format!(
        "stage {name}, fingerprint {fingerprint}, output {}",
        dir.display()
    ));
    ui.status(
        counter,
        name,
        &format!("building (log: {})", log_path.display()),
    );
    let started = Instant::now();
    let ticker = ProgressTicker::start(ui, counter, name, log.step_handle(), started);
    let result = stage.build(cx, dir, &mut log);
    drop(ticker);
    match result {
        Ok(()) => {
            fs::write(dir.join(COMPLETE), fingerprint)?;
            ui.status(
                counter,
                name,
                &format!("built in {}", human_duration(started.elapsed())),
            );
            Ok(())
        }
        Err(err) => {
            log.note(&format!("error: {err:#}"));
            bail!(
                "stage `{name}` failed after {}: {err:#}\n--- last lines of {} ---\n{}\n--- full log: {} ---",
                human_duration(started.elapsed()),
                log_path.display(),
                last_lines(&log_path, 25).join("\n"),
                log_path.display()
            )
        }
    }
}

/// Prints "still building" lines with the current step while a stage runs.
struct ProgressTicker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ProgressTicker {
    fn start(
        ui: &Ui,
        counter: &str,
        name: &str,
        step: Arc<Mutex<String>>,
        started: Instant,
    ) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let ui = ui.clone();
        let counter = counter.to_owned();
        let name = name.to_owned();
        let interval = ui.progress_interval();
        let thread = std::thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                let step = step.lock().map(|s| s.clone()).unwrap_or_default();
                ui.status(
                    &counter,
                    &name,
                    &format!("{step} ({})", human_duration(started.elapsed())),
                );
            }
        });
        Self {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for ProgressTicker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::ui::Verbosity;

    /// A stage that counts its builds and whose input is settable.
    struct Counting {
        id: StageId,
        deps: Vec<StageId>,
        input: Mutex<String>,
        builds: AtomicUsize,
        fail: bool,
        /// A stage it reads without declaring it.
        sneaks: Option<StageId>,
    }

    impl Counting {
        fn new(name: &str, deps: &[&str]) -> Self {
            Self {
                id: StageId::Package(name.into()),
                deps: deps.iter().map(|d| StageId::Package((*d).into())).collect(),
                input: Mutex::new("v1".into()),
                builds: AtomicUsize::new(0),
                fail: false,
                sneaks: None,
            }
        }
    }

    impl Stage for Counting {
        fn id(&self) -> StageId {
            self.id.clone()
        }
        fn deps(&self) -> Vec<StageId> {
            self.deps.clone()
        }
        fn recipe(&self) -> &'static [&'static str] {
            &["counting"]
        }
        fn inputs(&self, _cx: &StageContext, fp: &mut Fingerprint) -> Result<()> {
            fp.add("input", self.input.lock().unwrap().as_str());
            Ok(())
        }
        fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
            self.builds.fetch_add(1, Ordering::SeqCst);
            log.note("building");
            if let Some(other) = &self.sneaks {
                cx.output(other)?;
            }
            fs::write(out.join("artifact"), "x")?;
            if self.fail {
                bail!("deliberate failure");
            }
            Ok(())
        }
    }

    fn setup() -> (tempfile::TempDir, Layout, Pins) {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout {
            project: None,
            config_table: None,
            sources: dir.path().join("ws"),
            target: dir.path().join("target"),
            cache: dir.path().join("cache"),
        };
        let pins = Pins::parse(crate::pins::SAMPLE).unwrap();
        (dir, layout, pins)
    }

    fn quiet() -> Ui {
        Ui {
            verbosity: Verbosity::Quiet,
            show_fresh: false,
        }
    }

    fn build_all(layout: &Layout, pins: &Pins, stages: &[&dyn Stage]) -> Result<()> {
        let plan = BuildPlan::default();
        let cx = Context::new(layout, pins, &plan, true, 1)?;
        run(&cx, stages, &quiet())
    }

    #[test]
    fn a_second_build_waits_for_the_first() {
        let (_dir, layout, _pins) = setup();
        let first = lock_builds(&layout, &quiet()).unwrap();
        let path = layout.builds().with_extension("lock");
        let other = std::fs::File::open(&path).unwrap();
        assert!(other.try_lock().is_err(), "held while the first build runs");
        drop(first);
        // Blocking: a child another test forks may hold the open file
        // description for a moment, until its exec closes it.
        other.lock().expect("free once it is done");
    }

    #[test]
    fn outputs_of_older_inputs_are_stale() {
        let (_dir, layout, pins) = setup();
        let a = Counting::new("a", &[]);
        let b = Counting::new("b", &["a"]);
        let stages: [&dyn Stage; 2] = [&a, &b];
        build_all(&layout, &pins, &stages).unwrap();
        let mut old: Vec<PathBuf> = std::fs::read_dir(layout.builds())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        old.sort();
        *a.input.lock().unwrap() = "v2".into();
        let plan = BuildPlan::default();
        let cx = Context::new(&layout, &pins, &plan, true, 1).unwrap();
        run(&cx, &stages, &quiet()).unwrap();
        assert_eq!(
            cx.stale_outputs().unwrap(),
            old,
            "both old outputs, nothing current"
        );
    }

    #[test]
    fn builds_once_then_only_what_changed() {
        let (_dir, layout, pins) = setup();
        let a = Counting::new("a", &[]);
        let b = Counting::new("b", &["a"]);
        let c = Counting::new("c", &[]);
        let stages: [&dyn Stage; 3] = [&a, &b, &c];
        build_all(&layout, &pins, &stages).unwrap();
        build_all(&layout, &pins, &stages).unwrap();
        let counts = || [&a, &b, &c].map(|s| s.builds.load(Ordering::SeqCst));
        assert_eq!(counts(), [1, 1, 1], "a second build is a no-op");

        // Changing a's input rebuilds a and b (which uses a), not c.
        *a.input.lock().unwrap() = "v2".into();
        build_all(&layout, &pins, &stages).unwrap();
        assert_eq!(counts(), [2, 2, 1]);

        // Going back finds the first outputs still complete.
        *a.input.lock().unwrap() = "v1".into();
        build_all(&layout, &pins, &stages).unwrap();
        assert_eq!(counts(), [2, 2, 1]);
    }

    #[test]
    fn an_unfinished_output_is_rebuilt_from_scratch() {
        let (_dir, layout, pins) = setup();
        let mut a = Counting::new("a", &[]);
        a.fail = true;
        let err = build_all(&layout, &pins, &[&a]).unwrap_err().to_string();
        assert!(err.contains("stage `a` failed"), "{err}");
        assert!(err.contains("deliberate failure"), "{err}");
        assert!(err.contains("a.log"), "the log is named: {err}");
        let outputs: Vec<_> = std::fs::read_dir(layout.builds()).unwrap().collect();
        assert_eq!(outputs.len(), 1);
        a.fail = false;
        build_all(&layout, &pins, &[&a]).unwrap();
        assert_eq!(a.builds.load(Ordering::SeqCst), 2);
        build_all(&layout, &pins, &[&a]).unwrap();
        assert_eq!(a.builds.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn reading_an_undeclared_stage_is_an_error_naming_both() {
        let (_dir, layout, pins) = setup();
        let a = Counting::new("a", &[]);
        let mut b = Counting::new("b", &[]);
        b.sneaks = Some(StageId::Package("a".into()));
        let err = format!("{:#}", build_all(&layout, &pins, &[&a, &b]).unwrap_err());
        assert!(
            err.contains("stage `b` reads the output of `a`, which it does not declare"),
            "{err}"
        );
    }

    #[test]
    fn a_recipe_change_rebuilds() {
        struct Recipe(&'static [&'static str], AtomicUsize);
        impl Stage for Recipe {
            fn id(&self) -> StageId {
                StageId::Package("r".into())
            }
            fn deps(&self) -> Vec<StageId> {
                vec![]
            }
            fn recipe(&self) -> &'static [&'static str] {
                self.0
            }
            fn inputs(&self, _cx: &StageContext, _fp: &mut Fingerprint) -> Result<()> {
                Ok(())
            }
            fn build(&self, _cx: &StageContext, _out: &Path, _log: &mut Log) -> Result<()> {
                self.1.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        }
        let (_dir, layout, pins) = setup();
        let old = Recipe(&["step 1"], AtomicUsize::new(0));
        let new = Recipe(&["step 1, changed"], AtomicUsize::new(0));
        build_all(&layout, &pins, &[&old]).unwrap();
        build_all(&layout, &pins, &[&new]).unwrap();
        build_all(&layout, &pins, &[&old]).unwrap();
        assert_eq!(old.1.load(Ordering::SeqCst), 1);
        assert_eq!(new.1.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn plan_takes_a_stage_and_its_dependencies_in_order() {
        let stages: Vec<Box<dyn Stage>> = vec![
            Box::new(Counting::new("f", &[])),
            Box::new(Counting::new("t", &["f"])),
            Box::new(Counting::new("h", &["f"])),
            Box::new(Counting::new("c", &["t"])),
        ];
        let names = |target| -> Vec<String> {
            plan(&stages, target)
                .unwrap()
                .iter()
                .map(|s| s.id().to_string())
                .collect()
        };
        assert_eq!(names(Some("c")), ["f", "t", "c"]);
        assert_eq!(names(None).len(), 4);
        let err = plan(&stages, Some("numpyy")).err().unwrap().to_string();
        assert!(err.contains("unknown stage `numpyy`"), "{err}");
    }
}
