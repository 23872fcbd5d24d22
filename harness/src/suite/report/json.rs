//! The JSON report, `<suite>.json`, as one serde type: `cargo faasm-py test`
//! writes it and scripts, `cargo xtask bench` and tests read it back through
//! the same type, so its shape is defined in one place.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::suite::gate::Verdict;
use crate::suite::results::{CaseOutcome, CaseResult, SuiteRun};

/// A judged suite run, for scripts and trend tracking. Times are in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonReport {
    /// The suite's name.
    pub suite: String,
    /// Whether the gate passed.
    pub ok: bool,
    /// Wall time of the whole run.
    pub wall: f64,
    /// The summary's counts.
    pub counts: Counts,
    /// Failures the baseline does not expect.
    pub regressions: Vec<Regression>,
    /// Cases in the baseline that now pass.
    pub fixed: Vec<BaselineCase>,
    /// Failures the baseline expects.
    pub expected_failures: Vec<BaselineCase>,
    /// Ids in the baseline that were not run.
    pub stale: Vec<String>,
    /// Every module of the run, sorted by name.
    pub modules: Vec<Module>,
}

/// How many cases ended each way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Passed or xpassed.
    pub passed: usize,
    /// Failed, errored, crashed or timed out, expected or not.
    pub failed: usize,
    /// Skipped or xfailed.
    pub skipped: usize,
    /// Failures the baseline expects.
    pub expected_failures: usize,
    /// Cases in the baseline that now pass.
    pub fixed: usize,
    /// Failures the baseline does not expect.
    pub regressed: usize,
    /// Ids in the baseline that were not run.
    pub stale: usize,
}

/// A failure the baseline does not expect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    /// The case's pytest node id.
    pub id: String,
    /// How it ended.
    pub outcome: CaseOutcome,
    /// Its failure text.
    pub message: String,
}

/// A case the baseline lists, with the reason it gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineCase {
    /// The case's pytest node id.
    pub id: String,
    /// The baseline's reason for it, if it gives one.
    pub reason: Option<String>,
}

/// One test module's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Module {
    /// The test module, relative to its suite's root.
    pub module: String,
    /// Wall time of the whole module, start-up included.
    pub wall: f64,
    /// How the guest ended when that is worth telling.
    pub status_note: Option<String>,
    /// Its cases, in the order they finished.
    pub cases: Vec<CaseResult>,
}

impl Counts {
    /// The counts of a verdict.
    pub fn of(verdict: &Verdict) -> Self {
        Self {
            passed: verdict.passed,
            failed: verdict.failed,
            skipped: verdict.skipped,
            expected_failures: verdict.expected_failures.len(),
            fixed: verdict.fixed.len(),
            regressed: verdict.regressions.len(),
            stale: verdict.stale.len(),
        }
    }

    /// Each count with its label, in the order every report shows them.
    pub fn rows(&self) -> [(&'static str, usize); 7] {
        [
            ("passed", self.passed),
            ("failed", self.failed),
            ("skipped", self.skipped),
            ("expected failures", self.expected_failures),
            ("fixed", self.fixed),
            ("regressed", self.regressed),
            ("stale", self.stale),
        ]
    }
}

impl JsonReport {
    /// The report of `run`, judged as `verdict`.
    pub fn new(run: &SuiteRun, verdict: &Verdict) -> Self {
        let with_reason = |ids: &[String]| -> Vec<BaselineCase> {
            ids.iter()
                .map(|id| BaselineCase {
                    id: id.clone(),
                    reason: verdict.reasons.get(id).cloned(),
                })
                .collect()
        };
        Self {
            suite: run.suite.clone(),
            ok: verdict.ok(),
            wall: run.wall.as_secs_f64(),
            counts: Counts::of(verdict),
            regressions: verdict
                .regressions
                .iter()
                .map(|r| Regression {
                    id: r.id.clone(),
                    outcome: r.outcome,
                    message: r.message.clone(),
                })
                .collect(),
            fixed: with_reason(&verdict.fixed),
            expected_failures: with_reason(&verdict.expected_failures),
            stale: verdict.stale.clone(),
            modules: run
                .modules
                .iter()
                .map(|m| Module {
                    module: m.module.clone(),
                    wall: m.wall.as_secs_f64(),
                    status_note: m.status_note.clone(),
                    cases: m.cases.clone(),
                })
                .collect(),
        }
    }

    /// Pretty JSON with every object's keys in sorted order, as the reports
    /// have always been written (through a `serde_json::Value`, whose map
    /// sorts them), so reports diff cleanly from one run to the next.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(&serde_json::to_value(self)?)?)
    }

    /// Parses a report.
    pub fn from_json(text: &str) -> Result<Self> {
        Ok(serde_json::from_str(text)?)
    }

    /// Writes the report to `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        fs_err::write(path, self.to_json()?)?;
        Ok(())
    }

    /// Reads a report from `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = fs_err::read_to_string(path)?;
        Self::from_json(&text).with_context(|| format!("{} is not a suite report", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::suite::baseline::{Baseline, Group};
    use crate::suite::gate::judge;
    use crate::suite::results::ModuleResult;

    fn case(id: &str, outcome: CaseOutcome, message: &str) -> CaseResult {
        CaseResult {
            id: id.into(),
            outcome,
            duration: 0.5,
            message: message.into(),
        }
    }

    /// One module with a regression, an expected failure and a fixed case,
    /// and a stale id: every list of the report has an entry.
    fn sample() -> JsonReport {
        let run = SuiteRun {
            suite: "s".into(),
            modules: vec![ModuleResult {
                module: "t.py".into(),
                cases: vec![
                    case("t.py::bad", CaseOutcome::Crashed, "trap"),
                    case("t.py::known", CaseOutcome::Failed, "fenv"),
                    case("t.py::fixed", CaseOutcome::Passed, ""),
                ],
                wall: Duration::from_millis(1500),
                status_note: Some("trapped".into()),
            }],
            wall: Duration::from_secs(2),
        };
        let baseline = Baseline {
            groups: vec![Group {
                reason: "why".into(),
                cases: vec![
                    "t.py::known".into(),
                    "t.py::fixed".into(),
                    "t.py::gone".into(),
                ],
            }],
        };
        JsonReport::new(&run, &judge(&run, &baseline))
    }

    /// Other scripts read these files: the key names, their nesting and
    /// their (sorted) order are pinned here.
    const SAMPLE_JSON: &str = r#"{
  "counts": {
    "expected_failures": 1,
    "failed": 2,
    "fixed": 1,
    "passed": 1,
    "regressed": 1,
    "skipped": 0,
    "stale": 1
  },
  "expected_failures": [
    {
      "id": "t.py::known",
      "reason": "why"
    }
  ],
  "fixed": [
    {
      "id": "t.py::fixed",
      "reason": "why"
    }
  ],
  "modules": [
    {
      "cases": [
        {
          "duration": 0.5,
          "id": "t.py::bad",
          "message": "trap",
          "outcome": "crashed"
        },
        {
          "duration": 0.5,
          "id": "t.py::known",
          "message": "fenv",
          "outcome": "failed"
        },
        {
          "duration": 0.5,
          "id": "t.py::fixed",
          "message": "",
          "outcome": "passed"
        }
      ],
      "module": "t.py",
      "status_note": "trapped",
      "wall": 1.5
    }
  ],
  "ok": false,
  "regressions": [
    {
      "id": "t.py::bad",
      "message": "trap",
      "outcome": "crashed"
    }
  ],
  "stale": [
    "t.py::gone"
  ],
  "suite": "s",
  "wall": 2.0
}"#;

    #[test]
    fn key_names_and_shape_are_pinned() {
        assert_eq!(sample().to_json().unwrap(), SAMPLE_JSON);
    }

    #[test]
    fn round_trips() {
        let report = sample();
        let read = JsonReport::from_json(&report.to_json().unwrap()).unwrap();
        assert_eq!(read, report);
        assert_eq!(read.to_json().unwrap(), SAMPLE_JSON);
    }

    #[test]
    fn a_missing_reason_is_null() {
        let mut report = sample();
        report.fixed[0].reason = None;
        let text = report.to_json().unwrap();
        assert!(
            text.contains("\"id\": \"t.py::fixed\",\n      \"reason\": null"),
            "{text}"
        );
        assert_eq!(JsonReport::from_json(&text).unwrap(), report);
    }
}
