//! `openblas`: OpenBLAS for wasm32-wasi: the BLAS (and CBLAS) numpy's
//! `matmul` and `dot` call, and a full LAPACK. Its `WASM128_GENERIC` target
//! has WebAssembly SIMD128 GEMM and TRSM kernels. Built single-threaded
//! (WASI preview 1 has no threads) and without Fortran, by OpenBLAS's own
//! Makefiles with the toolchain's compiler: LAPACK is its `C_LAPACK` build
//! of LAPACK 3.12.0's C translations, whose `lapack-netlib` tree (stripped
//! from Debian's tarball) comes from its own pin ([`LAPACK_NETLIB`]), and
//! OpenBLAS's optimised LAPACK routines (getrf, potrf, …) over it. Our one
//! patch is `third-party/patches/openblas/`. Installs `include/`
//! (`cblas.h`, `f77blas.h`, `openblas_config.h`), `lib/libopenblas.a` and a
//! relocatable `lib/pkgconfig/openblas.pc`, through which meson finds it.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use fs_err as fs;

use super::toolchain::Toolchain;
use super::util::{apply_patch_files, unpack};
use crate::pipeline::{Contract, Stage, StageContext, StageId};
use crate::process::{Cmd, Log};

/// The C libraries' optimization flags (clibs.rs); OpenBLAS adds its own
/// `-msimd128 -DMAX_STACK_ALLOC=2048` for the target.
const COMMON_OPT: &str = "-O2 -g0";
/// `<sys/mman.h>` may be included (nothing links against the emulation:
/// the patch keeps mmap out); no SysV shared memory.
const CFLAGS: &str = "-D_WASI_EMULATED_MMAN -DNO_SYSV_IPC";
/// The make variables of both `make libs` and `make install`:
/// - `TARGET=WASM128_GENERIC`, the SIMD128 kernels (`TARGET=GENERIC` does
///   not build for wasm in 0.3.34: `sgemm_p` is undeclared);
/// - `HOSTCC=gcc` for getarch, which runs on the build machine;
/// - no Fortran (so LAPACK is `C_LAPACK`'s C translations), no shared
///   library, no threads or locks, one CPU (otherwise `MAX_CPU_NUMBER` is
///   the build machine's core count);
/// - no LAPACKE (the C interface to LAPACK: nothing here calls it);
/// - `NEED_PIC=0`: with PIC the objects reference `__memory_base`, which a
///   static wasm link does not have.
const MAKE_VARS: &[&str] = &[
    "TARGET=WASM128_GENERIC",
    "HOSTCC=gcc",
    "NOFORTRAN=1",
    "NO_SHARED=1",
    "USE_THREAD=0",
    "USE_LOCKING=0",
    "NUM_THREADS=1",
    "NO_LAPACKE=1",
    "NEED_PIC=0",
];
/// Its pin and its patches' directory.
const OPENBLAS: &str = "openblas";
/// The pin whose `*/OpenBLAS/lapack-netlib/` is LAPACK's C source.
const LAPACK_NETLIB: &str = "lapack-netlib";
/// The library every consumer links, and its pkg-config name.
const LIBRARY: &str = "libopenblas.a";
const PC_FILE: &str = "lib/pkgconfig/openblas.pc";

/// The `openblas` stage.
pub struct Openblas;

impl Stage for Openblas {
    fn id(&self) -> StageId {
        StageId::Openblas
    }
    fn contract(&self) -> Contract {
        Contract::new(&[
            include_str!("openblas.rs"),
            include_str!("toolchain.rs"),
            include_str!("util.rs"),
        ])
        .stage(StageId::Toolchain)
        .pin(OPENBLAS)
        .pin(LAPACK_NETLIB)
        .patches(OPENBLAS)
    }

    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        let tc = Toolchain::at(&cx.output(&StageId::Toolchain)?);
        let src = unpack(cx, OPENBLAS, out, log)?;
        apply_patch_files(cx.patches(OPENBLAS)?, &src, log)?;
        log.step("lapack-netlib");
        if src.join("lapack-netlib").exists() {
            bail!("the OpenBLAS tarball has its own lapack-netlib: drop the `{LAPACK_NETLIB}` pin");
        }
        Cmd::new("tar")
            .arg("-xf")
            .arg(cx.fetch(LAPACK_NETLIB, log)?)
            .arg("-C")
            .arg(&src)
            .args([
                "--strip-components=2",
                "--wildcards",
                "*/OpenBLAS/lapack-netlib/*",
            ])
            .run(log)?;
        if !src.join("lapack-netlib/SRC/dgetrf.c").is_file() {
            bail!(
                "the `{LAPACK_NETLIB}` pin has no C translation of LAPACK (lapack-netlib/SRC/dgetrf.c)"
            );
        }
        let make = |target: &str| {
            Cmd::new("make")
                .arg(format!("-j{}", cx.jobs()))
                .arg(target)
                .args(MAKE_VARS)
                .args(tc.make_vars())
                .arg(format!("COMMON_OPT={COMMON_OPT}"))
                .arg(format!("CFLAGS={CFLAGS}"))
                .cwd(&src)
        };
        // `libs` and `netlib` (LAPACK) only: the default target also builds
        // the tests, which would need Fortran and to run wasm binaries.
        log.step("make libs");
        make("libs").run(log)?;
        log.step("make netlib (LAPACK)");
        make("netlib").run(log)?;
        log.step("make install");
        let prefix = out.join("install");
        make("install")
            .arg(format!("PREFIX={}", prefix.display()))
            .run(log)?;

        log.step("collect");
        // Only what consumers need, at fixed names: the versioned archive
        // (`libopenblas_wasm128-r0.3.34.a`) under its plain name, and the
        // pkg-config file made relocatable (the stage output is read where
        // it lies in the cache).
        let include = out.join("include");
        fs::create_dir_all(&include)?;
        for header in ["cblas.h", "f77blas.h", "openblas_config.h"] {
            fs::copy(prefix.join("include").join(header), include.join(header))
                .with_context(|| format!("make install put no {header}"))?;
        }
        fs::create_dir_all(out.join("lib/pkgconfig"))?;
        let archive = fs::canonicalize(prefix.join("lib").join(LIBRARY))?;
        fs::copy(&archive, out.join("lib").join(LIBRARY))?;
        let pc = fs::read_to_string(prefix.join(PC_FILE))?;
        fs::write(out.join(PC_FILE), relocatable_pc(&pc, &prefix)?)?;
        fs::remove_dir_all(&prefix)?;
        fs::remove_dir_all(&src)?;
        Ok(())
    }
}

/// The `.pc` file `make install` wrote, with its absolute `libdir` and
/// `includedir` (below `prefix`) made relative to the file's own place
/// (`${pcfiledir}`, which pkg-config defines for every file).
fn relocatable_pc(text: &str, prefix: &Path) -> Result<String> {
    let prefix = prefix.display().to_string();
    let mut out = String::from("prefix=${pcfiledir}/../..\n");
    let mut replaced = 0;
    for line in text.lines() {
        match line.split_once('=') {
            Some((key @ ("libdir" | "includedir"), value)) => {
                let Some(rest) = value.strip_prefix(&prefix) else {
                    bail!("openblas.pc: {key} {value} is not below {prefix}");
                };
                out.push_str(&format!("{key}=${{prefix}}{rest}\n"));
                replaced += 1;
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if replaced != 2 {
        bail!("openblas.pc has no libdir or includedir line");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pc_file_is_made_relative_to_itself() {
        let text = "libdir=/c/build/openblas-1/install/lib\n\
                    includedir=/c/build/openblas-1/install/include\n\
                    openblas_config= USE_64BITINT= NO_LAPACK=1 WASM128_GENERIC\n\
                    version=0.3.34\n\
                    Name: openblas\n\
                    Libs: -L${libdir} -lopenblas\n";
        let pc = relocatable_pc(text, Path::new("/c/build/openblas-1/install")).unwrap();
        assert!(pc.starts_with("prefix=${pcfiledir}/../..\n"), "{pc}");
        assert!(pc.contains("\nlibdir=${prefix}/lib\n"), "{pc}");
        assert!(pc.contains("\nincludedir=${prefix}/include\n"), "{pc}");
        assert!(pc.contains("NO_LAPACK=1 WASM128_GENERIC"), "{pc}");
        assert!(!pc.contains("/c/build"), "{pc}");
        let err = relocatable_pc(text, Path::new("/elsewhere")).unwrap_err();
        assert!(err.to_string().contains("not below /elsewhere"), "{err}");
    }
}
