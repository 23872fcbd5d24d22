//! The load benchmark's figures: latency percentiles and this process's
//! resident memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};

/// Latencies of a set of calls, sorted.
pub struct Latencies(Vec<Duration>);

impl Latencies {
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        Self(samples)
    }

    /// The `p`-th percentile (nearest rank), zero for no samples.
    pub fn percentile(&self, p: f64) -> Duration {
        let n = self.0.len();
        if n == 0 {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        self.0[rank.clamp(1, n) - 1]
    }

    pub fn max(&self) -> Duration {
        self.0.last().copied().unwrap_or_default()
    }
}

/// This process's resident set size (`VmRSS`), in bytes.
pub fn rss() -> Result<u64> {
    let status = fs_err::read_to_string("/proc/self/status")?;
    vm_rss(&status).context("/proc/self/status has no VmRSS line")
}

fn vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Samples [`rss`] every few milliseconds on a thread of its own and keeps
/// the highest value, until dropped.
pub struct PeakRss {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl PeakRss {
    pub fn start() -> Result<Self> {
        let peak = Arc::new(AtomicU64::new(rss()?));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (Arc::clone(&peak), Arc::clone(&stop));
        let thread = thread::Builder::new()
            .name("rss-sampler".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    if let Ok(now) = rss() {
                        p.fetch_max(now, Ordering::Relaxed);
                    }
                    thread::sleep(Duration::from_millis(5));
                }
            })
            .context("cannot start the RSS sampler")?;
        Ok(Self {
            peak,
            stop,
            thread: Some(thread),
        })
    }

    /// The highest RSS seen so far.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for PeakRss {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let l = Latencies::new((1..=100).rev().map(Duration::from_millis).collect());
        assert_eq!(l.percentile(50.0), Duration::from_millis(50));
        assert_eq!(l.percentile(99.0), Duration::from_millis(99));
        assert_eq!(l.percentile(100.0), Duration::from_millis(100));
        assert_eq!(l.max(), Duration::from_millis(100));
        assert_eq!(Latencies::new(vec![]).percentile(50.0), Duration::ZERO);
    }

    #[test]
    fn vm_rss_reads_kib() {
        let status = "Name:\tx\nVmPeak:\t  10 kB\nVmRSS:\t  2048 kB\n";
        assert_eq!(vm_rss(status), Some(2 << 20));
        assert_eq!(vm_rss("Name:\tx\n"), None);
        assert!(rss().unwrap() > 0);
    }
}
