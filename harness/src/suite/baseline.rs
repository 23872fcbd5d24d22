//! `pytests/<suite>/baseline.toml`: every test case of a suite that is not
//! expected to pass, grouped by the reason why.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Result, bail};
use serde::Deserialize;
use toml::Spanned;

/// The cases of a suite not expected to pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    /// The groups, in file order.
    pub groups: Vec<Group>,
}

/// Cases that fail for one shared reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Why these cases fail in the guest.
    pub reason: String,
    /// Their ids.
    pub cases: Vec<String>,
}

// The on-disk shape, with spans so errors can name a line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    #[serde(default)]
    group: Vec<Spanned<RawGroup>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    // Optional here so a missing reason gets our own message with a line.
    reason: Option<String>,
    #[serde(default)]
    cases: Vec<Spanned<String>>,
}

const HEADER: &str = "\
# Test cases of this suite that are NOT expected to pass, grouped by reason.
#
# The regression gate fails when any case not listed here fails, errors,
# crashes or times out. A listed case that passes is reported as fixed.
# Every [[group]] needs a non-empty `reason`; a case may appear only once.
# Blessing a run rewrites this file: cases keep their group, cases within a
# group are sorted.
";

impl Baseline {
    /// Reads a baseline file; a missing file is an empty baseline (nothing is
    /// expected to fail).
    pub fn load(path: &Path) -> Result<Self> {
        let text = match fs_err::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e.into()),
        };
        Self::parse(&text, path)
    }

    /// Parses baseline text; `path` only names the file in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let file = path.display();
        let raw: RawBaseline = crate::text::parse_toml(text, path)?;

        let mut first_seen: HashMap<String, usize> = HashMap::new();
        let mut groups = Vec::with_capacity(raw.group.len());
        for spanned in raw.group {
            let group_line = line_of(text, spanned.span().start);
            let raw_group = spanned.into_inner();
            let reason = raw_group.reason.unwrap_or_default();
            if reason.trim().is_empty() {
                bail!(
                    "{file}:{group_line}: group has no reason; every baseline entry needs a reason"
                );
            }
            let mut cases = Vec::with_capacity(raw_group.cases.len());
            for case in raw_group.cases {
                let line = line_of(text, case.span().start);
                let id = case.into_inner();
                if id.trim().is_empty() {
                    bail!("{file}:{line}: empty test case id");
                }
                if let Some(first) = first_seen.insert(id.clone(), line) {
                    bail!("{file}:{line}: case {id:?} is listed twice (first on line {first})");
                }
                cases.push(id);
            }
            groups.push(Group { reason, cases });
        }
        Ok(Self { groups })
    }

    /// The reason a case is expected not to pass, if it is listed.
    pub fn reason_of(&self, id: &str) -> Option<&str> {
        self.groups
            .iter()
            .find(|g| g.cases.iter().any(|c| c == id))
            .map(|g| g.reason.as_str())
    }

    /// Whether no case is listed.
    pub fn is_empty(&self) -> bool {
        self.groups.iter().all(|g| g.cases.is_empty())
    }

    /// Every listed case, in file order.
    pub fn cases(&self) -> impl Iterator<Item = &str> {
        self.groups
            .iter()
            .flat_map(|g| g.cases.iter().map(String::as_str))
    }

    /// Deterministic TOML text: groups in order, cases sorted within a group,
    /// one per line, so that blessing produces small, reviewable diffs.
    pub fn render(&self) -> String {
        let mut out = String::from(HEADER);
        for group in &self.groups {
            out.push_str("\n[[group]]\n");
            let _ = writeln!(out, "reason = {}", toml_string(&group.reason));
            let mut cases: Vec<&str> = group.cases.iter().map(String::as_str).collect();
            cases.sort_unstable();
            if cases.is_empty() {
                out.push_str("cases = []\n");
                continue;
            }
            out.push_str("cases = [\n");
            for case in cases {
                let _ = writeln!(out, "  {},", toml_string(case));
            }
            out.push_str("]\n");
        }
        out
    }
}

/// 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A TOML basic string. Written by hand so the output does not depend on
/// which quoting style the toml crate prefers.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Baseline> {
        Baseline::parse(text, Path::new("pytests/numpy/baseline.toml"))
    }

    fn err(text: &str) -> String {
        format!("{:#}", parse(text).unwrap_err())
    }

    #[test]
    fn parses_good_file() {
        let b = parse(
            r#"
# comment
[[group]]
reason = "wasm has no floating-point exception flags"
cases = [
  "numpy/_core/tests/test_umath.py::TestFPClass::test_fp_noncontiguous",
  "numpy/_core/tests/test_umath.py::TestX::test_y",
]

[[group]]
reason = "no threads"
cases = ["numpy/tests/test_threads.py::test_a"]
"#,
        )
        .unwrap();
        assert_eq!(b.groups.len(), 2);
        assert_eq!(b.groups[0].cases.len(), 2);
        assert_eq!(
            b.reason_of("numpy/_core/tests/test_umath.py::TestX::test_y"),
            Some("wasm has no floating-point exception flags")
        );
        assert_eq!(
            b.reason_of("numpy/tests/test_threads.py::test_a"),
            Some("no threads")
        );
        assert_eq!(b.reason_of("numpy/tests/test_threads.py::test_b"), None);
    }

    #[test]
    fn empty_text_is_empty_baseline() {
        assert_eq!(parse("").unwrap(), Baseline::default());
        assert_eq!(parse("# nothing yet\n").unwrap(), Baseline::default());
    }

    #[test]
    fn missing_file_is_empty_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let b = Baseline::load(&dir.path().join("baseline.toml")).unwrap();
        assert!(b.is_empty());
    }

    #[test]
    fn load_reads_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baseline.toml");
        std::fs::write(&path, "[[group]]\nreason = \"r\"\ncases = [\"a\"]\n").unwrap();
        assert_eq!(Baseline::load(&path).unwrap().reason_of("a"), Some("r"));
        std::fs::write(&path, "[[group]]\ncases = [\"a\"]\n").unwrap();
        let e = format!("{:#}", Baseline::load(&path).unwrap_err());
        assert!(e.contains(&format!("{}:1:", path.display())), "{e}");
    }

    #[test]
    fn malformed_toml_names_file_and_line() {
        let e = err("[[group]]\nreason = \"r\"\ncases = [\n  \"a\",\n  \"b\" oops\n]\n");
        assert!(e.contains("pytests/numpy/baseline.toml:5:"), "{e}");
    }

    #[test]
    fn wrong_type_names_file_and_line() {
        let e = err("[[group]]\nreason = \"r\"\ncases = [\"a\", 3]\n");
        assert!(e.contains("pytests/numpy/baseline.toml:3:"), "{e}");
    }

    #[test]
    fn unknown_key_is_an_error() {
        let e = err("[[group]]\nreason = \"r\"\ncase = [\"a\"]\n");
        assert!(e.contains("pytests/numpy/baseline.toml:"), "{e}");
        assert!(e.contains("case"), "{e}");
        let e = err("version = 2\n");
        assert!(e.contains("pytests/numpy/baseline.toml:1:"), "{e}");
    }

    #[test]
    fn missing_reason_is_an_error() {
        let e = err("[[group]]\nreason = \"r\"\ncases = [\"a\"]\n\n[[group]]\ncases = [\"b\"]\n");
        assert!(e.contains("pytests/numpy/baseline.toml:5:"), "{e}");
        assert!(e.contains("every baseline entry needs a reason"), "{e}");
    }

    #[test]
    fn blank_reason_is_an_error() {
        let e = err("[[group]]\nreason = \"  \"\ncases = [\"a\"]\n");
        assert!(e.contains("pytests/numpy/baseline.toml:1:"), "{e}");
        assert!(e.contains("every baseline entry needs a reason"), "{e}");
    }

    #[test]
    fn duplicate_case_is_an_error() {
        let e = err(
            "[[group]]\nreason = \"r\"\ncases = [\"a\", \"b\"]\n\n[[group]]\nreason = \"s\"\ncases = [\n  \"c\",\n  \"a\",\n]\n",
        );
        assert!(e.contains("pytests/numpy/baseline.toml:9:"), "{e}");
        assert!(e.contains("\"a\""), "{e}");
        assert!(e.contains("line 3"), "{e}");
    }

    #[test]
    fn render_round_trips() {
        let b = Baseline {
            groups: vec![
                Group {
                    reason: "wasm has no \"fenv\"\\ flags".into(),
                    cases: vec!["t.py::b".into(), "t.py::a[x-\ty]".into()],
                },
                Group {
                    reason: "ünïcode and a bell \u{7}".into(),
                    cases: vec!["u.py::T::test[1\n2]".into()],
                },
                Group {
                    reason: "nothing left".into(),
                    cases: vec![],
                },
            ],
        };
        let text = b.render();
        let back = parse(&text).unwrap();
        let mut sorted = b.clone();
        for g in &mut sorted.groups {
            g.cases.sort();
        }
        assert_eq!(back, sorted);
        // Rendering is deterministic and stable.
        assert_eq!(back.render(), text);
        assert!(text.starts_with('#'));
        assert_eq!(
            parse(&Baseline::default().render()).unwrap(),
            Baseline::default()
        );
    }
}
