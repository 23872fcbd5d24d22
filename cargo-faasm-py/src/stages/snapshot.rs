//! `snapshot`: python.wasm pre-initialised — CPython started and the
//! configured modules (`preimport`, default numpy) imported — saved as
//! `python-snapshot.wasm` by wasmtime-wizer, so runs skip start-up. What a
//! run gets fresh and what stays fixed is in
//! `third-party/shims/python-main.c` and docs/snapshot.md.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use fs_err as fs;

use crate::digest::Fingerprint;
use crate::layout::Layout;
use crate::pipeline::{Contract, Stage, StageContext, StageId};
use crate::process::Log;

/// The `snapshot` stage.
pub struct SnapshotStage {
    /// Modules imported before the snapshot is taken.
    pub imports: Vec<String>,
}

impl Stage for SnapshotStage {
    fn id(&self) -> StageId {
        StageId::Snapshot
    }
    fn contract(&self) -> Contract {
        Contract::new(&[include_str!("snapshot.rs")])
            // The harness starts the guest and saves it: its code is part
            // of how the snapshot is made, and it says which of its files
            // are.
            .recipe(harness::snapshot::SOURCES.iter().copied())
            .stages([StageId::Link, StageId::Runtime])
            .guest()
            .publishes(Layout::SNAPSHOT_WASM, Layout::python_snapshot_wasm)
    }
    fn settings(&self, fp: &mut Fingerprint) {
        fp.add("imports", self.imports.join(","));
    }

    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        let wasm_path = cx.output(&StageId::Link)?.join(Layout::PYTHON_WASM);
        let wasm = fs::read(&wasm_path)?;
        let runtime = cx.output(&StageId::Runtime)?;
        let engine = harness::Engine::new(harness::EngineOptions::default())?;
        let scratch = tempfile::Builder::new()
            .prefix("faasm-py-snapshot-")
            .tempdir()
            .context("cannot create the snapshot's /tmp")?;
        log.step(&format!(
            "start CPython and import {} (compiling python.wasm first)",
            if self.imports.is_empty() {
                "nothing".to_owned()
            } else {
                self.imports.join(", ")
            }
        ));
        let started = Instant::now();
        let snapshot = harness::make_snapshot(
            &engine,
            &wasm,
            &runtime,
            cx.guest()?,
            &self.imports,
            harness::PythonRun::new(Vec::<String>::new(), scratch.path()),
        )?;
        log.note(&format!(
            "initialised in {:.2} s (the guest ran {:.2} s); {} bytes",
            started.elapsed().as_secs_f64(),
            snapshot.init.elapsed.as_secs_f64(),
            snapshot.wasm.len()
        ));
        for (name, text) in [
            ("stdout", &snapshot.init.stdout),
            ("stderr", &snapshot.init.stderr),
        ] {
            if !text.is_empty() {
                log.note(&format!(
                    "the guest's {name}:\n{}",
                    String::from_utf8_lossy(text)
                ));
            }
        }
        let tmp = out.join(format!("{}.tmp", Layout::SNAPSHOT_WASM));
        fs::write(&tmp, &snapshot.wasm)?;
        fs::rename(&tmp, out.join(Layout::SNAPSHOT_WASM))?;
        Ok(())
    }
}
