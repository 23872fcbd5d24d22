//! Suite definitions: `pytests/<name>/suite.toml` says which test modules
//! run, with which runner and arguments, what they need in the guest, and
//! where the baseline of known failures is.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::Deserialize;

/// The longest a test module may run: a day.
const MAX_TIMEOUT_SECS: u64 = 24 * 3600;
/// The most linear memory a wasm32 guest can have.
const MAX_MEMORY_MIB: usize = 4096;
/// Variables the runner sets for every module.
const RESERVED_ENV: &[&str] = &["PYTHONPATH", "FAASM_PY_REPORT", "PYTHONUNBUFFERED"];

/// What runs a suite's test modules inside the interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runner {
    /// pytest, with the reporting plugin.
    Pytest,
    /// CPython's regrtest, with the reporting result class.
    Regrtest,
}

/// Where a suite's test modules live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Root {
    /// The interpreter's site-packages (a package's own tests).
    SitePackages,
    /// The standard library (`test/…`).
    Stdlib,
    /// The suite's own directory under `pytests/`.
    Suite,
    /// The source tree of the package named by `package` (its sdist or
    /// directory, as built): a package's own tests, which its installed
    /// files do not carry.
    Source,
}

/// A module selection: glob patterns relative to the root, minus exclusions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    /// Glob patterns (`*` within a segment, `**` for any depth).
    pub modules: Vec<String>,
    /// Patterns of modules left out.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Extra runner arguments for this selection.
    #[serde(default)]
    pub args: Vec<String>,
}

/// One suite: `pytests/<name>/suite.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteDef {
    /// The suite's name: `name` in the file, else its directory's.
    #[serde(default)]
    pub name: String,
    /// The suite's directory (`pytests/<name>`).
    #[serde(skip)]
    pub dir: PathBuf,
    /// What runs the modules. Default: pytest.
    #[serde(default = "default_runner")]
    pub runner: Runner,
    /// Where the modules are. Default: the source of `package` when the
    /// suite names one, else the suite's own directory.
    #[serde(default)]
    root: Option<Root>,
    /// With `root = "source"`: the package whose source holds the tests.
    pub package: Option<String>,
    /// Where the test modules are on the host, for `root = "source"` (the
    /// caller fills it in from the build), else the suite's directory.
    #[serde(skip)]
    pub tests_dir: Option<PathBuf>,
    /// The whole suite.
    #[serde(flatten)]
    pub selection: Selection,
    /// Runner arguments for every selection.
    #[serde(default)]
    pub args: Vec<String>,
    /// Pinned pure-Python wheels (artifact names) the suite needs in the
    /// guest. Default: pytest, for a pytest suite.
    #[serde(default)]
    deps: Option<Vec<String>>,
    /// Environment variables for every module, in the guest and natively
    /// (a package's switches for its own tests).
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// Seconds one test module may take. Default: 600.
    #[serde(rename = "timeout-secs", default = "default_timeout")]
    pub timeout_secs: u64,
    /// Linear-memory cap per module, MiB. Default: 2048.
    #[serde(rename = "memory-mib", default = "default_memory")]
    pub memory_mib: usize,
    /// The smaller selection CI runs when the whole suite does not fit.
    pub ci: Option<Selection>,
}

fn default_runner() -> Runner {
    Runner::Pytest
}

fn default_timeout() -> u64 {
    600
}

fn default_memory() -> usize {
    2048
}

impl SuiteDef {
    /// Where the test modules are.
    pub fn root(&self) -> Root {
        match (self.root, &self.package) {
            (Some(root), _) => root,
            (None, Some(_)) => Root::Source,
            (None, None) => Root::Suite,
        }
    }

    /// The pinned wheels the suite needs in the guest.
    pub fn deps(&self) -> Vec<String> {
        match (&self.deps, self.runner) {
            (Some(deps), _) => deps.clone(),
            (None, Runner::Pytest) => vec!["pytest".to_owned()],
            (None, Runner::Regrtest) => Vec::new(),
        }
    }

    /// A pytest suite of the test files in `dir` matching `patterns`, with
    /// generous limits (5 minutes, 2 GiB per module): for suites made on the
    /// fly, such as a test's own.
    pub fn pytest_dir(name: &str, dir: &Path, patterns: &[&str]) -> Self {
        Self {
            name: name.to_owned(),
            dir: dir.to_owned(),
            runner: Runner::Pytest,
            root: Some(Root::Suite),
            package: None,
            tests_dir: None,
            selection: Selection {
                modules: patterns.iter().map(|p| (*p).to_owned()).collect(),
                ..Selection::default()
            },
            args: Vec::new(),
            deps: Some(Vec::new()),
            env: Default::default(),
            timeout_secs: 300,
            memory_mib: 2048,
            ci: None,
        }
    }

    /// Reads and checks `<dir>/suite.toml`; the suite is named after
    /// `dir`.
    pub fn load_dir(dir: &Path) -> Result<Self> {
        let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
            bail!("{} is not a suite directory", dir.display());
        };
        Self::load(parent, &name.to_string_lossy())
    }

    /// Reads and checks `<pytests>/<name>/suite.toml`.
    pub fn load(pytests: &Path, name: &str) -> Result<Self> {
        if !is_suite_name(name) {
            bail!("`{name}` is not a suite name (letters, digits, `-` and `_` only)");
        }
        let dir = pytests.join(name);
        let file = dir.join("suite.toml");
        if !file.is_file() {
            let known = names(pytests).unwrap_or_default().join(", ");
            bail!(
                "unknown suite `{name}` (no {}); suites are: {known}",
                file.display()
            );
        }
        let text = fs_err::read_to_string(&file)?;
        let mut def: SuiteDef = crate::text::parse_toml(&text, &file)?;
        if !(1..=MAX_TIMEOUT_SECS).contains(&def.timeout_secs) {
            bail!(
                "{}: timeout-secs must be from 1 to {MAX_TIMEOUT_SECS}, got {}",
                file.display(),
                def.timeout_secs
            );
        }
        if !(1..=MAX_MEMORY_MIB).contains(&def.memory_mib) {
            bail!(
                "{}: memory-mib must be from 1 to {MAX_MEMORY_MIB} (wasm32 addresses 4 GiB), got {}",
                file.display(),
                def.memory_mib
            );
        }
        if def.root == Some(Root::Source) && def.package.is_none() {
            bail!(
                "{}: `root = \"source\"` needs `package`, the package whose source holds the tests",
                file.display()
            );
        }
        if let Some(key) = def.env.keys().find(|k| RESERVED_ENV.contains(&k.as_str())) {
            bail!(
                "{}: env cannot set {key}: the runner sets it",
                file.display()
            );
        }
        if let Some(key) = def
            .env
            .keys()
            .find(|k| k.is_empty() || k.contains(['=', '\0']))
        {
            bail!("{}: env: `{key}` is not a variable name", file.display());
        }
        if def.name.is_empty() {
            def.name = name.to_owned();
        } else if !is_suite_name(&def.name) {
            // Reports are files named after the suite.
            bail!(
                "{}: name: `{}` is not a suite name (letters, digits, `-` and `_` only)",
                file.display(),
                def.name
            );
        }
        def.dir = dir;
        Ok(def)
    }

    /// The baseline for the default CPython (`<dir>/baseline.toml`), or for
    /// another version, `<dir>/baseline-X.Y.toml`: each version fails its
    /// own cases.
    pub fn baseline_path(&self, other_python: Option<&str>) -> PathBuf {
        match other_python {
            None => self.dir.join("baseline.toml"),
            Some(version) => self.dir.join(format!("baseline-{version}.toml")),
        }
    }

    /// Where the test modules of a `suite` or `source` suite are on the
    /// host.
    pub fn tests_dir(&self) -> &Path {
        self.tests_dir.as_deref().unwrap_or(&self.dir)
    }

    /// The selection to run: the CI one when asked for and defined.
    pub fn selection(&self, ci: bool) -> &Selection {
        match (&self.ci, ci) {
            (Some(sel), true) => sel,
            _ => &self.selection,
        }
    }
}

/// Letters, digits, `-` and `_`: a name that is also a plain file name.
fn is_suite_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Every suite under `pytests/` (directories with a suite.toml), sorted.
pub fn names(pytests: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs_err::read_dir(pytests)? {
        let path = entry?.path();
        if path.join("suite.toml").is_file()
            && let Some(name) = path.file_name().and_then(|n| n.to_str())
        {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Test modules under `root` matching the selection, as `/`-separated paths
/// relative to `root`, sorted.
pub fn expand(root: &Path, selection: &Selection) -> Result<Vec<String>> {
    let mut found = std::collections::BTreeSet::new();
    for pattern in &selection.modules {
        let before = found.len();
        walk(
            root,
            "",
            &pattern.split('/').collect::<Vec<_>>(),
            &mut found,
        )?;
        if found.len() == before {
            bail!(
                "`{pattern}` matches no test module under {}",
                root.display()
            );
        }
    }
    Ok(found
        .into_iter()
        .filter(|m| {
            !selection.exclude.iter().any(|ex| {
                glob_match(
                    &ex.split('/').collect::<Vec<_>>(),
                    &m.split('/').collect::<Vec<_>>(),
                )
            })
        })
        .collect())
}

fn walk(
    dir: &Path,
    prefix: &str,
    pattern: &[&str],
    found: &mut std::collections::BTreeSet<String>,
) -> Result<()> {
    let Some((first, rest)) = pattern.split_first() else {
        return Ok(());
    };
    if *first == "**" {
        walk(dir, prefix, rest, found)?;
    }
    let mut entries: Vec<_> = match fs_err::read_dir(dir) {
        Ok(entries) => entries.flatten().collect(),
        Err(_) => return Ok(()),
    };
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "__pycache__" {
            continue;
        }
        let path = entry.path();
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if *first == "**" {
            if path.is_dir() {
                walk(&path, &rel, pattern, found)?;
            }
        } else if segment_match(first, &name) {
            if rest.is_empty() {
                found.insert(rel);
            } else if path.is_dir() {
                walk(&path, &rel, rest, found)?;
            }
        }
    }
    Ok(())
}

fn glob_match(pattern: &[&str], path: &[&str]) -> bool {
    match (pattern.split_first(), path.split_first()) {
        (None, None) => true,
        (Some((&"**", rest)), _) => {
            glob_match(rest, path) || (!path.is_empty() && glob_match(pattern, &path[1..]))
        }
        (Some((p, prest)), Some((s, srest))) => segment_match(p, s) && glob_match(prest, srest),
        _ => false,
    }
}

/// `*` matches any run of characters within one path segment.
fn segment_match(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            let Some(rest) = name.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|&i| rest.is_char_boundary(i))
                .any(|i| segment_match(tail, &rest[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_double_star() {
        assert!(segment_match("test_*.py", "test_a.py"));
        assert!(!segment_match("test_*.py", "conftest.py"));
        assert!(glob_match(
            &["**", "tests", "*.py"],
            &["a", "b", "tests", "x.py"]
        ));
        assert!(glob_match(&["**", "tests", "*.py"], &["tests", "x.py"]));
        assert!(!glob_match(&["a", "*.py"], &["a", "b", "x.py"]));
    }

    #[test]
    fn expands_and_excludes() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "pkg/tests/test_a.py",
            "pkg/sub/tests/test_b.py",
            "pkg/tests/helper.py",
        ] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let sel = Selection {
            modules: vec!["pkg/**/tests/test_*.py".into()],
            exclude: vec!["pkg/sub/**".into()],
            args: vec![],
        };
        assert_eq!(expand(dir.path(), &sel).unwrap(), ["pkg/tests/test_a.py"]);
        let none = Selection {
            modules: vec!["nothing/*.py".into()],
            ..Selection::default()
        };
        let err = expand(dir.path(), &none).unwrap_err().to_string();
        assert!(err.contains("matches no test module"), "{err}");
    }

    #[test]
    fn a_suite_may_name_itself() {
        let dir = tempfile::tempdir().unwrap();
        let suite = dir.path().join("tests");
        std::fs::create_dir_all(&suite).unwrap();
        std::fs::write(
            suite.join("suite.toml"),
            "name = \"hello-ext\"\nrunner = \"pytest\"\nroot = \"suite\"\nmodules = [\"t.py\"]\ntimeout-secs = 10\nmemory-mib = 64\n",
        )
        .unwrap();
        assert_eq!(SuiteDef::load_dir(&suite).unwrap().name, "hello-ext");
    }

    #[test]
    fn a_package_suite_needs_only_its_package_and_modules() {
        let dir = tempfile::tempdir().unwrap();
        let suite = dir.path().join("markupsafe");
        std::fs::create_dir_all(&suite).unwrap();
        std::fs::write(
            suite.join("suite.toml"),
            "package = \"markupsafe\"\nmodules = [\"tests/test_*.py\"]\n",
        )
        .unwrap();
        let def = SuiteDef::load_dir(&suite).unwrap();
        assert_eq!(def.runner, Runner::Pytest);
        assert_eq!(def.root(), Root::Source);
        assert_eq!(def.deps(), ["pytest"]);
        assert_eq!((def.timeout_secs, def.memory_mib), (600, 2048));
        std::fs::write(
            suite.join("suite.toml"),
            "root = \"source\"\nmodules = [\"t.py\"]\n",
        )
        .unwrap();
        let err = SuiteDef::load_dir(&suite).unwrap_err().to_string();
        assert!(err.contains("needs `package`"), "{err}");
    }

    #[test]
    fn a_suite_name_that_is_not_a_plain_file_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let suite = dir.path().join("s");
        std::fs::create_dir_all(&suite).unwrap();
        let head = "runner = \"pytest\"\nroot = \"suite\"\nmodules = [\"t.py\"]\n";
        for bad in ["../escape", "a/b", "x y", "<script>"] {
            std::fs::write(suite.join("suite.toml"), format!("{head}name = {bad:?}\n")).unwrap();
            let err = SuiteDef::load_dir(&suite).unwrap_err().to_string();
            assert!(err.contains("is not a suite name"), "{bad}: {err}");
        }
        std::fs::write(
            suite.join("suite.toml"),
            format!("{head}name = \"ok-name_2\"\n"),
        )
        .unwrap();
        assert_eq!(SuiteDef::load_dir(&suite).unwrap().name, "ok-name_2");
    }

    #[test]
    fn suite_env_may_not_set_the_runners_variables() {
        let dir = tempfile::tempdir().unwrap();
        let suite = dir.path().join("s");
        std::fs::create_dir_all(&suite).unwrap();
        let head = "runner = \"pytest\"\nroot = \"suite\"\nmodules = [\"t.py\"]\ntimeout-secs = 10\nmemory-mib = 64\n";
        std::fs::write(
            suite.join("suite.toml"),
            format!("{head}env = {{ X = \"1\" }}\n"),
        )
        .unwrap();
        assert_eq!(SuiteDef::load_dir(&suite).unwrap().env["X"], "1");
        std::fs::write(
            suite.join("suite.toml"),
            format!("{head}env = {{ PYTHONPATH = \"/x\" }}\n"),
        )
        .unwrap();
        let err = SuiteDef::load_dir(&suite).unwrap_err().to_string();
        assert!(err.contains("env cannot set PYTHONPATH"), "{err}");
        std::fs::write(
            suite.join("suite.toml"),
            format!("{head}env = {{ \"A=B\" = \"1\" }}\n"),
        )
        .unwrap();
        let err = SuiteDef::load_dir(&suite).unwrap_err().to_string();
        assert!(err.contains("not a variable name"), "{err}");
    }

    #[test]
    fn the_project_suites_parse() {
        let pytests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pytests");
        for name in names(&pytests).unwrap() {
            SuiteDef::load(&pytests, &name).unwrap();
        }
        let err = SuiteDef::load(&pytests, "nosuch").unwrap_err().to_string();
        assert!(err.contains("unknown suite `nosuch`"), "{err}");
    }
}
