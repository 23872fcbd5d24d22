//! `rust-toolchain`: a Rust compiler for wasm32-wasip1 whose standard
//! library unwinds, for extension modules written in Rust (PyO3).
//!
//! Debian's `rustc` (the pins' `rust:…` artifacts, each a `.deb`) is
//! unpacked with the host's standard library (build scripts and procedural
//! macros run on the host) and `rust-src`. It is built against a newer
//! glibc than some build machines have, so `bin/rustc` runs it through the
//! pinned glibc's own loader with the pinned libraries first; what it
//! starts (the host's `cc` for build scripts) is left alone. Debian's
//! wasm32 standard library is `panic=abort` only, which would make every
//! Rust panic a trap of the whole interpreter; so the stage builds
//! wasm32-wasip1's `std` once from `rust-src` (offline: its dependencies
//! are vendored in it) with unwinding through WebAssembly exceptions, the
//! encoding the C++ runtime uses, and installs it in the compiler's own
//! sysroot: a panic becomes PyO3's `PanicException`. Cargo is the host's
//! (the one running `cargo faasm-py`); it drives any newer rustc.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use fs_err as fs;

use super::script::Wrapper;
use super::util::files_under;
use crate::pins::{Pins, RUST_PREFIX};
use crate::pipeline::{Contract, Stage, StageContext, StageId};
use crate::process::{Cmd, Log};

/// The target every Rust extension module is compiled for.
pub const TARGET: &str = "wasm32-wasip1";
/// Code generation of everything compiled for wasm32, the standard library
/// included: unwinding through WebAssembly's standard exceptions (exnref),
/// which the C++ runtime's unwinder and wasmtime speak.
pub const RUSTFLAGS: &[&str] = &[
    "-Cpanic=unwind",
    "-Ctarget-feature=+exception-handling",
    "-Cllvm-args=-wasm-use-legacy-eh=false",
];
/// The loader of the pinned glibc, inside the prefix.
const LOADER: &str = "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";
/// Where the pinned shared libraries are, inside the prefix.
const LIBRARY_DIRS: &[&str] = &["usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu"];

/// The toolchain as package stages use it.
#[derive(Debug, Clone)]
pub struct RustToolchain {
    out: PathBuf,
}

impl RustToolchain {
    /// The toolchain in the `rust-toolchain` stage's output `out`.
    pub fn at(out: &Path) -> Self {
        Self {
            out: out.to_owned(),
        }
    }

    /// `bin/rustc`: the pinned compiler, with the unwinding wasm32 std.
    pub fn rustc(&self) -> PathBuf {
        self.out.join("bin/rustc")
    }

    /// The standard library's vendored dependencies (in `rust-src`).
    fn std_vendor(&self) -> PathBuf {
        self.sysroot().join("lib/rustlib/src/rust/library/vendor")
    }

    fn sysroot(&self) -> PathBuf {
        self.out.join("prefix/usr")
    }

    /// `RUSTFLAGS` for the target, as `CARGO_ENCODED_RUSTFLAGS` wants them.
    pub fn encoded_rustflags(extra: &[&str]) -> String {
        RUSTFLAGS
            .iter()
            .chain(extra)
            .copied()
            .collect::<Vec<_>>()
            .join("\x1f")
    }
}

/// The cargo that runs builds: the one that started us, else `cargo`.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO")
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "cargo".into())
}

/// The `rust-toolchain` stage, given the pins' Rust artifacts.
pub struct RustToolchainStage {
    pub debs: Vec<String>,
}

impl RustToolchainStage {
    /// The stage for the Rust artifacts of `pins`.
    pub fn new(pins: &Pins) -> Self {
        Self {
            debs: pins
                .artifact
                .keys()
                .filter(|name| name.starts_with(RUST_PREFIX))
                .cloned()
                .collect(),
        }
    }
}

impl Stage for RustToolchainStage {
    fn id(&self) -> StageId {
        StageId::RustToolchain
    }
    fn contract(&self) -> Contract {
        Contract::new(&[
            include_str!("rust_toolchain.rs"),
            include_str!("script.rs"),
            include_str!("util.rs"),
        ])
        .pins(&self.debs)
    }

    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        if self.debs.is_empty() {
            bail!("the pins name no `{RUST_PREFIX}…` artifacts for the Rust toolchain");
        }
        log.step("unpack rustc");
        let prefix = out.join("prefix");
        for name in &self.debs {
            let deb = cx.fetch(name, log)?;
            Cmd::new("dpkg-deb")
                .arg("-x")
                .arg(&deb)
                .arg(&prefix)
                .run(log)?;
        }
        let loader = prefix.join(LOADER);
        let rustc = prefix.join("usr/bin/rustc");
        for needed in [&loader, &rustc] {
            if !needed.is_file() {
                bail!(
                    "the Rust toolchain packages did not provide {}",
                    needed.display()
                );
            }
        }
        let bin = out.join("bin");
        fs::create_dir_all(&bin)?;
        let library_path = std::env::join_paths(LIBRARY_DIRS.iter().map(|d| prefix.join(d)))
            .context("the toolchain's directory cannot go on a library path")?;
        // rustc finds its sysroot beside its own shared library, which the
        // loader maps from the prefix.
        Wrapper::new(&loader)
            .arg("--library-path")
            .arg(&library_path)
            .arg(&rustc)
            .write(&bin.join("rustc"))?;
        let tc = RustToolchain::at(out);
        let version = Cmd::new(tc.rustc()).arg("-vV").output(log)?;
        log.note(&version);

        build_std(cx, &tc, out, log)?;
        smoke_test(&tc, out, log)
    }
}

/// Builds wasm32-wasip1's standard library with unwinding from `rust-src`
/// and puts it where the compiler looks for the target's library.
fn build_std(cx: &StageContext, tc: &RustToolchain, out: &Path, log: &mut Log) -> Result<()> {
    log.step("build the wasm32 standard library with unwinding");
    let dir = out.join("std-build");
    fs::create_dir_all(dir.join("src"))?;
    fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"faasm-py-std\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[lib]\npath = \"src/lib.rs\"\n",
    )?;
    fs::write(dir.join("src/lib.rs"), "")?;
    let home = dir.join("cargo-home");
    write_cargo_config(&home, &tc.std_vendor())?;
    let target = dir.join("target");
    Cmd::new(cargo())
        .args(["build", "--offline", "--release", "--target", TARGET])
        .args(["-Zbuild-std=std,panic_unwind", "-j"])
        .arg(cx.jobs().to_string())
        .cwd(&dir)
        .env("CARGO_HOME", &home)
        .env("CARGO_TARGET_DIR", &target)
        .env("RUSTC", tc.rustc())
        // -Zbuild-std is unstable; this rustc is the stable release the std
        // comes from, built the way its own bootstrap builds it.
        .env("RUSTC_BOOTSTRAP", "1")
        // With its LLVM bitcode, which a package's LTO (orjson's, pydantic-core's)
        // optimises together with its own code, as with rustup's std.
        .env(
            "CARGO_ENCODED_RUSTFLAGS",
            RustToolchain::encoded_rustflags(&["-Cembed-bitcode=yes"]),
        )
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .run(log)?;
    let lib = tc.sysroot().join(format!("lib/rustlib/{TARGET}/lib"));
    fs::create_dir_all(&lib)?;
    let mut installed = 0;
    for rlib in files_under(&target.join(TARGET).join("release/deps"))? {
        let name = rlib.file_name().unwrap_or_default().to_string_lossy();
        if name.ends_with(".rlib") && !name.starts_with("libfaasm_py_std") {
            fs::copy(&rlib, lib.join(&*name))?;
            installed += 1;
        }
    }
    if installed == 0 {
        bail!("building the wasm32 standard library left no .rlib files");
    }
    fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A `CARGO_HOME` whose only configuration replaces the crate registry by
/// the directory `vendor`: builds are offline and take only pinned crates.
pub fn write_cargo_config(home: &Path, vendor: &Path) -> Result<()> {
    fs::create_dir_all(home)?;
    let vendor = toml::Value::String(vendor.to_string_lossy().into_owned());
    fs::write(
        home.join("config.toml"),
        format!(
            "[source.crates-io]\nreplace-with = \"vendored\"\n\n[source.vendored]\ndirectory = {vendor}\n\n[net]\noffline = true\n"
        ),
    )?;
    Ok(())
}

/// Compiles a panicking static library for wasm32 against the installed
/// standard library, so a broken toolchain fails here.
fn smoke_test(tc: &RustToolchain, out: &Path, log: &mut Log) -> Result<()> {
    log.step("smoke test");
    let dir = out.join("smoke");
    fs::create_dir_all(&dir)?;
    fs::write(
        dir.join("lib.rs"),
        "#[no_mangle]\npub extern \"C\" fn caught(n: i32) -> i32 {\n    std::panic::catch_unwind(|| if n > 0 { panic!(\"boom\") } else { n }).unwrap_or(-1)\n}\n",
    )?;
    Cmd::new(tc.rustc())
        .args(["--edition", "2021", "--crate-type", "staticlib", "-O"])
        .args(["--target", TARGET])
        .args(RUSTFLAGS)
        .arg("lib.rs")
        .cwd(&dir)
        .run(log)?;
    if !dir.join("liblib.a").is_file() {
        bail!("rustc made no static library in {}", dir.display());
    }
    fs::remove_dir_all(&dir)?;
    Ok(())
}
