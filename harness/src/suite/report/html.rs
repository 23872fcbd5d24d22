//! The HTML report: one self-contained page (`index.html`) for every suite
//! of a `cargo faasm-py test` run, rendered from the same [`JsonReport`]s
//! the `<suite>.json` files hold, so the page and the files cannot disagree.
//!
//! The content is static HTML: readable without scripts. A small inline
//! script only adds sorting (suite and module tables) and filtering
//! (modules). Everything a run reports (suite, module and case names,
//! messages, baseline reasons) is escaped, and the page's
//! Content-Security-Policy lets no script run but its own (by hash), so
//! text that looks like markup is only ever shown.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Component, Path};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::json::{Counts, JsonReport, Module};
use super::{excerpt, native_note};
use crate::suite::baseline::Baseline;
use crate::suite::results::{CaseOutcome, log_file_name};
use crate::text::human_duration;

/// The most of one message the page shows; the module's output has it all.
const MESSAGE_CHARS: usize = 20_000;

/// One suite on the page.
#[derive(Debug, Clone, Copy)]
pub struct SuiteSection<'a> {
    /// The guest's run, judged: what `<suite>.json` holds.
    pub wasm: &'a JsonReport,
    /// The same selection run natively (`--native`): `<suite>.native.json`.
    pub native: Option<&'a JsonReport>,
    /// The baseline both were judged against, for its groups and reasons.
    pub baseline: &'a Baseline,
    /// The directory of the guest's per-module output logs, relative to the
    /// page; `None` shows no links.
    pub wasm_logs: Option<&'a Path>,
    /// The same for the native run.
    pub native_logs: Option<&'a Path>,
}

/// The whole page: every suite that finished, in run order, and the names
/// of those that were to run but have not finished (a run still going, or
/// one that stopped early).
pub fn page(suites: &[SuiteSection<'_>], pending: &[String]) -> String {
    let regressed: usize = suites.iter().map(|s| s.wasm.counts.regressed).sum();
    let status = if regressed > 0 {
        format!("FAILED, {regressed} regressed")
    } else if !pending.is_empty() {
        "incomplete".to_owned()
    } else {
        "ok".to_owned()
    };
    let script_hash = base64(&Sha256::digest(SCRIPT.as_bytes()));

    let mut out = String::with_capacity(64 << 10);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    // Nothing may load from anywhere, and only this page's own script runs.
    let _ = writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'\">"
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>faasm-py test: {}</title>", escape(&status));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(
        out,
        "<h1>cargo faasm-py test <span class=\"badge {}\">{}</span></h1>",
        if regressed > 0 {
            "bad"
        } else if pending.is_empty() {
            "good"
        } else {
            "warn"
        },
        escape(&status)
    );
    overview(&mut out, suites, pending);
    for (i, suite) in suites.iter().enumerate() {
        section(&mut out, i, suite);
    }
    let _ = writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>");
    out
}

/// One row per suite, linking to its section, and what has not finished.
fn overview(out: &mut String, suites: &[SuiteSection<'_>], pending: &[String]) {
    if !pending.is_empty() {
        let names: Vec<String> = pending.iter().map(|n| escape(n)).collect();
        let _ = writeln!(
            out,
            "<p class=\"pending\">Not finished: {}.</p>",
            names.join(", ")
        );
    }
    if suites.is_empty() {
        out.push_str("<p>No suite has finished yet.</p>\n");
        return;
    }
    let native = suites.iter().any(|s| s.native.is_some());
    out.push_str(
        "<table class=\"overview\">\n<thead><tr><th>suite</th><th>status</th><th>modules</th>",
    );
    for (label, _) in suites[0].wasm.counts.rows() {
        let _ = write!(out, "<th>{label}</th>");
    }
    out.push_str("<th>wall</th>");
    if native {
        out.push_str("<th>native wall</th><th>wasm / native</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (i, s) in suites.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td><a href=\"#s{i}\">{}</a></td><td>{}</td>{}",
            escape(&s.wasm.suite),
            status_badge(s.wasm),
            num(s.wasm.modules.len())
        );
        for (label, count) in s.wasm.counts.rows() {
            out.push_str(&count_cell(label, count));
        }
        out.push_str(&wall_cell(s.wasm.wall));
        if native {
            match s.native {
                Some(n) => {
                    out.push_str(&wall_cell(n.wall));
                    out.push_str(&ratio_cell(s.wasm.wall, n.wall));
                }
                None => out.push_str("<td></td><td></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// A suite's section: its counts and walls, then what changed (regressions,
/// fixed cases), then every module, then the baseline's groups.
fn section(out: &mut String, index: usize, s: &SuiteSection<'_>) {
    let w = s.wasm;
    let _ = writeln!(
        out,
        "<section id=\"s{index}\">\n<h2>{} {}</h2>",
        escape(&w.suite),
        status_badge(w)
    );
    let cases: usize = w.modules.iter().map(|m| m.cases.len()).sum();
    let _ = write!(
        out,
        "<p class=\"meta\">{}, {}; wall {}",
        plural(w.modules.len(), "module"),
        plural(cases, "case"),
        wall(w.wall)
    );
    if let Some(n) = s.native {
        let _ = write!(
            out,
            ", native {} ({} wasm / native)",
            wall(n.wall),
            ratio(w.wall, n.wall)
        );
    }
    out.push_str("</p>\n");
    counts_table(out, &w.counts, s.native.map(|n| &n.counts));

    let module_of: HashMap<&str, &str> = w
        .modules
        .iter()
        .flat_map(|m| m.cases.iter().map(|c| (c.id.as_str(), m.module.as_str())))
        .collect();
    let native_outcomes: Option<HashMap<&str, CaseOutcome>> = s.native.map(|n| {
        n.modules
            .iter()
            .flat_map(|m| m.cases.iter().map(|c| (c.id.as_str(), c.outcome)))
            .collect()
    });

    let _ = writeln!(out, "<h3>Regressions ({})</h3>", w.regressions.len());
    if w.regressions.is_empty() {
        out.push_str("<p class=\"quiet\">None: every case expected to pass passed.</p>\n");
    } else {
        out.push_str("<ol class=\"cases regressions\">\n");
        for r in &w.regressions {
            let _ = write!(
                out,
                "<li><span class=\"outcome bad\">{}</span> <code>{}</code>",
                r.outcome,
                escape(&r.id)
            );
            if let Some(outcomes) = &native_outcomes {
                let _ = write!(
                    out,
                    " <span class=\"note\">{}</span>",
                    native_note(outcomes.get(r.id.as_str()).copied())
                );
            }
            if let Some(link) = module_of
                .get(r.id.as_str())
                .and_then(|m| log_href(s.wasm_logs, m))
            {
                let _ = write!(out, " <a href=\"{link}\">output</a>");
            }
            message(out, &r.message);
            out.push_str("</li>\n");
        }
        out.push_str("</ol>\n");
    }

    if !w.fixed.is_empty() {
        let _ = writeln!(
            out,
            "<h3>Fixed ({})</h3>\n<p class=\"quiet\">In the baseline but now passing: \
             bless to drop them.</p>\n<ul class=\"cases fixed\">",
            w.fixed.len()
        );
        for f in &w.fixed {
            let _ = write!(out, "<li><code>{}</code>", escape(&f.id));
            if let Some(reason) = &f.reason {
                let _ = write!(
                    out,
                    " <span class=\"note\">was: {}</span>",
                    escape(&excerpt(reason))
                );
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
    }

    modules_table(out, s);
    baseline_groups(out, s);
    out.push_str("</section>\n");
}

/// The counts as a table: a row for the guest, one for the native run.
fn counts_table(out: &mut String, wasm: &Counts, native: Option<&Counts>) {
    out.push_str("<table class=\"counts\">\n<thead><tr><th></th>");
    for (label, _) in wasm.rows() {
        let _ = write!(out, "<th>{label}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (side, counts) in [("wasm", Some(wasm)), ("native", native)] {
        let Some(counts) = counts else { continue };
        let _ = write!(out, "<tr><th>{side}</th>");
        for (label, count) in counts.rows() {
            out.push_str(&count_cell(label, count));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// One row per module: its counts, walls, status and output.
fn modules_table(out: &mut String, s: &SuiteSection<'_>) {
    let w = s.wasm;
    let regressed: HashSet<&str> = w.regressions.iter().map(|r| r.id.as_str()).collect();
    let fixed: HashSet<&str> = w.fixed.iter().map(|f| f.id.as_str()).collect();
    let native: Option<HashMap<&str, &Module>> = s
        .native
        .map(|n| n.modules.iter().map(|m| (m.module.as_str(), m)).collect());

    let _ = writeln!(out, "<h3>Modules ({})</h3>", w.modules.len());
    out.push_str("<table class=\"modules\">\n<thead>");
    // With a native run, a row above the names says which side each is.
    if native.is_some() {
        out.push_str(
            "<tr class=\"sides\"><th></th><th colspan=\"7\">wasm</th>\
             <th colspan=\"4\" class=\"nat\">native</th><th colspan=\"3\"></th></tr>",
        );
    }
    out.push_str(
        "<tr><th>module</th><th>cases</th><th>passed</th><th>failed</th><th>skipped</th>\
         <th>regressed</th><th>fixed</th><th>wall</th>",
    );
    if native.is_some() {
        out.push_str(
            "<th class=\"nat\">passed</th><th class=\"nat\">failed</th>\
             <th class=\"nat\">skipped</th><th class=\"nat\">wall</th><th>wasm / native</th>",
        );
    }
    out.push_str(
        "<th class=\"text\">status</th><th class=\"text\">output</th></tr></thead>\n<tbody>\n",
    );
    for m in &w.modules {
        let tally = Tally::of(m);
        let n_regressed = m
            .cases
            .iter()
            .filter(|c| regressed.contains(c.id.as_str()))
            .count();
        let n_fixed = m
            .cases
            .iter()
            .filter(|c| fixed.contains(c.id.as_str()))
            .count();
        let problem = n_regressed > 0 || m.status_note.is_some();
        let class = if n_regressed > 0 {
            " class=\"problem bad\""
        } else if problem {
            " class=\"problem warn\""
        } else if n_fixed > 0 {
            " class=\"problem fixed\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr{class}><td><code>{}</code></td>{}{}{}{}{}{}{}",
            escape(&m.module),
            num(m.cases.len()),
            num(tally.passed),
            num(tally.failed),
            num(tally.skipped),
            count_cell("regressed", n_regressed),
            count_cell("fixed", n_fixed),
            wall_cell(m.wall)
        );
        let native_module = native.as_ref().map(|n| n.get(m.module.as_str()).copied());
        match native_module {
            Some(Some(n)) => {
                let t = Tally::of(n);
                let _ = write!(
                    out,
                    "{}{}{}{}{}",
                    num(t.passed),
                    num(t.failed),
                    num(t.skipped),
                    wall_cell(n.wall),
                    ratio_cell(m.wall, n.wall)
                );
            }
            Some(None) => out.push_str("<td colspan=\"5\" class=\"quiet\">not run natively</td>"),
            None => {}
        }
        let mut status = Vec::new();
        if n_regressed > 0 {
            status.push(format!("{n_regressed} regressed"));
        }
        if n_fixed > 0 {
            status.push(format!("{n_fixed} fixed"));
        }
        if let Some(note) = &m.status_note {
            status.push(escape(&excerpt(note)));
        }
        if status.is_empty() {
            status.push("ok".to_owned());
        }
        let _ = write!(
            out,
            "<td class=\"text\">{}</td><td class=\"text\">",
            status.join("; ")
        );
        if let Some(link) = log_href(s.wasm_logs, &m.module) {
            let _ = write!(out, "<a href=\"{link}\">wasm</a>");
        }
        if native_module.flatten().is_some()
            && let Some(link) = log_href(s.native_logs, &m.module)
        {
            let _ = write!(out, " <a href=\"{link}\">native</a>");
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// The baseline's groups: each reason, how its cases fared in this run, and
/// the cases themselves (folded).
fn baseline_groups(out: &mut String, s: &SuiteSection<'_>) {
    let w = s.wasm;
    let groups = &s.baseline.groups;
    let total: usize = groups.iter().map(|g| g.cases.len()).sum();
    let _ = writeln!(
        out,
        "<h3>Baseline ({}, {})</h3>",
        plural(groups.len(), "group"),
        plural(total, "case")
    );
    if groups.is_empty() {
        out.push_str("<p class=\"quiet\">Empty: every case is expected to pass.</p>\n");
        return;
    }
    let failing: HashSet<&str> = w.expected_failures.iter().map(|c| c.id.as_str()).collect();
    let fixed: HashSet<&str> = w.fixed.iter().map(|c| c.id.as_str()).collect();
    let stale: HashSet<&str> = w.stale.iter().map(String::as_str).collect();
    let state = |id: &str| {
        if failing.contains(id) {
            "failing"
        } else if fixed.contains(id) {
            "fixed"
        } else if stale.contains(id) {
            "not run"
        } else {
            // Ran, and neither failed nor passed.
            "skipped"
        }
    };
    out.push_str(
        "<table class=\"groups\">\n<thead><tr><th>reason</th><th>cases</th><th>still failing</th>\
         <th>fixed</th><th>not run</th><th>skipped</th></tr></thead>\n<tbody>\n",
    );
    for g in groups {
        let mut by_state: HashMap<&str, usize> = HashMap::new();
        for id in &g.cases {
            *by_state.entry(state(id)).or_default() += 1;
        }
        let get = |k: &str| by_state.get(k).copied().unwrap_or(0);
        let _ = write!(
            out,
            "<tr><td><div class=\"reason\">{}</div><details><summary>{}</summary><ul>",
            escape(&g.reason),
            plural(g.cases.len(), "case")
        );
        for id in &g.cases {
            let st = state(id);
            let _ = write!(
                out,
                "<li><span class=\"state {}\">{st}</span> <code>{}</code></li>",
                st.replace(' ', "-"),
                escape(id)
            );
        }
        let _ = writeln!(
            out,
            "</ul></details></td>{}{}{}{}{}</tr>",
            num(g.cases.len()),
            num(get("failing")),
            count_cell("fixed", get("fixed")),
            count_cell("stale", get("not run")),
            num(get("skipped"))
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

/// A case's message, folded under its first line.
fn message(out: &mut String, text: &str) {
    let first = excerpt(text);
    if first.is_empty() {
        return;
    }
    let body = match text.char_indices().nth(MESSAGE_CHARS) {
        Some((cut, _)) => format!(
            "{}\n… (cut here; the module's output has it all)",
            &text[..cut]
        ),
        None => text.to_owned(),
    };
    let _ = write!(
        out,
        "<details><summary>{}</summary><pre>{}</pre></details>",
        escape(&first),
        escape(&body)
    );
}

/// Passed, failed and skipped cases of one module.
struct Tally {
    passed: usize,
    failed: usize,
    skipped: usize,
}

impl Tally {
    fn of(m: &Module) -> Self {
        let count = |f: fn(CaseOutcome) -> bool| m.cases.iter().filter(|c| f(c.outcome)).count();
        Self {
            passed: count(CaseOutcome::is_pass),
            failed: count(CaseOutcome::is_failure),
            skipped: count(CaseOutcome::is_skip),
        }
    }
}

/// `1 case`, `2 cases`.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn status_badge(r: &JsonReport) -> &'static str {
    if r.ok {
        "<span class=\"badge good\">ok</span>"
    } else {
        "<span class=\"badge bad\">FAILED</span>"
    }
}

/// A number cell, with its value for sorting; zeros are faint, so what
/// happened stands out.
fn num(n: usize) -> String {
    count_cell("", n)
}

/// A count, which calls for attention when it is not zero.
fn count_cell(label: &str, n: usize) -> String {
    let class = match label {
        _ if n == 0 => " class=\"zero\"",
        "regressed" => " class=\"bad\"",
        "fixed" => " class=\"fixed\"",
        "stale" => " class=\"warn\"",
        _ => "",
    };
    format!("<td{class} data-v=\"{n}\">{n}</td>")
}

fn wall_cell(secs: f64) -> String {
    format!("<td data-v=\"{}\">{}</td>", finite(secs), wall(secs))
}

fn ratio_cell(wasm: f64, native: f64) -> String {
    let v = if native > 0.0 { wasm / native } else { 0.0 };
    format!("<td data-v=\"{}\">{}</td>", finite(v), ratio(wasm, native))
}

/// A wall time in seconds as the terminal shows it; times come from files
/// anyone can edit, so anything but a finite, non-negative one is "?".
fn wall(secs: f64) -> String {
    match Duration::try_from_secs_f64(secs) {
        Ok(d) => human_duration(d),
        Err(_) => "?".to_owned(),
    }
}

fn ratio(wasm: f64, native: f64) -> String {
    let r = wasm / native;
    if native > 0.0 && r.is_finite() && r >= 0.0 {
        format!("{r:.1}×")
    } else {
        "–".to_owned()
    }
}

fn finite(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

/// The link to a module's log in `dir` (relative to the page), each part
/// percent-encoded; none without a directory, or for one that is not
/// relative.
fn log_href(dir: Option<&Path>, module: &str) -> Option<String> {
    let mut href = String::new();
    for part in dir?.components() {
        match part {
            Component::Normal(p) => href.push_str(&percent_encode(p.as_encoded_bytes())),
            Component::ParentDir => href.push_str(".."),
            Component::CurDir => continue,
            Component::RootDir | Component::Prefix(_) => return None,
        }
        href.push('/');
    }
    href.push_str(&percent_encode(log_file_name(module).as_bytes()));
    Some(href)
}

/// One URL path segment: everything but unreserved characters as `%XX`,
/// so a name can neither end the attribute nor become a scheme or query.
fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Escapes text for HTML content and for quoted attribute values alike.
/// Control characters (ANSI colour codes in test output, mostly) are
/// spelled out rather than passed to the page.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 with padding, for the script's hash in the policy.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let mut n = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            n |= u32::from(b) << (16 - 8 * i);
        }
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Dense tables, numbers right-aligned, colour only where it means something.
const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1f24;background:#fff}
h1{font-size:1.4em;margin:0 0 .6em}
h2{font-size:1.2em;margin:1.6em 0 .3em;padding-top:.6em;border-top:2px solid #d0d7de}
h3{font-size:1em;margin:1.1em 0 .3em}
table{border-collapse:collapse;margin:.3em 0}
th,td{border:1px solid #d0d7de;padding:2px 7px;text-align:right;white-space:nowrap}
th{background:#f3f5f7;font-weight:600}
td:first-child,th:first-child{text-align:left}
tbody tr:nth-child(even){background:#f8f9fa}
td.zero{color:#afb8c1}
.text{text-align:left}
td.text:nth-last-child(2){white-space:normal;min-width:8em}
tr.sides th{background:#fff;border-width:0 0 1px;text-align:center;font-weight:400;color:#57606a}
th.nat{background:#eef1f4}
table.groups td:first-child{text-align:left;white-space:normal;max-width:60em}
code,pre{font:12px/1.35 ui-monospace,monospace}
pre{white-space:pre-wrap;word-break:break-all;background:#f6f8fa;border:1px solid #d0d7de;padding:6px;margin:.3em 0;max-height:30em;overflow:auto}
ol.cases,ul.cases{padding-left:2em;margin:.3em 0}
ol.cases li,ul.cases li{margin:.2em 0}
details summary{cursor:pointer;color:#57606a}
.meta,.quiet,.note{color:#57606a}
.badge{font-size:.75em;padding:1px 6px;border-radius:3px;color:#fff;vertical-align:middle}
.badge.good{background:#1a7f37}.badge.bad{background:#cf222e}.badge.warn{background:#9a6700}
.outcome{font:600 11px ui-monospace,monospace;text-transform:uppercase}
td.bad,.outcome.bad,.state.failing{color:#cf222e;font-weight:600}
td.fixed,.state.fixed{color:#0969da;font-weight:600}
td.warn,.state.not-run{color:#9a6700}
tr.bad td:first-child{border-left:3px solid #cf222e}
tr.warn td:first-child{border-left:3px solid #bf8700}
tr.fixed td:first-child{border-left:3px solid #0969da}
.state{font-size:11px;display:inline-block;min-width:5em}
.pending{color:#9a6700;font-weight:600}
.reason{white-space:pre-wrap}
.filter{margin:.3em 0;display:flex;gap:1em;align-items:center}
th.sortable{cursor:pointer}
th[aria-sort=ascending]::after{content:' ▲'}th[aria-sort=descending]::after{content:' ▼'}
";

/// Sorting by any column and filtering the module tables. The tables are
/// complete without it; its controls are added only when it runs.
const SCRIPT: &str = r#"
"use strict";
document.documentElement.classList.add("js");
for (const table of document.querySelectorAll("table.modules, table.overview")) {
  const body = table.tBodies[0];
  const names = table.tHead.rows[table.tHead.rows.length - 1];
  const heads = Array.from(names.cells);
  heads.forEach((th, col) => {
    th.classList.add("sortable");
    th.addEventListener("click", () => {
      const down = th.getAttribute("aria-sort") === "ascending";
      heads.forEach(h => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", down ? "descending" : "ascending");
      const key = row => {
        const cell = row.cells[col];
        if (!cell) return "";
        const v = cell.dataset.v;
        return v === undefined ? cell.textContent : Number(v);
      };
      const rows = Array.from(body.rows).sort((a, b) => {
        const x = key(a), y = key(b);
        const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
        return down ? -c : c;
      });
      rows.forEach(r => body.appendChild(r));
    });
  });
  if (!table.classList.contains("modules")) continue;
  const bar = document.createElement("div");
  bar.className = "filter";
  const text = document.createElement("input");
  text.type = "search";
  text.placeholder = "filter modules";
  const label = document.createElement("label");
  const only = document.createElement("input");
  only.type = "checkbox";
  label.append(only, " only modules that regressed, changed or ended badly");
  bar.append(text, label);
  table.before(bar);
  const apply = () => {
    const needle = text.value.toLowerCase();
    for (const row of body.rows) {
      const shown = row.cells[0].textContent.toLowerCase().includes(needle)
        && (!only.checked || row.classList.contains("problem"));
      row.hidden = !shown;
    }
  };
  text.addEventListener("input", apply);
  only.addEventListener("change", apply);
}
"#;

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::suite::baseline::Group;
    use crate::suite::gate::judge;
    use crate::suite::results::{CaseResult, ModuleResult, SuiteRun};

    const HOSTILE: &str =
        "<script>document.title='PWNED'</script>&\"q\"<img src=x onerror=alert(1)>";

    fn case(id: &str, outcome: CaseOutcome, message: &str) -> CaseResult {
        CaseResult {
            id: id.into(),
            outcome,
            duration: 0.1,
            message: message.into(),
        }
    }

    fn module(name: &str, cases: Vec<CaseResult>, secs: u64) -> ModuleResult {
        ModuleResult {
            module: name.into(),
            cases,
            wall: Duration::from_secs(secs),
            status_note: None,
        }
    }

    /// A run whose second module regresses, with a fixed case, an expected
    /// failure, a stale id, and hostile text in every name and message.
    fn sample() -> (SuiteRun, Baseline) {
        let run = SuiteRun {
            suite: format!("demo{HOSTILE}"),
            modules: vec![
                module(
                    "t/test_a.py",
                    vec![
                        case("t/test_a.py::ok", CaseOutcome::Passed, ""),
                        case("t/test_a.py::known", CaseOutcome::Failed, "fenv"),
                        case("t/test_a.py::fixed", CaseOutcome::Passed, ""),
                    ],
                    2,
                ),
                ModuleResult {
                    status_note: Some(format!("trapped: {HOSTILE}")),
                    ..module(
                        &format!("t/test_{HOSTILE}.py"),
                        vec![case(
                            &format!("t/test_b.py::bad[{HOSTILE}]"),
                            CaseOutcome::Crashed,
                            &format!("boom {HOSTILE}\n\x1b[31mtraceback"),
                        )],
                        4,
                    )
                },
            ],
            wall: Duration::from_secs(6),
        };
        let baseline = Baseline {
            groups: vec![Group {
                reason: format!("no fenv {HOSTILE}"),
                cases: vec![
                    "t/test_a.py::known".into(),
                    "t/test_a.py::fixed".into(),
                    "t/test_gone.py::gone".into(),
                ],
            }],
        };
        (run, baseline)
    }

    fn render(native: bool) -> String {
        let (run, baseline) = sample();
        let wasm = JsonReport::new(&run, &judge(&run, &baseline));
        let mut nrun = run.clone();
        nrun.wall = Duration::from_secs(3);
        for m in &mut nrun.modules {
            m.wall /= 2;
            for c in &mut m.cases {
                c.outcome = CaseOutcome::Passed;
            }
        }
        let nreport = JsonReport::new(&nrun, &judge(&nrun, &baseline));
        let logs = PathBuf::from("wasm/demo");
        let native_logs = PathBuf::from("native/demo");
        let section = SuiteSection {
            wasm: &wasm,
            native: native.then_some(&nreport),
            baseline: &baseline,
            wasm_logs: Some(&logs),
            native_logs: native.then_some(native_logs.as_path()),
        };
        page(&[section], &[])
    }

    #[test]
    fn escape_covers_markup_quotes_and_controls() {
        assert_eq!(
            escape("<a href='x'>\"&\"</a>\x1b[0m\n"),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;\\u{1b}[0m\n"
        );
    }

    #[test]
    fn hostile_text_is_never_markup() {
        let html = render(true);
        // The page's own script is the only one, and no tag from the run
        // survives.
        assert_eq!(html.matches("<script").count(), 1, "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("onerror=alert(1)>"), "{html}");
        assert!(!html.contains("'PWNED'"), "{html}");
        assert!(!html.contains('\x1b'));
        let escaped =
            "&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;&amp;&quot;q&quot;";
        // Suite name (twice: overview and heading), module, case id and
        // message, status note, baseline reason.
        assert!(html.matches(escaped).count() >= 7, "{html}");
        // A module's log link is percent-encoded, never raw.
        assert!(
            html.contains("href=\"wasm/demo/t_test_%3Cscript%3Edocument_title%3D%27PWNED%27%3C_script%3E%26%22q%22%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E_py.log\""),
            "{html}"
        );
    }

    #[test]
    fn regressions_and_fixed_come_before_the_modules() {
        let html = render(false);
        let regression = html.find("<ol class=\"cases regressions\">").unwrap();
        let fixed = html.find("<ul class=\"cases fixed\">").unwrap();
        let modules = html.find("<table class=\"modules\">").unwrap();
        let groups = html.find("<table class=\"groups\">").unwrap();
        assert!(
            regression < fixed && fixed < modules && modules < groups,
            "{html}"
        );
        assert!(html.contains("<span class=\"outcome bad\">crashed</span>"));
        assert!(html.contains("2 modules, 4 cases; wall 6.0s"), "{html}");
        assert!(
            html.contains("<h3>Baseline (1 group, 3 cases)</h3>"),
            "{html}"
        );
        assert!(html.contains("<title>faasm-py test: FAILED, 1 regressed</title>"));
        // Baseline group: 3 cases, 1 still failing, 1 fixed, 1 not run.
        assert!(
            html.contains(
                "<td data-v=\"3\">3</td><td data-v=\"1\">1</td><td class=\"fixed\" data-v=\"1\">1</td><td class=\"warn\" data-v=\"1\">1</td><td class=\"zero\" data-v=\"0\">0</td></tr>"
            ),
            "{html}"
        );
        assert!(html.contains(
            "<span class=\"state not-run\">not run</span> <code>t/test_gone.py::gone</code>"
        ));
    }

    #[test]
    fn native_columns_only_with_a_native_run() {
        let without = render(false);
        assert!(!without.contains("native"), "{without}");
        let with = render(true);
        assert!(with.contains("<th>native wall</th><th>wasm / native</th>"));
        assert!(with.contains("<th colspan=\"4\" class=\"nat\">native</th>"));
        assert!(with.contains("<tr><th>native</th>"));
        assert!(with.contains("passes natively"));
        // 4s against 2s.
        assert!(with.contains("<td data-v=\"2\">2.0×</td>"), "{with}");
        assert!(with.contains("<a href=\"native/demo/t_test_a_py.log\">native</a>"));
        assert!(with.contains("wall 6.0s, native 3.0s (2.0× wasm / native)"));
    }

    #[test]
    fn the_policy_admits_exactly_the_page_script() {
        let html = render(false);
        let hash = base64(&Sha256::digest(SCRIPT.as_bytes()));
        assert!(html.contains(&format!("script-src 'sha256-{hash}'")));
        assert!(html.contains(&format!("<script>{SCRIPT}</script>")));
    }

    #[test]
    fn base64_pads() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    #[test]
    fn pending_suites_and_odd_walls() {
        let (run, baseline) = sample();
        let mut wasm = JsonReport::new(&run, &judge(&run, &Baseline::default()));
        wasm.regressions.clear();
        wasm.counts.regressed = 0;
        wasm.ok = true;
        wasm.wall = f64::NAN;
        wasm.modules[0].wall = -1.0;
        let section = SuiteSection {
            wasm: &wasm,
            native: None,
            baseline: &baseline,
            wasm_logs: None,
            native_logs: None,
        };
        let html = page(&[section], &["later<b>".to_owned()]);
        assert!(html.contains("<title>faasm-py test: incomplete</title>"));
        assert!(html.contains("Not finished: later&lt;b&gt;."));
        assert!(html.contains("wall ?"));
        assert!(!html.contains("href=\"wasm"));
        let empty = page(&[], &["a".to_owned()]);
        assert!(empty.contains("No suite has finished yet."));
    }

    #[test]
    fn long_messages_are_cut() {
        let mut out = String::new();
        message(&mut out, &"é".repeat(MESSAGE_CHARS + 10));
        assert!(out.contains("(cut here; the module&#39;s output has it all)"));
        // All that is kept in the body, and the summary's excerpt.
        assert_eq!(
            out.matches('é').count(),
            MESSAGE_CHARS + super::super::MESSAGE_CHARS
        );
    }
}
