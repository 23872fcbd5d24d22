//! The meson backend: a generated cross file and target-python view (what
//! crossenv did for the seed), the package's own `meson setup` / `ninja` /
//! `meson install`, and the static-archive compiler wrapper.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use fs_err as fs;
use harness::guest::HOST_PLATFORM;

use super::{Manifest, ModuleRow, STATIC_EXT_CC};
use crate::pins::Package;
use crate::pipeline::{StageContext, StageId};
use crate::process::{Cmd, Log};
use crate::stages::build_tools;
use crate::stages::cpython::CpythonBuild;
use crate::stages::host_python;
use crate::stages::toolchain::Toolchain;
use crate::stages::util::{apply_patches, files_under, path_with, unpack, write_script};
use crate::symbols;

/// The emulations CPython's configure enables for WASI; headers check them.
const WASI_DEFINES: &[&str] = &[
    "-D_WASI_EMULATED_SIGNAL",
    "-D_WASI_EMULATED_GETPID",
    "-D_WASI_EMULATED_PROCESS_CLOCKS",
];

/// Builds `package` with its vendored meson into `out`.
pub fn build(cx: &StageContext, package: &Package, out: &Path, log: &mut Log) -> Result<()> {
    let tc = Toolchain::with_cxx(
        &cx.output(&StageId::Toolchain)?,
        &cx.output(&StageId::CxxRuntime)?,
    );
    let cpython = CpythonBuild::load(&cx.output(&StageId::Cpython)?)?;
    let tools = build_tools::bin(&cx.output(&StageId::BuildTools)?);

    let src = unpack(cx, &package.sdist, out, log)?;
    apply_patches(cx.layout, &package.name, &src, log)?;

    let build = out.join("build");
    let wrap = write_wrapper(&tc, &tools.join("python"), out, &build, &cpython)?;
    // Not the build-tools venv: sysconfig's `venv` scheme ignores the
    // target's include directory.
    let host_python = host_python::python(&cx.output(&StageId::HostPython)?);
    let target_python = write_target_python(cx, out, &host_python, &cpython)?;
    let cross = write_cross_file(out, &tc, &wrap, &tools, &target_python)?;

    let meson = src.join("vendored-meson/meson/meson.py");
    if !meson.is_file() {
        bail!("{} vendors no meson at {}", package.name, meson.display());
    }
    let path = path_with(&[&tools]);
    let meson_cmd = || {
        Cmd::new(tools.join("python"))
            .arg(&meson)
            .env("PATH", &path)
            .env("PKG_CONFIG_LIBDIR", "/nonexistent")
            .env_remove("PKG_CONFIG_PATH")
    };

    log.step("meson setup");
    meson_cmd()
        .arg("setup")
        .arg(&build)
        .arg(&src)
        .arg("--cross-file")
        .arg(&cross)
        .arg(format!("--prefix={}", cx.guest.prefix()))
        .args(["-Dbuildtype=release", "-Db_ndebug=if-release"])
        .args(&package.meson_options)
        .run(log)?;

    let ninja = || {
        Cmd::new(tools.join("ninja"))
            .arg("-C")
            .arg(&build)
            .arg(format!("-j{}", cx.jobs))
            .env("PATH", &path)
    };
    // The wrapper names modules from meson's introspection, read once here.
    log.step("index extension modules");
    Cmd::new(tools.join("python"))
        .arg(wrap.join("static_ext_cc.py"))
        .arg("index")
        .run(log)?;
    log.step("ninja");
    ninja().run(log)?;

    // Symbols a module defines that another archive defines too are renamed
    // inside that module (as its own shared object would have bound them),
    // and the module rebuilt; what cannot be renamed stops the build.
    let cpython_archives = cpython.archives();
    let renames = plan_renames(&collect_modules(&build)?, &cpython_archives)?;
    if !renames.is_empty() {
        log.step("rename duplicate symbols");
        for (row, symbols) in &renames {
            log.note(&format!("{}: renaming {}", row.module, symbols.join(", ")));
            write_rename_header(out, row, symbols)?;
            remove_objects(row)?;
        }
        ninja().run(log)?;
        let left = plan_renames(&collect_modules(&build)?, &cpython_archives)?;
        if !left.is_empty() {
            bail!(
                "renaming did not remove the duplicate symbols of {}",
                left[0].0.module
            );
        }
    }

    log.step("meson install");
    let destdir = out.join("destdir");
    meson_cmd()
        .args(["install", "--no-rebuild", "--quiet", "-C"])
        .arg(&build)
        .arg("--destdir")
        .arg(&destdir)
        .run(log)?;

    log.step("collect");
    let mut manifest = Manifest {
        modules: collect_modules(&build)?,
        extra_archives: Vec::new(),
    };
    if manifest.modules.is_empty() {
        bail!("{} built no extension modules", package.name);
    }
    if !package.shims.is_empty() {
        manifest
            .extra_archives
            .push(build_shims(cx, &tc, package, out, log)?);
    }
    publish_python_files(cx, &destdir, out)?;
    manifest.save(out)
}

/// `cc` and `c++` wrappers plus their configuration; returns their directory.
fn write_wrapper(
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

/// The host python, made to report the wasm build's configuration: its
/// `_sysconfigdata`, `EXT_SUFFIX` and `pyconfig.h`, as CPython's own
/// Makefile does for `PYTHON_FOR_BUILD`.
fn write_target_python(
    cx: &StageContext,
    out: &Path,
    python: &Path,
    cpython: &CpythonBuild,
) -> Result<PathBuf> {
    let path = out.join("target-python");
    write_script(
        &path,
        &format!(
            "export _PYTHON_PROJECT_BASE='{}'\nexport _PYTHON_HOST_PLATFORM={HOST_PLATFORM}\nexport _PYTHON_SYSCONFIGDATA_NAME={}\nexport _PYTHON_SYSCONFIGDATA_PATH='{}'\nexec '{}' \"$@\"",
            cpython.project_base.display(),
            cx.guest.sysconfigdata_name(),
            cpython.sysconfig_dir.display(),
            python.display()
        ),
    )?;
    Ok(path)
}

fn write_cross_file(
    out: &Path,
    tc: &Toolchain,
    wrap: &Path,
    tools: &Path,
    target_python: &Path,
) -> Result<PathBuf> {
    let quote = |p: &Path| format!("'{}'", p.display());
    let defines = WASI_DEFINES
        .iter()
        .map(|d| format!("'{d}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        "# Generated by cargo faasm-py.\n\
         [binaries]\n\
         c = {cc}\n\
         cpp = {cxx}\n\
         ar = {ar}\n\
         strip = '/bin/true'\n\
         cython = {cython}\n\
         python = {python}\n\
         pkg-config = '/nonexistent/pkg-config'\n\
         \n\
         [host_machine]\n\
         system = 'wasi'\n\
         cpu_family = 'wasm32'\n\
         cpu = 'wasm32'\n\
         endian = 'little'\n\
         \n\
         [properties]\n\
         # wasm32's long double is IEEE binary128.\n\
         longdouble_format = 'IEEE_QUAD_LE'\n\
         needs_exe_wrapper = true\n\
         skip_sanity_check = true\n\
         \n\
         [built-in options]\n\
         c_args = [{defines}]\n\
         cpp_args = [{defines}]\n",
        cc = quote(&wrap.join("cc")),
        cxx = quote(&wrap.join("c++")),
        ar = quote(&tc.tool("llvm-ar")),
        cython = quote(&tools.join("cython")),
        python = quote(target_python),
    );
    let path = out.join("cross.ini");
    fs::write(&path, text)?;
    Ok(path)
}

/// For each module, the symbols it defines in its own objects that some
/// other archive of the link defines too. A duplicate no module owns (two
/// shared libraries) cannot be renamed and is an error naming both.
fn plan_renames(
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
fn write_rename_header(out: &Path, row: &ModuleRow, symbols: &[String]) -> Result<()> {
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
fn remove_objects(row: &ModuleRow) -> Result<()> {
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
fn collect_modules(build: &Path) -> Result<Vec<ModuleRow>> {
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
fn build_shims(
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

/// Moves the installed Python files to `<out>/site-packages`; the installed
/// "shared modules" are archives, linked in instead.
fn publish_python_files(cx: &StageContext, destdir: &Path, out: &Path) -> Result<()> {
    let installed = destdir
        .join(cx.guest.prefix().trim_start_matches('/'))
        .join(cx.guest.site_packages_dir());
    if !installed.is_dir() {
        bail!("meson installed nothing into {}", installed.display());
    }
    let site = out.join("site-packages");
    fs::rename(&installed, &site)?;
    let suffix = cx.guest.ext_suffix();
    for path in files_under(&site)? {
        if path.to_string_lossy().ends_with(&suffix) {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}
