//! `cargo xtask bench --load`: the embedding API under load. One
//! `harness::Python` on the snapshot serves many calls from as many threads
//! as the machine has cores; each call has its own argv, environment,
//! `/tmp` and working directory (removed after it), a deadline and a
//! memory cap, and its answer is checked against what the host computes.
//! Reports throughput, latency percentiles and this process's RSS before
//! the first call, after a warm-up and after the last call; fails when a
//! call fails, an answer is wrong or shows another call's state, or the RSS
//! grew beyond [`RSS_GROWTH_BOUND`]. The same calls as whole native
//! `python -c` processes give the ratio.

mod call;
mod stats;

use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use cargo_faasm_py::commands::{Modules, inputs, load_python};
use cargo_faasm_py::layout::Layout;
use cargo_faasm_py::ui::{Ui, Verbosity};

use call::{Draws, Scratch};
use stats::{Latencies, PeakRss, mib, rss};

/// How far the RSS after the last call may exceed the RSS after the
/// warm-up. Each call's linear memory is unmapped when it ends; what may
/// stay is the allocator's caches, and the bench's own record of each
/// call (about 50 bytes: 30,000 calls grew the RSS by 2.9 MiB in all,
/// 2026-12-07).
pub const RSS_GROWTH_BOUND: u64 = 16 << 20;

/// Calls per thread before the measured ones: first page faults of the
/// compiled code, the allocator's arenas, the first scratch directories.
const WARM_UP_PER_THREAD: usize = 25;

/// Failures printed in full; the rest are counted.
const SHOWN_FAILURES: usize = 5;

/// Options of `cargo xtask bench --load`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Measured calls through the embedded python.wasm.
    pub calls: usize,
    /// The same calls as whole native processes (0: none).
    pub native_calls: usize,
    /// Threads making calls at once.
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            calls: 10_000,
            // A native call is a whole process that imports numpy: a tenth
            // as many is enough for its percentiles.
            native_calls: 1_000,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

pub fn load(layout: &Layout, options: &Options) -> Result<()> {
    let ui = Ui {
        verbosity: Verbosity::Quiet,
        show_fresh: false,
    };
    let pins = inputs(layout, &cargo_faasm_py::cli::Global::default())?.pins;
    // As a server has it: deadlines on, the snapshot for every call.
    let python = load_python(
        layout,
        &pins,
        Modules::Both,
        harness::EngineOptions::default(),
        &ui,
    )?;
    let native = layout.native_env().join("bin/python");
    if options.native_calls > 0 && !native.is_file() {
        bail!(
            "no native python at {} (the native stage builds it)",
            native.display()
        );
    }
    println!(
        "The embedding API under load: one harness::Python (python-snapshot.wasm, an engine with deadlines), {} threads; \
         each call `python -c xtask/bench/load_call.py ID` with its own argv, CALL_ID, /tmp and working directory, \
         a {} s deadline and a {} MiB memory cap\n",
        options.threads,
        call::DEADLINE.as_secs(),
        call::MEMORY_LIMIT >> 20
    );

    let run = measure(&python, &native, options)?;
    report(&run);
    verdict(&run)
}

/// What one run of the benchmark measured.
struct Run {
    warm_up: usize,
    /// RSS after loading, after the warm-up, after the last call, and the
    /// highest seen.
    rss: [u64; 4],
    guest: Tally,
    guest_figures: Figures,
    native: Option<(Tally, Figures)>,
}

/// The warm-up, the measured calls, then the native ones.
fn measure(python: &harness::Python, native: &Path, options: &Options) -> Result<Run> {
    let threads = options.threads;
    let loaded = rss()?;
    let peak = PeakRss::start()?;
    let mut guest = Tally::default();
    let warm_up = threads * WARM_UP_PER_THREAD;
    eprintln!("warm-up: {warm_up} calls…");
    guest.add_all(drive(threads, 0..warm_up, |id| guest_call(python, id)));
    let warm = rss()?;
    eprintln!("measuring {} calls…", options.calls);
    let start = Instant::now();
    let measured = drive(threads, warm_up..warm_up + options.calls, |id| {
        guest_call(python, id)
    });
    let wall = start.elapsed();
    let after = rss()?;
    let peak = peak.peak();
    let guest_figures = Figures::of(&measured, wall);
    guest.add_all(measured);

    let native = (options.native_calls > 0).then(|| {
        eprintln!("native: {} calls…", options.native_calls);
        let start = Instant::now();
        let done = drive(threads, 0..options.native_calls, |id| {
            native_call(native, id)
        });
        let figures = Figures::of(&done, start.elapsed());
        let mut tally = Tally::default();
        tally.add_all(done);
        (tally, figures)
    });
    Ok(Run {
        warm_up,
        rss: [loaded, warm, after, peak],
        guest,
        guest_figures,
        native,
    })
}

fn report(run: &Run) {
    println!(
        "{:<36} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "", "calls", "calls/s", "p50", "p90", "p99", "max"
    );
    println!("{:<36} {:>7}", "harness::Python, warm-up", run.warm_up);
    run.guest_figures.print("harness::Python (snapshot)");
    if let Some((_, native)) = &run.native {
        native.print("native `python -c`, whole process");
        run.guest_figures.print_ratio(native);
    }
    let [loaded, warm, after, peak] = run.rss;
    let growth = after.saturating_sub(warm);
    println!(
        "\nhost RSS: {:.1} MiB loaded, {:.1} MiB after the warm-up, {:.1} MiB after the last call \
         (+{:.1} MiB; bound +{} MiB: {}); peak {:.1} MiB",
        mib(loaded),
        mib(warm),
        mib(after),
        mib(growth),
        RSS_GROWTH_BOUND >> 20,
        if growth <= RSS_GROWTH_BOUND {
            "ok"
        } else {
            "EXCEEDED"
        },
        mib(peak)
    );
    let guest = &run.guest;
    println!(
        "guest: {} answers checked, {} failed calls, {} isolation failures \
         (a wrong answer, another call's leftovers, or a repeated random draw; {} draws compared)",
        guest.checked,
        guest.failed,
        guest.isolation_failures(),
        guest.draws.len() + guest.repeated_draws
    );
    if let Some((native, _)) = &run.native {
        println!(
            "native: {} answers checked, {} failed or wrong",
            native.checked,
            native.failed + native.isolation_failures()
        );
    }
    let native = run.native.as_ref().map(|(tally, _)| tally);
    for (what, tally) in [("guest", Some(guest)), ("native", native)] {
        for example in tally.iter().flat_map(|t| &t.examples) {
            println!("{what} failure: {example}");
        }
    }
}

/// An error unless every call was right and the RSS stayed within bound.
fn verdict(run: &Run) -> Result<()> {
    let guest = &run.guest;
    if guest.failed + guest.isolation_failures() > 0 {
        bail!(
            "{} failed calls and {} isolation failures in the guest",
            guest.failed,
            guest.isolation_failures()
        );
    }
    if let Some((native, _)) = &run.native
        && native.failed + native.isolation_failures() > 0
    {
        bail!("native calls failed or were wrong: the comparison is void");
    }
    let [_, warm, after, _] = run.rss;
    let growth = after.saturating_sub(warm);
    if growth > RSS_GROWTH_BOUND {
        bail!(
            "the host's RSS grew by {:.1} MiB over the measured calls, beyond the bound of {} MiB",
            mib(growth),
            RSS_GROWTH_BOUND >> 20
        );
    }
    Ok(())
}

/// How a call ended.
enum Outcome {
    /// The right answer, with its random draws.
    Right(Draws),
    /// The call did not end with status 0, or could not be made.
    Failed(String),
    /// A wrong answer, or one showing another call's state.
    Wrong(String),
}

/// A finished call: its latency (the call alone, without making and
/// removing its directories) and how it ended.
struct Done {
    latency: Duration,
    outcome: Outcome,
}

/// Calls `call` for each of `ids` from `threads` threads at once.
fn drive(threads: usize, ids: Range<usize>, call: impl Fn(usize) -> Done + Sync) -> Vec<Done> {
    let next = AtomicUsize::new(ids.start);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let id = next.fetch_add(1, Ordering::Relaxed);
                        if id >= ids.end {
                            return done;
                        }
                        done.push(call(id));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// Call `id` through the embedded python.wasm.
fn guest_call(python: &harness::Python, id: usize) -> Done {
    let scratch = match Scratch::new() {
        Ok(s) => s,
        Err(e) => return not_made(id, &e),
    };
    let start = Instant::now();
    let out = python.run(call::guest_run(id, &scratch));
    let latency = start.elapsed();
    let outcome = match out {
        Err(e) => Outcome::Failed(format!("call {id}: {e:#}")),
        Ok(out) => ended(
            id,
            out.status.success(),
            &out.status,
            &out.stdout,
            &out.stderr,
            &scratch,
        ),
    };
    Done { latency, outcome }
}

/// Call `id` as a whole native process.
fn native_call(python: &Path, id: usize) -> Done {
    let scratch = match Scratch::new() {
        Ok(s) => s,
        Err(e) => return not_made(id, &e),
    };
    let mut cmd = call::native_command(python, id, &scratch);
    let start = Instant::now();
    let out = cmd.output();
    let latency = start.elapsed();
    let outcome = match out {
        Err(e) => Outcome::Failed(format!("call {id}: cannot run {}: {e}", python.display())),
        Ok(out) => ended(
            id,
            out.status.success(),
            &out.status,
            &out.stdout,
            &out.stderr,
            &scratch,
        ),
    };
    Done { latency, outcome }
}

/// The outcome of call `id` that ran to its end, guest or native alike: a
/// failing exit with its last line of stderr, else its answer checked.
fn ended(
    id: usize,
    success: bool,
    status: &dyn std::fmt::Display,
    stdout: &[u8],
    stderr: &[u8],
    scratch: &Scratch,
) -> Outcome {
    if success {
        judge(call::check(id, stdout, scratch))
    } else {
        Outcome::Failed(format!("call {id} {status}: {}", last_line(stderr)))
    }
}

fn not_made(id: usize, e: &anyhow::Error) -> Done {
    Done {
        latency: Duration::ZERO,
        outcome: Outcome::Failed(format!("call {id}: cannot make its directories: {e:#}")),
    }
}

fn judge(checked: Result<Draws, String>) -> Outcome {
    match checked {
        Ok(draws) => Outcome::Right(draws),
        Err(wrong) => Outcome::Wrong(wrong),
    }
}

fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    text.lines()
        .last()
        .unwrap_or("(nothing on stderr)")
        .to_owned()
}

/// Counts of how calls ended, and every random draw seen.
#[derive(Default)]
struct Tally {
    checked: usize,
    failed: usize,
    wrong: usize,
    repeated_draws: usize,
    draws: HashSet<(usize, u64)>,
    examples: Vec<String>,
}

impl Tally {
    fn add_all(&mut self, done: Vec<Done>) {
        for d in done {
            self.add(d.outcome);
        }
    }

    fn add(&mut self, outcome: Outcome) {
        self.checked += 1;
        let problem = match outcome {
            Outcome::Right(draws) => {
                // Each kind apart: a value repeated within one kind means
                // two calls shared that generator's state.
                for (kind, value) in draws.into_iter().enumerate() {
                    if !self.draws.insert((kind, value)) {
                        self.repeated_draws += 1;
                        let name = ["random", "numpy.random", "os.urandom"][kind];
                        self.note(format!("{name} drew {value:016x} twice"));
                    }
                }
                return;
            }
            Outcome::Failed(message) => {
                self.failed += 1;
                message
            }
            Outcome::Wrong(message) => {
                self.wrong += 1;
                message
            }
        };
        self.note(problem);
    }

    fn note(&mut self, problem: String) {
        if self.examples.len() < SHOWN_FAILURES {
            self.examples.push(problem);
        }
    }

    fn isolation_failures(&self) -> usize {
        self.wrong + self.repeated_draws
    }
}

/// Throughput and latency of one set of calls.
struct Figures {
    calls: usize,
    per_second: f64,
    latencies: Latencies,
}

impl Figures {
    fn of(done: &[Done], wall: Duration) -> Self {
        Self {
            calls: done.len(),
            per_second: done.len() as f64 / wall.as_secs_f64().max(f64::EPSILON),
            latencies: Latencies::new(done.iter().map(|d| d.latency).collect()),
        }
    }

    fn points(&self) -> [Duration; 4] {
        let l = &self.latencies;
        [
            l.percentile(50.0),
            l.percentile(90.0),
            l.percentile(99.0),
            l.max(),
        ]
    }

    fn print(&self, name: &str) {
        let [p50, p90, p99, max] = self.points().map(ms);
        println!(
            "{name:<36} {:>7} {:>9.1} {p50:>7.1}ms {p90:>7.1}ms {p99:>7.1}ms {max:>7.1}ms",
            self.calls, self.per_second
        );
    }

    /// wasm / native for each column, as the other bench rows.
    fn print_ratio(&self, native: &Self) {
        let ratio = |w: f64, n: f64| w / n.max(f64::EPSILON);
        let [p50, p90, p99, max] = {
            let (w, n) = (self.points(), native.points());
            [0, 1, 2, 3].map(|i| ratio(ms(w[i]), ms(n[i])))
        };
        println!(
            "{:<36} {:>7} {:>8.2}x {p50:>8.2}x {p90:>8.2}x {p99:>8.2}x {max:>8.2}x",
            "ratio wasm / native",
            "",
            ratio(self.per_second, native.per_second)
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
