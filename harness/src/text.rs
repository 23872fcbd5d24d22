//! Small text helpers shared by the harness and the CLI: durations as
//! people read them, and the last lines of a log file.

use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;

/// `4.2s`, `3m07s` or `1h02m03s`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    let whole = d.as_secs();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        format!("{}m{:02}s", whole / 60, whole % 60)
    } else {
        format!("{}h{:02}m{:02}s", whole / 3600, whole / 60 % 60, whole % 60)
    }
}

/// The last `n` lines of the file at `path` (fewer if it is shorter, none
/// if it cannot be read), decoded leniently: logs hold whatever tools print.
pub fn last_lines(path: &Path, n: usize) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| (*l).to_owned())
        .collect()
}

/// Parses a TOML file's text, turning a syntax or shape error into one
/// line that names the file, the line and the column:
/// `pytests/numpy/suite.toml:3:11: invalid type: string "x", expected u64`.
pub fn parse_toml<T: DeserializeOwned>(text: &str, path: &Path) -> anyhow::Result<T> {
    toml::from_str(text).map_err(|err| {
        let place = match err.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!("{}:{line}:{column}", path.display())
            }
            None => path.display().to_string(),
        };
        anyhow::anyhow!("{place}: {}", err.message().trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_errors_are_one_line_with_a_place() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            a: u64,
        }
        let err = parse_toml::<T>("\n a = \"x\"\n", Path::new("f.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("f.toml:2:6: "), "{err}");
        assert!(!err.contains('\n'), "{err}");
        let err = parse_toml::<T>("a = [", Path::new("g.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("g.toml:1:"), "{err}");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_millis(4200)), "4.2s");
        assert_eq!(human_duration(Duration::from_secs(187)), "3m07s");
        assert_eq!(human_duration(Duration::from_secs(3723)), "1h02m03s");
    }

    #[test]
    fn last_lines_of_short_long_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, "a\nb\nc\n").unwrap();
        assert_eq!(last_lines(&path, 2), ["b", "c"]);
        assert_eq!(last_lines(&path, 10), ["a", "b", "c"]);
        assert!(last_lines(&dir.path().join("missing"), 3).is_empty());
    }
}
