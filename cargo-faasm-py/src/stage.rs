//! Stages: fingerprinted, resumable units of the build.
//!
//! A stage's output directory is `<cache>/build/<name>-<fingerprint>`, and it
//! counts as built only once the stage has written `.complete` into it as its
//! very last act. A directory without that mark is what an interrupted build
//! left behind: it is removed and the stage starts over, so no later stage
//! ever trusts a half-built tree. Different inputs give different
//! directories, so switching between two pin sets rebuilds nothing twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};

use crate::digest::Fingerprint;
use crate::fetch::Fetcher;
use crate::layout::Layout;
use crate::pins::Pins;
use crate::process::{Log, tail};
use crate::ui::{Ui, human_duration};

const COMPLETE: &str = ".complete";

pub trait Stage {
    fn name(&self) -> &'static str;
    /// Stages whose outputs this one reads.
    fn deps(&self) -> Vec<&'static str>;
    /// Adds every input besides the dependencies' fingerprints: pins,
    /// flags, patch files, the recipe's own version.
    fn inputs(&self, cx: &Context, fp: &mut Fingerprint) -> Result<()>;
    /// Builds into `out`, an empty directory.
    fn build(&self, cx: &Context, out: &Path, log: &mut Log) -> Result<()>;
    /// Makes the output visible where users look for it (cheap, idempotent).
    fn publish(&self, _cx: &Context, _out: &Path) -> Result<()> {
        Ok(())
    }
}

/// What every stage may use, plus the outputs of the stages built so far.
pub struct Context<'a> {
    pub layout: &'a Layout,
    pub pins: &'a Pins,
    pub fetcher: Fetcher<'a>,
    pub jobs: usize,
    built: Mutex<BTreeMap<&'static str, Built>>,
}

#[derive(Debug, Clone)]
pub struct Built {
    pub dir: PathBuf,
    pub fingerprint: String,
}

impl<'a> Context<'a> {
    pub fn new(layout: &'a Layout, pins: &'a Pins, offline: bool, jobs: usize) -> Self {
        Self {
            layout,
            pins,
            fetcher: Fetcher::new(layout, pins, offline),
            jobs,
            built: Mutex::default(),
        }
    }

    /// The output directory of a stage this one depends on.
    pub fn output(&self, stage: &str) -> Result<PathBuf> {
        self.built
            .lock()
            .expect("stage table poisoned")
            .get(stage)
            .map(|b| b.dir.clone())
            .with_context(|| format!("stage `{stage}` has not been built (missing dependency?)"))
    }

    fn record(&self, stage: &'static str, built: Built) {
        self.built
            .lock()
            .expect("stage table poisoned")
            .insert(stage, built);
    }

    /// Stage outputs in the cache that no stage built so far uses: older
    /// fingerprints and interrupted builds. Meaningful after a full `run`.
    pub fn stale_outputs(&self) -> Result<Vec<PathBuf>> {
        let builds = self.layout.builds();
        let current: std::collections::BTreeSet<PathBuf> = self
            .built
            .lock()
            .expect("stage table poisoned")
            .values()
            .map(|b| b.dir.clone())
            .collect();
        let mut stale = Vec::new();
        if builds.is_dir() {
            for entry in std::fs::read_dir(&builds)
                .with_context(|| format!("cannot list {}", builds.display()))?
            {
                let path = entry?.path();
                if path.is_dir() && !current.contains(&path) {
                    stale.push(path);
                }
            }
        }
        stale.sort();
        Ok(stale)
    }

    fn fingerprint_of(&self, stage: &str) -> Option<String> {
        self.built
            .lock()
            .expect("stage table poisoned")
            .get(stage)
            .map(|b| b.fingerprint.clone())
    }
}

/// The stages needed for `target` (all when `None`), in pipeline order.
pub fn plan<'s>(stages: &'s [Box<dyn Stage>], target: Option<&str>) -> Result<Vec<&'s dyn Stage>> {
    let Some(target) = target else {
        return Ok(stages.iter().map(|s| &**s).collect());
    };
    let by_name: BTreeMap<&str, &dyn Stage> = stages.iter().map(|s| (s.name(), &**s)).collect();
    if !by_name.contains_key(target) {
        let names: Vec<&str> = stages.iter().map(|s| s.name()).collect();
        bail!("unknown stage `{target}`; stages are: {}", names.join(", "));
    }
    let mut needed = std::collections::BTreeSet::new();
    let mut todo = vec![target];
    while let Some(name) = todo.pop() {
        if needed.insert(name) {
            todo.extend(by_name[name].deps());
        }
    }
    Ok(stages
        .iter()
        .filter(|s| needed.contains(s.name()))
        .map(|s| &**s)
        .collect())
}

/// Builds the planned stages in order, skipping those already complete.
/// One build at a time per cache: another `cargo faasm-py` (parallel
/// end-to-end tests each run one) waits here instead of deleting the stage
/// directory this one is filling. The lock goes with the returned file.
fn lock_builds(layout: &Layout, ui: &Ui) -> Result<std::fs::File> {
    // Beside the stage outputs, not among them.
    let path = layout.builds().with_extension("lock");
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let file =
        std::fs::File::create(&path).with_context(|| format!("cannot open {}", path.display()))?;
    if let Err(std::fs::TryLockError::WouldBlock) = file.try_lock() {
        ui.info("waiting for another cargo faasm-py build to finish…");
    }
    file.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(file)
}

pub fn run(cx: &Context, plan: &[&dyn Stage], ui: &Ui) -> Result<()> {
    let _lock = lock_builds(cx.layout, ui)?;
    let total = plan.len();
    for (index, stage) in plan.iter().enumerate() {
        let name = stage.name();
        let mut fp = Fingerprint::default();
        fp.add("stage", name);
        for dep in stage.deps() {
            let dep_fp = cx
                .fingerprint_of(dep)
                .with_context(|| format!("stage `{name}` needs `{dep}`, which comes later"))?;
            fp.add(dep, dep_fp);
        }
        stage
            .inputs(cx, &mut fp)
            .with_context(|| format!("cannot compute the inputs of stage `{name}`"))?;
        let fingerprint = fp.hex();
        let dir = cx
            .layout
            .builds()
            .join(format!("{name}-{}", &fingerprint[..16]));
        let counter = format!("[{}/{total}]", index + 1);
        if dir.join(COMPLETE).is_file() {
            ui.fresh(&counter, name);
        } else {
            build_one(cx, *stage, &dir, &fingerprint, &counter, ui)?;
        }
        cx.record(
            name,
            Built {
                dir: dir.clone(),
                fingerprint,
            },
        );
        stage
            .publish(cx, &dir)
            .with_context(|| format!("cannot publish the output of stage `{name}`"))?;
    }
    Ok(())
}

fn build_one(
    cx: &Context,
    stage: &dyn Stage,
    dir: &Path,
    fingerprint: &str,
    counter: &str,
    ui: &Ui,
) -> Result<()> {
    let name = stage.name();
    if dir.exists() {
        ui.status(counter, name, "removing an unfinished earlier attempt");
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
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
    let ticker = Ticker::start(ui, counter, name, log.step_handle(), started);
    let result = stage.build(cx, dir, &mut log);
    drop(ticker);
    match result {
        Ok(()) => {
            std::fs::write(dir.join(COMPLETE), fingerprint)
                .with_context(|| format!("cannot mark {} complete", dir.display()))?;
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
                tail(&log_path, 25),
                log_path.display()
            )
        }
    }
}

/// Prints "still building" lines with the current step while a stage runs.
struct Ticker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
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

impl Drop for Ticker {
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
        name: &'static str,
        deps: Vec<&'static str>,
        input: Mutex<String>,
        builds: AtomicUsize,
        fail: bool,
    }

    impl Counting {
        fn new(name: &'static str, deps: &[&'static str]) -> Self {
            Self {
                name,
                deps: deps.to_vec(),
                input: Mutex::new("v1".into()),
                builds: AtomicUsize::new(0),
                fail: false,
            }
        }
    }

    impl Stage for Counting {
        fn name(&self) -> &'static str {
            self.name
        }
        fn deps(&self) -> Vec<&'static str> {
            self.deps.clone()
        }
        fn inputs(&self, _cx: &Context, fp: &mut Fingerprint) -> Result<()> {
            fp.add("input", self.input.lock().unwrap().as_str());
            Ok(())
        }
        fn build(&self, _cx: &Context, out: &Path, log: &mut Log) -> Result<()> {
            self.builds.fetch_add(1, Ordering::SeqCst);
            log.note("building");
            std::fs::write(out.join("artifact"), "x")?;
            if self.fail {
                bail!("deliberate failure");
            }
            Ok(())
        }
    }

    fn setup() -> (tempfile::TempDir, Layout, Pins) {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout {
            workspace: dir.path().join("ws"),
            target: dir.path().join("target"),
            cache: dir.path().join("cache"),
        };
        let pins = Pins::parse("[debian]\nsuite = \"trixie\"\n[artifact]\n").unwrap();
        (dir, layout, pins)
    }

    fn quiet() -> Ui {
        Ui {
            verbosity: Verbosity::Quiet,
            show_fresh: false,
        }
    }

    fn build_all(layout: &Layout, pins: &Pins, stages: &[&dyn Stage]) -> Result<()> {
        let cx = Context::new(layout, pins, true, 1);
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
        let cx = Context::new(&layout, &pins, true, 1);
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
    fn plan_takes_a_stage_and_its_dependencies_in_order() {
        let stages: Vec<Box<dyn Stage>> = vec![
            Box::new(Counting::new("fetch", &[])),
            Box::new(Counting::new("toolchain", &["fetch"])),
            Box::new(Counting::new("host", &["fetch"])),
            Box::new(Counting::new("cpython", &["toolchain"])),
        ];
        let names = |target| -> Vec<&str> {
            plan(&stages, target)
                .unwrap()
                .iter()
                .map(|s| s.name())
                .collect()
        };
        assert_eq!(names(Some("cpython")), ["fetch", "toolchain", "cpython"]);
        assert_eq!(names(None).len(), 4);
        let err = plan(&stages, Some("numpyy")).err().unwrap().to_string();
        assert!(err.contains("unknown stage `numpyy`"), "{err}");
    }
}
