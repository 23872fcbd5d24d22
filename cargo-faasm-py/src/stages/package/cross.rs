//! What every cross build of a package shares, whatever its build system:
//! the compiler wrappers that make extension modules static archives, the
//! host python made to report the wasm build's configuration (what
//! crossenv did for the seed), the duplicate-symbol renames, the modules
//! the wrapper recorded, and the package's shims.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use fs_err as fs;
use harness::guest::HOST_PLATFORM;

use super::{ModuleRow, STATIC_EXT_CC};
use crate::pipeline::StageContext;
use crate::plan::Package;
use crate::process::Log;
use crate::stages::cpython::CpythonBuild;
use crate::stages::toolchain::Toolchain;
use crate::stages::util::{files_under, write_script};
use crate::symbols;

/// The emulations CPython's configure enables for WASI; headers check them.
pub const WASI_DEFINES: &[&str] = &[
    "-D_WASI_EMULATED_SIGNAL",
    "-D_WASI_EMULATED_GETPID",
    "-D_WASI_EMULATED_PROCESS_CLOCKS",
];

/// `cc` and `c++` wrappers plus their configuration; returns their directory.
pub fn write_wrapper(
    tc: &Toolchain,
    python: &Path,
    out: &Path,
    build: &Path,
    cpython: &CpythonBuild,
) -> Result<PathBuf> {
    let wrap = out.join("wrap");
    fs::create_dir_all(out.join("rename"))?;
    fs::create_dir_all(&wrap)?;
    let config = serde_json::json!({
        "cc": tc.tool("clang"),
        "cxx": tc.tool("clang++"),
        "ar": tc.tool("llvm-ar"),
        "build_dir": build,
        "wrap_dir": wrap,
        "rename_dir": out.join("rename"),
        "ext_suffix": cpython.ext_suffix,
    });
    fs::write(
        wrap.join("static_ext_cc.json"),
        serde_json::to_string_pretty(&config)?,
    )?;
    fs::write(wrap.join("static_ext_cc.py"), STATIC_EXT_CC)?;
    for name in ["cc", "c++"] {
        // The wrapper's first argument says which compiler it stands for.
        write_script(
            &wrap.join(name),
            &format!(
                "exec '{}' -S '{}' {name} \"$@\"",
                python.display(),
                wrap.join("static_ext_cc.py").display()
            ),
        )?;
    }
    Ok(wrap)
}

/// The environment that makes the host python report the wasm build's
/// configuration: its `_sysconfigdata`, `EXT_SUFFIX` and `pyconfig.h`, as
/// CPython's own Makefile does for `PYTHON_FOR_BUILD`.
pub fn target_env(cx: &StageContext, cpython: &CpythonBuild) -> Vec<(String, String)> {
    vec![
        (
            "_PYTHON_PROJECT_BASE".into(),
            cpython.project_base.display().to_string(),
        ),
        ("_PYTHON_HOST_PLATFORM".into(), HOST_PLATFORM.into()),
        (
            "_PYTHON_SYSCONFIGDATA_NAME".into(),
            cx.guest.sysconfigdata_name(),
        ),
        (
            "_PYTHON_SYSCONFIGDATA_PATH".into(),
            cpython.sysconfig_dir.display().to_string(),
        ),
    ]
}

/// The host python as a script that reports the wasm build's
/// configuration (for build systems that take an interpreter path).
pub fn write_target_python(
    cx: &StageContext,
    out: &Path,
    python: &Path,
    cpython: &CpythonBuild,
) -> Result<PathBuf> {
    let path = out.join("target-python");
    let exports: String = target_env(cx, cpython)
        .iter()
        .map(|(k, v)| format!("export {k}='{v}'\n"))
        .collect();
    write_script(
        &path,
        &format!("{exports}exec '{}' \"$@\"", python.display()),
    )?;
    Ok(path)
}

/// For each module, the symbols it defines in its own objects that some
/// other archive of the link defines too. A duplicate no module owns (two
/// shared libraries) cannot be renamed and is an error naming both.
pub fn plan_renames(
    modules: &[ModuleRow],
    cpython_archives: &[PathBuf],
) -> Result<Vec<(ModuleRow, Vec<String>)>> {
    let mut archives: Vec<PathBuf> = modules.iter().map(|m| m.archive.clone()).collect();
    archives.extend(modules.iter().flat_map(|m| m.libs.iter().cloned()));
    archives.extend(cpython_archives.iter().cloned());
    let duplicates = symbols::duplicates(&archives)?;
    let mut renames = Vec::new();
    let mut owned = std::collections::BTreeSet::new();
    for row in modules {
        let own: Vec<String> = duplicates
            .iter()
            .filter(|(_, definers)| definers.contains(&row.archive))
            .map(|(symbol, _)| symbol.clone())
            .collect();
        owned.extend(own.iter().cloned());
        if !own.is_empty() {
            renames.push((row.clone(), own));
        }
    }
    let unowned: std::collections::BTreeMap<_, _> = duplicates
        .into_iter()
        .filter(|(symbol, _)| !owned.contains(symbol))
        .collect();
    if !unowned.is_empty() {
        bail!(
            "global symbols defined by more than one library, which no module owns and none can be renamed:\n{}",
            symbols::describe(&unowned)
        );
    }
    Ok(renames)
}

/// The force-included header that renames `symbols` throughout one module.
pub fn write_rename_header(out: &Path, row: &ModuleRow, symbols: &[String]) -> Result<()> {
    let prefix = row.module.replace('.', "_");
    let mut text = format!(
        "/* Generated by cargo faasm-py: symbols {} defines that another archive of\n   python.wasm defines too, renamed so each module keeps its own copy. */\n",
        row.module
    );
    for symbol in symbols {
        text.push_str(&format!("#define {symbol} faasm_py_{prefix}_{symbol}\n"));
    }
    let path = out
        .join("rename")
        .join(format!("{}.h", row.module.replace('.', "-")));
    fs::write(&path, text)?;
    Ok(())
}

/// Deletes a module's objects and archive so ninja rebuilds them.
pub fn remove_objects(row: &ModuleRow) -> Result<()> {
    let objects = PathBuf::from(format!("{}.p", row.archive.display()));
    for path in files_under(&objects)? {
        if path.extension().is_some_and(|e| e == "o") {
            fs::remove_file(&path)?;
        }
    }
    fs::remove_file(&row.archive)?;
    Ok(())
}

/// The rows the wrapper wrote next to each module archive.
pub fn collect_modules(build: &Path) -> Result<Vec<ModuleRow>> {
    let mut rows = Vec::new();
    for path in files_under(build)? {
        if path.to_string_lossy().ends_with(".faasm-module.json") {
            let text = fs::read_to_string(&path)?;
            let row: ModuleRow = serde_json::from_str(&text)
                .with_context(|| format!("malformed {}", path.display()))?;
            rows.push(row);
        }
    }
    rows.sort_by(|a, b| a.module.cmp(&b.module));
    Ok(rows)
}

/// Compiles the package's shims into one archive.
pub fn build_shims(
    cx: &StageContext,
    tc: &Toolchain,
    package: &Package,
    out: &Path,
    log: &mut Log,
) -> Result<PathBuf> {
    log.step("shims");
    let dir = out.join("shims");
    let sources = package
        .shims
        .iter()
        .map(|shim| cx.layout.shims().join(shim));
    let objects = tc.compile(sources, ["-O2"], &dir, cx.jobs, log)?;
    let archive = dir.join("libshims.a");
    tc.archive(&archive, &objects, log)?;
    Ok(archive)
}
