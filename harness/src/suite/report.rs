//! Renders a judged suite run: a terminal summary, JUnit XML for CI
//! dashboards, JSON for scripts ([`JsonReport`], in [`json`]), and one HTML
//! page for every suite of a run ([`html`], rendered from the JSON reports).

pub mod html;
pub mod json;

pub use json::JsonReport;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use super::gate::Verdict;
use super::results::{CaseOutcome, SuiteRun};
use crate::text::human_duration;
use json::Counts;

/// Longest message excerpt shown per case.
const MESSAGE_CHARS: usize = 200;
/// How many of the slowest modules the summary lists.
const SLOWEST: usize = 5;
/// How many stale ids the summary lists before just counting.
const STALE_SHOWN: usize = 5;

/// A readable terminal summary. With `native`, the same suite's run under
/// native CPython is shown alongside, so a regression that also fails
/// natively is easy to tell from one caused by wasm.
pub fn summary(run: &SuiteRun, verdict: &Verdict, native: Option<(&SuiteRun, &Verdict)>) -> String {
    let mut out = String::new();
    let status = if verdict.ok() {
        "ok".to_owned()
    } else {
        format!("FAILED, {} regressed", verdict.regressions.len())
    };
    let _ = writeln!(
        out,
        "suite {}: {status} ({} modules)",
        run.suite,
        run.modules.len()
    );

    let native_counts = native.map(|(_, v)| Counts::of(v).rows());
    for (i, (label, count)) in Counts::of(verdict).rows().into_iter().enumerate() {
        let _ = write!(out, "  {label:<18}{count:>8}");
        if let Some(nc) = &native_counts {
            let _ = write!(out, "   native {:>8}", nc[i].1);
        }
        out.push('\n');
    }
    let _ = write!(out, "  {:<18}{:>8}", "wall", human_duration(run.wall));
    if let Some((nrun, _)) = native {
        let _ = write!(out, "   native {:>8}", human_duration(nrun.wall));
    }
    out.push('\n');

    let mut slowest: Vec<_> = run.modules.iter().collect();
    slowest.sort_by(|a, b| b.wall.cmp(&a.wall).then_with(|| a.module.cmp(&b.module)));
    if !slowest.is_empty() {
        out.push_str("slowest modules:\n");
        for m in slowest.iter().take(SLOWEST) {
            let _ = writeln!(out, "  {:>9}  {}", human_duration(m.wall), m.module);
        }
    }

    let notes: Vec<_> = run
        .modules
        .iter()
        .filter_map(|m| m.status_note.as_deref().map(|n| (&m.module, n)))
        .collect();
    if !notes.is_empty() {
        out.push_str("module notes:\n");
        for (module, note) in notes {
            let _ = writeln!(out, "  {module}: {}", excerpt(note));
        }
    }

    if !verdict.regressions.is_empty() {
        let native_outcomes: Option<HashMap<&str, CaseOutcome>> =
            native.map(|(nrun, _)| nrun.cases().map(|c| (c.id.as_str(), c.outcome)).collect());
        let _ = writeln!(out, "regressions ({}):", verdict.regressions.len());
        for r in &verdict.regressions {
            let _ = write!(out, "  {:<8} {}", r.outcome.as_str().to_uppercase(), r.id);
            if let Some(outcomes) = &native_outcomes {
                let note = native_note(outcomes.get(r.id.as_str()).copied());
                let _ = write!(out, "  ({note})");
            }
            out.push('\n');
            let first = excerpt(&r.message);
            if !first.is_empty() {
                let _ = writeln!(out, "           {first}");
            }
        }
    }

    if !verdict.fixed.is_empty() {
        let _ = writeln!(
            out,
            "fixed ({}; in the baseline but now passing, bless to drop them):",
            verdict.fixed.len()
        );
        for id in &verdict.fixed {
            match verdict.reasons.get(id) {
                Some(reason) => {
                    let _ = writeln!(out, "  {id}  (was: {})", excerpt(reason));
                }
                None => {
                    let _ = writeln!(out, "  {id}");
                }
            }
        }
    }

    if !verdict.stale.is_empty() {
        let _ = writeln!(
            out,
            "stale ({}; in the baseline but not run):",
            verdict.stale.len()
        );
        for id in verdict.stale.iter().take(STALE_SHOWN) {
            let _ = writeln!(out, "  {id}");
        }
        if verdict.stale.len() > STALE_SHOWN {
            let _ = writeln!(out, "  ... and {} more", verdict.stale.len() - STALE_SHOWN);
        }
    }
    out
}

/// JUnit XML, one `<testsuite>` per module. Expected failures are written as
/// skipped so a dashboard is green exactly when the gate is.
pub fn junit_xml(run: &SuiteRun, verdict: &Verdict) -> String {
    let expected: HashSet<&str> = verdict
        .expected_failures
        .iter()
        .map(String::as_str)
        .collect();

    let mut suites = String::new();
    let (mut all_tests, mut all_failures, mut all_errors, mut all_skipped) = (0, 0, 0, 0);
    for m in &run.modules {
        let mut cases = String::new();
        let (mut failures, mut errors, mut skipped) = (0, 0, 0);
        for c in &m.cases {
            let (classname, name) = split_id(&c.id);
            let _ = write!(
                cases,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                attr(&classname),
                attr(name),
                seconds(c.duration)
            );
            if c.outcome.is_failure() && expected.contains(c.id.as_str()) {
                skipped += 1;
                let reason = verdict
                    .reasons
                    .get(&c.id)
                    .map_or("listed in the baseline", String::as_str);
                let _ = writeln!(
                    cases,
                    ">\n      <skipped message=\"expected failure: {}\"/>\n    </testcase>",
                    attr(reason)
                );
            } else if c.outcome.is_failure() {
                let tag = if c.outcome == CaseOutcome::Failed {
                    failures += 1;
                    "failure"
                } else {
                    errors += 1;
                    "error"
                };
                let _ = writeln!(
                    cases,
                    ">\n      <{tag} type=\"{}\" message=\"{}\">{}</{tag}>\n    </testcase>",
                    c.outcome,
                    attr(&excerpt(&c.message)),
                    text(&c.message)
                );
            } else if c.outcome.is_skip() {
                skipped += 1;
                let _ = writeln!(
                    cases,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    attr(&excerpt(&c.message))
                );
            } else {
                cases.push_str("/>\n");
            }
        }
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{:.3}\">",
            attr(&m.module),
            m.cases.len(),
            m.wall.as_secs_f64()
        );
        suites.push_str(&cases);
        if let Some(note) = &m.status_note {
            let _ = writeln!(suites, "    <system-err>{}</system-err>", text(note));
        }
        suites.push_str("  </testsuite>\n");
        all_tests += m.cases.len();
        all_failures += failures;
        all_errors += errors;
        all_skipped += skipped;
    }

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{all_tests}\" failures=\"{all_failures}\" errors=\"{all_errors}\" skipped=\"{all_skipped}\" time=\"{:.3}\">",
        attr(&run.suite),
        run.wall.as_secs_f64()
    );
    out.push_str(&suites);
    out.push_str("</testsuites>\n");
    out
}

/// How a case the guest failed ended natively, in words (`None`: the
/// native run did not have it).
fn native_note(outcome: Option<CaseOutcome>) -> &'static str {
    match outcome {
        Some(o) if o.is_failure() => "also fails natively",
        Some(o) if o.is_pass() => "passes natively",
        Some(_) => "skipped natively",
        None => "not run natively",
    }
}

/// Splits a pytest node id into JUnit's classname and name, the way pytest's
/// own JUnit writer does: `a/b/test_x.py::TestY::test_z[p]` becomes
/// (`a.b.test_x.TestY`, `test_z[p]`).
fn split_id(id: &str) -> (String, &str) {
    // Parameter ids may contain "::", so only look before the '['.
    let head = id.find('[').map_or(id, |i| &id[..i]);
    let Some(sep) = head.rfind("::") else {
        return (String::new(), id);
    };
    let path = &id[..sep];
    let name = &id[sep + 2..];
    let mut parts = path.split("::");
    let file = parts.next().unwrap_or_default();
    let file = file
        .strip_suffix(".py")
        .unwrap_or(file)
        .replace(['/', '\\'], ".");
    let mut classname = file;
    for part in parts {
        classname.push('.');
        classname.push_str(part);
    }
    (classname, name)
}

/// The first non-blank line of a message, trimmed and cut to a readable size.
fn excerpt(message: &str) -> String {
    let line = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    match line.char_indices().nth(MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_owned(),
    }
}

/// Durations from the guest are untrusted floats; keep the XML numeric.
fn seconds(s: f64) -> f64 {
    if s.is_finite() && s >= 0.0 { s } else { 0.0 }
}

/// Escapes text for an XML attribute value; newlines and tabs become
/// character references so parsers do not normalise them to spaces.
fn attr(s: &str) -> String {
    escape(s, true)
}

/// Escapes XML element content.
fn text(s: &str) -> String {
    escape(s, false)
}

fn escape(s: &str, in_attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' if in_attr => {
                let _ = write!(out, "&#{};", c as u32);
            }
            '\t' | '\n' => out.push(c),
            // A raw CR in content would be normalised to LF by parsers.
            '\r' => out.push_str("&#13;"),
            // XML 1.0 cannot carry these at all, not even as references
            // (ANSI colour codes in pytest output are the usual source), so
            // spell them out.
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::baseline::{Baseline, Group};
    use crate::suite::gate::judge;
    use crate::suite::results::{CaseResult, ModuleResult};
    use std::time::Duration;

    fn case(id: &str, outcome: CaseOutcome, message: &str) -> CaseResult {
        CaseResult {
            id: id.into(),
            outcome,
            duration: 0.25,
            message: message.into(),
        }
    }

    fn sample() -> (SuiteRun, Baseline) {
        let run = SuiteRun {
            suite: "numpy".into(),
            modules: vec![
                ModuleResult {
                    module: "numpy/tests/test_a.py".into(),
                    cases: vec![
                        case("numpy/tests/test_a.py::test_ok", CaseOutcome::Passed, ""),
                        case(
                            "numpy/tests/test_a.py::TestX::test_bad[a::b]",
                            CaseOutcome::Failed,
                            "assert a & b < c > d \"q\" 'x'\n  more\x1b[31m",
                        ),
                        case(
                            "numpy/tests/test_a.py::test_skip",
                            CaseOutcome::Skipped,
                            "no net",
                        ),
                        case(
                            "numpy/tests/test_a.py::test_expected",
                            CaseOutcome::Failed,
                            "fenv",
                        ),
                    ],
                    wall: Duration::from_millis(1500),
                    status_note: None,
                },
                ModuleResult {
                    module: "numpy/tests/test_b.py".into(),
                    cases: vec![
                        case(
                            "numpy/tests/test_b.py::test_crash",
                            CaseOutcome::Crashed,
                            "trap",
                        ),
                        case(
                            "numpy/tests/test_b.py::test_fixed",
                            CaseOutcome::Xpassed,
                            "",
                        ),
                        case(
                            "numpy/tests/test_b.py::test_xfail",
                            CaseOutcome::Xfailed,
                            "",
                        ),
                    ],
                    wall: Duration::from_secs(75),
                    status_note: Some("trapped: unreachable".into()),
                },
            ],
            wall: Duration::from_secs(80),
        };
        let baseline = Baseline {
            groups: vec![Group {
                reason: "wasm has no <fenv> & flags".into(),
                cases: vec![
                    "numpy/tests/test_a.py::test_expected".into(),
                    "numpy/tests/test_b.py::test_fixed".into(),
                    "numpy/tests/test_gone.py::test_stale".into(),
                ],
            }],
        };
        (run, baseline)
    }

    /// The value of `name="..."` in the first tag starting with `tag`.
    fn attr_of<'a>(xml: &'a str, tag: &str, name: &str) -> &'a str {
        let start = xml.find(tag).unwrap();
        let rest = &xml[start..];
        let rest = &rest[..rest.find('>').unwrap()];
        let key = format!(" {name}=\"");
        let at = rest.find(&key).unwrap() + key.len();
        let value = &rest[at..];
        &value[..value.find('"').unwrap()]
    }

    #[test]
    fn junit_counts_and_escaping() {
        let (run, baseline) = sample();
        let verdict = judge(&run, &baseline);
        let xml = junit_xml(&run, &verdict);

        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
        assert!(xml.trim_end().ends_with("</testsuites>"));
        assert_eq!(attr_of(&xml, "<testsuites", "tests"), "7");
        assert_eq!(attr_of(&xml, "<testsuites", "failures"), "1");
        assert_eq!(attr_of(&xml, "<testsuites", "errors"), "1");
        // skip, expected failure, xfail
        assert_eq!(attr_of(&xml, "<testsuites", "skipped"), "3");
        assert_eq!(attr_of(&xml, "<testsuites", "time"), "80.000");

        let a = &xml[xml
            .find("<testsuite name=\"numpy/tests/test_a.py\"")
            .unwrap()..];
        assert_eq!(attr_of(a, "<testsuite ", "tests"), "4");
        assert_eq!(attr_of(a, "<testsuite ", "failures"), "1");
        assert_eq!(attr_of(a, "<testsuite ", "errors"), "0");
        assert_eq!(attr_of(a, "<testsuite ", "skipped"), "2");
        assert_eq!(attr_of(a, "<testsuite ", "time"), "1.500");
        let b = &xml[xml
            .find("<testsuite name=\"numpy/tests/test_b.py\"")
            .unwrap()..];
        assert_eq!(attr_of(b, "<testsuite ", "errors"), "1");
        assert_eq!(attr_of(b, "<testsuite ", "skipped"), "1");
        assert_eq!(xml.matches("<testcase ").count(), 7);
        assert_eq!(xml.matches("<failure ").count(), 1);
        assert_eq!(xml.matches("<error ").count(), 1);
        assert_eq!(xml.matches("<skipped ").count(), 3);

        // Message escaped in both the attribute and the body.
        assert!(
            xml.contains("message=\"assert a &amp; b &lt; c &gt; d &quot;q&quot; &apos;x&apos;\""),
            "{xml}"
        );
        assert!(xml.contains(">assert a &amp; b &lt; c &gt; d &quot;q&quot; &apos;x&apos;\n  more\\u{1b}[31m</failure>"), "{xml}");
        assert!(!xml.contains('\x1b'));
        assert!(!xml.contains("a & b"));
        assert!(xml.contains(
            "<skipped message=\"expected failure: wasm has no &lt;fenv&gt; &amp; flags\"/>"
        ));
        assert!(
            xml.contains(
                "<testcase classname=\"numpy.tests.test_a.TestX\" name=\"test_bad[a::b]\""
            )
        );
        assert!(xml.contains("<system-err>trapped: unreachable</system-err>"));
    }

    #[test]
    fn escape_handles_specials() {
        assert_eq!(attr("a\nb\t\"&"), "a&#10;b&#9;&quot;&amp;");
        assert_eq!(text("a\nb\r\u{0}"), "a\nb&#13;\\u{0}");
    }

    #[test]
    fn split_id_forms() {
        assert_eq!(
            split_id("a/b/test_x.py::TestY::test_z[p::q]"),
            ("a.b.test_x.TestY".to_owned(), "test_z[p::q]")
        );
        assert_eq!(
            split_id("a/test_x.py::test_z"),
            ("a.test_x".to_owned(), "test_z")
        );
        assert_eq!(split_id("weird"), (String::new(), "weird"));
    }

    #[test]
    fn summary_lists_counts_regressions_and_fixed() {
        let (run, baseline) = sample();
        let verdict = judge(&run, &baseline);
        let s = summary(&run, &verdict, None);
        assert!(
            s.starts_with("suite numpy: FAILED, 2 regressed (2 modules)\n"),
            "{s}"
        );
        assert!(s.contains("  passed                   2\n"), "{s}");
        assert!(s.contains("  failed                   3\n"), "{s}");
        assert!(s.contains("  expected failures        1\n"), "{s}");
        assert!(s.contains("  regressed                2\n"), "{s}");
        assert!(s.contains("1m15s  numpy/tests/test_b.py"), "{s}");
        assert!(
            s.contains("FAILED   numpy/tests/test_a.py::TestX::test_bad[a::b]"),
            "{s}"
        );
        assert!(
            s.contains("CRASHED  numpy/tests/test_b.py::test_crash"),
            "{s}"
        );
        assert!(
            s.contains("numpy/tests/test_b.py::test_fixed  (was: wasm has no"),
            "{s}"
        );
        assert!(s.contains("numpy/tests/test_gone.py::test_stale"), "{s}");
        assert!(!s.contains("native"), "{s}");
    }

    #[test]
    fn summary_with_native_column() {
        let (run, baseline) = sample();
        let verdict = judge(&run, &baseline);
        let mut native = run.clone();
        for m in &mut native.modules {
            for c in &mut m.cases {
                if c.id.ends_with("test_crash") {
                    c.outcome = CaseOutcome::Passed;
                }
            }
        }
        let native_verdict = judge(&native, &Baseline::default());
        let s = summary(&run, &verdict, Some((&native, &native_verdict)));
        assert!(
            s.contains("  passed                   2   native        3\n"),
            "{s}"
        );
        assert!(s.contains("test_bad[a::b]  (also fails natively)"), "{s}");
        assert!(s.contains("test_crash  (passes natively)"), "{s}");
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "x".repeat(1000);
        let e = excerpt(&format!("\n\n{long}\nsecond"));
        assert_eq!(e.len(), MESSAGE_CHARS + 3);
        assert!(e.ends_with("..."));
        assert_eq!(
            excerpt("é".repeat(300).as_str()).chars().count(),
            MESSAGE_CHARS + 3
        );
    }

    #[test]
    fn json_has_counts_and_modules() {
        let (run, baseline) = sample();
        let verdict = judge(&run, &baseline);
        let r = JsonReport::new(&run, &verdict);
        assert!(!r.ok);
        assert_eq!(r.counts.passed, 2);
        assert_eq!(r.counts.regressed, 2);
        assert_eq!(r.regressions[1].outcome, CaseOutcome::Crashed);
        assert_eq!(r.fixed[0].id, "numpy/tests/test_b.py::test_fixed");
        assert_eq!(
            r.fixed[0].reason.as_deref(),
            Some("wasm has no <fenv> & flags")
        );
        assert_eq!(r.modules[1].cases[0].outcome, CaseOutcome::Crashed);
        assert_eq!(
            r.modules[1].status_note.as_deref(),
            Some("trapped: unreachable")
        );
        assert_eq!(r.modules[1].wall, 75.0);
        assert_eq!(r.stale[0], "numpy/tests/test_gone.py::test_stale");
    }
}
