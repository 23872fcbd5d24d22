//! `cargo faasm-py clean [--downloads | --stale]`. Both hold the build
//! lock while they delete, so a concurrent build never loses what it is
//! writing.

use std::process::ExitCode;

use anyhow::Result;
use fs_err as fs;

use super::build::build_then;
use crate::cli::Global;
use crate::layout::Layout;
use crate::pipeline::lock_builds;
use crate::ui::Ui;

/// Brings the build up to date, then removes every stage output it does
/// not use, before letting go of the lock.
pub fn stale(layout: &Layout, global: &Global, ui: &Ui) -> Result<ExitCode> {
    build_then(layout, global, None, ui, |cx| {
        for dir in cx.stale_outputs()? {
            ui.info(&format!("removing {}", dir.display()));
            fs::remove_dir_all(&dir)?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Removes build outputs (and downloads).
pub fn clean(layout: &Layout, downloads: bool, ui: &Ui) -> Result<ExitCode> {
    let _lock = lock_builds(layout, ui)?;
    let mut dirs = vec![
        layout.out(),
        layout.builds(),
        layout.compiled_modules(),
        layout.cpython_install(),
        layout.host_python_install(),
    ];
    if downloads {
        dirs.push(layout.downloads());
        dirs.push(layout.apt());
    }
    for dir in dirs {
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => {
                ui.info(&format!("removing {}", dir.display()));
                fs::remove_dir_all(&dir)?;
            }
            Ok(_) => {
                ui.info(&format!("removing {}", dir.display()));
                fs::remove_file(&dir)?;
            }
            Err(_) => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}
