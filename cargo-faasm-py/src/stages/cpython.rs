//! `cpython`: CPython cross-compiled for wasm32-wasip1 with the tarball's own
//! recipe (`Tools/wasm`: config.site, `--host`, `--with-build-python`), then
//! installed. Its output publishes what later stages need as one manifest,
//! `cpython.json` ([`CpythonBuild`]): how CPython itself links `python.wasm`,
//! where its headers and sysconfig data are, its extension suffix and which
//! standard-library modules configure built. No later stage reads the build
//! tree's files directly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use fs_err as fs;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::host_python;
use super::toolchain::{TARGET, Toolchain};
use super::util::{apply_patch_files, load_json, make, save_json, unpack};
use crate::digest::Fingerprint;
use crate::layout::Layout;
use crate::module_report::stdlib_states;
use crate::pins::CPYTHON;
use crate::pipeline::{Contract, Stage, StageContext, StageId};
use crate::process::{Cmd, Log};

/// Release build: optimised, no debug info in what ships.
const OPT: &str = "-DNDEBUG -g0 -O2 -Wall";
/// CPython's own code (the interpreter, its built-in modules and the
/// libraries built in its tree) is compiled to LLVM bitcode and optimised
/// across files ([`fold_bitcode`]): pure Python runs about 9% faster
/// (docs/notes.md, "Performance"). `CFLAGS_NODIST` is CPython's variable
/// for flags that extension modules, built later from sysconfig, must not
/// get.
const CFLAGS_NODIST: &str = "-flto=thin";
/// Modules configure leaves out on WASI, built into libpython and its
/// inittab instead (`Modules/Setup.local`: name, then sources and flags).
/// The test modules CPython builds only as shared libraries, under their own
/// names, so the test modules that import them run (not `_ctypes_test`:
/// ctypes' tests load it by its file name, which a built-in module does not
/// have, and skip cleanly without it). And `mmap`, over our own memory-map
/// shim ([`MMAN_SHIM`]), as pandas imports it unconditionally.
const SETUP_LOCAL_MODULES: &[(&str, &str)] = &[
    ("_testsinglephase", "_testsinglephase.c"),
    ("_testmultiphase", "_testmultiphase.c"),
    ("_testimportmultiple", "_testimportmultiple.c"),
    ("xxlimited", "xxlimited.c"),
    ("xxlimited_35", "xxlimited_35.c"),
    ("mmap", "mmapmodule.c -D_WASI_EMULATED_MMAN -lfaasm_py_mman"),
];
/// C library functions wasi-libc lacks, linked as a library of their own so
/// that configure finds them like any other (`third-party/shims`).
const LIBC_SHIMS: &[&str] = &["gethostname.c"];
/// mmap and friends (anonymous and private maps; a writable shared map of a
/// file fails clearly), as a library of its own that only the mmap module
/// links: configure must not find `mmap`, or CPython's allocator would use it.
const MMAN_SHIM: &str = "mman.c";
const MANIFEST: &str = "cpython.json";
/// Where the upstream recipe keeps its configure cache for WASI, newest
/// layout first (3.14 moved it into `Tools/wasm/wasi/`).
const CONFIG_SITES: &[&str] = &[
    "Tools/wasm/wasi/config.site-wasm32-wasi",
    "Tools/wasm/config.site-wasm32-wasi",
];
/// The C libraries behind optional modules: configure's variable prefix,
/// the stage that builds it, the library's name.
const LIBRARIES: &[(&str, StageId, &str)] = &[
    ("ZLIB", StageId::Zlib, "z"),
    ("BZIP2", StageId::Bzip2, "bz2"),
    ("LIBLZMA", StageId::Xz, "lzma"),
    ("LIBSQLITE3", StageId::Sqlite, "sqlite3"),
    ("LIBFFI", StageId::Libffi, "ffi"),
    // `_zstd` (CPython 3.14 and later; earlier versions ignore it).
    ("LIBZSTD", StageId::Zstd, "zstd"),
];

/// The `cpython` stage.
pub struct Cpython;

/// What later stages know of the CPython build: `cpython.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CpythonBuild {
    /// The installed prefix (`bin/`, `include/`, `lib/`).
    pub install: PathBuf,
    /// `libpython3.X.a`.
    pub libpython: PathBuf,
    /// The C headers (`GuestLayout::include_dir` under the install).
    pub include: PathBuf,
    /// The flags CPython compiles its own code with (optimisation,
    /// warnings; the `_WASI_EMULATED_*` defines are in its pyconfig.h).
    pub cflags: Vec<String>,
    /// Linker flags, in CPython's own order: `PY_CORE_LDFLAGS
    /// LINKFORSHARED`, which go before the objects.
    pub ldflags: Vec<String>,
    /// Libraries, `LIBS MODLIBS SYSLIBS`, which go after them (archives of
    /// the build tree as absolute paths).
    pub libs: Vec<String>,
    /// `_PYTHON_PROJECT_BASE` for a host python that reports this build's
    /// configuration (the build directory).
    pub project_base: PathBuf,
    /// The directory holding the `_sysconfigdata` module of this build.
    pub sysconfig_dir: PathBuf,
    /// `EXT_SUFFIX`, as configure chose it (checked against the guest
    /// layout).
    pub ext_suffix: String,
    /// Standard-library extension modules by name: configure's verdict
    /// (`yes`, `n/a`, `missing`, `disabled`).
    pub module_states: BTreeMap<String, String>,
}

impl CpythonBuild {
    /// The functions whose calls the link sends to python-main.c's
    /// `__wrap_` versions (`-Wl,--wrap=`). The linker only redirects calls
    /// between object files, so this stage keeps the object defining them
    /// apart from its callers (`FOLDED_APART`).
    pub const WRAPPED: &[&str] = &["Py_FinalizeEx", "Py_Exit"];

    /// libpython and every archive CPython links with (`-lz` found
    /// through the `-L` directories before it; system libraries are not).
    pub fn archives(&self) -> Vec<PathBuf> {
        let mut archives = vec![self.libpython.clone()];
        let mut dirs: Vec<PathBuf> = Vec::new();
        for arg in &self.libs {
            if let Some(dir) = arg.strip_prefix("-L") {
                dirs.push(dir.into());
            } else if let Some(name) = arg.strip_prefix("-l") {
                let found = dirs
                    .iter()
                    .map(|d| d.join(format!("lib{name}.a")))
                    .find(|p| p.is_file());
                archives.extend(found);
            } else if !arg.starts_with('-') {
                archives.push(arg.into());
            }
        }
        archives.sort();
        archives.dedup();
        archives
    }

    /// The manifest in the `cpython` stage's output `out`.
    pub fn load(out: &Path) -> Result<Self> {
        load_json(&out.join(MANIFEST))
    }
}

impl Stage for Cpython {
    fn id(&self) -> StageId {
        StageId::Cpython
    }
    fn contract(&self) -> Contract {
        Contract::new(&[
            include_str!("cpython.rs"),
            include_str!("host_python.rs"),
            include_str!("toolchain.rs"),
            include_str!("util.rs"),
            include_str!("../module_report.rs"),
            include_str!("../symbols.rs"),
        ])
        .stages([StageId::Toolchain, StageId::HostPython])
        .stages(LIBRARIES.iter().map(|(_, stage, _)| stage.clone()))
        .pin(CPYTHON)
        .shims(LIBC_SHIMS)
        .shim(MMAN_SHIM)
        .versioned_patches(CPYTHON)
        .publishes("install", Layout::cpython_install)
    }
    fn settings(&self, fp: &mut Fingerprint) {
        fp.add("opt", OPT);
        fp.add("cflags-nodist", CFLAGS_NODIST);
    }

    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        let tc = Toolchain::at(&cx.output(&StageId::Toolchain)?);
        let src = unpack(cx, CPYTHON, out, log)?;
        apply_patch_files(cx.patches(CPYTHON)?, &src, log)?;
        let build = out.join("build");
        fs::create_dir_all(&build)?;
        let Some(config_site) = CONFIG_SITES
            .iter()
            .map(|p| src.join(p))
            .find(|p| p.is_file())
        else {
            bail!(
                "the CPython tarball has none of {}: not a recipe this stage knows",
                CONFIG_SITES.join(", ")
            );
        };
        let prefix = cx.guest()?.prefix();
        let shims = build_shims(cx, &tc, out, log)?;
        configure(cx, &tc, &src, &build, &config_site, &shims, log)?;

        log.step("make");
        make(cx, &build, &[], log)?;

        log.step("make install");
        let destdir = out.join("destdir");
        make(
            cx,
            &build,
            &["install", &format!("DESTDIR={}", destdir.display())],
            log,
        )?;
        let install = out.join("install");
        fs::rename(destdir.join(prefix.trim_start_matches('/')), &install)?;

        log.step("manifest");
        let manifest = describe(cx, out, &build, &install, log)?;
        log.step("link-time optimisation");
        // Only this stage's archives: the link line also names other
        // stages' C libraries (zlib, sqlite …), which are not ours to rewrite.
        let mut kept = BTreeSet::new();
        for archive in manifest.archives().iter().filter(|a| a.starts_with(out)) {
            fold_bitcode(&tc, archive, &mut kept, log)?;
        }
        save_json(&out.join(MANIFEST), &manifest)
    }
}

/// The C library functions wasi-libc lacks, and the memory-map emulation,
/// as two libraries in `<out>/shims` (their directory).
fn build_shims(cx: &StageContext, tc: &Toolchain, out: &Path, log: &mut Log) -> Result<PathBuf> {
    log.step("libc shims");
    let shims = out.join("shims");
    let objects = tc.compile(
        LIBC_SHIMS
            .iter()
            .map(|s| cx.shim(s))
            .collect::<Result<Vec<_>>>()?,
        ["-O2", "-g0"],
        &shims,
        cx.jobs(),
        log,
    )?;
    tc.archive(&shims.join("libfaasm_py_libc.a"), &objects, log)?;
    let mman = tc.compile(
        [cx.shim(MMAN_SHIM)?],
        ["-O2", "-g0"],
        &shims.join("mman"),
        1,
        log,
    )?;
    tc.archive(&shims.join("libfaasm_py_mman.a"), &mman, log)?;
    Ok(shims)
}

/// CPython's configure in `build`, with its own WASI recipe
/// (`config_site`), the built-in modules of [`SETUP_LOCAL_MODULES`], the
/// shims and the C libraries of other stages.
fn configure(
    cx: &StageContext,
    tc: &Toolchain,
    src: &Path,
    build: &Path,
    config_site: &Path,
    shims: &Path,
    log: &mut Log,
) -> Result<()> {
    let build_python = host_python::python(&cx.output(&StageId::HostPython)?);
    let build_triple = Cmd::new(src.join("config.guess")).output(log)?;
    let prefix = cx.guest()?.prefix();
    // Read by makesetup at the end of configure: these modules are
    // compiled into libpython and its inittab.
    let mut setup_local = String::from("# Generated by cargo faasm-py.\n*static*\n");
    for (module, source) in SETUP_LOCAL_MODULES {
        setup_local.push_str(&format!("{module} {source}\n"));
    }
    fs::create_dir_all(build.join("Modules"))?;
    fs::write(build.join("Modules/Setup.local"), setup_local)?;

    log.step("configure");
    let mut configure = tc
        .configure_env(Cmd::new(src.join("configure")))
        .arg(format!("--host={TARGET}"))
        .arg(format!("--build={}", build_triple.trim()))
        .arg(format!("--with-build-python={}", build_python.display()))
        .arg(format!("--prefix={prefix}"))
        // CPython's own small-object allocator, as on every other
        // platform (configure turns it off for WASI by default): it
        // runs allocation-heavy Python in about 5% fewer wasm operators
        // than wasi-libc's dlmalloc (docs/notes.md, "Performance").
        .arg("--with-pymalloc")
        .env("CONFIG_SITE", config_site)
        .env("OPT", OPT)
        .env("CFLAGS_NODIST", CFLAGS_NODIST)
        .env("LIBS", format!("-L{} -lfaasm_py_libc", shims.display()))
        .cwd(build);
    for (var, stage, lib) in LIBRARIES {
        let dir = cx.output(stage)?;
        configure = configure
            .env(
                format!("{var}_CFLAGS"),
                format!("-I{}/include", dir.display()),
            )
            .env(
                format!("{var}_LIBS"),
                format!("-L{}/lib -l{lib}", dir.display()),
            );
    }
    configure.run(log)
}

/// Members of CPython's archives that are folded on their own: they define
/// the functions the link wraps ([`CpythonBuild::WRAPPED`]), and a call from
/// inside the same object could not be redirected.
const FOLDED_APART: &[&str] = &["pylifecycle.o"];

/// Replaces an archive of LLVM bitcode by one holding wasm objects: its
/// members linked together with link-time optimisation (`wasm-ld -r`),
/// except [`FOLDED_APART`], each optimised alone. Later stages then see
/// ordinary wasm objects (the duplicate-symbol check reads their symbol
/// tables, the module report sizes them by archive), and the final link does
/// no LTO of its own. Every member ends up in the link, which CPython's
/// archives allow: all of libpython is reachable from the interpreter and
/// its inittab, and the others serve one module each. An archive without
/// bitcode is left alone.
///
/// Archives may carry copies of one object (CPython 3.14's HMAC library
/// repeats the BLAKE2 objects of `libHacl_Hash_BLAKE2.a`). As members,
/// byte-identical copies are harmless, but folded into two different
/// objects they would define the same symbols twice; so a member whose
/// sha256 is in `kept` (an earlier archive's) is dropped before folding,
/// and this archive's are added.
fn fold_bitcode(
    tc: &Toolchain,
    archive: &Path,
    kept: &mut BTreeSet<Vec<u8>>,
    log: &mut Log,
) -> Result<()> {
    let bytes = fs::read(archive)?;
    let members = crate::symbols::archive_members(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e:#}", archive.display()))?;
    if !members
        .iter()
        .any(|(_, data)| data.is_some_and(crate::symbols::is_bitcode))
    {
        return Ok(());
    }
    let work = archive.with_extension("lto");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work)?;
    let rest = work.join("rest.a");
    fs::copy(archive, &rest)?;
    let mut copies = Vec::new();
    let mut own = Vec::new();
    for (name, data) in &members {
        let Some(data) = data else { continue };
        let digest = Sha256::digest(data).to_vec();
        if kept.contains(&digest) {
            copies.push(name.as_str());
        } else {
            own.push(digest);
        }
    }
    kept.extend(own);
    if copies.len() == members.len() {
        // Nothing of its own: an empty archive keeps the link line valid.
        fs::remove_file(archive)?;
        tc.archive(archive, &[], log)?;
        fs::remove_dir_all(&work)?;
        return Ok(());
    }
    if !copies.is_empty() {
        log.note(&format!(
            "{}: {} members already in an earlier archive left out",
            archive.display(),
            copies.len()
        ));
        Cmd::new(tc.tool("llvm-ar"))
            .arg("d")
            .arg(&rest)
            .args(&copies)
            .run(log)?;
    }
    let mut objects = Vec::new();
    for (i, apart) in FOLDED_APART.iter().enumerate() {
        if copies.contains(apart) || !members.iter().any(|(name, _)| name == apart) {
            continue;
        }
        Cmd::new(tc.tool("llvm-ar"))
            .arg("x")
            .arg(&rest)
            .arg(apart)
            .cwd(&work)
            .run(log)?;
        Cmd::new(tc.tool("llvm-ar"))
            .arg("d")
            .arg(&rest)
            .arg(apart)
            .run(log)?;
        let object = work.join(format!("apart-{i}.o"));
        wasm_ld_relocatable(tc, &[work.join(apart)], &object, log)?;
        objects.push(object);
    }
    let folded = work.join("folded.o");
    wasm_ld_relocatable(tc, &[rest], &folded, log)?;
    let defined = crate::symbols::defined_globals(&fs::read(&folded)?)?;
    if let Some(wrapped) = CpythonBuild::WRAPPED
        .iter()
        .find(|f| defined.iter().any(|d| d == *f))
    {
        bail!(
            "{} defines `{wrapped}` in the object its callers were folded into, where the link cannot wrap it: name the member that defines it in FOLDED_APART",
            archive.display()
        );
    }
    objects.insert(0, folded);
    let new = work.join("new.a");
    tc.archive(&new, &objects, log)?;
    fs::rename(&new, archive)?;
    fs::remove_dir_all(&work)?;
    Ok(())
}

/// `wasm-ld -r --whole-archive inputs… -o output`: one relocatable wasm
/// object, link-time optimised when the inputs are bitcode.
fn wasm_ld_relocatable(
    tc: &Toolchain,
    inputs: &[PathBuf],
    output: &Path,
    log: &mut Log,
) -> Result<()> {
    Cmd::new(tc.tool("wasm-ld"))
        .args(["-r", "--whole-archive"])
        .args(inputs)
        .arg("-o")
        .arg(output)
        .run(log)
}

/// Asks CPython's own Makefile how it links `python.wasm` and what it
/// built, and checks that its names agree with the guest layout.
fn describe(
    cx: &StageContext,
    out: &Path,
    build: &Path,
    install: &Path,
    log: &mut Log,
) -> Result<CpythonBuild> {
    let probe = out.join("print-link.mk");
    fs::write(
        &probe,
        "include Makefile\nfaasm-py-print:\n\t@echo '$(PY_CORE_LDFLAGS) $(LINKFORSHARED)'\n\t@echo '$(LIBS) $(MODLIBS) $(SYSLIBS)'\n\t@echo '$(BASECFLAGS) $(OPT) $(CONFIGURE_CFLAGS) $(CONFIGURE_CPPFLAGS)'\n\t@echo '$(EXT_SUFFIX)'\n",
    )?;
    let printed = Cmd::new("make")
        .args(["-s", "-f"])
        .arg(&probe)
        .arg("faasm-py-print")
        .cwd(build)
        .output(log)?;
    let mut lines = printed.lines();
    let (Some(ldflags), Some(libs), Some(cflags), Some(ext_suffix)) =
        (lines.next(), lines.next(), lines.next(), lines.next())
    else {
        bail!("CPython's Makefile did not print its link flags");
    };
    let guest = cx.guest()?;
    if ext_suffix.trim() != guest.ext_suffix() {
        bail!(
            "CPython's EXT_SUFFIX is `{}`, the guest layout expects `{}`",
            ext_suffix.trim(),
            guest.ext_suffix()
        );
    }
    let libpython = install.join("lib").join(guest.libpython());
    let include = install.join(guest.include_dir());
    let sysconfig_dir = build.join(guest.build_lib_dir());
    let sysconfigdata = sysconfig_dir.join(format!("{}.py", guest.sysconfigdata_name()));
    for needed in [&libpython, &include, &sysconfigdata] {
        if !needed.exists() {
            bail!(
                "the CPython build has no {} (the guest layout does not match it)",
                needed.display()
            );
        }
    }
    let makefile = fs::read_to_string(build.join("Makefile"))?;
    let mut module_states = stdlib_states(&makefile);
    for (module, _) in SETUP_LOCAL_MODULES {
        module_states.insert((*module).to_owned(), "yes".to_owned());
    }
    Ok(CpythonBuild {
        install: install.to_owned(),
        libpython,
        include,
        cflags: cflags.split_whitespace().map(String::from).collect(),
        ldflags: ldflags.split_whitespace().map(String::from).collect(),
        // Archives built inside the tree (libmpdec, expat, HACL) are named
        // relative to the build directory.
        libs: libs
            .split_whitespace()
            .map(|lib| match lib.starts_with('-') {
                true => lib.to_owned(),
                false => build.join(lib).to_string_lossy().into_owned(),
            })
            .collect(),
        project_base: build.to_owned(),
        sysconfig_dir,
        ext_suffix: ext_suffix.trim().to_owned(),
        module_states,
    })
}
