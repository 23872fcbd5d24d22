//! `toolchain`: a wasi-sdk-shaped directory of compiler wrappers.
//!
//! clang and lld come from the pinned `ziglang` wheel, used as a plain clang
//! driver (`zig clang`), never as `zig cc`: zig's own libc for wasm32-wasi
//! declares functions wasi-libc lacks and has a less accurate libm. The
//! sysroot is Debian's architecture-independent wasi-libc, libc++ and
//! compiler-rt packages. With `WASI_SDK_PATH` set, the wrappers call that
//! wasi-sdk instead. Either way later stages see the same `bin/` names.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use fs_err as fs;

use super::util::{path_with, publish_link, set_executable, unzip, write_script};
use crate::digest::Fingerprint;
use crate::pipeline::{Stage, StageContext, StageId};
use crate::process::{Cmd, Log};

/// The target triple everything is compiled for.
pub const TARGET: &str = "wasm32-wasip1";
const SYSROOT_DEBS: [&str; 4] = ["wasi-libc", "libcxx", "libcxxabi", "clang-rt"];

/// The `toolchain` stage.
pub struct ToolchainStage;

/// The toolchain as later stages use it.
#[derive(Debug, Clone)]
pub struct Toolchain {
    bin: PathBuf,
}

impl Toolchain {
    /// The toolchain in the `toolchain` stage's output `out`.
    pub fn at(out: &Path) -> Self {
        Self {
            bin: out.join("bin"),
        }
    }

    /// One of the wrappers: `clang`, `clang++`, `llvm-ar`, `llvm-ranlib`,
    /// `wasm-ld`.
    pub fn tool(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }

    /// `CC`, `CXX`, `AR` … as autotools and meson expect them, and `PATH`
    /// with the wrappers first.
    pub fn configure_env(&self, cmd: Cmd) -> Cmd {
        cmd.env("CC", self.tool("clang"))
            .env("CPP", format!("{} -E", self.tool("clang").display()))
            .env("CXX", self.tool("clang++"))
            .env("AR", self.tool("llvm-ar"))
            .env("RANLIB", self.tool("llvm-ranlib"))
            .env("PATH", path_with(&[&self.bin]))
            // Nothing of the host's pkg-config world applies to wasm.
            .env("PKG_CONFIG_LIBDIR", "/nonexistent")
            .env_remove("PKG_CONFIG_PATH")
    }

    /// Compiles each C source to `<objects>/<stem>.o` with `flags`.
    pub fn compile<S: AsRef<std::ffi::OsStr>>(
        &self,
        sources: impl IntoIterator<Item = PathBuf>,
        flags: impl IntoIterator<Item = S> + Clone,
        objects: &Path,
        log: &mut Log,
    ) -> Result<Vec<PathBuf>> {
        fs::create_dir_all(objects)?;
        let mut compiled = Vec::new();
        for source in sources {
            let stem = source.file_stem().unwrap_or_default().to_string_lossy();
            let object = objects.join(format!("{stem}.o"));
            Cmd::new(self.tool("clang"))
                .args(flags.clone())
                .arg("-c")
                .arg(&source)
                .arg("-o")
                .arg(&object)
                .run(log)?;
            compiled.push(object);
        }
        Ok(compiled)
    }

    /// A static library of `objects` (`llvm-ar rcs`).
    pub fn archive(&self, library: &Path, objects: &[PathBuf], log: &mut Log) -> Result<()> {
        if let Some(dir) = library.parent() {
            fs::create_dir_all(dir)?;
        }
        Cmd::new(self.tool("llvm-ar"))
            .arg("rcs")
            .arg(library)
            .args(objects)
            .run(log)
    }
}

impl Stage for ToolchainStage {
    fn id(&self) -> StageId {
        StageId::Toolchain
    }
    fn deps(&self) -> Vec<StageId> {
        // Each stage fetches its own artifacts, which its inputs name; a
        // dependency on `fetch` would rebuild it whenever any pin changed.
        vec![]
    }
    fn recipe(&self) -> &'static [&'static str] {
        &[include_str!("toolchain.rs")]
    }
    fn inputs(&self, cx: &StageContext, fp: &mut Fingerprint) -> Result<()> {
        match wasi_sdk_path() {
            Some(sdk) => {
                fp.add("wasi-sdk", sdk.to_string_lossy().as_bytes());
            }
            None => {
                for name in std::iter::once("ziglang").chain(SYSROOT_DEBS) {
                    fp.add(name, &cx.pins.get(name)?.sha256);
                }
            }
        }
        Ok(())
    }

    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        let bin = out.join("bin");
        fs::create_dir_all(&bin)?;
        match wasi_sdk_path() {
            Some(sdk) => write_wasi_sdk_wrappers(&sdk, &bin)?,
            None => assemble(cx, out, &bin, log)?,
        }
        smoke_test(&Toolchain::at(out), out, log)
    }

    fn publish(&self, cx: &StageContext, out: &Path) -> Result<()> {
        publish_link(out, &cx.layout.toolchain())
    }
}

fn wasi_sdk_path() -> Option<PathBuf> {
    std::env::var_os("WASI_SDK_PATH")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

fn write_wasi_sdk_wrappers(sdk: &Path, bin: &Path) -> Result<()> {
    if !sdk.join("bin/clang").is_file() {
        bail!("WASI_SDK_PATH={} has no bin/clang", sdk.display());
    }
    let sysroot = sdk.join("share/wasi-sysroot");
    let sdk_bin = sdk.join("bin");
    let cc = format!(
        "exec '{}' --target={TARGET} --sysroot='{}'",
        sdk_bin.join("clang").display(),
        sysroot.display()
    );
    write_script(&bin.join("clang"), &format!("{cc} \"$@\""))?;
    write_script(
        &bin.join("clang++"),
        &format!("{cc} --driver-mode=g++ \"$@\""),
    )?;
    for tool in ["wasm-ld", "llvm-ar", "llvm-ranlib", "llvm-nm"] {
        write_script(
            &bin.join(tool),
            &format!("exec '{}' \"$@\"", sdk_bin.join(tool).display()),
        )?;
    }
    Ok(())
}

/// zig's clang + Debian's sysroot, glued by a small resource directory.
fn assemble(cx: &StageContext, out: &Path, bin: &Path, log: &mut Log) -> Result<()> {
    log.step("unpack zig");
    let wheel = cx.fetcher.get("ziglang", log)?;
    let zig_dir = out.join("zig");
    unzip(&wheel, &zig_dir, log)?;
    let zig = zig_dir.join("ziglang/zig");
    set_executable(&zig)?;

    log.step("unpack sysroot");
    let root = out.join("sysroot");
    for name in SYSROOT_DEBS {
        let deb = cx.fetcher.get(name, log)?;
        Cmd::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(&root)
            .run(log)?;
    }
    let usr = root.join("usr");
    let libcxx_include = usr.join("lib/llvm-19/include/wasm32-wasi/c++/v1");
    let libcxx_lib = usr.join("lib/wasm32-wasi");
    let builtins = usr.join("lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a");
    for needed in [
        &libcxx_include,
        &libcxx_lib,
        &builtins,
        &usr.join("include/wasm32-wasip1"),
    ] {
        if !needed.exists() {
            bail!("the sysroot packages did not provide {}", needed.display());
        }
    }

    // clang looks for its builtin headers and compiler-rt under its resource
    // directory; zig's carries the headers, Debian's package the library.
    log.step("resource directory");
    let res = out.join("resource");
    // The driver looks under the normalised triple, not the one we pass.
    let rt_dir = res.join("lib/wasm32-unknown-wasip1");
    fs::create_dir_all(&rt_dir)?;
    fs::os::unix::fs::symlink(zig_dir.join("ziglang/lib/include"), res.join("include"))?;
    fs::copy(&builtins, rt_dir.join("libclang_rt.builtins.a"))?;

    let zig = zig.display();
    // -B makes the driver find our wasm-ld wrapper whatever PATH says.
    let cc = format!(
        "exec '{zig}' clang -resource-dir '{}' --target={TARGET} --sysroot='{}' -B '{}'",
        res.display(),
        usr.display(),
        bin.display()
    );
    write_script(&bin.join("clang"), &format!("{cc} \"$@\""))?;
    write_script(
        &bin.join("clang++"),
        &format!(
            "{cc} --driver-mode=g++ -nostdinc++ -isystem '{}' -L '{}' \"$@\"",
            libcxx_include.display(),
            libcxx_lib.display()
        ),
    )?;
    for (tool, sub) in [
        ("wasm-ld", "wasm-ld"),
        ("llvm-ar", "ar"),
        ("llvm-ranlib", "ranlib"),
    ] {
        write_script(&bin.join(tool), &format!("exec '{zig}' {sub} \"$@\""))?;
    }
    Ok(())
}

/// Compiles and links a C and a C++ program, so a broken toolchain fails
/// here, with its own log, rather than deep inside CPython's configure.
fn smoke_test(tc: &Toolchain, out: &Path, log: &mut Log) -> Result<()> {
    log.step("smoke test");
    let dir = out.join("smoke");
    fs::create_dir_all(&dir)?;
    fs::write(
        dir.join("hello.c"),
        "#include <math.h>\n#include <stdio.h>\nint main(void) { printf(\"%g\\n\", log2(8.0)); return 0; }\n",
    )?;
    fs::write(
        dir.join("hello.cpp"),
        "#include <string>\n#include <vector>\nint main() { std::vector<std::string> v{\"a\"}; return (int)v.size() - 1; }\n",
    )?;
    Cmd::new(tc.tool("clang"))
        .args(["-O2", "hello.c", "-o", "hello-c.wasm"])
        .cwd(&dir)
        .run(log)?;
    Cmd::new(tc.tool("clang++"))
        .args([
            "-O2",
            "-fno-exceptions",
            "hello.cpp",
            "-o",
            "hello-cpp.wasm",
        ])
        .cwd(&dir)
        .run(log)?;
    Ok(())
}
