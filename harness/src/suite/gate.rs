//! The regression gate: compares a suite run with its baseline, and rewrites
//! the baseline from a run ("blessing").

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use anyhow::{Result, bail};

use super::baseline::{Baseline, Group};
use super::results::{CaseOutcome, CaseResult, SuiteRun};

/// A case expected to pass that did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regression {
    /// The case.
    pub id: String,
    /// How it ended.
    pub outcome: CaseOutcome,
    /// Its failure text.
    pub message: String,
}

/// What a run means against its baseline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Passed or xpassed.
    pub passed: usize,
    /// Failed, errored, crashed or timed out, expected or not.
    pub failed: usize,
    /// Skipped or xfailed.
    pub skipped: usize,
    /// In the baseline and still failing.
    pub expected_failures: Vec<String>,
    /// In the baseline but now passing.
    pub fixed: Vec<String>,
    /// Not in the baseline and failing.
    pub regressions: Vec<Regression>,
    /// In the baseline but not run at all (renamed, removed or deselected).
    pub stale: Vec<String>,
    /// Baseline reason of every expected failure and fixed case, so reports
    /// can say why without the baseline at hand.
    pub reasons: BTreeMap<String, String>,
}

impl Verdict {
    /// Whether the gate passes: nothing expected to pass failed.
    pub fn ok(&self) -> bool {
        self.regressions.is_empty()
    }
}

/// Judges a run against a baseline. Cases not in the baseline, including
/// cases never seen before, are expected to pass.
pub fn judge(run: &SuiteRun, baseline: &Baseline) -> Verdict {
    judge_cases(run.cases(), baseline)
}

/// Judges any set of cases (a whole run, or one module's) against a
/// baseline; baseline cases not among them are stale.
pub fn judge_cases<'a>(
    cases: impl IntoIterator<Item = &'a CaseResult>,
    baseline: &Baseline,
) -> Verdict {
    let listed: HashMap<&str, &str> = baseline
        .groups
        .iter()
        .flat_map(|g| g.cases.iter().map(|c| (c.as_str(), g.reason.as_str())))
        .collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut v = Verdict::default();

    for case in cases {
        seen.insert(case.id.as_str());
        let reason = listed.get(case.id.as_str()).copied();
        if case.outcome.is_failure() {
            v.failed += 1;
            match reason {
                Some(reason) => {
                    v.expected_failures.push(case.id.clone());
                    v.reasons.insert(case.id.clone(), reason.to_owned());
                }
                None => v.regressions.push(Regression {
                    id: case.id.clone(),
                    outcome: case.outcome,
                    message: case.message.clone(),
                }),
            }
        } else if case.outcome.is_pass() {
            v.passed += 1;
            if let Some(reason) = reason {
                v.fixed.push(case.id.clone());
                v.reasons.insert(case.id.clone(), reason.to_owned());
            }
        } else {
            v.skipped += 1;
        }
    }

    v.stale = baseline
        .cases()
        .filter(|c| !seen.contains(c))
        .map(str::to_owned)
        .collect();
    v
}

/// How much of the suite a run covered, for [`bless`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// The whole suite ran: a baseline case it never saw no longer exists.
    Whole,
    /// A selection (`--ci`, `--filter`): unseen baseline cases are kept.
    Partial,
}

/// The baseline this run implies: exactly the cases failing in it, each in
/// its old group, plus, after a partial run, old cases it did not cover.
/// Failing cases new to the baseline go to a group with `reason_for_new`,
/// which is required when there are any.
pub fn bless(
    run: &SuiteRun,
    old: &Baseline,
    reason_for_new: Option<&str>,
    coverage: Coverage,
) -> Result<Baseline> {
    let seen: HashSet<&str> = run.cases().map(|c| c.id.as_str()).collect();
    let failing: BTreeSet<&str> = run
        .cases()
        .filter(|c| c.outcome.is_failure())
        .map(|c| c.id.as_str())
        .collect();
    let listed: HashSet<&str> = old.cases().collect();

    let mut groups: Vec<Group> = old
        .groups
        .iter()
        .map(|g| Group {
            reason: g.reason.clone(),
            cases: g
                .cases
                .iter()
                .filter(|c| {
                    failing.contains(c.as_str())
                        || (coverage == Coverage::Partial && !seen.contains(c.as_str()))
                })
                .cloned()
                .collect(),
        })
        .collect();

    let new: Vec<&str> = failing
        .iter()
        .copied()
        .filter(|c| !listed.contains(c))
        .collect();
    if !new.is_empty() {
        let reason = match reason_for_new {
            Some(r) if !r.trim().is_empty() => r,
            Some(_) => bail!(
                "the reason given for new failures is empty; every baseline entry needs a reason"
            ),
            None => {
                const SHOWN: usize = 5;
                let mut ids = new[..new.len().min(SHOWN)].join(", ");
                if new.len() > SHOWN {
                    ids.push_str(", ...");
                }
                bail!(
                    "suite {}: {} failing case(s) are not in the baseline ({ids}); \
                     pass --reason \"...\" to record them",
                    run.suite,
                    new.len()
                );
            }
        };
        let new = new.into_iter().map(str::to_owned);
        // Same reason as an existing group: extend it rather than repeat it.
        match groups.iter_mut().find(|g| g.reason == reason) {
            Some(group) => group.cases.extend(new),
            None => groups.push(Group {
                reason: reason.to_owned(),
                cases: new.collect(),
            }),
        }
    }

    groups.retain(|g| !g.cases.is_empty());
    for group in &mut groups {
        // Sorted like `Baseline::render`, so the result equals its own reload.
        group.cases.sort_unstable();
        group.cases.dedup();
    }
    Ok(Baseline { groups })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::suite::results::{CaseResult, ModuleResult};

    fn run(cases: &[(&str, CaseOutcome)]) -> SuiteRun {
        SuiteRun {
            suite: "demo".into(),
            modules: vec![ModuleResult {
                module: "t.py".into(),
                cases: cases
                    .iter()
                    .map(|&(id, outcome)| CaseResult {
                        id: id.into(),
                        outcome,
                        duration: 0.0,
                        message: format!("{id} {outcome}"),
                    })
                    .collect(),
                wall: Duration::from_secs(1),
                status_note: None,
            }],
            wall: Duration::from_secs(1),
        }
    }

    fn baseline(groups: &[(&str, &[&str])]) -> Baseline {
        Baseline {
            groups: groups
                .iter()
                .map(|(reason, cases)| Group {
                    reason: (*reason).into(),
                    cases: cases.iter().map(|c| (*c).into()).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn pass_to_fail_is_a_regression() {
        let v = judge(&run(&[("a", CaseOutcome::Failed)]), &Baseline::default());
        assert!(!v.ok());
        assert_eq!(v.failed, 1);
        assert_eq!(
            v.regressions,
            vec![Regression {
                id: "a".into(),
                outcome: CaseOutcome::Failed,
                message: "a failed".into()
            }]
        );
    }

    #[test]
    fn crash_and_timeout_and_error_are_regressions() {
        let v = judge(
            &run(&[
                ("a", CaseOutcome::Crashed),
                ("b", CaseOutcome::Timeout),
                ("c", CaseOutcome::Error),
            ]),
            &Baseline::default(),
        );
        assert_eq!(v.regressions.len(), 3);
        assert_eq!(v.failed, 3);
    }

    #[test]
    fn new_failing_case_is_a_regression() {
        let b = baseline(&[("r", &["old"])]);
        let v = judge(
            &run(&[
                ("old", CaseOutcome::Failed),
                ("brand_new", CaseOutcome::Failed),
            ]),
            &b,
        );
        assert!(!v.ok());
        assert_eq!(v.regressions.len(), 1);
        assert_eq!(v.regressions[0].id, "brand_new");
        assert_eq!(v.expected_failures, vec!["old".to_string()]);
    }

    #[test]
    fn baseline_case_now_passing_is_fixed() {
        let b = baseline(&[("r", &["a", "b"])]);
        let v = judge(
            &run(&[("a", CaseOutcome::Passed), ("b", CaseOutcome::Xpassed)]),
            &b,
        );
        assert!(v.ok());
        assert_eq!(v.fixed, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(v.passed, 2);
        assert_eq!(v.reasons.get("a").map(String::as_str), Some("r"));
    }

    #[test]
    fn baseline_case_still_failing_is_expected() {
        let b = baseline(&[("no fenv", &["a"])]);
        let v = judge(
            &run(&[("a", CaseOutcome::Crashed), ("b", CaseOutcome::Passed)]),
            &b,
        );
        assert!(v.ok());
        assert_eq!(v.expected_failures, vec!["a".to_string()]);
        assert_eq!(v.failed, 1);
        assert_eq!(v.passed, 1);
        assert_eq!(v.reasons.get("a").map(String::as_str), Some("no fenv"));
    }

    #[test]
    fn skipped_is_neither() {
        let b = baseline(&[("r", &["b"])]);
        let v = judge(
            &run(&[("a", CaseOutcome::Skipped), ("b", CaseOutcome::Xfailed)]),
            &b,
        );
        assert!(v.ok());
        assert_eq!(v.skipped, 2);
        assert!(v.fixed.is_empty());
        assert!(v.expected_failures.is_empty());
        assert!(v.stale.is_empty());
    }

    #[test]
    fn unseen_baseline_case_is_stale() {
        let b = baseline(&[("r", &["gone", "a"])]);
        let v = judge(&run(&[("a", CaseOutcome::Failed)]), &b);
        assert!(v.ok());
        assert_eq!(v.stale, vec!["gone".to_string()]);
    }

    #[test]
    fn bless_keeps_reasons_and_drops_fixed() {
        let old = baseline(&[("fenv", &["f2", "f1", "fixed"]), ("threads", &["t1"])]);
        let r = run(&[
            ("f1", CaseOutcome::Failed),
            ("f2", CaseOutcome::Error),
            ("fixed", CaseOutcome::Passed),
            ("t1", CaseOutcome::Timeout),
            ("ok", CaseOutcome::Passed),
        ]);
        let new = bless(&r, &old, None, Coverage::Partial).unwrap();
        assert_eq!(
            new,
            baseline(&[("fenv", &["f1", "f2"]), ("threads", &["t1"])])
        );
        assert!(judge(&r, &new).ok());
    }

    #[test]
    fn bless_without_reason_for_new_failures_errors() {
        let old = baseline(&[("fenv", &["f1"])]);
        let r = run(&[
            ("f1", CaseOutcome::Failed),
            ("n1", CaseOutcome::Failed),
            ("n2", CaseOutcome::Crashed),
        ]);
        let e = format!(
            "{:#}",
            bless(&r, &old, None, Coverage::Partial).unwrap_err()
        );
        assert!(e.contains("2 failing case"), "{e}");
        assert!(e.contains("n1") && e.contains("n2"), "{e}");
        assert!(e.contains("pass --reason"), "{e}");
        let e = format!(
            "{:#}",
            bless(&r, &old, Some(" "), Coverage::Partial).unwrap_err()
        );
        assert!(e.contains("every baseline entry needs a reason"), "{e}");

        let new = bless(&r, &old, Some("new trouble"), Coverage::Partial).unwrap();
        assert_eq!(
            new,
            baseline(&[("fenv", &["f1"]), ("new trouble", &["n1", "n2"])])
        );
        // A reason matching an existing group extends that group.
        let new = bless(&r, &old, Some("fenv"), Coverage::Partial).unwrap();
        assert_eq!(new, baseline(&[("fenv", &["f1", "n1", "n2"])]));
    }

    #[test]
    fn bless_keeps_stale_entries() {
        let old = baseline(&[
            ("fenv", &["not_run", "f1", "fixed"]),
            ("threads", &["t_not_run"]),
        ]);
        let r = run(&[("f1", CaseOutcome::Failed), ("fixed", CaseOutcome::Passed)]);
        let new = bless(&r, &old, None, Coverage::Partial).unwrap();
        assert_eq!(
            new,
            baseline(&[("fenv", &["f1", "not_run"]), ("threads", &["t_not_run"])])
        );
    }

    #[test]
    fn blessing_a_whole_run_drops_cases_that_no_longer_exist() {
        let old = baseline(&[("fenv", &["gone", "f1"])]);
        let r = run(&[("f1", CaseOutcome::Failed)]);
        let new = bless(&r, &old, None, Coverage::Whole).unwrap();
        assert_eq!(new, baseline(&[("fenv", &["f1"])]));
    }

    #[test]
    fn bless_result_round_trips_through_render() {
        let old = baseline(&[("fenv", &["z", "a"])]);
        let r = run(&[
            ("z", CaseOutcome::Failed),
            ("a", CaseOutcome::Failed),
            ("m", CaseOutcome::Failed),
        ]);
        let new = bless(&r, &old, Some("new"), Coverage::Partial).unwrap();
        let back = Baseline::parse(&new.render(), std::path::Path::new("b.toml")).unwrap();
        assert_eq!(back, new);
    }
}
