//! What every cross build of a package shares, whatever its build system:
//! the compiler wrappers that make extension modules static objects, the
//! host python made to report the wasm build's configuration (what
//! crossenv did for the seed), and the package's shims.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use fs_err as fs;
use harness::guest::HOST_PLATFORM;

use crate::pipeline::{StageContext, StageId};
use crate::plan::Package;
use crate::process::Log;
use crate::stages::cpython::CpythonBuild;
use crate::stages::cxx_runtime;
use crate::stages::script::Wrapper;
use crate::stages::toolchain::Toolchain;
use crate::stages::util::{files_under, unzip};

/// The compiler wrapper that turns extension modules into archives.
pub const STATIC_EXT_CC: &str = include_str!("static_ext_cc.py");

/// The emulations CPython's configure enables for WASI; headers check
/// them. And wasi-libc's pthread emulation, as every C++ file gets it
/// ([`cxx_runtime::THREADS`]), so that C code which only mentions threads
/// compiles: `pthread_create` is declared, and fails at run time (EAGAIN)
/// like `threading` in the guest, instead of `<pthread.h>` refusing it at
/// compile time.
pub const WASI_DEFINES: &[&str] = &[
    "-D_WASI_EMULATED_SIGNAL",
    "-D_WASI_EMULATED_GETPID",
    "-D_WASI_EMULATED_PROCESS_CLOCKS",
    cxx_runtime::THREADS,
];

/// What the wrapper adds to every compile of a package's C: `setjmp` and
/// `longjmp` over wasm exceptions (qhull's error handling in SciPy needs
/// them; wasi-libc's `<setjmp.h>` refuses to compile without), in the
/// standard encoding wasmtime runs. The link adds `-lsetjmp`.
pub const C_FLAGS: &[&str] = &[
    "-mllvm",
    "-wasm-enable-sjlj",
    "-mllvm",
    "-wasm-use-legacy-eh=false",
];
/// The same for C++, whose compiler already asks for the standard
/// encoding ([`cxx_runtime::EXCEPTIONS`]; LLVM takes an option once).
pub const CXX_FLAGS: &[&str] = &["-mllvm", "-wasm-enable-sjlj"];
/// What the wrapper removes from every command line: `-pthread` (meson's
/// `dependency('threads')` adds it) makes clang target wasm threads
/// (shared memory, atomics, real thread-locals), which python.wasm has
/// not: its guest is single-threaded, with pthreads emulated
/// ([`WASI_DEFINES`]), and a module's thread-local references cannot even
/// be linked into one object.
pub const DROPPED_FLAGS: &[&str] = &["-pthread"];

/// One package build's compiler wrapper: every file and folder it uses is
/// named here and handed to `static_ext_cc.py` in its configuration
/// ([`WrapperConfig`]), which names none of its own.
#[derive(Debug, Clone)]
pub struct Wrap {
    /// The directory of `cc`, `c++`, the script and its configuration
    /// (on the `PYTHONPATH` of PEP 517 builds, for the setuptools hook).
    pub dir: PathBuf,
    /// `static_ext_cc.py`.
    pub script: PathBuf,
    /// Its configuration, the script's first argument.
    pub config: PathBuf,
    /// Where it leaves each module's object and row.
    pub modules: PathBuf,
}

impl Wrap {
    /// The `cc` (`"cc"`) or `c++` (`"c++"`) wrapper script.
    pub fn compiler(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// `static_ext_cc.json`: what the script reads, field by field.
#[derive(Debug, serde::Serialize)]
struct WrapperConfig<'a> {
    cc: PathBuf,
    cxx: PathBuf,
    /// Added before the arguments of every C compile ([`C_FLAGS`]).
    cc_flags: &'a [&'a str],
    /// Added before the arguments of every C++ compile ([`CXX_FLAGS`]).
    cxx_flags: &'a [&'a str],
    /// Removed from every command line ([`DROPPED_FLAGS`]).
    dropped_flags: &'a [&'a str],
    ld: PathBuf,
    build_dir: &'a Path,
    out_dir: &'a Path,
    stages_dir: &'a Path,
    ext_suffix: &'a str,
    modules_dir: &'a Path,
    /// meson's extension modules, written by `static_ext_cc.py index`.
    index_file: PathBuf,
    /// setuptools' extension modules, written by the setuptools hook.
    extensions_file: PathBuf,
}

/// `cc` and `c++` wrappers plus their configuration.
pub fn write_wrapper(
    tc: &Toolchain,
    python: &Path,
    out: &Path,
    build: &Path,
    cpython: &CpythonBuild,
) -> Result<Wrap> {
    let dir = out.join("wrap");
    fs::create_dir_all(&dir)?;
    let wrap = Wrap {
        script: dir.join("static_ext_cc.py"),
        config: dir.join("static_ext_cc.json"),
        modules: dir.join("modules"),
        dir,
    };
    let config = WrapperConfig {
        cc: tc.tool("clang"),
        cxx: tc.tool("clang++"),
        cc_flags: C_FLAGS,
        cxx_flags: CXX_FLAGS,
        dropped_flags: DROPPED_FLAGS,
        ld: tc.tool("wasm-ld"),
        build_dir: build,
        out_dir: out,
        stages_dir: out
            .parent()
            .context("a stage's output directory has a parent")?,
        ext_suffix: &cpython.ext_suffix,
        modules_dir: &wrap.modules,
        index_file: wrap.dir.join("meson-extensions.json"),
        extensions_file: wrap.dir.join("setuptools-extensions.json"),
    };
    fs::write(&wrap.config, serde_json::to_string_pretty(&config)?)?;
    fs::write(&wrap.script, STATIC_EXT_CC)?;
    for name in ["cc", "c++"] {
        // The wrapper's second argument says which compiler it stands for.
        Wrapper::new(python)
            .arg("-S")
            .arg(&wrap.script)
            .arg(&wrap.config)
            .arg(name)
            .write(&wrap.compiler(name))?;
    }
    Ok(wrap)
}

/// The `sitecustomize` of a build's pythons, beside the script in
/// `wrap.dir`: it hooks setuptools to record the extensions it builds.
pub fn sitecustomize(wrap: &Wrap) -> Result<String> {
    // A JSON string is a valid Python string literal.
    let config = serde_json::to_string(&wrap.config.to_string_lossy())?;
    Ok(format!(
        "import static_ext_cc\nstatic_ext_cc.setuptools_hook({config})\n"
    ))
}

/// The environment that makes the host python report the wasm build's
/// configuration: its `_sysconfigdata`, `EXT_SUFFIX` and `pyconfig.h`, as
/// CPython's own Makefile does for `PYTHON_FOR_BUILD`.
pub fn target_env(
    cx: &StageContext,
    cpython: &CpythonBuild,
) -> Result<Vec<(&'static str, String)>> {
    Ok(vec![
        (
            "_PYTHON_PROJECT_BASE",
            cpython.project_base.display().to_string(),
        ),
        ("_PYTHON_HOST_PLATFORM", HOST_PLATFORM.into()),
        (
            "_PYTHON_SYSCONFIGDATA_NAME",
            cx.guest()?.sysconfigdata_name(),
        ),
        (
            "_PYTHON_SYSCONFIGDATA_PATH",
            cpython.sysconfig_dir.display().to_string(),
        ),
    ])
}

/// The host python as a script that reports the wasm build's
/// configuration (for build systems that take an interpreter path).
pub fn write_target_python(
    cx: &StageContext,
    out: &Path,
    python: &Path,
    cpython: &CpythonBuild,
    python_path: &[&Path],
) -> Result<PathBuf> {
    let path = out.join("target-python");
    let mut script = Wrapper::new(python);
    for (key, value) in target_env(cx, cpython)? {
        script = script.export(key, value);
    }
    if !python_path.is_empty() {
        let joined =
            std::env::join_paths(python_path).context("a directory cannot go on PYTHONPATH")?;
        // After the caller's own (numpy's generators set theirs).
        script = script.export_after_callers("PYTHONPATH", joined);
    }
    script.write(&path)?;
    Ok(path)
}

/// `-I`/`-L` flags for the C libraries `package` is built against.
pub fn library_flags(cx: &StageContext, package: &Package) -> Result<(String, String)> {
    let mut includes = Vec::new();
    let mut libs = Vec::new();
    for lib in &package.c_libraries {
        let dir = cx.output(lib)?;
        includes.push(format!("-I{}", dir.join("include").display()));
        libs.push(format!("-L{}", dir.join("lib").display()));
    }
    Ok((includes.join(" "), libs.join(" ")))
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
        .map(|shim| cx.shim(shim))
        .collect::<Result<Vec<_>>>()?;
    let objects = tc.compile(sources, ["-O2"], &dir, cx.jobs(), log)?;
    let archive = dir.join("libshims.a");
    tc.archive(&archive, &objects, log)?;
    Ok(archive)
}

/// The artifact of a guest package's native wheel.
pub fn native_artifact(package: &str) -> String {
    format!("native:{package}")
}

/// What a build that compiles against other guest packages (pandas against
/// numpy) imports and includes: each one's native wheel, so that build
/// scripts can run it (`numpy.get_include()`, Cython's `cimport numpy`),
/// with every directory of C headers and libraries it ships replaced by the
/// wasm build's, so that what compiles sees wasm32's `_numpyconfig.h` and
/// links wasm32's `libnpymath.a`, never the host's. Returns the directory
/// to put on `PYTHONPATH`, or `None` when the package needs none.
pub fn guest_build_deps_view(
    cx: &StageContext,
    package: &Package,
    out: &Path,
    log: &mut Log,
) -> Result<Option<PathBuf>> {
    if package.guest_build_deps.is_empty() {
        return Ok(None);
    }
    log.step("guest packages for the build");
    let view = out.join("guest-build-deps");
    let _ = std::fs::remove_dir_all(&view);
    fs::create_dir_all(&view)?;
    for dep in &package.guest_build_deps {
        let wheel = cx.fetch(&native_artifact(dep), log).with_context(|| {
            format!(
                "package `{}` compiles against `{dep}`, whose native wheel its build scripts run",
                package.name
            )
        })?;
        // Each wheel is unpacked on its own and its C directories replaced
        // there, so that a later wheel never touches an earlier one's
        // (SciPy's view must keep numpy's wasm32 `lib` for scikit-learn).
        let unpacked = out.join("guest-build-deps.unpack").join(dep);
        let _ = std::fs::remove_dir_all(&unpacked);
        // unzip makes only the last directory of its destination.
        fs::create_dir_all(&unpacked)?;
        unzip(&wheel, &unpacked, log)?;
        let wasm_site = cx
            .output(&StageId::Package(dep.clone()))?
            .join("site-packages");
        if replace_c_dirs(&unpacked, &wasm_site)? == 0 {
            log.note(&format!("{dep} ships no C headers or libraries"));
        }
        merge_into(&unpacked, &view)?;
    }
    let _ = std::fs::remove_dir_all(out.join("guest-build-deps.unpack"));
    Ok(Some(view))
}

/// The console scripts of the guest packages in `view` (numpy's `f2py`
/// and `numpy-config`, which SciPy's meson runs) as programs in
/// `<view>/bin`, each run by `python` (the target-python view, so that
/// they see the guest packages' wasm32 headers); the directory, or `None`
/// when they declare none.
pub fn write_console_scripts(view: &Path, python: &Path) -> Result<Option<PathBuf>> {
    let bin = view.join("bin");
    let mut wrote = false;
    for entry in fs::read_dir(view)? {
        let points = entry?.path().join("entry_points.txt");
        if !points.is_file() {
            continue;
        }
        for (name, target) in console_scripts(&fs::read_to_string(&points)?) {
            let Some((module, attr)) = target.split_once(':') else {
                continue;
            };
            let head = attr.split('.').next().unwrap_or(attr);
            fs::create_dir_all(&bin)?;
            // `-P`: like an installed script, it must not import from the
            // directory it runs in (SciPy's `signal` shadows the stdlib's).
            Wrapper::new(python)
                .args(["-P", "-c"])
                .arg(format!(
                    "import sys\nfrom {module} import {head}\nsys.exit({attr}())"
                ))
                .write(&bin.join(name))?;
            wrote = true;
        }
    }
    Ok(wrote.then_some(bin))
}

/// `name = module:attr` lines of an `entry_points.txt`'s
/// `[console_scripts]` section (extras in brackets dropped).
fn console_scripts(text: &str) -> Vec<(String, String)> {
    let mut section = "";
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name;
        } else if section == "console_scripts"
            && let Some((name, target)) = line.split_once('=')
        {
            let target = target.split('[').next().unwrap_or(target).trim();
            out.push((name.trim().to_owned(), target.to_owned()));
        }
    }
    out
}

/// The `lib/pkgconfig` directories in `view` (numpy's `numpy.pc`, which
/// SciPy's `dependency('numpy')` asks pkg-config for).
pub fn pkg_config_dirs_in(view: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = std::collections::BTreeSet::new();
    for file in files_under(view)? {
        if file.extension().is_some_and(|e| e == "pc")
            && let Some(dir) = file.parent()
            && dir.ends_with("lib/pkgconfig")
        {
            dirs.insert(dir.to_owned());
        }
    }
    Ok(dirs.into_iter().collect())
}

/// Replaces every C directory of the unpacked wheel at `root` by the wasm
/// build's at the same place under `wasm_site` (removed when the wasm build
/// has none); how many were replaced.
fn replace_c_dirs(root: &Path, wasm_site: &Path) -> Result<usize> {
    let mut replaced = 0;
    for dir in c_dirs(root)? {
        let rel = dir.strip_prefix(root).unwrap_or(&dir).to_owned();
        let wasm = wasm_site.join(&rel);
        fs::remove_dir_all(&dir)?;
        if wasm.is_dir() {
            copy_tree(&wasm, &dir)?;
            replaced += 1;
        }
    }
    Ok(replaced)
}

/// Moves the top-level entries of `from` into `into`, merging into a
/// directory that is already there.
fn merge_into(from: &Path, into: &Path) -> Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let dest = into.join(entry.file_name());
        if dest.exists() {
            copy_tree(&entry.path(), &dest)?;
        } else {
            fs::rename(entry.path(), &dest)?;
        }
    }
    Ok(())
}

/// The directories of a wheel's tree that hold C headers or static
/// libraries for other builds (numpy's `_core/include`, `_core/lib`): the
/// outermost `include` or `lib` directory above each file.
fn c_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let mut found = std::collections::BTreeSet::new();
    for file in files_under(root)? {
        let rel = file.strip_prefix(root).unwrap_or(&file);
        let mut dir = root.to_owned();
        for part in rel.parent().into_iter().flat_map(Path::components) {
            dir.push(part);
            if part.as_os_str() == "include" || part.as_os_str() == "lib" {
                found.insert(dir);
                break;
            }
        }
    }
    Ok(found.into_iter().collect())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for file in files_under(from)? {
        let rel = file.strip_prefix(from).unwrap_or(&file);
        let dest = to.join(rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(&file, &dest)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scikit-learn compiles against numpy and SciPy: adding SciPy's wheel
    /// must leave numpy's wasm32 headers and libraries in the view.
    #[test]
    fn a_later_wheel_keeps_an_earlier_wheels_c_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let put = |rel: &str, text: &str| {
            let path = tmp.path().join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        put("numpy-wasm/numpy/_core/lib/libnpymath.a", "wasm32");
        put("numpy-wasm/numpy/_core/include/numpy/npy.h", "wasm32");
        put("scipy-wasm/scipy/lib/x.h", "wasm32");
        put("numpy-native/numpy/_core/lib/libnpymath.a", "x86_64");
        put("numpy-native/numpy/_core/include/numpy/npy.h", "x86_64");
        put("numpy-native/numpy/__init__.py", "");
        put("scipy-native/scipy/lib/x.h", "x86_64");
        put("scipy-native/scipy/__init__.py", "");
        let view = tmp.path().join("view");
        fs::create_dir_all(&view).unwrap();
        for dep in ["numpy", "scipy"] {
            let unpacked = tmp.path().join(format!("{dep}-native"));
            let wasm = tmp.path().join(format!("{dep}-wasm"));
            assert!(replace_c_dirs(&unpacked, &wasm).unwrap() > 0);
            merge_into(&unpacked, &view).unwrap();
        }
        let read = |rel: &str| fs::read_to_string(view.join(rel)).unwrap();
        assert_eq!(read("numpy/_core/lib/libnpymath.a"), "wasm32");
        assert_eq!(read("numpy/_core/include/numpy/npy.h"), "wasm32");
        assert_eq!(read("scipy/lib/x.h"), "wasm32");
        assert!(view.join("numpy/__init__.py").is_file());
    }

    #[test]
    fn console_scripts_are_read_from_their_section_only() {
        let text = "[console_scripts]\nf2py = numpy.f2py.f2py2e:main\nnumpy-config = numpy._configtool:main [extra]\n\n[gui_scripts]\nx = y:z\n";
        assert_eq!(
            console_scripts(text),
            [
                ("f2py".to_owned(), "numpy.f2py.f2py2e:main".to_owned()),
                (
                    "numpy-config".to_owned(),
                    "numpy._configtool:main".to_owned()
                ),
            ]
        );
    }

    /// The script reads its configuration by key; every key it reads must
    /// be a field this side writes, and every field must be read.
    #[test]
    fn the_script_reads_exactly_the_configuration_written() {
        let p = Path::new("/p");
        let config = WrapperConfig {
            cc: p.into(),
            cxx: p.into(),
            cc_flags: &[],
            cxx_flags: &[],
            dropped_flags: &[],
            ld: p.into(),
            build_dir: p,
            out_dir: p,
            stages_dir: p,
            ext_suffix: "",
            modules_dir: p,
            index_file: p.into(),
            extensions_file: p.into(),
        };
        let written: std::collections::BTreeSet<String> = serde_json::to_value(&config)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let read: std::collections::BTreeSet<String> = STATIC_EXT_CC
            .split("config[\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(String::from)
            .collect();
        assert_eq!(read, written);
    }
}
