//! The errors a newcomer meets first, typed so that callers and tests can
//! tell them apart, each with what to do about it (as cargo-nextest's
//! errors carry their fix). Everything else stays an `anyhow` message.

use std::fmt;
use std::path::PathBuf;

/// A mistake in the project's inputs, with its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mistake {
    /// The project has no lock yet.
    NoLock {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The lock was written by a cargo faasm-py of another lock format.
    LockFormat {
        /// The lock.
        path: PathBuf,
        /// Its format.
        found: u32,
        /// The format this tool reads.
        reads: u32,
    },
    /// The lock was made for another configuration.
    StaleLock {
        /// The lock.
        path: PathBuf,
        /// How they differ.
        differs: String,
    },
    /// The lock has no resolution for the CPython asked for.
    LockLacksPython {
        /// `3.14`.
        version: String,
    },
    /// `build <stage>` names no stage.
    UnknownStage {
        /// What was asked for.
        name: String,
        /// The stages there are.
        stages: Vec<String>,
    },
    /// A stage or the plan names an artifact nothing pins.
    MissingPin {
        /// The artifact.
        name: String,
    },
    /// A package has the name of a built-in stage.
    PackageNamedLikeStage {
        /// The package (and stage) name.
        package: String,
    },
}

impl Mistake {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::NoLock { .. } | Self::LockFormat { .. } | Self::StaleLock { .. } => {
                "run `cargo faasm-py lock`".into()
            }
            Self::LockLacksPython { version } => format!(
                "run `cargo faasm-py lock` (it resolves every CPython the pins know; is {version} pinned in sources.toml?)"
            ),
            Self::UnknownStage { .. } => {
                "name a stage above, or a package of the configuration".into()
            }
            Self::MissingPin { name } => format!(
                "add an [artifact.{name}] table to third-party/sources.toml, or run `cargo faasm-py lock` if it is a package's file"
            ),
            Self::PackageNamedLikeStage { .. } => {
                "a built-in stage has that name; rename the package or its configuration entry"
                    .into()
            }
        }
    }
}

impl fmt::Display for Mistake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoLock { path } => write!(f, "{} does not exist", path.display()),
            Self::LockFormat { path, found, reads } => write!(
                f,
                "{} has format {found}, this cargo faasm-py reads {reads}",
                path.display()
            ),
            Self::StaleLock { path, differs } => write!(
                f,
                "{} does not match the configuration ({differs})",
                path.display()
            ),
            Self::LockLacksPython { version } => {
                write!(f, "the lock has no resolution for CPython {version}")
            }
            Self::UnknownStage { name, stages } => write!(
                f,
                "unknown stage `{name}`; stages are: {}",
                stages.join(", ")
            ),
            Self::MissingPin { name } => write!(f, "`{name}` is not pinned"),
            Self::PackageNamedLikeStage { package } => {
                write!(f, "package `{package}` has the name of a built-in stage")
            }
        }?;
        write!(f, "; hint: {}", self.hint())
    }
}

impl std::error::Error for Mistake {}

/// The [`Mistake`] somewhere in `err`'s chain, if there is one.
pub fn mistake_in(err: &anyhow::Error) -> Option<&Mistake> {
    err.chain().find_map(|e| e.downcast_ref::<Mistake>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_says_what_and_what_to_do_on_one_line() {
        let all = [
            Mistake::NoLock {
                path: "p/faasm-py.lock".into(),
            },
            Mistake::LockFormat {
                path: "p".into(),
                found: 1,
                reads: 2,
            },
            Mistake::StaleLock {
                path: "p".into(),
                differs: "x".into(),
            },
            Mistake::LockLacksPython {
                version: "3.15".into(),
            },
            Mistake::UnknownStage {
                name: "nupmy".into(),
                stages: vec!["fetch".into()],
            },
            Mistake::MissingPin { name: "z".into() },
            Mistake::PackageNamedLikeStage {
                package: "link".into(),
            },
        ];
        for mistake in all {
            let text = mistake.to_string();
            assert!(!text.contains('\n'), "{text}");
            assert!(text.contains("; hint: "), "{text}");
            let err = anyhow::Error::new(mistake.clone()).context("while building");
            assert_eq!(mistake_in(&err), Some(&mistake));
        }
    }
}
