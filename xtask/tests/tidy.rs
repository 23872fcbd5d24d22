//! Repository rules, checked as tests (as rust-analyzer's xtask tidy does).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every file under `dir` whose name ends with `suffix`, skipping build
/// outputs and links into the cache.
fn files(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() || name.starts_with('.') || name == "target" {
            continue;
        }
        if kind.is_dir() {
            files(&path, suffix, out);
        } else if name.ends_with(suffix) {
            out.push(path);
        }
    }
}

/// `path` relative to the workspace, as the rules print it.
fn rel(path: &Path) -> String {
    path.strip_prefix(workspace())
        .unwrap()
        .display()
        .to_string()
}

fn rust_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for crate_dir in [
        "cargo-faasm-py",
        "harness",
        "xtask",
        "examples/serve-python",
    ] {
        files(&workspace().join(crate_dir), ".rs", &mut out);
    }
    assert!(out.len() > 40, "found only {} Rust files", out.len());
    out
}

#[test]
fn every_rust_file_starts_with_a_module_doc_line() {
    let bad: Vec<String> = rust_files()
        .iter()
        .filter(|p| {
            !std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .next()
                .is_some_and(|l| l.starts_with("//!"))
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        bad.is_empty(),
        "files without a `//!` first line:\n{}",
        bad.join("\n")
    );
}

/// The CPython version lives in the pin; every path or name derived from it
/// comes from `harness::GuestLayout`. Version-shaped guest names anywhere
/// else would drift the day the pin changes.
#[test]
fn guest_names_come_from_the_guest_layout() {
    let allowed = ["harness/src/guest.rs", "xtask/tests/tidy.rs"];
    let mut bad = Vec::new();
    for path in rust_files() {
        let rel = rel(&path);
        if allowed.iter().any(|a| rel.ends_with(a)) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            for pattern in [
                "lib/python3",
                "bin/python3.",
                "include/python3",
                "cpython-31",
                "wasm32-wasi.so",
            ] {
                if line.contains(pattern) {
                    bad.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "derive these from GuestLayout:\n{}",
        bad.join("\n")
    );
}

/// The build's modules depend on each other one way (CLI → commands →
/// pipeline → stages → plan/fetch/layout → config/pins → harness): a circle
/// means two modules can only be understood, and changed, together.
#[test]
fn cargo_faasm_py_modules_form_no_circle() {
    let graph = module_graph(&workspace().join("cargo-faasm-py/src"));
    assert!(graph.len() > 30, "found only {} modules", graph.len());
    let circles: Vec<String> = circles(&graph)
        .iter()
        .map(|circle| describe(&graph, circle))
        .collect();
    assert!(
        circles.is_empty(),
        "modules that depend on each other in a circle:\n\n{}",
        circles.join("\n\n")
    );
}

/// The scan itself, on a crate of four files: a circle through a child, a
/// grandchild and `super::super`, found; paths in comments, strings, a
/// character literal and unit tests, ignored.
#[test]
fn a_module_circle_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("lib.rs", "mod a;\nmod b;\n");
    write("a.rs", "use crate::b::{self, c::{G as H}};\n");
    write(
        "b/mod.rs",
        "mod c;\n// crate::a\nconst S: &str = \"super::a\";\nconst Q: char = '\\'';\nfn f() { c::g() }\n",
    );
    write(
        "b/c.rs",
        "pub fn g() { super::super::a::h() }\n\n#[cfg(test)]\nmod tests {\n    use crate::b;\n}\n",
    );
    let graph = module_graph(dir.path());
    assert_eq!(circles(&graph), [["a", "b", "b::c", "a"]], "{graph:#?}");
}

/// Who depends on whom: module → (module it uses → one place that uses it).
type ModuleGraph = BTreeMap<String, BTreeMap<String, String>>;

/// Every module of the crate under `src` (named `stages::package::cross`;
/// `crate` for lib.rs) with the modules its `crate::`, `super::`, `self::`
/// and child-module paths name, outside its unit tests. A path counts for
/// the longest module it starts with: `crate::stages::util::unpack` is a
/// use of `stages::util`, `super::Manifest` in a child of `stages::package`
/// a use of `stages::package`. main.rs is the binary, outside the library.
fn module_graph(src: &Path) -> ModuleGraph {
    let mut paths = Vec::new();
    files(src, ".rs", &mut paths);
    let module_of = |path: &Path| -> Option<Vec<String>> {
        let rel = path.strip_prefix(src).unwrap().with_extension("");
        let mut segments: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        match segments.last().map(String::as_str) {
            Some("main") if segments.len() == 1 => return None,
            Some("lib") if segments.len() == 1 => segments.clear(),
            Some("mod") => drop(segments.pop()),
            _ => {}
        }
        Some(segments)
    };
    let modules: Vec<(Vec<String>, &PathBuf)> = paths
        .iter()
        .filter_map(|p| Some((module_of(p)?, p)))
        .collect();
    let name = |module: &[String]| match module {
        [] => "crate".to_owned(),
        _ => module.join("::"),
    };
    let mut graph: ModuleGraph = modules
        .iter()
        .map(|(m, _)| (name(m), BTreeMap::new()))
        .collect();
    for (module, path) in &modules {
        let text = without_unit_tests(&std::fs::read_to_string(path).unwrap());
        let tokens = tokens(&code_only(&text));
        let children: Vec<&str> = tokens
            .windows(3)
            .filter(|w| w[0].0 == "mod" && w[2].0 == ";")
            .map(|w| w[1].0.as_str())
            .collect();
        let rel = path.strip_prefix(workspace()).unwrap_or(path).display();
        for (used, line) in referenced_paths(&tokens) {
            let mut full = match used[0].as_str() {
                "crate" => vec![],
                "self" => module.clone(),
                "super" => {
                    let ups = used.iter().take_while(|s| *s == "super").count();
                    module[..module.len().saturating_sub(ups)].to_vec()
                }
                first if children.contains(&first) => module.clone(),
                _ => continue,
            };
            let rest = used
                .iter()
                .skip_while(|s| ["crate", "self", "super"].contains(&s.as_str()));
            full.extend(rest.cloned());
            let target = (0..=full.len())
                .rev()
                .map(|n| name(&full[..n]))
                .find(|n| graph.contains_key(n))
                .unwrap();
            if target != name(module) {
                let place = format!("{rel}:{line}: {}", used.join("::"));
                graph
                    .get_mut(&name(module))
                    .unwrap()
                    .entry(target)
                    .or_insert(place);
            }
        }
    }
    graph
}

/// The text before a `#[cfg(test)]` line followed by `mod tests`: unit
/// tests may use whatever they test.
fn without_unit_tests(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|w| w[0].trim() == "#[cfg(test)]" && w[1].trim_start().starts_with("mod tests"))
        .unwrap_or(lines.len());
    lines[..end].join("\n")
}

/// `text` with its comments and the insides of its string and character
/// literals blanked, lines kept: only code names modules.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, from: &[char]| {
        out.extend(from.iter().map(|&c| if c == '\n' { '\n' } else { ' ' }))
    };
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        // r"…", r#"…"#: a raw string, unless the `r` ends an identifier.
        let hashes = rest[1..].iter().take_while(|&&c| c == '#').count();
        let raw = rest[0] == 'r'
            && (i == 0 || !is_ident(chars[i - 1]))
            && rest.get(1 + hashes) == Some(&'"');
        let end = if rest.starts_with(&['/', '/']) {
            rest.iter().position(|&c| c == '\n').unwrap_or(rest.len())
        } else if rest.starts_with(&['/', '*']) {
            (2..rest.len())
                .find(|&k| rest[k - 1..=k] == ['*', '/'])
                .map_or(rest.len(), |k| k + 1)
        } else if raw {
            // It ends at a quote followed by as many hashes.
            let mut close = vec!['"'];
            close.extend(std::iter::repeat_n('#', hashes));
            (hashes + 2..rest.len())
                .find(|&k| rest[k..].starts_with(&close))
                .map_or(rest.len(), |k| k + close.len())
        } else if rest[0] == '"' {
            let mut k = 1;
            while k < rest.len() && rest[k] != '"' {
                k += if rest[k] == '\\' { 2 } else { 1 };
            }
            k + 1
        } else if rest[0] == '\'' && rest.get(1) == Some(&'\\') {
            // '\n', '\'', '\u{…}': the closing quote comes after the escape.
            (3..rest.len())
                .find(|&k| rest[k] == '\'')
                .map_or(rest.len(), |k| k + 1)
        } else if rest[0] == '\'' && rest.get(2) == Some(&'\'') {
            3
        } else {
            // Anything else, a lifetime's quote included, is code.
            out.push(rest[0]);
            i += 1;
            continue;
        };
        let end = end.min(rest.len());
        blank(&mut out, &rest[..end]);
        i += end;
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Identifiers, `::` and single punctuation characters, each with its line.
fn tokens(code: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let len = if is_ident(c) {
                chars[i..].iter().take_while(|&&c| is_ident(c)).count()
            } else if chars[i..].starts_with(&[':', ':']) {
                2
            } else {
                1
            };
            if !c.is_whitespace() {
                out.push((chars[i..i + len].iter().collect(), n + 1));
            }
            i += len;
        }
    }
    out
}

/// Every path a file names: each leaf of its `use` trees, and each
/// `a::b::c` elsewhere, with the line it is on.
fn referenced_paths(tokens: &[(String, usize)]) -> Vec<(Vec<String>, usize)> {
    let tok = |i: usize| tokens.get(i).map_or("", |t| t.0.as_str());
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let line = tokens[i].1;
        if tok(i) == "use" {
            i += 1;
            let mut leaves = Vec::new();
            use_tree(tokens, &mut i, Vec::new(), &mut leaves);
            out.extend(leaves.into_iter().map(|p| (p, line)));
        } else if tok(i).starts_with(is_ident)
            && tok(i + 1) == "::"
            && tok(i.wrapping_sub(1)) != "::"
        {
            let mut path = vec![tok(i).to_owned()];
            i += 1;
            while tok(i) == "::" && tok(i + 1).starts_with(is_ident) {
                path.push(tok(i + 1).to_owned());
                i += 2;
            }
            out.push((path, line));
        } else {
            i += 1;
        }
    }
    out
}

/// The paths of one use tree (`a::{b, c::{self, d as e}, f::*}`), each
/// after `prefix`.
fn use_tree(
    tokens: &[(String, usize)],
    i: &mut usize,
    prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) {
    let tok = |i: usize| tokens.get(i).map_or("", |t| t.0.as_str());
    let mut path = prefix;
    loop {
        match tok(*i) {
            "::" => *i += 1,
            "{" => {
                *i += 1;
                while !matches!(tok(*i), "}" | "") {
                    let before = *i;
                    use_tree(tokens, i, path.clone(), out);
                    if tok(*i) == "," || *i == before {
                        *i += 1;
                    }
                }
                *i += 1;
                return;
            }
            // `a as b` and `a::*` are uses of `a`.
            "as" => {
                *i += 2;
                break;
            }
            "*" => {
                *i += 1;
                break;
            }
            "self" if !path.is_empty() => *i += 1,
            name if name.starts_with(is_ident) => {
                path.push(name.to_owned());
                *i += 1;
            }
            // `,`, `}` or `;`: the path is complete.
            _ => break,
        }
    }
    if !path.is_empty() {
        out.push(path);
    }
}

/// One circle per edge that closes one in a depth-first walk, each as the
/// modules along it, back to the first; none if the graph flows one way.
fn circles(graph: &ModuleGraph) -> Vec<Vec<&str>> {
    fn walk<'g>(
        graph: &'g ModuleGraph,
        module: &'g str,
        stack: &mut Vec<&'g str>,
        done: &mut BTreeSet<&'g str>,
        out: &mut Vec<Vec<&'g str>>,
    ) {
        stack.push(module);
        for used in graph[module].keys() {
            if let Some(start) = stack.iter().position(|m| m == used) {
                let mut circle = stack[start..].to_vec();
                circle.push(used);
                out.push(circle);
            } else if !done.contains(used.as_str()) {
                walk(graph, used, stack, done, out);
            }
        }
        stack.pop();
        done.insert(module);
    }
    let (mut done, mut found) = (BTreeSet::new(), Vec::new());
    for module in graph.keys() {
        if !done.contains(module.as_str()) {
            walk(graph, module, &mut Vec::new(), &mut done, &mut found);
        }
    }
    found
}

/// A circle, then each step with a place that makes it.
fn describe(graph: &ModuleGraph, circle: &[&str]) -> String {
    let steps: Vec<String> = circle
        .windows(2)
        .map(|w| format!("  {} → {}   ({})", w[0], w[1], graph[w[0]][w[1]]))
        .collect();
    format!("{}\n{}", circle.join(" → "), steps.join("\n"))
}

/// `include_str!`/`include_bytes!` stay inside their crate: a file reached
/// by `../../../` belongs to another crate, which should publish it (as
/// `harness::snapshot::SOURCES` does) so that moving it breaks one place.
#[test]
fn includes_stay_inside_their_crate() {
    let mut bad = Vec::new();
    for path in rust_files() {
        let rel = path.strip_prefix(workspace()).unwrap().to_path_buf();
        let crate_root = workspace().join(rel.components().next().unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            for mac in ["include_str!(\"", "include_bytes!(\""] {
                let Some(start) = line.find(mac) else {
                    continue;
                };
                let arg = &line[start + mac.len()..];
                let Some(end) = arg.find('"') else { continue };
                let target = normalize(&path.parent().unwrap().join(&arg[..end]));
                if !target.starts_with(normalize(&crate_root)) {
                    bad.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "includes that reach into another crate:\n{}",
        bad.join("\n")
    );
}

/// `a/b/../c` as `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Paths into `third-party/` are made by `Layout` alone (unit tests aside),
/// so the repository's shape is written down once.
#[test]
fn third_party_paths_come_from_the_layout() {
    let mut bad = Vec::new();
    for path in rust_files() {
        let rel = rel(&path);
        if !rel.starts_with("cargo-faasm-py/src/") || rel.ends_with("/layout.rs") {
            continue;
        }
        let text = without_unit_tests(&std::fs::read_to_string(&path).unwrap());
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for pattern in [
                "join(\"third-party",
                "join(\"../third-party",
                "new(\"third-party",
            ] {
                if line.contains(pattern) {
                    bad.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "make these paths with Layout:\n{}",
        bad.join("\n")
    );
}

/// docs/architecture.md's table of stages names every built-in stage and
/// nothing else.
#[test]
fn the_docs_stage_table_is_the_pipelines() {
    let doc = std::fs::read_to_string(workspace().join("docs/architecture.md")).unwrap();
    let table: Vec<&str> = doc
        .lines()
        .skip_while(|l| !l.starts_with("| stage | publishes |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(
        !table.is_empty(),
        "docs/architecture.md has no `| stage | publishes |` table"
    );
    let mut documented = BTreeSet::new();
    for row in table {
        let first = row.split('|').nth(1).unwrap();
        for (i, part) in first.split('`').enumerate() {
            if i % 2 == 1 {
                documented.insert(part.to_owned());
            }
        }
    }
    let builtin: BTreeSet<String> = cargo_faasm_py::stage_id::StageId::BUILTIN
        .iter()
        .map(|s| s.name().to_owned())
        .collect();
    assert_eq!(
        documented, builtin,
        "docs/architecture.md's stage table and StageId::BUILTIN differ"
    );
}

/// Shell is written by one quoting helper (`stages/script.rs`), never
/// pasted together with `format!`: a path with a space or a quote in it
/// would split or run.
#[test]
fn shell_scripts_come_from_the_one_helper() {
    let mut bad = Vec::new();
    for path in rust_files() {
        let rel = rel(&path);
        if !rel.starts_with("cargo-faasm-py/src/") || rel == "cargo-faasm-py/src/stages/script.rs" {
            continue;
        }
        let text = without_unit_tests(&std::fs::read_to_string(&path).unwrap());
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for pattern in ["format!(\"exec", "#!/bin/sh", "write_script("] {
                if line.contains(pattern) {
                    bad.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "write these scripts with stages::script::Wrapper:\n{}",
        bad.join("\n")
    );
}

/// A stage's fingerprint covers the code that builds it: every module a
/// stage's files use (and the stage's own submodules) is in its recipe
/// (`include_str!`), so changing a helper rebuilds the stages that run it;
/// only the engine's own modules ([`ENGINE`]), which decide how a stage
/// runs but not what it makes, stay out.
/// Modules a stage uses that shape no output: the pipeline engine, how
/// commands run and log, host paths, hashing, the plan and pins it is
/// handed (their values are in the fingerprint), errors.
const ENGINE: &[&str] = &[
    "pipeline", "process", "layout", "digest", "plan", "project", "pins", "stage_id", "mistake",
    "fetch",
];

#[test]
fn every_helper_a_stage_uses_is_in_its_recipe() {
    let src = workspace().join("cargo-faasm-py/src");
    let graph = module_graph(&src);
    let file_of = |module: &str| -> PathBuf {
        let base = src.join(module.replace("::", "/"));
        let file = base.with_extension("rs");
        if file.is_file() {
            file
        } else {
            base.join("mod.rs")
        }
    };
    let mut bad = Vec::new();
    for stage in graph.keys().filter(|m| m.starts_with("stages::")) {
        let file = file_of(stage);
        let text = without_unit_tests(&std::fs::read_to_string(&file).unwrap());
        if !text.contains("fn contract(") {
            continue;
        }
        let included: BTreeSet<PathBuf> = text
            .split("include_str!(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(|rel| normalize(&file.parent().unwrap().join(rel)))
            .collect();
        let own = |m: &str| m == stage || m.starts_with(&format!("{stage}::"));
        let mut needed: BTreeMap<&str, String> = BTreeMap::new();
        for (module, uses) in graph.iter().filter(|(m, _)| own(m)) {
            needed.insert(module, format!("{module} is part of the stage"));
            for (used, place) in uses {
                let top = used.split("::").next().unwrap_or_default();
                if used.starts_with("stages::") || (top != "crate" && !ENGINE.contains(&top)) {
                    needed.entry(used).or_insert_with(|| place.clone());
                }
            }
        }
        for (module, why) in needed {
            if !included.contains(&normalize(&file_of(module))) {
                bad.push(format!("{stage}'s recipe lacks {module} ({why})"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "add these files to the stages' recipes:\n{}",
        bad.join("\n")
    );
}
