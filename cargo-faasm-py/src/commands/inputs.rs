//! What a command builds from: the pins for the selected CPython, the
//! project's configuration and the plan its lock makes of them, and the
//! stage context for running the pipeline over them.

use anyhow::Result;

use crate::cli::Global;
use crate::layout::Layout;
use crate::lock::{FILE as LOCK_FILE, Lock};
use crate::pins::Pins;
use crate::pipeline::Context;
use crate::plan::BuildPlan;
use crate::project::ProjectConfig;

/// What a command builds: the pins for the selected CPython, the
/// project's configuration, and the plan its lock makes of them.
pub struct Inputs {
    /// The pins, the lock's files among them.
    pub pins: Pins,
    /// The project's configuration (or the default one).
    pub config: ProjectConfig,
    /// The packages to build and install.
    pub plan: BuildPlan,
}

/// Reads the configuration, the pins and the lock, and checks they agree.
pub fn inputs(layout: &Layout, global: &Global) -> Result<Inputs> {
    let config = layout.config()?;
    let python = global.python.as_deref().or(config.python.as_deref());
    let mut pins = Pins::load(&layout.sources_toml())?.select_python(python)?;
    let lock_dir = layout.lock_dir();
    let lock = Lock::load(&lock_dir)?;
    lock.check_matches(&config, &lock_dir.join(LOCK_FILE))?;
    let version = pins.guest_layout()?.short_version();
    let plan = BuildPlan::new(&config, lock.for_python(&version)?, &mut pins, layout)?;
    Ok(Inputs { pins, config, plan })
}

/// The stage context for `inputs`, for code that runs the pipeline.
pub fn context<'a>(layout: &'a Layout, inputs: &'a Inputs, global: &Global) -> Result<Context<'a>> {
    Context::new(layout, &inputs.pins, global.offline, jobs(global))
}

/// `--jobs`, else the number of CPUs.
pub fn jobs(global: &Global) -> usize {
    global
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}
