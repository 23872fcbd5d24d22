//! `cargo faasm-py lock`: resolves the configured packages and their
//! dependencies for every CPython version the pins know, and writes
//! `faasm-py.lock` beside the project's `Cargo.toml`.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::{Global, LockArgs};
use crate::layout::Layout;
use crate::lock;
use crate::pins::Pins;
use crate::process::Log;
use crate::project;
use crate::ui::Ui;

/// Locks the project's configuration (or, in the faasm-py repository with
/// `--default-config`, the default configuration the binary carries).
pub fn lock(layout: &Layout, _global: &Global, args: LockArgs, ui: &Ui) -> Result<ExitCode> {
    let (config, dir) = if args.default_config {
        if layout.project.as_ref() != Some(&layout.sources) {
            bail!(
                "--default-config locks the default configuration of the faasm-py repository: run it there"
            );
        }
        (
            project::default(&layout.default_config())?,
            layout.default_lock_dir(),
        )
    } else {
        match (&layout.project, &layout.config_table) {
            (Some(project), Some(_)) => (layout.config()?, project.clone()),
            (Some(project), None) => bail!(
                "{} has no {} table: add one listing your packages (see the README), then lock",
                project.join("Cargo.toml").display(),
                project::TABLE
            ),
            (None, _) => bail!(
                "not in a Cargo project: the default configuration's lock is built in; create a project with a {} table to lock your own",
                project::TABLE
            ),
        }
    };
    let pins = Pins::load(&layout.sources_toml())?;
    let mut log = Log::create(&layout.logs().join("lock.log"))?;
    ui.info(&format!(
        "resolving {} packages for CPython {} (log: {})",
        config.all_packages().count(),
        pins.python
            .versions
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        log.path().display()
    ));
    let project_root = layout
        .project
        .clone()
        .unwrap_or_else(|| layout.sources.clone());
    let locked =
        crate::resolve::lock(&config, &project_root, &pins, &layout.downloads(), &mut log)?;
    locked.save(&dir)?;
    for (version, resolution) in &locked.python {
        let built = resolution
            .package
            .iter()
            .filter(|p| p.build().is_some())
            .count();
        ui.info(&format!(
            "CPython {version}: {} packages ({built} to build, {} wheels), {} build tools",
            resolution.package.len(),
            resolution.package.len() - built,
            resolution.build_tool.len()
        ));
    }
    ui.info(&format!("wrote {}", dir.join(lock::FILE).display()));
    Ok(ExitCode::SUCCESS)
}
