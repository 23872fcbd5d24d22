//! Test suites, independent of wasm: their definitions, per-case results,
//! the baseline of cases not expected to pass, the regression gate, and
//! reports.
//!
//! - [`definition`]: `pytests/<suite>/suite.toml` as a [`SuiteDef`].
//! - [`results`]: [`CaseOutcome`], [`CaseResult`], [`ModuleResult`],
//!   [`SuiteRun`] and [`parse_report_lines`] for the in-guest reporter's
//!   JSON lines.
//! - [`baseline`]: `pytests/<suite>/baseline.toml` as a [`Baseline`].
//! - [`gate`]: [`gate::judge`] a run against a baseline, [`gate::bless`] a
//!   new baseline.
//! - [`report`]: terminal [`report::summary`], [`report::junit_xml`],
//!   [`report::JsonReport`] (the `<suite>.json` file, written and read
//!   through that one type) and the run's HTML page, [`report::html`],
//!   rendered from those.

pub mod baseline;
pub mod definition;
pub mod gate;
pub mod report;
pub mod results;

pub use baseline::Baseline;
pub use definition::{Root, Runner, Selection, SuiteDef};
pub use results::{CaseOutcome, CaseResult, ModuleResult, SuiteRun, parse_report_lines};
