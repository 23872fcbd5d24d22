//! The background thread that advances an engine's epoch.
//!
//! Deadlines are expressed to wasmtime in epoch ticks; one thread per
//! [`crate::Engine`] bumps the epoch every [`TICK`] so a deadline of `d` is
//! `d / TICK` ticks. The thread holds only a weak reference to the engine and
//! is never joined, so it neither keeps the engine alive nor delays process
//! exit.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

/// Interval between epoch increments.
pub const TICK: Duration = Duration::from_millis(10);

/// Stops its thread when dropped.
#[derive(Debug)]
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<thread::Thread>,
}

impl EpochTicker {
    /// Starts ticking `engine`'s epoch every [`TICK`].
    pub(crate) fn start(engine: &wasmtime::Engine) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let flag = Arc::clone(&stop);
        let handle = thread::Builder::new()
            .name("wasm-epoch-ticker".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    thread::park_timeout(TICK);
                    match weak.upgrade() {
                        Some(engine) if !flag.load(Ordering::Relaxed) => engine.increment_epoch(),
                        _ => break,
                    }
                }
            })
            .map_err(|e| anyhow::anyhow!("cannot spawn the epoch ticker thread: {e}"))?;
        Ok(Self {
            stop,
            thread: Some(handle.thread().clone()),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.unpark();
        }
    }
}
