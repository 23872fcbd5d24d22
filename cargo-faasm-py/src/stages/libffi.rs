//! `libffi`: the foreign-function layer `_ctypes` is built on, for
//! wasm32-wasi. The pinned libffi release gives `ffi.h`, the wasm32
//! `ffitarget.h`, the type descriptors and `ffi_prep_cif`; the target part
//! that libffi lacks for WASI is ours (`third-party/shims/libffi-wasi/ffi.c`, whose
//! header says what calls can and cannot do).

use std::path::Path;

use anyhow::{Result, bail};
use fs_err as fs;

use super::toolchain::Toolchain;
use super::util::unpack;
use crate::digest::Fingerprint;
use crate::pipeline::{Contract, Stage, StageContext, StageId};
use crate::process::Log;

const CFLAGS: &str = "-O2 -g0 -Wall";
/// libffi's generic sources that apply unchanged.
const UPSTREAM_SOURCES: &[&str] = &["src/prep_cif.c", "src/types.c"];
/// Our sources and private header, among the shims.
const PORT_SOURCES: &[&str] = &["libffi-wasi/ffi.c"];
const PORT_HEADERS: &[&str] = &["libffi-wasi/fficonfig.h"];
const LIBFFI: &str = "libffi";

/// The `libffi` stage.
pub struct Libffi;

impl Stage for Libffi {
    fn id(&self) -> StageId {
        StageId::Libffi
    }
    fn contract(&self) -> Contract {
        Contract::new(&[
            include_str!("libffi.rs"),
            include_str!("toolchain.rs"),
            include_str!("util.rs"),
        ])
        .stage(StageId::Toolchain)
        .pin(LIBFFI)
        .shims(PORT_SOURCES)
        .shims(PORT_HEADERS)
    }
    fn settings(&self, fp: &mut Fingerprint) {
        fp.add("cflags", CFLAGS);
    }

    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        let tc = Toolchain::at(&cx.output(&StageId::Toolchain)?);
        let src = unpack(cx, LIBFFI, out, log)?;

        log.step("headers");
        // Public headers in include/, the ones only libffi's sources use in
        // private/.
        let include = out.join("include");
        let private = out.join("private");
        for dir in [&include, &private] {
            fs::create_dir_all(dir)?;
        }
        let version = &cx.pin(LIBFFI)?.version;
        let template = src.join("include/ffi.h.in");
        let ffi_h = fs::read_to_string(&template)?;
        fs::write(include.join("ffi.h"), configure_ffi_h(&ffi_h, version)?)?;
        copy(&src.join("src/wasm32/ffitarget.h"), &include)?;
        copy(&src.join("include/ffi_common.h"), &private)?;
        for file in PORT_HEADERS {
            copy(&cx.shim(file)?, &private)?;
        }

        log.step("compile");
        let mut sources: Vec<_> = UPSTREAM_SOURCES.iter().map(|s| src.join(s)).collect();
        for file in PORT_SOURCES {
            sources.push(cx.shim(file)?);
        }
        let mut flags: Vec<String> = CFLAGS.split_whitespace().map(String::from).collect();
        flags.push("-Werror".into());
        flags.push(format!("-I{}", include.display()));
        flags.push(format!("-I{}", private.display()));
        let objects = tc.compile(sources, &flags, &out.join("obj"), cx.jobs(), log)?;
        tc.archive(&out.join("lib/libffi.a"), &objects, log)
    }
}

fn copy(file: &Path, dir: &Path) -> Result<()> {
    let name = file.file_name().unwrap_or_default();
    fs::copy(file, dir.join(name))?;
    Ok(())
}

/// What libffi's configure substitutes into `ffi.h.in` for wasm32-wasi.
fn configure_ffi_h(template: &str, version: &str) -> Result<String> {
    let text = template
        .replace("@VERSION@", version)
        .replace("@TARGET@", "WASM32")
        // wasm32's `long double` is a 128-bit IEEE quad, distinct from double.
        .replace("@HAVE_LONG_DOUBLE@", "1")
        .replace("@FFI_EXEC_TRAMPOLINE_TABLE@", "0");
    if let Some(placeholder) = placeholders(&text).next() {
        bail!("ffi.h.in has a placeholder this build does not fill: {placeholder}");
    }
    Ok(text)
}

/// Every `@NAME@` (capitals and underscores) left in `text`.
fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices('@').filter_map(|(at, _)| {
        let rest = &text[at + 1..];
        let end = rest.find(|c: char| !(c.is_ascii_uppercase() || c == '_'))?;
        (end > 0 && rest[end..].starts_with('@')).then(|| &text[at..at + end + 2])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_every_placeholder_and_refuses_unknown_ones() {
        let filled = configure_ffi_h(
            "libffi @VERSION@ #ifndef @TARGET@ #if @HAVE_LONG_DOUBLE@ e-mail a@b.c",
            "3.4.8",
        )
        .unwrap();
        assert_eq!(filled, "libffi 3.4.8 #ifndef WASM32 #if 1 e-mail a@b.c");
        let err = configure_ffi_h("#if @NEW_THING@", "1").unwrap_err();
        assert!(err.to_string().contains("@NEW_THING@"), "{err}");
    }
}
