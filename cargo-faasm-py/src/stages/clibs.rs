//! C libraries behind optional stdlib modules (zlib, bz2, lzma, sqlite3), built for
//! wasm32-wasi from pinned sources. Each installs `include/` and `lib/` into
//! its stage output, which the cpython stage hands to configure.

use std::path::Path;

use anyhow::{Context as _, Result};

use super::toolchain::{TARGET, Toolchain};
use super::util::unpack;
use crate::digest::Fingerprint;
use crate::process::{Cmd, Log};
use crate::stage::{Context, Stage};

const CFLAGS: &str = "-O2 -g0";
const RECIPE: &str = "1";

fn common_inputs(cx: &Context, artifact: &str, fp: &mut Fingerprint) -> Result<()> {
    fp.add("recipe", RECIPE);
    fp.add("cflags", CFLAGS);
    fp.add(artifact, &cx.pins.get(artifact)?.sha256);
    Ok(())
}

pub struct Zlib;

impl Stage for Zlib {
    fn name(&self) -> &'static str {
        "zlib"
    }
    fn deps(&self) -> Vec<&'static str> {
        vec!["toolchain"]
    }
    fn inputs(&self, cx: &Context, fp: &mut Fingerprint) -> Result<()> {
        common_inputs(cx, "zlib", fp)
    }
    fn build(&self, cx: &Context, out: &Path, log: &mut Log) -> Result<()> {
        let tc = Toolchain::at(&cx.output("toolchain")?);
        let src = unpack(cx, "zlib", out, log)?;
        log.step("configure");
        tc.configure_env(Cmd::new("./configure"))
            .args(["--static", &format!("--prefix={}", out.display())])
            .env("CFLAGS", CFLAGS)
            .cwd(&src)
            .run(log)?;
        log.step("make install");
        tc.configure_env(Cmd::new("make"))
            .arg(format!("-j{}", cx.jobs))
            .arg("install")
            .cwd(&src)
            .run(log)
    }
}

pub struct Bzip2;

impl Stage for Bzip2 {
    fn name(&self) -> &'static str {
        "bzip2"
    }
    fn deps(&self) -> Vec<&'static str> {
        vec!["toolchain"]
    }
    fn inputs(&self, cx: &Context, fp: &mut Fingerprint) -> Result<()> {
        common_inputs(cx, "bzip2", fp)
    }
    fn build(&self, cx: &Context, out: &Path, log: &mut Log) -> Result<()> {
        let tc = Toolchain::at(&cx.output("toolchain")?);
        let src = unpack(cx, "bzip2", out, log)?;
        // bzip2 has no configure; its Makefile's library target is enough.
        log.step("make libbz2.a");
        Cmd::new("make")
            .arg(format!("-j{}", cx.jobs))
            .arg("libbz2.a")
            .arg(format!("CC={}", tc.tool("clang").display()))
            .arg(format!("AR={}", tc.tool("llvm-ar").display()))
            .arg(format!("RANLIB={}", tc.tool("llvm-ranlib").display()))
            .arg(format!("CFLAGS={CFLAGS} -D_FILE_OFFSET_BITS=64"))
            .cwd(&src)
            .run(log)?;
        std::fs::create_dir_all(out.join("include"))?;
        std::fs::create_dir_all(out.join("lib"))?;
        std::fs::copy(src.join("bzlib.h"), out.join("include/bzlib.h"))?;
        std::fs::copy(src.join("libbz2.a"), out.join("lib/libbz2.a"))?;
        Ok(())
    }
}

pub struct Xz;

impl Stage for Xz {
    fn name(&self) -> &'static str {
        "xz"
    }
    fn deps(&self) -> Vec<&'static str> {
        vec!["toolchain"]
    }
    fn inputs(&self, cx: &Context, fp: &mut Fingerprint) -> Result<()> {
        common_inputs(cx, "xz", fp)
    }
    fn build(&self, cx: &Context, out: &Path, log: &mut Log) -> Result<()> {
        let tc = Toolchain::at(&cx.output("toolchain")?);
        let src = unpack(cx, "xz", out, log)?;
        log.step("configure");
        // Only liblzma: no command-line tools, no threads (WASI p1 has none).
        tc.configure_env(Cmd::new("./configure"))
            .arg(format!("--host={TARGET}"))
            .arg(format!("--prefix={}", out.display()))
            .args([
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
            ])
            .env("CFLAGS", CFLAGS)
            .cwd(&src)
            .run(log)?;
        log.step("make install");
        tc.configure_env(Cmd::new("make"))
            .arg(format!("-j{}", cx.jobs))
            .arg("install")
            .cwd(&src)
            .run(log)
    }
}

pub struct Sqlite;

impl Stage for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    fn deps(&self) -> Vec<&'static str> {
        vec!["toolchain"]
    }
    fn inputs(&self, cx: &Context, fp: &mut Fingerprint) -> Result<()> {
        common_inputs(cx, "sqlite", fp)
    }
    fn build(&self, cx: &Context, out: &Path, log: &mut Log) -> Result<()> {
        let tc = Toolchain::at(&cx.output("toolchain")?);
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
        std::fs::create_dir_all(&amalgamation)?;
        log.step("configure (host, for the amalgamation)");
        Cmd::new(src.join("configure"))
            .arg("--disable-tcl")
            .cwd(&amalgamation)
            .run(log)?;
        log.step("make sqlite3.c");
        Cmd::new("make")
            .arg(format!("-j{}", cx.jobs))
            .arg("sqlite3.c")
            .cwd(&amalgamation)
            .run(log)?;
        // SQLite's own `__wasi__` section picks the WASI settings: no
        // threads, no WAL (no shared memory), no extension loading,
        // dot-file locking.
        log.step("compile sqlite3.c");
        let objects = tc.compile(
            [amalgamation.join("sqlite3.c")],
            CFLAGS.split_whitespace(),
            &amalgamation,
            log,
        )?;
        tc.archive(&out.join("lib/libsqlite3.a"), &objects, log)?;
        std::fs::create_dir_all(out.join("include"))?;
        for header in ["sqlite3.h", "sqlite3ext.h"] {
            std::fs::copy(amalgamation.join(header), out.join("include").join(header))
                .with_context(|| format!("the amalgamation has no {header}"))?;
        }
        Ok(())
    }
}
