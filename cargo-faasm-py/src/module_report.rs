//! The module report: which extension modules python.wasm has built in,
//! for each standard-library module it lacks, why, and how many bytes of
//! code and data each library adds. CPython's configure decides each
//! module's state (`MODULE_<NAME>_STATE` in its Makefile); the reasons are
//! ours, one line per module; the sizes come from the linker's map file.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Standard-library extension modules in python.wasm's inittab.
    pub stdlib: Vec<String>,
    /// Package extension modules in the inittab (dotted names).
    pub packages: Vec<String>,
    /// Standard-library modules python.wasm does not have.
    pub unavailable: Vec<Unavailable>,
    /// Bytes of code and data in python.wasm, by the library (archive or
    /// object file, or package) they came from, largest first.
    pub sizes: Vec<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    pub name: String,
    /// configure's verdict: `n/a` (not for this platform), `missing` (a
    /// library was not found) or `disabled`.
    pub state: String,
    pub reason: String,
}

/// Why a standard-library module is not in python.wasm.
fn reason(name: &str) -> Option<&'static str> {
    const PROCESSES: &str = "no processes: WASI preview 1 cannot fork, exec or share memory";
    const THREADS: &str = "no threads: WASI preview 1 has none, and subinterpreters need them";
    Some(match name {
        "_posixsubprocess"
        | "_multiprocessing"
        | "_posixshmem"
        | "_testexternalinspection"
        | "_remote_debugging" => PROCESSES,
        "_interpreters" | "_interpchannels" | "_interpqueues" => THREADS,
        "fcntl" => "no file locking in WASI preview 1",
        "termios" | "_curses" | "_curses_panel" | "readline" => {
            "no terminal control in WASI preview 1 (and no ncurses or readline is built)"
        }
        "grp" | "pwd" => "no users or groups in WASI preview 1",
        "resource" => "no resource limits in WASI preview 1",
        "syslog" => "no system log in WASI preview 1",
        "_scproxy" => "macOS only",
        "_tkinter" => "no windowing system",
        "_dbm" | "_gdbm" => "no dbm library is built (dbm.dumb and sqlite3 work)",
        "_uuid" => "libuuid is not built (uuid's pure-Python code makes UUIDs)",
        "_ssl" | "_hashlib" => {
            "OpenSSL is not built: WASI preview 1 has no sockets to secure, and hashlib uses the built-in _md5, _sha1, _sha2, _sha3 and _blake2"
        }
        "_ctypes_test" => {
            "ctypes' tests load it by file name, which a built-in module lacks (they skip without it)"
        }
        _ => return None,
    })
}

/// Sums the input sections of a wasm-ld map file (`-Map=`) by where they
/// came from: `group(path)` of the archive or object file, whose lines read
/// `<path>(<member>):(<section>)` or `<path>:(<section>)` in the header's
/// `In` column. Symbol lines sit further right, and a demangled C++ name
/// (`ns::(anonymous namespace)::f`) can look like an input, so the column
/// decides, not the text.
pub fn sizes_from_map(map: &str, group: impl Fn(&str) -> String) -> Vec<(String, u64)> {
    let mut lines = map.lines();
    let in_column = lines
        .next()
        .and_then(|header| header.find(" In ").map(|at| at + 1))
        .unwrap_or(0);
    let mut by_path: BTreeMap<&str, u64> = BTreeMap::new();
    for line in lines {
        let Some(input) = line.get(in_column..) else {
            continue;
        };
        if input.starts_with(' ') || !line[..in_column].ends_with(' ') {
            continue; // an output section or a symbol
        }
        let mut fields = line[..in_column].split_whitespace();
        let (Some(_addr), Some(_offset), Some(size)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let Some((file, _section)) = input.trim_end().split_once(":(") else {
            continue;
        };
        let Ok(size) = u64::from_str_radix(size, 16) else {
            continue;
        };
        let path = match file.find('(') {
            Some(open) if file.ends_with(')') => &file[..open],
            _ => file,
        };
        if path.starts_with('<') {
            continue; // linker-synthesised (`<internal>`)
        }
        *by_path.entry(path).or_default() += size;
    }
    // Grouped once per input file, not once per section.
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    for (path, size) in by_path {
        *sizes.entry(group(path)).or_default() += size;
    }
    let mut sizes: Vec<(String, u64)> = sizes.into_iter().collect();
    sizes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sizes
}

/// `MODULE_<NAME>_STATE=<state>` lines of CPython's Makefile, by module name.
pub fn stdlib_states(makefile: &str) -> BTreeMap<String, String> {
    makefile
        .lines()
        .filter_map(|line| {
            let (var, state) = line.split_once('=')?;
            let name = var.trim().strip_prefix("MODULE_")?.strip_suffix("_STATE")?;
            Some((name.to_ascii_lowercase(), state.trim().to_owned()))
        })
        .collect()
}

impl Report {
    pub fn new(
        states: &BTreeMap<String, String>,
        packages: Vec<String>,
        sizes: Vec<(String, u64)>,
    ) -> Self {
        let mut stdlib = Vec::new();
        let mut unavailable = Vec::new();
        for (name, state) in states {
            if state == "yes" {
                stdlib.push(name.clone());
            } else {
                unavailable.push(Unavailable {
                    name: name.clone(),
                    state: state.clone(),
                    reason: reason(name).map(String::from).unwrap_or_else(|| {
                        format!("configure says `{state}`; no reason is recorded")
                    }),
                });
            }
        }
        Self {
            stdlib,
            packages,
            unavailable,
            sizes,
        }
    }

    /// Reads `modules.json`.
    pub fn load(path: &Path) -> Result<Self> {
        crate::stages::util::load_json(path)
    }

    /// A few lines for the terminal: the counts, then the missing modules
    /// grouped by reason.
    pub fn summary(&self) -> String {
        let mut by_reason: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for u in &self.unavailable {
            by_reason.entry(&u.reason).or_default().push(&u.name);
        }
        let mut text = format!(
            "python.wasm has {} standard-library and {} package extension modules built in; {} standard-library modules are not available:",
            self.stdlib.len(),
            self.packages.len(),
            self.unavailable.len()
        );
        for (reason, names) in by_reason {
            text.push_str(&format!("\n  {}: {reason}", names.join(", ")));
        }
        let largest: Vec<String> = self
            .sizes
            .iter()
            .take(6)
            .map(|(what, bytes)| format!("{what} {:.2} MB", *bytes as f64 / 1e6))
            .collect();
        if !largest.is_empty() {
            text.push_str(&format!(
                "\nlargest parts (code and data): {}",
                largest.join(", ")
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAKEFILE: &str = "\
MODULE_ZLIB_STATE=yes
MODULE__CTYPES_STATE=yes
MODULE__POSIXSUBPROCESS_STATE=n/a
MODULE__MULTIPROCESSING_STATE=n/a
MODULE__NEWTHING_STATE=missing
MODULE__CTYPES_CFLAGS=-I/x
";

    #[test]
    fn reads_module_states_from_the_makefile() {
        let states = stdlib_states(MAKEFILE);
        assert_eq!(states.len(), 5);
        assert_eq!(states["_ctypes"], "yes");
        assert_eq!(states["_posixsubprocess"], "n/a");
    }

    /// Lines as wasm-ld writes them, C++ symbol lines included.
    const MAP: &str = "    Addr      Off     Size Out     In      Symbol
       -     b7f     42a3 CODE
       -    b7cd5       21         /b/kiwi/modules/libkiwisolver._cext.a(cext.o):(_ZN10kiwisolver10Constraint5ReadyEv)
       -    b7cd5       21                 kiwisolver::Constraint::Ready()
       -    b7cf6       7f         /b/kiwi/modules/libkiwisolver._cext.a(cext.o):(_ZN10kiwisolver12_GLOBAL__N_118Constraint_deallocEPNS_10ConstraintE)
       -    b7cf6       7f                 kiwisolver::(anonymous namespace)::Constraint_dealloc(kiwisolver::Constraint*)
       -    b7d75      100         /b/link/main.o:(main)
       -    b7d75      100                 main
       -    b7e75        8         <internal>:(__wasm_call_ctors)
";

    #[test]
    fn sums_input_sections_by_library_and_never_counts_a_symbol_line() {
        let sizes = sizes_from_map(MAP, |path| {
            Path::new(path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        });
        assert_eq!(
            sizes,
            [
                ("main.o".to_string(), 0x100),
                ("libkiwisolver._cext.a".to_string(), 0x21 + 0x7f),
            ]
        );
    }

    #[test]
    fn groups_missing_modules_by_reason_and_names_unknown_ones() {
        let report = Report::new(
            &stdlib_states(MAKEFILE),
            vec!["numpy.fft._pocketfft_umath".into()],
            vec![("libsqlite3.a".into(), 1_006_607)],
        );
        assert_eq!(report.stdlib, ["_ctypes", "zlib"]);
        let summary = report.summary();
        assert!(
            summary.starts_with("python.wasm has 2 standard-library and 1 package"),
            "{summary}"
        );
        assert!(
            summary.contains("_multiprocessing, _posixsubprocess: no processes"),
            "{summary}"
        );
        assert!(
            summary.contains("_newthing: configure says `missing`"),
            "{summary}"
        );
    }
}
