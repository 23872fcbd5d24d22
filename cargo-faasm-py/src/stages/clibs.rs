//! C libraries behind optional stdlib modules (zlib, bz2, lzma, sqlite3,
//! zstd: CPython 3.14's `_zstd`), built for
//! wasm32-wasi from pinned sources. Each installs `include/` and `lib/` into
//! its stage output, which the cpython stage hands to configure.

use std::path::Path;

use anyhow::{Context as _, Result};
use fs_err as fs;

use super::toolchain::{TARGET, Toolchain};
use super::util::{make, unpack};
use crate::digest::Fingerprint;
use crate::pipeline::{Contract, Stage, StageContext, StageId};
use crate::process::{Cmd, Log};

const CFLAGS: &str = "-O2 -g0";
const RECIPE: &[&str] = &[
    include_str!("clibs.rs"),
    include_str!("toolchain.rs"),
    include_str!("util.rs"),
];

/// What every C library stage reads: the toolchain and its source.
fn contract(artifact: impl AsRef<str>) -> Contract {
    Contract::new(RECIPE)
        .stage(StageId::Toolchain)
        .pin(artifact)
}

fn toolchain(cx: &StageContext) -> Result<Toolchain> {
    Ok(Toolchain::at(&cx.output(&StageId::Toolchain)?))
}

/// An autotools library for wasm32: `configure ARGS` (with the
/// toolchain's `CC` … and `CFLAGS`) and `make install`, in its source tree.
fn configure_and_install(
    cx: &StageContext,
    tc: &Toolchain,
    src: &Path,
    args: &[String],
    cflags: &str,
    log: &mut Log,
) -> Result<()> {
    log.step("configure");
    tc.configure_env(Cmd::new("./configure"))
        .args(args)
        .env("CFLAGS", cflags)
        .cwd(src)
        .run(log)?;
    log.step("make install");
    tc.configure_env(Cmd::new("make"))
        .arg(format!("-j{}", cx.jobs()))
        .arg("install")
        .cwd(src)
        .run(log)
}

/// The `zlib` stage.
pub struct Zlib;

impl Stage for Zlib {
    fn id(&self) -> StageId {
        StageId::Zlib
    }
    fn contract(&self) -> Contract {
        contract("zlib")
    }
    fn settings(&self, fp: &mut Fingerprint) {
        fp.add("cflags", CFLAGS);
    }
    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        let tc = toolchain(cx)?;
        let src = unpack(cx, "zlib", out, log)?;
        let args = ["--static".to_owned(), format!("--prefix={}", out.display())];
        configure_and_install(cx, &tc, &src, &args, CFLAGS, log)
    }
}

/// The `bzip2` stage.
pub struct Bzip2;

impl Stage for Bzip2 {
    fn id(&self) -> StageId {
        StageId::Bzip2
    }
    fn contract(&self) -> Contract {
        contract("bzip2")
    }
    fn settings(&self, fp: &mut Fingerprint) {
        fp.add("cflags", CFLAGS);
    }
    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        let tc = toolchain(cx)?;
        let src = unpack(cx, "bzip2", out, log)?;
        // bzip2 has no configure; its Makefile's library target is enough.
        log.step("make libbz2.a");
        Cmd::new("make")
            .arg(format!("-j{}", cx.jobs()))
            .arg("libbz2.a")
            .args(tc.make_vars())
            .arg(format!("CFLAGS={CFLAGS} -D_FILE_OFFSET_BITS=64"))
            .cwd(&src)
            .run(log)?;
        fs::create_dir_all(out.join("include"))?;
        fs::create_dir_all(out.join("lib"))?;
        fs::copy(src.join("bzlib.h"), out.join("include/bzlib.h"))?;
        fs::copy(src.join("libbz2.a"), out.join("lib/libbz2.a"))?;
        Ok(())
    }
}

/// The `xz` stage (liblzma).
pub struct Xz;

impl Stage for Xz {
    fn id(&self) -> StageId {
        StageId::Xz
    }
    fn contract(&self) -> Contract {
        contract("xz")
    }
    fn settings(&self, fp: &mut Fingerprint) {
        fp.add("cflags", CFLAGS);
    }
    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        let tc = toolchain(cx)?;
        let src = unpack(cx, "xz", out, log)?;
        // Only liblzma: no command-line tools, no threads (WASI p1 has none).
        let mut args = vec![
            format!("--host={TARGET}"),
            format!("--prefix={}", out.display()),
        ];
        args.extend(
            [
                "--enable-static",
                "--disable-shared",
                "--disable-threads",
                "--disable-xz",
                "--disable-xzdec",
                "--disable-lzmadec",
                "--disable-lzmainfo",
                "--disable-lzma-links",
                "--disable-scripts",
                "--disable-doc",
                "--disable-nls",
            ]
            .map(String::from),
        );
        configure_and_install(cx, &tc, &src, &args, CFLAGS, log)
    }
}

/// The `zstd` stage (libzstd, single-threaded: its static library's
/// default).
pub struct Zstd;

impl Stage for Zstd {
    fn id(&self) -> StageId {
        StageId::Zstd
    }
    fn contract(&self) -> Contract {
        contract("zstd")
    }
    fn settings(&self, fp: &mut Fingerprint) {
        fp.add("cflags", CFLAGS);
    }
    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        let tc = toolchain(cx)?;
        let src = unpack(cx, "zstd", out, log)?;
        // The library's own Makefile; no assembly (x86-only anyway).
        log.step("make libzstd.a");
        Cmd::new("make")
            .arg(format!("-j{}", cx.jobs()))
            .arg("libzstd.a")
            .args(tc.make_vars())
            .arg(format!("CFLAGS={CFLAGS}"))
            .arg("ZSTD_NO_ASM=1")
            .cwd(src.join("lib"))
            .run(log)?;
        fs::create_dir_all(out.join("include"))?;
        fs::create_dir_all(out.join("lib"))?;
        for header in ["zstd.h", "zdict.h", "zstd_errors.h"] {
            fs::copy(
                src.join("lib").join(header),
                out.join("include").join(header),
            )?;
        }
        fs::copy(src.join("lib/libzstd.a"), out.join("lib/libzstd.a"))?;
        Ok(())
    }
}

/// The `sqlite` stage.
pub struct Sqlite;

impl Stage for Sqlite {
    fn id(&self) -> StageId {
        StageId::Sqlite
    }
    fn contract(&self) -> Contract {
        contract("sqlite")
    }
    fn settings(&self, fp: &mut Fingerprint) {
        fp.add("cflags", CFLAGS);
    }
    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        let tc = toolchain(cx)?;
        let src = unpack(cx, "sqlite", out, log)?;
        // The source tree generates its one-file amalgamation with host
        // tools (a C compiler and tclsh); the amalgamation itself is
        // target-neutral and is what gets cross-compiled.
        log.step("check tclsh");
        Cmd::new("tclsh")
            .arg("/dev/null")
            .run(log)
            .context("SQLite's amalgamation is generated by tclsh (Debian package `tcl`)")?;
        let amalgamation = out.join("amalgamation");
        fs::create_dir_all(&amalgamation)?;
        log.step("configure (host, for the amalgamation)");
        Cmd::new(src.join("configure"))
            .arg("--disable-tcl")
            .cwd(&amalgamation)
            .run(log)?;
        log.step("make sqlite3.c");
        make(cx, &amalgamation, &["sqlite3.c"], log)?;
        // SQLite's own `__wasi__` section picks the WASI settings: no
        // threads, no WAL (no shared memory), no extension loading,
        // dot-file locking.
        log.step("compile sqlite3.c");
        let objects = tc.compile(
            [amalgamation.join("sqlite3.c")],
            CFLAGS.split_whitespace(),
            &amalgamation,
            cx.jobs(),
            log,
        )?;
        tc.archive(&out.join("lib/libsqlite3.a"), &objects, log)?;
        fs::create_dir_all(out.join("include"))?;
        for header in ["sqlite3.h", "sqlite3ext.h"] {
            fs::copy(amalgamation.join(header), out.join("include").join(header))
                .with_context(|| format!("the amalgamation has no {header}"))?;
        }
        Ok(())
    }
}

/// A C library of the project's configuration (`c-libraries`), built with
/// its own autotools (`configure --host=wasm32-wasip1 --disable-shared` and
/// `make install`) or, when it says `compile`, by compiling its sources
/// directly; either way into the stage's output (`include/`, `lib/`).
pub struct ConfiguredLibrary {
    /// What the configuration says of it.
    pub library: crate::project::CLibrary,
}

impl ConfiguredLibrary {
    fn artifact(&self) -> String {
        format!("clib:{}", self.library.name)
    }
}

impl Stage for ConfiguredLibrary {
    fn id(&self) -> StageId {
        StageId::Library(self.library.name.clone())
    }
    fn contract(&self) -> Contract {
        contract(self.artifact())
    }
    fn settings(&self, fp: &mut Fingerprint) {
        fp.add("cflags", CFLAGS);
        fp.add("configure-args", self.library.configure_args.join("\n"));
        // Its Debug form lists every field, so any change rebuilds.
        fp.add("compile", format!("{:?}", self.library.compile));
    }
    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        let tc = toolchain(cx)?;
        let src = unpack(cx, &self.artifact(), out, log)?;
        if let Some(spec) = &self.library.compile {
            return compile_directly(cx, &tc, spec, &src, out, log)
                .with_context(|| format!("c-libraries `{}`", self.library.name));
        }
        let mut args = vec![
            format!("--host={TARGET}"),
            format!("--prefix={}", out.display()),
            "--enable-static".to_owned(),
            "--disable-shared".to_owned(),
        ];
        args.extend(self.library.configure_args.iter().cloned());
        configure_and_install(cx, &tc, &src, &args, CFLAGS, log)
    }
}

/// Compiles a library's listed sources and archives them as
/// `lib/lib<library>.a`; its headers go to `include/`.
fn compile_directly(
    cx: &StageContext,
    tc: &Toolchain,
    spec: &crate::project::CompileSpec,
    src: &Path,
    out: &Path,
    log: &mut Log,
) -> Result<()> {
    let selection = harness::suite::Selection {
        modules: spec.sources.clone(),
        ..Default::default()
    };
    let sources = harness::suite::definition::expand(src, &selection).context("compile.sources")?;
    let mut flags: Vec<String> = CFLAGS.split_whitespace().map(String::from).collect();
    flags.extend(
        spec.include_dirs
            .iter()
            .map(|d| format!("-I{}", src.join(d).display())),
    );
    flags.extend(spec.defines.iter().map(|d| format!("-D{d}")));
    log.step(&format!("compile {} sources", sources.len()));
    let objects = tc.compile(
        sources.iter().map(|rel| src.join(rel)),
        &flags,
        &out.join("objects"),
        cx.jobs(),
        log,
    )?;
    tc.archive(
        &out.join(format!("lib/lib{}.a", spec.library)),
        &objects,
        log,
    )?;
    fs::create_dir_all(out.join("include"))?;
    for header in &spec.headers {
        let from = src.join(header);
        let name = from.file_name().context("a header path names no file")?;
        fs::copy(&from, out.join("include").join(name))
            .with_context(|| format!("compile.headers: {header}"))?;
    }
    Ok(())
}
