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
//! A stage declares what it reads and writes in a [`Contract`] (its recipe
//! text, the stages, pins and files of ours it reads, what it publishes).
//! Its fingerprint is derived from exactly that (the declared stages by
//! their own fingerprints), plus the values it holds ([`Stage::settings`]),
//! and its [`StageContext`] serves exactly that: asking for anything else
//! is an error, so no stage can depend on something its fingerprint does
//! not cover.

mod context;
mod contract;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use fs_err as fs;
use harness::text::{human_duration, last_lines};

use self::context::Built;
pub use self::context::{Context, StageContext};
pub use self::contract::{Contract, is_build_output};
use crate::digest::Fingerprint;
use crate::layout::Layout;
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
    /// What it reads and writes: the engine derives its fingerprint from
    /// this, serves it only this, and publishes what it says.
    fn contract(&self) -> Contract;
    /// The values it holds that shape its output (flags, options), added to
    /// its fingerprint.
    fn settings(&self, _fp: &mut Fingerprint) {}
    /// Builds into `out`, an empty directory.
    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()>;
}

/// The stages needed for `target` (all when `None`), in pipeline order.
pub fn plan<'s>(stages: &'s [Box<dyn Stage>], target: Option<&str>) -> Result<Vec<&'s dyn Stage>> {
    let Some(target) = target else {
        return Ok(stages.iter().map(|s| &**s).collect());
    };
    let by_id: BTreeMap<StageId, &dyn Stage> = stages.iter().map(|s| (s.id(), &**s)).collect();
    let Some(target) = by_id.keys().find(|id| id.name() == target).cloned() else {
        return Err(crate::mistake::Mistake::UnknownStage {
            name: target.to_owned(),
            stages: stages.iter().map(|s| s.id().to_string()).collect(),
        }
        .into());
    };
    let mut needed = BTreeSet::new();
    let mut todo = vec![target];
    while let Some(id) = todo.pop() {
        if let Some(stage) = by_id.get(&id)
            && needed.insert(id)
        {
            todo.extend(stage.contract().deps().iter().cloned());
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
        let contract = stage.contract();
        let mut fp = Fingerprint::default();
        fp.add("stage", id.name());
        for dep in contract.deps() {
            let built = cx
                .built(dep)
                .with_context(|| format!("stage `{id}` needs `{dep}`, which comes later"))?;
            fp.add(dep.name(), built.fingerprint);
        }
        let grant = contract
            .grant(cx.layout, cx.pins, &cx.guest, &mut fp)
            .with_context(|| format!("cannot compute the inputs of stage `{id}`"))?;
        stage.settings(&mut fp);
        let fingerprint = fp.hex();
        let dir = cx
            .layout
            .builds()
            .join(format!("{id}-{}", &fingerprint[..16]));
        let counter = format!("[{}/{total}]", index + 1);
        if dir.join(COMPLETE).is_file() {
            ui.fresh(&counter, id.name());
        } else {
            let scoped = StageContext::new(cx, id.clone(), grant);
            build_one(&scoped, *stage, &dir, &fingerprint, &counter, cx.layout, ui)?;
        }
        cx.record(
            id.clone(),
            Built {
                dir: dir.clone(),
                fingerprint,
            },
        );
        for (from, to) in contract.published() {
            let target = match from.is_empty() {
                true => dir.clone(),
                false => dir.join(from),
            };
            publish_link(&target, &to(cx.layout))
                .with_context(|| format!("cannot publish the output of stage `{id}`"))?;
        }
    }
    Ok(())
}

/// Points `link` at `target`, replacing whatever link was there atomically.
fn publish_link(target: &Path, link: &Path) -> Result<()> {
    if std::fs::read_link(link).is_ok_and(|current| current == target) {
        return Ok(());
    }
    let parent = link
        .parent()
        .with_context(|| format!("{} has no parent directory", link.display()))?;
    fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(
        ".{}.tmp-{}",
        link.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    fs::os::unix::fs::symlink(target, &tmp)?;
    fs::rename(&tmp, link).with_context(|| {
        format!(
            "cannot replace {} (a directory in the way? remove it)",
            link.display()
        )
    })
}

fn build_one(
    cx: &StageContext,
    stage: &dyn Stage,
    dir: &Path,
    fingerprint: &str,
    counter: &str,
    layout: &Layout,
    ui: &Ui,
) -> Result<()> {
    let id = stage.id();
    let name = id.name();
    if dir.exists() {
        ui.status(counter, name, "removing an unfinished earlier attempt");
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    let mut log = Log::create(&layout.logs().join(format!("{name}.log")))?;
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

    use std::path::PathBuf;

    use super::*;
    use crate::pins::Pins;
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
        /// Pins it declares.
        pins: Vec<&'static str>,
        /// A pin it reads without declaring it.
        sneaks_pin: Option<&'static str>,
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
                pins: Vec::new(),
                sneaks_pin: None,
            }
        }
    }

    impl Stage for Counting {
        fn id(&self) -> StageId {
            self.id.clone()
        }
        fn contract(&self) -> Contract {
            Contract::new(&["counting"])
                .stages(self.deps.clone())
                .pins(&self.pins)
                .publishes("artifact", |layout| layout.out().join("published"))
        }
        fn settings(&self, fp: &mut Fingerprint) {
            fp.add("input", self.input.lock().unwrap().as_str());
        }
        fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
            self.builds.fetch_add(1, Ordering::SeqCst);
            log.note("building");
            if let Some(other) = &self.sneaks {
                cx.output(other)?;
            }
            if let Some(pin) = self.sneaks_pin {
                cx.pin(pin)?;
            }
            for pin in &self.pins {
                cx.pin(pin)?;
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
        let cx = Context::new(layout, pins, true, 1)?;
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
        let cx = Context::new(&layout, &pins, true, 1).unwrap();
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
    fn reading_an_undeclared_pin_is_an_error_naming_both() {
        let (_dir, layout, pins) = setup();
        let mut a = Counting::new("a", &[]);
        a.pins = vec!["zlib"];
        a.sneaks_pin = Some("cpython");
        let err = format!("{:#}", build_all(&layout, &pins, &[&a]).unwrap_err());
        assert!(
            err.contains("stage `a` reads pin `cpython`, which its contract does not declare"),
            "{err}"
        );
        a.sneaks_pin = None;
        build_all(&layout, &pins, &[&a]).expect("declared pins are served");
    }

    #[test]
    fn a_declared_pin_is_in_the_fingerprint() {
        let (_dir, layout, pins) = setup();
        let mut a = Counting::new("a", &[]);
        a.pins = vec!["zlib"];
        build_all(&layout, &pins, &[&a]).unwrap();
        let changed = Pins::parse(&crate::pins::SAMPLE.replace(
            "60dd315c07f616887caa029408308a018ace66e3d142726a97db164b3b8f69fb",
            &"0".repeat(64),
        ))
        .unwrap();
        build_all(&layout, &changed, &[&a]).unwrap();
        assert_eq!(a.builds.load(Ordering::SeqCst), 2, "a new zlib rebuilds");
        // A pin it does not declare changes nothing.
        let other = Pins::parse(&crate::pins::SAMPLE.replace(
            "97079827064a7492cce5541ceb438ae8003ce1e54e399676da2d62fb7a5dc08b",
            &"1".repeat(64),
        ))
        .unwrap();
        build_all(&layout, &other, &[&a]).unwrap();
        assert_eq!(a.builds.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_missing_pin_names_the_stage_and_the_pin() {
        let (_dir, layout, pins) = setup();
        let mut a = Counting::new("a", &[]);
        a.pins = vec!["libfoo"];
        let err = format!("{:#}", build_all(&layout, &pins, &[&a]).unwrap_err());
        assert!(err.contains("inputs of stage `a`"), "{err}");
        assert!(err.contains("`libfoo` is not pinned"), "{err}");
    }

    #[test]
    fn what_the_contract_publishes_points_at_the_output() {
        let (_dir, layout, pins) = setup();
        let a = Counting::new("a", &[]);
        build_all(&layout, &pins, &[&a]).unwrap();
        let link = layout.out().join("published");
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "x");
        assert!(
            std::fs::read_link(&link)
                .unwrap()
                .starts_with(layout.builds())
        );
    }

    #[test]
    fn a_recipe_change_rebuilds() {
        struct Recipe(&'static [&'static str], AtomicUsize);
        impl Stage for Recipe {
            fn id(&self) -> StageId {
                StageId::Package("r".into())
            }
            fn contract(&self) -> Contract {
                Contract::new(self.0)
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
    fn publish_link_replaces_an_old_link() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        let link = dir.path().join("sub/current");
        publish_link(&a, &link).unwrap();
        publish_link(&b, &link).unwrap();
        assert_eq!(std::fs::read_link(&link).unwrap(), b);
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
