//! Terminal output: progress lines on stderr, respecting -q / -v.

use std::time::Duration;

/// How much to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Only errors (`-q`).
    Quiet,
    /// Stage lines and summaries.
    Normal,
    /// Progress more often (`-v`).
    Verbose,
}

/// Where progress goes (stderr), at what verbosity.
#[derive(Debug, Clone)]
pub struct Ui {
    /// How much to print.
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
