//! Per-test-case results of a suite run, and the parser for the JSON-lines
//! file the in-guest reporter appends to while tests run.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How one test case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseOutcome {
    /// Ran and passed.
    Passed,
    /// An assertion failed.
    Failed,
    /// An unexpected exception, in the test or its setup or teardown.
    Error,
    /// Skipped (the platform lacks what it needs, or it was deselected).
    Skipped,
    /// Expected to fail, and failed.
    Xfailed,
    /// Expected to fail, but passed.
    Xpassed,
    /// The guest died (trap, abort, exit) while this case was running.
    Crashed,
    /// The guest ran past its deadline while this case was running.
    Timeout,
}

impl CaseOutcome {
    /// Whether this outcome counts against the case.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            CaseOutcome::Failed | CaseOutcome::Error | CaseOutcome::Crashed | CaseOutcome::Timeout
        )
    }

    /// Whether the case's body ran and succeeded.
    pub fn is_pass(self) -> bool {
        matches!(self, CaseOutcome::Passed | CaseOutcome::Xpassed)
    }

    /// Whether the case did not count either way.
    pub fn is_skip(self) -> bool {
        matches!(self, CaseOutcome::Skipped | CaseOutcome::Xfailed)
    }

    /// The lowercase name used in the reporter's JSON and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseOutcome::Passed => "passed",
            CaseOutcome::Failed => "failed",
            CaseOutcome::Error => "error",
            CaseOutcome::Skipped => "skipped",
            CaseOutcome::Xfailed => "xfailed",
            CaseOutcome::Xpassed => "xpassed",
            CaseOutcome::Crashed => "crashed",
            CaseOutcome::Timeout => "timeout",
        }
    }

    /// Ordering used to merge two reports for one case: the larger wins, so a
    /// teardown error after a passing call makes the case an error.
    fn severity(self) -> u8 {
        match self {
            CaseOutcome::Passed => 0,
            CaseOutcome::Xpassed => 1,
            CaseOutcome::Skipped => 2,
            CaseOutcome::Xfailed => 3,
            CaseOutcome::Failed => 4,
            CaseOutcome::Error => 5,
            CaseOutcome::Timeout => 6,
            CaseOutcome::Crashed => 7,
        }
    }
}

impl fmt::Display for CaseOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One test case's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// pytest node id, e.g. `numpy/_core/tests/test_umath.py::TestX::test_y`.
    pub id: String,
    /// How it ended.
    pub outcome: CaseOutcome,
    /// Seconds, as measured inside the guest.
    pub duration: f64,
    /// Failure text (traceback or skip reason); empty when there is none.
    pub message: String,
}

/// All cases of one test module, run in one guest.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleResult {
    /// The test module, relative to its suite's root.
    pub module: String,
    /// Its cases, in the order they finished.
    pub cases: Vec<CaseResult>,
    /// Wall time of the whole module, start-up included.
    pub wall: Duration,
    /// How the guest ended when that is worth telling, e.g. `trapped: ...`.
    pub status_note: Option<String>,
}

/// A whole suite run.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteRun {
    /// The suite's name.
    pub suite: String,
    /// Every module of the plan, sorted by name.
    pub modules: Vec<ModuleResult>,
    /// Wall time of the whole run.
    pub wall: Duration,
}

/// The file a test module's output goes to, in its suite's log directory:
/// the runner writes it by this name and the HTML report links it.
pub fn log_file_name(module: &str) -> String {
    format!("{}.log", module.replace(['/', '.'], "_"))
}

impl SuiteRun {
    /// Every case of every module, in run order.
    pub fn cases(&self) -> impl Iterator<Item = &CaseResult> {
        self.modules.iter().flat_map(|m| m.cases.iter())
    }
}

/// One line of the reporter's output. Fields beyond `event` and `id` are
/// optional so that a start line and an end line share one shape.
#[derive(Deserialize)]
struct Event {
    event: String,
    id: String,
    outcome: Option<CaseOutcome>,
    #[serde(default)]
    duration: f64,
    #[serde(default)]
    message: String,
}

/// Parses the reporter's JSON lines into case results (in the order cases
/// first finished) and the id of the last case that started but never ended,
/// which is where the guest died.
///
/// Lines that do not parse are skipped: the guest may be killed halfway
/// through writing one, and a lost line must not hide all the others.
pub fn parse_report_lines(text: &str) -> (Vec<CaseResult>, Option<String>) {
    let mut cases: Vec<CaseResult> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    // Ids that started and have not ended since, in start order.
    let mut open: Vec<String> = Vec::new();

    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Ok(event) = serde_json::from_str::<Event>(line) else {
            continue;
        };
        match event.event.as_str() {
            "start" => {
                open.retain(|id| *id != event.id);
                open.push(event.id);
            }
            "end" => {
                let Some(outcome) = event.outcome else {
                    continue;
                };
                open.retain(|id| *id != event.id);
                match index.get(&event.id) {
                    Some(&i) => {
                        let case = &mut cases[i];
                        // Phases of one case add up to its total time.
                        case.duration += event.duration;
                        if outcome.severity() > case.outcome.severity() {
                            case.outcome = outcome;
                            case.message = event.message;
                        }
                    }
                    None => {
                        index.insert(event.id.clone(), cases.len());
                        cases.push(CaseResult {
                            id: event.id,
                            outcome,
                            duration: event.duration,
                            message: event.message,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    (cases, open.pop())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_classes() {
        assert!(CaseOutcome::Failed.is_failure());
        assert!(CaseOutcome::Error.is_failure());
        assert!(CaseOutcome::Crashed.is_failure());
        assert!(CaseOutcome::Timeout.is_failure());
        assert!(!CaseOutcome::Passed.is_failure());
        assert!(!CaseOutcome::Skipped.is_failure());
        assert!(!CaseOutcome::Xfailed.is_failure());
        assert!(!CaseOutcome::Xpassed.is_failure());
        assert_eq!(
            serde_json::to_string(&CaseOutcome::Xpassed).unwrap(),
            "\"xpassed\""
        );
    }

    #[test]
    fn parses_complete_report() {
        let text = r#"{"event":"start","id":"t.py::a"}
{"event":"end","id":"t.py::a","outcome":"passed","duration":0.5,"message":""}
{"event":"start","id":"t.py::b"}
{"event":"end","id":"t.py::b","outcome":"failed","duration":0.25,"message":"assert 1 == 2"}
"#;
        let (cases, died_in) = parse_report_lines(text);
        assert_eq!(died_in, None);
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].id, "t.py::a");
        assert_eq!(cases[0].outcome, CaseOutcome::Passed);
        assert_eq!(cases[0].duration, 0.5);
        assert_eq!(cases[1].outcome, CaseOutcome::Failed);
        assert_eq!(cases[1].message, "assert 1 == 2");
    }

    #[test]
    fn truncated_last_line_is_ignored() {
        let text = r#"{"event":"start","id":"t.py::a"}
{"event":"end","id":"t.py::a","outcome":"passed","duration":0.1,"message":""}
{"event":"start","id":"t.py::b"}
{"event":"end","id":"t.py::b","outcome":"fai"#;
        let (cases, died_in) = parse_report_lines(text);
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].id, "t.py::a");
        // The end of b was lost, so b is where the guest died.
        assert_eq!(died_in.as_deref(), Some("t.py::b"));
    }

    #[test]
    fn start_without_end_names_the_crashing_case() {
        let text = r#"{"event":"start","id":"t.py::a"}
{"event":"end","id":"t.py::a","outcome":"passed","duration":0.1,"message":""}
not json at all
{"event":"start","id":"t.py::boom"}
"#;
        let (cases, died_in) = parse_report_lines(text);
        assert_eq!(cases.len(), 1);
        assert_eq!(died_in.as_deref(), Some("t.py::boom"));
    }

    #[test]
    fn second_end_keeps_the_worst_outcome() {
        let text = r#"{"event":"start","id":"t.py::a"}
{"event":"end","id":"t.py::a","outcome":"passed","duration":0.5,"message":""}
{"event":"end","id":"t.py::a","outcome":"error","duration":0.25,"message":"teardown failed"}
{"event":"start","id":"t.py::b"}
{"event":"end","id":"t.py::b","outcome":"failed","duration":0.1,"message":"call failed"}
{"event":"end","id":"t.py::b","outcome":"passed","duration":0.1,"message":""}
"#;
        let (cases, died_in) = parse_report_lines(text);
        assert_eq!(died_in, None);
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].outcome, CaseOutcome::Error);
        assert_eq!(cases[0].message, "teardown failed");
        assert_eq!(cases[0].duration, 0.75);
        assert_eq!(cases[1].outcome, CaseOutcome::Failed);
        assert_eq!(cases[1].message, "call failed");
    }
}
