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

use super::script::{Wrapper, assign};
use super::util::{path_with, set_executable, unzip};
use crate::digest::Fingerprint;
use crate::layout::Layout;
use crate::pipeline::{Contract, Stage, StageContext, StageId};
use crate::process::{Cmd, Log};

/// The target triple everything is compiled for.
pub const TARGET: &str = "wasm32-wasip1";
/// The wheel whose zig carries clang, lld and LLVM's C++ runtime sources.
const ZIG: &str = "ziglang";
/// wasi-libc, and the compiler-rt builtins of the LLVM release zig's clang
/// is (the C++ runtime is the `cxx-runtime` stage's).
const SYSROOT_DEBS: [&str; 2] = ["wasi-libc", BUILTINS_DEB];
/// The compiler-rt package, whose version is the LLVM release.
const BUILTINS_DEB: &str = "clang-rt";

/// The `toolchain` stage.
pub struct ToolchainStage;

/// An LLVM release, as the version of a Debian LLVM package gives it
/// (`1:22.1.8-1~deb13u5`): the pins of the sysroot and C++ packages are its
/// one home; the paths inside those packages and the libc++ version the
/// headers must carry follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LlvmRelease {
    major: u32,
    minor: u32,
    patch: u32,
}

impl LlvmRelease {
    /// The release of a Debian package version (epoch and revision
    /// dropped).
    pub fn of_debian_version(version: &str) -> Result<Self> {
        let upstream = version.split_once(':').map_or(version, |(_, v)| v);
        let upstream = upstream.split(['-', '~', '+']).next().unwrap_or_default();
        let numbers: Vec<u32> = upstream
            .split('.')
            .map(str::parse)
            .collect::<std::result::Result<_, _>>()
            .unwrap_or_default();
        match numbers[..] {
            [major, minor, patch] => Ok(Self {
                major,
                minor,
                patch,
            }),
            _ => bail!("`{version}` is not an LLVM package version (expected e.g. `1:22.1.8-1`)"),
        }
    }

    /// `usr/lib/llvm-22`: where Debian's packages of it install.
    pub fn debian_prefix(&self) -> String {
        format!("usr/lib/llvm-{}", self.major)
    }

    /// The builtins library inside the compiler-rt package.
    fn builtins_in_deb(&self) -> String {
        format!(
            "{}/lib/clang/{}/lib/wasi/libclang_rt.builtins-wasm32.a",
            self.debian_prefix(),
            self.major
        )
    }

    /// `_LIBCPP_VERSION 220108`, as libc++'s `__config` defines it.
    pub fn libcpp_version_line(&self) -> String {
        format!(
            "_LIBCPP_VERSION {}",
            self.major * 10_000 + self.minor * 100 + self.patch
        )
    }
}

/// The toolchain as later stages use it: the C compiler and binutils, and,
/// for stages that compile C++, the `clang++` of the `cxx-runtime` stage.
#[derive(Debug, Clone)]
pub struct Toolchain {
    bin: PathBuf,
    clang_cxx: Option<PathBuf>,
}

impl Toolchain {
    /// The C toolchain in the `toolchain` stage's output `out`.
    pub fn at(out: &Path) -> Self {
        Self {
            bin: out.join("bin"),
            clang_cxx: None,
        }
    }

    /// The toolchain with C++: `toolchain` and `cxx-runtime` outputs.
    pub fn with_cxx(out: &Path, cxx_runtime_out: &Path) -> Self {
        Self {
            bin: out.join("bin"),
            clang_cxx: Some(clang_cxx(cxx_runtime_out)),
        }
    }

    /// One of the wrappers: `clang`, `clang++` (with C++ only),
    /// `llvm-ar`, `llvm-ranlib`, `wasm-ld`.
    pub fn tool(&self, name: &str) -> PathBuf {
        match (name, &self.clang_cxx) {
            ("clang++", Some(cxx)) => cxx.clone(),
            _ => self.bin.join(name),
        }
    }

    /// `CC`, `CXX`, `AR` … as autotools and meson expect them, and `PATH`
    /// with the wrappers first.
    pub fn configure_env(&self, cmd: Cmd) -> Cmd {
        let cmd = match &self.clang_cxx {
            Some(cxx) => cmd.env("CXX", cxx),
            None => cmd.env_remove("CXX"),
        };
        cmd.env("CC", self.tool("clang"))
            .env("CPP", format!("{} -E", self.tool("clang").display()))
            .env("AR", self.tool("llvm-ar"))
            .env("RANLIB", self.tool("llvm-ranlib"))
            .env("PATH", path_with(&[&self.bin]))
            // Nothing of the host's pkg-config world applies to wasm.
            .env("PKG_CONFIG_LIBDIR", "/nonexistent")
            .env_remove("PKG_CONFIG_PATH")
    }

    /// `CC=…`, `AR=…` and `RANLIB=…`: the toolchain as arguments of a
    /// `make` whose Makefile has no configure step to hand it to.
    pub fn make_vars(&self) -> [std::ffi::OsString; 3] {
        [
            assign("CC", self.tool("clang")),
            assign("AR", self.tool("llvm-ar")),
            assign("RANLIB", self.tool("llvm-ranlib")),
        ]
    }

    /// Compiles each source to `<objects>/<stem>.o` with `flags`, `jobs` at
    /// a time: C and assembly with `clang`, C++ (`.cpp`, `.cc`) with
    /// `clang++` when the toolchain has C++, else with `clang` (which takes
    /// C++ by the extension; the caller then gives the C++ flags).
    pub fn compile<S: AsRef<std::ffi::OsStr>>(
        &self,
        sources: impl IntoIterator<Item = PathBuf>,
        flags: impl IntoIterator<Item = S> + Clone,
        objects: &Path,
        jobs: usize,
        log: &mut Log,
    ) -> Result<Vec<PathBuf>> {
        fs::create_dir_all(objects)?;
        let mut compiled = Vec::new();
        let mut commands = Vec::new();
        for source in sources {
            let stem = source.file_stem().unwrap_or_default().to_string_lossy();
            let object = objects.join(format!("{stem}.o"));
            if compiled.contains(&object) {
                bail!(
                    "two sources would compile to {}; compile them into different directories",
                    object.display()
                );
            }
            let is_cxx = source.extension().is_some_and(|e| e == "cpp" || e == "cc");
            let compiler = match (is_cxx, &self.clang_cxx) {
                (true, Some(cxx)) => cxx.clone(),
                _ => self.tool("clang"),
            };
            commands.push(
                Cmd::new(compiler)
                    .args(flags.clone())
                    .arg("-c")
                    .arg(&source)
                    .arg("-o")
                    .arg(&object),
            );
            compiled.push(object);
        }
        Cmd::run_all(commands, jobs, log)?;
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
    fn contract(&self) -> Contract {
        // Each stage fetches its own artifacts, which its contract names; a
        // dependency on `fetch` would rebuild it whenever any pin changed.
        let contract = Contract::new(&[
            include_str!("toolchain.rs"),
            include_str!("script.rs"),
            include_str!("util.rs"),
        ])
        .publishes("", Layout::toolchain);
        match wasi_sdk_path() {
            Some(_) => contract,
            None => contract.pin(ZIG).pins(SYSROOT_DEBS).shims(SOFTWARE_FENV),
        }
    }
    fn settings(&self, fp: &mut Fingerprint) {
        if let Some(sdk) = wasi_sdk_path() {
            fp.add("wasi-sdk", sdk.to_string_lossy().as_bytes());
        }
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
}

/// `bin/clang++` in the `cxx-runtime` stage's output `out`: where that
/// stage writes it and [`Toolchain::with_cxx`] finds it.
pub fn clang_cxx(out: &Path) -> PathBuf {
    out.join("bin/clang++")
}

/// `$WASI_SDK_PATH`: a wasi-sdk to use instead of zig and Debian's sysroot.
pub fn wasi_sdk_path() -> Option<PathBuf> {
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
    Wrapper::new(sdk_bin.join("clang"))
        .arg(format!("--target={TARGET}"))
        .arg(assign("--sysroot", &sysroot))
        .write(&bin.join("clang"))?;
    for tool in ["wasm-ld", "llvm-ar", "llvm-ranlib", "llvm-nm"] {
        Wrapper::new(sdk_bin.join(tool)).write(&bin.join(tool))?;
    }
    Ok(())
}

/// zig's clang + Debian's sysroot, glued by a small resource directory.
fn assemble(cx: &StageContext, out: &Path, bin: &Path, log: &mut Log) -> Result<()> {
    log.step("unpack zig");
    let wheel = cx.fetch(ZIG, log)?;
    let zig_dir = out.join("zig");
    unzip(&wheel, &zig_dir, log)?;
    let zig = zig_dir.join("ziglang/zig");
    set_executable(&zig)?;

    log.step("unpack sysroot");
    let root = out.join("sysroot");
    for name in SYSROOT_DEBS {
        let deb = cx.fetch(name, log)?;
        Cmd::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(&root)
            .run(log)?;
    }
    let usr = root.join("usr");
    let llvm = LlvmRelease::of_debian_version(&cx.pin(BUILTINS_DEB)?.version)?;
    let builtins = root.join(llvm.builtins_in_deb());
    for needed in [&builtins, &usr.join("include/wasm32-wasip1")] {
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

    // -B makes the driver find our wasm-ld wrapper whatever PATH says.
    Wrapper::new(&zig)
        .arg("clang")
        .arg("-resource-dir")
        .arg(&res)
        .arg(format!("--target={TARGET}"))
        .arg(assign("--sysroot", &usr))
        .arg("-B")
        .arg(bin)
        .write(&bin.join("clang"))?;
    for (tool, sub) in [
        ("wasm-ld", "wasm-ld"),
        ("llvm-ar", "ar"),
        ("llvm-ranlib", "ranlib"),
    ] {
        Wrapper::new(&zig).arg(sub).write(&bin.join(tool))?;
    }
    software_fenv(cx, &usr, out, log)
}

/// The header and source of the software floating-point exception flags,
/// under the shims directory.
const SOFTWARE_FENV: [&str; 2] = ["fenv/bits-fenv.h", "fenv/fenv.c"];

/// Gives the sysroot floating-point exception flags kept in software
/// (`third-party/shims/fenv/`): wasi-libc has none (`FE_ALL_EXCEPT` is 0),
/// so numpy's deliberate raises (integer division by zero, overflow) were
/// lost and `np.errstate(divide="raise")` never raised. Its `bits/fenv.h`
/// is replaced, and its `fenv.o`/`feupdateenv.o` in `libc.a` by ours, so
/// every compile and link of every stage sees the same flags.
fn software_fenv(cx: &StageContext, usr: &Path, out: &Path, log: &mut Log) -> Result<()> {
    log.step("software floating-point exception flags");
    let [header, source] = [cx.shim(SOFTWARE_FENV[0])?, cx.shim(SOFTWARE_FENV[1])?];
    let bits = usr.join("include/wasm32-wasi/bits/fenv.h");
    let libc = usr.join("lib/wasm32-wasi/libc.a");
    for needed in [&bits, &libc] {
        if !needed.is_file() {
            bail!("the sysroot packages did not provide {}", needed.display());
        }
    }
    fs::remove_file(&bits)?;
    fs::copy(&header, &bits)?;
    let dir = out.join("fenv");
    fs::create_dir_all(&dir)?;
    let tc = Toolchain::at(out);
    let object = dir.join("fenv.o");
    Cmd::new(tc.tool("clang"))
        .args(["-O2", "-c"])
        .arg(&source)
        .arg("-o")
        .arg(&object)
        .run(log)?;
    Cmd::new(tc.tool("llvm-ar"))
        .arg("d")
        .arg(&libc)
        .arg("feupdateenv.o")
        .run(log)?;
    // `r` replaces the member of the same name, wasi-libc's fenv.o.
    Cmd::new(tc.tool("llvm-ar"))
        .arg("r")
        .arg(&libc)
        .arg(&object)
        .run(log)
}

/// Compiles and links a C program, so a broken toolchain fails here, with
/// its own log, rather than deep inside CPython's configure.
fn smoke_test(tc: &Toolchain, out: &Path, log: &mut Log) -> Result<()> {
    log.step("smoke test");
    let dir = out.join("smoke");
    fs::create_dir_all(&dir)?;
    fs::write(
        dir.join("hello.c"),
        "#include <math.h>\n#include <stdio.h>\nint main(void) { printf(\"%g\\n\", log2(8.0)); return 0; }\n",
    )?;
    Cmd::new(tc.tool("clang"))
        .args(["-O2", "hello.c", "-o", "hello-c.wasm"])
        .cwd(&dir)
        .run(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_llvm_release_comes_from_a_debian_version() {
        let llvm = LlvmRelease::of_debian_version("1:22.1.8-1~deb13u5").unwrap();
        assert_eq!(llvm.debian_prefix(), "usr/lib/llvm-22");
        assert_eq!(
            llvm.builtins_in_deb(),
            "usr/lib/llvm-22/lib/clang/22/lib/wasi/libclang_rt.builtins-wasm32.a"
        );
        assert_eq!(llvm.libcpp_version_line(), "_LIBCPP_VERSION 220108");
        assert_eq!(
            LlvmRelease::of_debian_version("21.1.0-2")
                .unwrap()
                .libcpp_version_line(),
            "_LIBCPP_VERSION 210100"
        );
        for bad in ["", "1:", "22", "x.y.z", "1:22.1-1"] {
            assert!(LlvmRelease::of_debian_version(bad).is_err(), "{bad}");
        }
    }
}
