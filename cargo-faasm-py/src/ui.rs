//! Terminal output: progress lines on stderr, respecting -q / -v.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

#[derive(Debug, Clone)]
pub struct Ui {
    pub verbosity: Verbosity,
    /// Whether to say so when a stage is already up to date.
    pub show_fresh: bool,
}

impl Ui {
    pub fn status(&self, counter: &str, subject: &str, message: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{counter:>7} {subject}: {message}");
        }
    }

    /// A stage that had nothing to do.
    pub fn fresh(&self, counter: &str, subject: &str) {
        if self.show_fresh {
            self.status(counter, subject, "up to date");
        }
    }

    pub fn info(&self, message: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{message}");
        }
    }

    pub fn progress_interval(&self) -> Duration {
        match self.verbosity {
            Verbosity::Verbose => Duration::from_secs(10),
            Verbosity::Normal => Duration::from_secs(30),
            Verbosity::Quiet => Duration::from_secs(3600 * 24),
        }
    }
}

pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}
