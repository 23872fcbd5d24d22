//! The meson backend (meson-python packages: numpy, pandas): a generated
//! cross file and the target-python view, the package's own vendored
//! `meson setup` / `ninja` / `meson install`, through the static-archive
//! compiler wrapper.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use fs_err as fs;

use super::cross::{
    WASI_DEFINES, Wrap, pkg_config_dirs_in, write_console_scripts, write_target_python,
};
use super::flow::{Backend, Build};
use super::manifest::Manifest;
use crate::pipeline::StageContext;
use crate::plan::Package;
use crate::process::{Cmd, Log};
use crate::stages::toolchain::Toolchain;
use crate::stages::util::path_with;

/// The meson backend.
pub struct Meson;

impl Backend for Meson {
    fn build_dir(&self, _src: &Path, out: &Path) -> PathBuf {
        out.join("build")
    }

    fn build(&self, cx: &StageContext, b: &Build, site: &Path, log: &mut Log) -> Result<()> {
        let (package, src, out, tools) = (b.package, &b.src, &b.out, &b.tools_bin);
        let build = self.build_dir(src, out);
        // Build scripts run by the target python (pandas' version and
        // template generators) import the build tools too, after the guest
        // packages: a build tool may bring its own host copy of one
        // (Pythran needs numpy), whose headers are the host's.
        let mut python_path: Vec<&Path> = b.guest_build_deps.iter().map(|v| v.as_path()).collect();
        python_path.push(&b.tools_site);
        let target_python = write_target_python(cx, out, &b.host_python, &b.cpython, &python_path)?;
        let mut pkg_config_dirs = pkg_config_dirs(cx, package)?;
        let mut scripts = None;
        if let Some(view) = &b.guest_build_deps {
            pkg_config_dirs.extend(pkg_config_dirs_in(view)?);
            scripts = write_console_scripts(view, &target_python)?;
        }
        let config_tools = config_tools(tools, scripts.as_deref(), &target_python)?;
        let cross = write_cross_file(
            out,
            &b.tc,
            &b.wrap,
            tools,
            &target_python,
            &pkg_config_dirs,
            &config_tools,
        )?;

        // numpy vendors its own meson; everything else uses the lock's.
        let vendored = src.join("vendored-meson/meson/meson.py");
        let meson = if vendored.is_file() {
            vendored
        } else {
            let meson = tools.join("meson");
            if !meson.is_file() {
                bail!(
                    "{} vendors no meson and the build tools have none (its build-system requires should name meson)",
                    package.name
                );
            }
            meson
        };
        // The guest packages' own programs (numpy's `f2py`) before the
        // build tools' (a host copy of the same package).
        let path = match &scripts {
            Some(bin) => path_with(&[bin, tools]),
            None => path_with(&[tools]),
        };
        let with_env = |mut cmd: Cmd| {
            for (key, value) in &package.env {
                cmd = cmd.env(key, value);
            }
            // Cython finds the guest packages' `.pxd` files on it.
            if let Some(view) = &b.guest_build_deps {
                cmd = cmd.env("PYTHONPATH", view);
            }
            cmd
        };
        let meson_cmd = || {
            with_env(Cmd::new(tools.join("python")))
                .arg(&meson)
                .env("PATH", &path)
                .env("PKG_CONFIG_LIBDIR", "/nonexistent")
                .env_remove("PKG_CONFIG_PATH")
        };

        log.step("meson setup");
        meson_cmd()
            .arg("setup")
            .arg(&build)
            .arg(src)
            .arg("--cross-file")
            .arg(&cross)
            .arg(format!("--prefix={}", cx.guest()?.prefix()))
            .args(["-Dbuildtype=release", "-Db_ndebug=if-release"])
            .args(&package.meson_options)
            .run(log)?;

        let ninja = with_env(Cmd::new(tools.join("ninja")))
            .arg("-C")
            .arg(&build)
            .arg(format!("-j{}", cx.jobs()))
            .env("PATH", &path);
        // The wrapper names modules from meson's introspection, read once here.
        log.step("index extension modules");
        Cmd::new(tools.join("python"))
            .arg(&b.wrap.script)
            .arg(&b.wrap.config)
            .arg("index")
            .run(log)?;
        log.step("ninja");
        ninja.run(log)?;

        log.step("meson install");
        let destdir = out.join("destdir");
        meson_cmd()
            .args(["install", "--no-rebuild", "--quiet", "-C"])
            .arg(&build)
            .arg("--destdir")
            .arg(&destdir)
            .run(log)?;
        move_python_files(cx, &destdir, site)?;
        write_dist_info(package, src, site)
    }

    fn check(&self, cx: &StageContext, b: &Build, manifest: &Manifest) -> Result<()> {
        if manifest.modules.is_empty() {
            bail!("{} built no extension modules", b.package.name);
        }
        check_libraries_linked(cx, b.package, manifest)
    }
}

/// The `lib/pkgconfig` directories of the C libraries `package` is built
/// against (OpenBLAS's `openblas.pc`, through which numpy finds it).
fn pkg_config_dirs(cx: &StageContext, package: &Package) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for lib in &package.c_libraries {
        let dir = cx.output(lib)?.join("lib/pkgconfig");
        if dir.is_dir() {
            dirs.push(dir);
        }
    }
    Ok(dirs)
}

/// Every C library a package is built against must end up linked by one of
/// its modules: a build that quietly did without it (numpy falls back to no
/// BLAS when its probe fails) stops here.
fn check_libraries_linked(cx: &StageContext, package: &Package, manifest: &Manifest) -> Result<()> {
    let linked: std::collections::BTreeSet<PathBuf> = manifest
        .archives()
        .into_iter()
        .filter_map(|a| fs::canonicalize(a).ok())
        .collect();
    for lib in &package.c_libraries {
        let dir = cx.output(lib)?.join("lib");
        let archives: Vec<PathBuf> = fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "a"))
            .filter_map(|p| fs::canonicalize(p).ok())
            .collect();
        if !archives.is_empty() && !archives.iter().any(|a| linked.contains(a)) {
            bail!(
                "{} is built against the C library `{lib}`, but none of its extension modules links it (did its build find {}?)",
                package.name,
                dir.display()
            );
        }
    }
    Ok(())
}

/// The `*-config` programs a build may ask about the host machine
/// (pybind11's `pybind11-config`, numpy's `numpy-config`), each as the
/// command the cross file names: a build tool's run by the target python,
/// so that it reports the wasm build's include directories rather than the
/// host python's; a guest package's as it is (it runs the target python
/// already), taking precedence.
fn config_tools(
    tools: &Path,
    guest_scripts: Option<&Path>,
    target_python: &Path,
) -> Result<std::collections::BTreeMap<String, Vec<PathBuf>>> {
    let mut found = std::collections::BTreeMap::new();
    let configs = |dir: &Path| -> Result<Vec<(String, PathBuf)>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if name.ends_with("-config") && path.is_file() {
                out.push((name, path));
            }
        }
        Ok(out)
    };
    for (name, path) in configs(tools)? {
        found.insert(name, vec![target_python.to_owned(), path]);
    }
    if let Some(dir) = guest_scripts {
        for (name, path) in configs(dir)? {
            found.insert(name, vec![path]);
        }
    }
    Ok(found)
}

fn write_cross_file(
    out: &Path,
    tc: &Toolchain,
    wrap: &Wrap,
    tools: &Path,
    target_python: &Path,
    pkg_config_dirs: &[PathBuf],
    config_tools: &std::collections::BTreeMap<String, Vec<PathBuf>>,
) -> Result<PathBuf> {
    let quote = |p: &Path| format!("'{}'", p.display());
    let config_tools: String = config_tools
        .iter()
        .map(|(name, command)| {
            let words: Vec<String> = command.iter().map(|p| quote(p)).collect();
            format!("{name} = [{}]\n", words.join(", "))
        })
        .collect();
    // The host's pkg-config, looking only at the wasm libraries' own `.pc`
    // files (meson sets PKG_CONFIG_LIBDIR from `pkg_config_libdir` for the
    // host machine of a cross build), or none at all.
    let (pkg_config, pkg_config_libdir) = if pkg_config_dirs.is_empty() {
        ("'/nonexistent/pkg-config'".to_owned(), String::new())
    } else {
        let dirs: Vec<String> = pkg_config_dirs.iter().map(|d| quote(d)).collect();
        (
            "'pkg-config'".to_owned(),
            format!("pkg_config_libdir = [{}]\n", dirs.join(", ")),
        )
    };
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
         pkg-config = {pkg_config}\n\
         {config_tools}\
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
         {pkg_config_libdir}\
         \n\
         [built-in options]\n\
         c_args = [{defines}]\n\
         cpp_args = [{defines}]\n",
        cc = quote(&wrap.compiler("cc")),
        cxx = quote(&wrap.compiler("c++")),
        ar = quote(&tc.tool("llvm-ar")),
        cython = quote(&tools.join("cython")),
        python = quote(target_python),
    );
    let path = out.join("cross.ini");
    fs::write(&path, text)?;
    Ok(path)
}

/// Moves the installed Python files to `site`; the installed "shared
/// modules" among them are archives, left for the flow to remove.
fn move_python_files(cx: &StageContext, destdir: &Path, site: &Path) -> Result<()> {
    let installed = destdir
        .join(cx.guest()?.prefix().trim_start_matches('/'))
        .join(cx.guest()?.site_packages_dir());
    if !installed.is_dir() {
        bail!("meson installed nothing into {}", installed.display());
    }
    fs::rename(&installed, site)?;
    Ok(())
}

/// The `.dist-info` a wheel would have carried (meson installs none), so
/// that `importlib.metadata` knows the package: its metadata is the
/// sdist's `PKG-INFO`, the same core metadata.
fn write_dist_info(package: &Package, src: &Path, site: &Path) -> Result<()> {
    let name = package.name.replace('-', "_");
    let dir = site.join(format!("{name}-{}.dist-info", package.version));
    fs::create_dir_all(&dir)?;
    let pkg_info = src.join("PKG-INFO");
    let metadata = if pkg_info.is_file() {
        fs::read_to_string(&pkg_info)?
    } else {
        format!(
            "Metadata-Version: 2.1\nName: {}\nVersion: {}\n",
            package.name, package.version
        )
    };
    fs::write(dir.join("METADATA"), metadata)?;
    fs::write(dir.join("INSTALLER"), "cargo-faasm-py\n")?;
    Ok(())
}
