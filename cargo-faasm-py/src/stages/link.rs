//! `link`: python.wasm from libpython, the C libraries, every package
//! module and a generated main, and the module report of what it has built
//! in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use fs_err as fs;

use super::cpython::CpythonBuild;
use super::package::Manifest;
use super::toolchain::Toolchain;
use super::util::save_json;
use crate::adapters;
use crate::inittab::{self, Entry};
use crate::layout::Layout;
use crate::module_report::{self, Report};
use crate::pipeline::{Contract, Stage, StageContext, StageId};
use crate::process::{Cmd, Log};
use crate::symbols;

/// DWARF goes, the name section stays: traps then name the guest function.
/// The map file says which library each byte came from (the module report's
/// sizes). CPython's two ways out of a run go through `python-main.c`
/// (`__wrap_Py_FinalizeEx`, `__wrap_Py_Exit`): a run of the snapshot ends
/// without tearing the interpreter down.
const LINK_FLAGS: &[&str] = &["-Wl,--strip-debug", "-Wl,-Map=python.map"];
/// Shims (in `third-party/shims`) that are part of the program itself,
/// linked as objects ahead of every library so that they replace what the
/// libraries define: the loader that lets ctypes open the program, the
/// entry point that starts CPython or resumes a snapshot of it, the
/// pthread functions CPython's stubs leave out, and the registration of
/// C++ thread-locals' destructors.
const PROGRAM_SHIMS: &[&str] = &[
    "dlfcn-program.c",
    "python-main.c",
    "pthread-stubs.c",
    "thread-atexit.c",
];
/// The program's `main`, in C++: it reports uncaught C++ exceptions.
const PROGRAM_MAIN: &str = "main-uncaught-exceptions.cpp";
/// wasi-libc leaves long double out of printf/scanf unless asked; numpy
/// parses and prints `np.longdouble` (otherwise `strtold` aborts). Its
/// `setjmp`/`longjmp` runtime, for packages' C that calls them (compiled
/// for it by the package stages); an archive, so only what is used.
const EXTRA_LIBS: &[&str] = &["-lc-printscan-long-double", "-lsetjmp"];

/// The `link` stage.
pub struct Link {
    /// Package stages whose modules are linked in.
    pub packages: Vec<StageId>,
}

impl Link {
    fn manifests(&self, cx: &StageContext) -> Result<Vec<Manifest>> {
        self.packages
            .iter()
            .map(|p| Manifest::load(&cx.output(p)?))
            .collect()
    }
}

/// The adapters one object (`what`, as the log names it) needs, if any:
/// its calls renamed to them, written to `dir/member`; the file and the
/// adapters.
fn adapt_object(
    what: &str,
    member: &str,
    object: &[u8],
    definitions: &BTreeMap<String, adapters::Signature>,
    dir: &Path,
    log: &mut Log,
) -> Result<Option<(PathBuf, Vec<adapters::Adapter>)>> {
    let found = adapters::function_symbols(object).map_err(|e| anyhow::anyhow!("{what}: {e:#}"))?;
    let needed = adapters::adapters(&found.undefined, definitions);
    if needed.is_empty() {
        return Ok(None);
    }
    for adapter in needed.values() {
        log.note(&format!(
            "{what}: calls `{}` as {}, which is {}: through `{}`",
            adapter.callee, adapter.caller_type, adapter.callee_type, adapter.name
        ));
    }
    let renames = needed.iter().map(|(i, a)| (*i, a.name.clone())).collect();
    let (object, _) = crate::namespace::rename_undefined_functions(object, &renames)?;
    fs::create_dir_all(dir)?;
    let file = dir.join(member);
    fs::write(&file, object)?;
    Ok(Some((file, needed.into_values().collect())))
}

/// Routes each package module's calls whose declared result differs from
/// the one definition among `archives`, or that pass trailing arguments it
/// does not take, through an adapter
/// ([`crate::adapters`]): the modules that have such calls are rewritten
/// into `out/adapted/` (original archive → rewritten one), and the
/// adapters' C source is written, if there are any.
fn adapt_results(
    tc: &Toolchain,
    manifests: &[Manifest],
    archives: &[PathBuf],
    out: &Path,
    log: &mut Log,
) -> Result<(BTreeMap<PathBuf, PathBuf>, Option<PathBuf>)> {
    // Each global function's type; one defined with two types is left out.
    let mut definitions: BTreeMap<String, Option<adapters::Signature>> = BTreeMap::new();
    for archive in archives {
        let bytes = fs::read(archive)?;
        for (_, data) in symbols::archive_members(&bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e:#}", archive.display()))?
        {
            let Some(data) = data.filter(|d| !symbols::is_bitcode(d)) else {
                continue;
            };
            let found = adapters::function_symbols(data)
                .map_err(|e| anyhow::anyhow!("{}: {e:#}", archive.display()))?;
            for (name, signature) in found.defined {
                let entry = definitions.entry(name).or_insert(Some(signature.clone()));
                if entry.as_ref() != Some(&signature) {
                    *entry = None;
                }
            }
        }
    }
    let definitions: BTreeMap<String, adapters::Signature> = definitions
        .into_iter()
        .filter_map(|(name, signature)| Some((name, signature?)))
        .collect();
    let mut adapted = BTreeMap::new();
    let mut all = Vec::new();
    let dir = out.join("adapted");
    for row in manifests.iter().flat_map(|m| &m.modules) {
        let bytes = fs::read(&row.archive)?;
        let members = symbols::archive_members(&bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e:#}", row.archive.display()))?;
        let [(member, Some(object))] = members.as_slice() else {
            continue;
        };
        let what = row.module.to_string();
        let Some((file, needed)) = adapt_object(&what, member, object, &definitions, &dir, log)?
        else {
            continue;
        };
        let archive = dir.join(format!("lib{}.a", row.module));
        tc.archive(&archive, &[file], log)?;
        adapted.insert(row.archive.clone(), archive);
        all.extend(needed);
    }
    // The C libraries' members call one another too: OpenBLAS's C LAPACK
    // declares `void` routines that OpenBLAS itself defines returning
    // `int` (`dgels` calls `dtrtrs_`, `dlaed1` calls `dlaed3_`). Their
    // members that need adapters are replaced in a copy of the archive.
    let modules: std::collections::BTreeSet<&Path> = manifests
        .iter()
        .flat_map(|m| &m.modules)
        .map(|row| row.archive.as_path())
        .collect();
    let libraries: std::collections::BTreeSet<&Path> = manifests
        .iter()
        .flat_map(|m| m.archives())
        .filter(|a| !modules.contains(a))
        .collect();
    for (n, library) in libraries.into_iter().enumerate() {
        let bytes = fs::read(library)?;
        let members = symbols::archive_members(&bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e:#}", library.display()))?;
        let member_dir = dir.join(format!("lib{n}"));
        let mut rewritten = Vec::new();
        for (member, data) in &members {
            let Some(data) = data.filter(|d| !symbols::is_bitcode(d)) else {
                continue;
            };
            let what = format!("{}({member})", library.display());
            if let Some((file, needed)) =
                adapt_object(&what, member, data, &definitions, &member_dir, log)?
            {
                rewritten.push(file);
                all.extend(needed);
            }
        }
        if rewritten.is_empty() {
            continue;
        }
        let copy = member_dir.join(library.file_name().unwrap_or_default());
        fs::copy(library, &copy)?;
        // `r` replaces the members of the same names.
        Cmd::new(tc.tool("llvm-ar"))
            .arg("r")
            .arg(&copy)
            .args(&rewritten)
            .run(log)?;
        adapted.insert(library.to_owned(), copy);
    }
    if all.is_empty() {
        return Ok((adapted, None));
    }
    let source = out.join("adapters.c");
    fs::write(&source, adapters::c_source(&all.iter().collect::<Vec<_>>()))?;
    Ok((adapted, Some(source)))
}

/// The inittab rows of every package module.
fn entries(manifests: &[Manifest]) -> Vec<Entry> {
    manifests
        .iter()
        .flat_map(|m| &m.modules)
        .map(|row| Entry {
            module: row.module.clone(),
            init: row.init.clone(),
        })
        .collect()
}

impl Stage for Link {
    fn id(&self) -> StageId {
        StageId::Link
    }
    fn contract(&self) -> Contract {
        // main.c is generated by inittab.rs, and the report by
        // module_report.rs: their text is part of the recipe. The
        // manifests are outputs of the package stages, read as such.
        Contract::new(&[
            include_str!("link.rs"),
            include_str!("cpython.rs"),
            include_str!("package/mod.rs"),
            include_str!("toolchain.rs"),
            include_str!("util.rs"),
            include_str!("../inittab.rs"),
            include_str!("../module_report.rs"),
            include_str!("../symbols.rs"),
            include_str!("../adapters.rs"),
            include_str!("../namespace.rs"),
        ])
        .stages([StageId::Toolchain, StageId::CxxRuntime, StageId::Cpython])
        .stages(self.packages.iter().cloned())
        .shims(PROGRAM_SHIMS)
        .shim(PROGRAM_MAIN)
        .publishes(Layout::MODULE_REPORT, Layout::module_report)
        .publishes(Layout::PYTHON_WASM, Layout::python_wasm)
    }

    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        let tc = Toolchain::with_cxx(
            &cx.output(&StageId::Toolchain)?,
            &cx.output(&StageId::CxxRuntime)?,
        );
        let cpython = CpythonBuild::load(&cx.output(&StageId::Cpython)?)?;
        let manifests = self.manifests(cx)?;
        log.step("check duplicate symbols");
        let mut archives: Vec<PathBuf> = manifests
            .iter()
            .flat_map(|m| m.archives())
            .map(|p| p.to_owned())
            .collect();
        archives.extend(cpython.archives());
        let duplicates = symbols::duplicates(&archives)?;
        if !duplicates.is_empty() {
            bail!(
                "global symbols defined by more than one archive (wasm-ld would silently keep one):\n{}",
                symbols::describe(&duplicates)
            );
        }
        log.step(
            "adapt calls whose declared result or trailing arguments differ from the callee's",
        );
        let (adapted, adapters_c) = adapt_results(&tc, &manifests, &archives, out, log)?;
        let linked = |archive: &Path| adapted.get(archive).cloned().unwrap_or(archive.to_owned());
        log.step("compile main.c and the program shims");
        let entries = entries(&manifests);
        fs::write(out.join("main.c"), inittab::main_c(&entries)?)?;
        let mut sources = vec![out.join("main.c")];
        sources.extend(adapters_c);
        for shim in PROGRAM_SHIMS {
            sources.push(cx.shim(shim)?);
        }
        let mut flags = cpython.cflags.clone();
        flags.push(format!("-I{}", cpython.include.display()));
        let mut objects = tc.compile(sources, &flags, out, cx.jobs(), log)?;
        objects.extend(tc.compile([cx.shim(PROGRAM_MAIN)?], ["-O2"], out, cx.jobs(), log)?);
        log.step("link python.wasm");
        let tmp = format!("{}.tmp", Layout::PYTHON_WASM);
        // The C++ driver, so that packages' C++ code gets libc++ and
        // libc++abi (with the unwinder).
        Cmd::new(tc.tool("clang++"))
            .args(&cpython.ldflags)
            .args(LINK_FLAGS)
            .args(
                CpythonBuild::WRAPPED
                    .iter()
                    .map(|f| format!("-Wl,--wrap={f}")),
            )
            .arg("-o")
            .arg(&tmp)
            .args(&objects)
            .args(manifests.iter().flat_map(|m| m.archives()).map(linked))
            .arg(&cpython.libpython)
            .args(&cpython.libs)
            .args(manifests.iter().flat_map(|m| m.link_flags()))
            .args(EXTRA_LIBS)
            .cwd(out)
            .run(log)?;
        fs::rename(out.join(&tmp), out.join(Layout::PYTHON_WASM))?;

        log.step("module report");
        let map = fs::read_to_string(out.join("python.map"))?;
        let package_of: BTreeMap<PathBuf, &str> = self
            .packages
            .iter()
            .zip(&manifests)
            .flat_map(|(id, m)| m.archives().into_iter().map(move |a| (a, id.name())))
            .flat_map(|(a, name)| [(a.to_owned(), name), (linked(a), name)])
            .collect();
        let sizes = module_report::sizes_from_map(&map, |path| {
            let path = Path::new(path);
            match package_of.get(path) {
                Some(package) => package.to_string(),
                None => path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            }
        });
        let packages = entries.into_iter().map(|e| e.module).collect();
        let report = Report::new(&cpython.module_states, packages, sizes);
        save_json(&out.join(Layout::MODULE_REPORT), &report)
    }
}
