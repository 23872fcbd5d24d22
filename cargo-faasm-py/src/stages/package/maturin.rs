//! maturin packages (PyO3): the package's Rust crate compiled for
//! wasm32-wasip1 by cargo, as a static library, with the pinned compiler
//! of the `rust-toolchain` stage (whose standard library unwinds, so a
//! panic becomes PyO3's `PanicException`), and PyO3 told the guest
//! interpreter's configuration (`PYO3_CONFIG_FILE`: static, 32-bit, no
//! link lines). maturin itself is not run: what it would read is read
//! here (`[tool.maturin]`'s module name, manifest, features and Python
//! source). The crates come from the lock, verified by sha256 and
//! vendored, so the build is offline. The static library (the crate, its
//! dependencies and a copy of the standard library) becomes one object like
//! any other module's, whose only global symbol is its init function: the
//! standard library is private to each Rust module, as it is inside each
//! module's shared library natively.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use fs_err as fs;

use super::cross::WASI_DEFINES;
use super::flow::{Backend, Build};
use crate::pipeline::{StageContext, StageId};
use crate::process::{Cmd, Log};
use crate::pyproject::{Maturin as MaturinConfig, parse_pyproject};
use crate::stages::rust_toolchain::{RustToolchain, TARGET, cargo, write_cargo_config};
use crate::stages::util::files_under;

/// The maturin backend.
pub struct Maturin;

impl Backend for Maturin {
    fn build_dir(&self, src: &Path, _out: &Path) -> PathBuf {
        src.to_owned()
    }

    fn build(&self, cx: &StageContext, b: &Build, site: &Path, log: &mut Log) -> Result<()> {
        let rust = RustToolchain::at(&cx.output(&StageId::RustToolchain)?);
        let file = b.src.join("pyproject.toml");
        let config = parse_pyproject(Some(&fs::read_to_string(&file)?))
            .with_context(|| file.display().to_string())?
            .maturin;
        let manifest = b.src.join(config.manifest());
        if !manifest.is_file() {
            bail!(
                "{}: [tool.maturin] manifest-path `{}` is not a file of the package",
                file.display(),
                config.manifest()
            );
        }

        log.step("vendor the crates");
        let vendor = b.out.join("vendor");
        vendor_crates(cx, &b.package.crates, &vendor, log)?;
        let home = b.out.join("cargo-home");
        write_cargo_config(&home, &vendor)?;

        let lib_name = library_name(&manifest, &home, log)?;
        let python_src = python_source(&b.src, &config, &lib_name)?;
        let module = module_name(&config, &lib_name);

        log.step("cargo build (wasm32-wasip1 static library)");
        let pyo3_config = b.out.join("pyo3-config.txt");
        fs::write(&pyo3_config, pyo3_config_text(cx)?)?;
        let target_dir = b.out.join("target");
        let mut cmd = Cmd::new(cargo())
            .args(["rustc", "--release", "--lib", "--offline", "--locked"])
            .args(["--target", TARGET, "--crate-type", "staticlib"])
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("-j")
            .arg(cx.jobs().to_string())
            .cwd(manifest.parent().unwrap_or(&b.src))
            .env("CARGO_HOME", &home)
            .env("CARGO_TARGET_DIR", &target_dir)
            .env("RUSTC", rust.rustc())
            .env(
                "CARGO_ENCODED_RUSTFLAGS",
                RustToolchain::encoded_rustflags(&[]),
            )
            .env("PYO3_CONFIG_FILE", &pyo3_config)
            // C code of build scripts (the `cc` crate) for the target.
            .env("CC_wasm32_wasip1", b.tc.tool("clang"))
            .env("AR_wasm32_wasip1", b.tc.tool("llvm-ar"))
            .env(
                "CFLAGS_wasm32_wasip1",
                format!("-O2 {}", WASI_DEFINES.join(" ")),
            )
            .env_remove("RUSTFLAGS")
            .env_remove("RUSTC_WRAPPER")
            .env_remove("RUSTC_WORKSPACE_WRAPPER");
        if !config.features.is_empty() {
            cmd = cmd.arg("--features").arg(config.features.join(","));
        }
        if config.no_default_features {
            cmd = cmd.arg("--no-default-features");
        }
        for (key, value) in &b.package.env {
            cmd = cmd.env(key, value);
        }
        cmd.run(log)?;
        let archive = target_dir
            .join(TARGET)
            .join("release")
            .join(format!("lib{lib_name}.a"));
        if !archive.is_file() {
            bail!("cargo made no static library {}", archive.display());
        }

        log.step("the module's object");
        // The whole library as one relocatable object (the final link
        // drops what the init function does not reach), and the wrapper's
        // row for it, as for a C module.
        fs::create_dir_all(&b.wrap.modules)?;
        let object = b.wrap.modules.join(format!("{module}.o"));
        Cmd::new(b.tc.tool("wasm-ld"))
            .args(["-r", "--whole-archive"])
            .arg(&archive)
            .arg("-o")
            .arg(&object)
            .run(log)?;
        let row = serde_json::json!({
            "module": module,
            "object": object,
            "libs": [],
            "link_flags": [],
        });
        fs::write(
            b.wrap.modules.join(format!("{module}.json")),
            serde_json::to_string_pretty(&row)?,
        )?;

        log.step("the Python files");
        install_python(&b.src, python_src.as_deref(), &module, site)?;
        write_dist_info(site, &b.package.name, &b.package.version)
    }
}

/// The crate files of `crates` (artifact names), unpacked into `vendor`
/// as cargo's directory sources are: each with its `.cargo-checksum.json`,
/// whose package checksum cargo compares with `Cargo.lock`'s.
fn vendor_crates(cx: &StageContext, crates: &[String], vendor: &Path, log: &mut Log) -> Result<()> {
    fs::create_dir_all(vendor)?;
    for name in crates {
        let file = cx.fetch(name, log)?;
        let pin = cx.pin(name)?;
        let stem = pin
            .file
            .strip_suffix(".crate")
            .context("a crate's file ends in .crate")?;
        Cmd::new("tar")
            .arg("-xzf")
            .arg(&file)
            .arg("-C")
            .arg(vendor)
            .run(log)?;
        let dir = vendor.join(stem);
        if !dir.is_dir() {
            bail!("{} did not unpack into {stem}/", pin.file);
        }
        fs::write(
            dir.join(".cargo-checksum.json"),
            serde_json::json!({ "files": {}, "package": pin.sha256 }).to_string(),
        )?;
    }
    Ok(())
}

/// The name of the crate's library target (`[lib] name`, else the
/// package's name with `-` as `_`), as cargo reads the manifest.
fn library_name(manifest: &Path, home: &Path, log: &mut Log) -> Result<String> {
    let metadata = Cmd::new(cargo())
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .arg("--manifest-path")
        .arg(manifest)
        .env("CARGO_HOME", home)
        .output(log)?;
    let metadata: serde_json::Value =
        serde_json::from_str(&metadata).context("cargo metadata printed no JSON")?;
    let manifest = fs::canonicalize(manifest)?;
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let package = packages
        .iter()
        .find(|p| {
            p["manifest_path"]
                .as_str()
                .and_then(|m| std::fs::canonicalize(m).ok())
                .is_some_and(|m| m == manifest)
        })
        .with_context(|| format!("cargo metadata lists no package for {}", manifest.display()))?;
    let lib = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| {
            t["kind"].as_array().is_some_and(|kinds| {
                kinds
                    .iter()
                    .any(|k| matches!(k.as_str(), Some("lib" | "cdylib" | "staticlib" | "rlib")))
            })
        })
        .with_context(|| format!("{} has no library target", manifest.display()))?;
    Ok(lib["name"].as_str().unwrap_or_default().replace('-', "_"))
}

/// The directory with the package's Python files, if it has any: `[tool.maturin]
/// python-source`, else the project itself when it holds a directory named
/// like the module's top package (maturin's mixed layout).
fn python_source(src: &Path, config: &MaturinConfig, lib_name: &str) -> Result<Option<PathBuf>> {
    if let Some(dir) = &config.python_source {
        let dir = src.join(dir);
        if !dir.is_dir() {
            bail!(
                "[tool.maturin] python-source `{}` is not a directory",
                dir.display()
            );
        }
        return Ok(Some(dir));
    }
    let top = config
        .module_name
        .as_deref()
        .unwrap_or(lib_name)
        .split('.')
        .next()
        .unwrap_or(lib_name);
    Ok(src
        .join(top)
        .join("__init__.py")
        .is_file()
        .then(|| src.to_owned()))
}

/// The extension module's dotted name, as maturin names it: `module-name`,
/// else the library's name; a plain name is a module inside the package of
/// that name (the package's own Python files, or a generated `__init__.py`).
fn module_name(config: &MaturinConfig, lib_name: &str) -> String {
    match &config.module_name {
        Some(name) if name.contains('.') => name.clone(),
        Some(name) => format!("{name}.{name}"),
        None => format!("{lib_name}.{lib_name}"),
    }
}

/// The package's Python files into `site`: its top package from the Python
/// source, or, for a crate with none, a package that re-exports the
/// module (with its type stub), as maturin makes for a pure-Rust project.
fn install_python(src: &Path, python: Option<&Path>, module: &str, site: &Path) -> Result<()> {
    let (top, last) = module.split_once('.').unwrap_or((module, module));
    let dest = site.join(top);
    fs::create_dir_all(&dest)?;
    let from = python.map(|p| p.join(top));
    match from {
        Some(from) if from.is_dir() => {
            for file in files_under(&from)? {
                let rel = file.strip_prefix(&from).unwrap_or(&file);
                if rel.components().any(|c| c.as_os_str() == "__pycache__") {
                    continue;
                }
                let to = dest.join(rel);
                if let Some(dir) = to.parent() {
                    fs::create_dir_all(dir)?;
                }
                fs::copy(&file, &to)?;
            }
        }
        _ => {
            fs::write(
                dest.join("__init__.py"),
                format!(
                    "from .{last} import *\n\n__doc__ = {last}.__doc__\nif hasattr({last}, \"__all__\"):\n    __all__ = {last}.__all__\n"
                ),
            )?;
            let stub = src.join(format!("{top}.pyi"));
            if stub.is_file() {
                fs::copy(&stub, dest.join("__init__.pyi"))?;
                fs::write(dest.join("py.typed"), "")?;
            }
        }
    }
    Ok(())
}

/// A `.dist-info` with the package's name and version, which
/// `importlib.metadata` reads.
fn write_dist_info(site: &Path, name: &str, version: &str) -> Result<()> {
    let dir = site.join(format!("{}-{version}.dist-info", name.replace('-', "_")));
    fs::create_dir_all(&dir)?;
    fs::write(
        dir.join("METADATA"),
        format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
    )?;
    fs::write(dir.join("INSTALLER"), "cargo-faasm-py\n")?;
    fs::write(dir.join("RECORD"), "")?;
    Ok(())
}

/// PyO3's view of the guest interpreter: CPython of the guest's version,
/// linked statically into python.wasm (so no link lines), 32-bit.
fn pyo3_config_text(cx: &StageContext) -> Result<String> {
    let guest = cx.guest()?;
    let libpython = guest.libpython();
    let lib_name = libpython
        .strip_prefix("lib")
        .and_then(|l| l.strip_suffix(".a"))
        .with_context(|| format!("libpython's name {libpython} is not lib….a"))?;
    Ok(format!(
        "implementation=CPython\nversion={}\nshared=false\nabi3=false\nlib_name={lib_name}\npointer_width=32\nbuild_flags=\nsuppress_build_script_link_lines=true\n",
        guest.short_version()
    ))
}
