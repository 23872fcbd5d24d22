//! The extension modules a package build made, each given the namespace its
//! shared library has natively.
//!
//! The compiler wrapper links each module's objects, with the package's own
//! static libraries they use, into one relocatable object in
//! `<wrap>/modules/` and writes a row beside it. Here each object's init
//! function is renamed after the module's dotted name and made its only
//! global symbol ([`crate::namespace`]), so that nothing else two modules
//! define or vendor can meet in python.wasm. Libraries of other stages (a
//! configured C library, OpenBLAS) stay outside the object and are linked
//! once, shared by the modules that use them, as natively they are shared
//! libraries.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use fs_err as fs;

use super::manifest::ModuleRow;
use crate::namespace;
use crate::process::Log;
use crate::stages::toolchain::Toolchain;

/// Where this stage puts the privatized modules, below its output.
const DIR: &str = "modules";

/// What the wrapper wrote for one module (`static_ext_cc.py archive`).
#[derive(Debug, Clone, serde::Deserialize)]
struct BuiltModule {
    /// Dotted name, e.g. `numpy._core._multiarray_umath`.
    module: String,
    /// Its objects and the package's own libraries, linked (`wasm-ld -r`).
    object: PathBuf,
    /// Other stages' static libraries its link line named.
    libs: Vec<PathBuf>,
    /// `-lNAME` flags of system libraries.
    #[serde(default)]
    link_flags: Vec<String>,
}

/// A `PyInit_` name unique per dotted name and a valid C identifier:
/// length-prefixed components (`a.bc` and `ab.c` differ).
pub fn init_symbol(dotted: &str) -> String {
    let mut name = String::from("PyInit_");
    for part in dotted.split('.') {
        name.push_str(&format!("{}{part}", part.len()));
    }
    name
}

/// The modules the wrapper recorded in `recorded`, each made an archive of one
/// object with one global symbol in `out/modules/`; their manifest rows,
/// sorted by name. A library the package builds like a module but that
/// defines no init function (a C library it loads through ctypes or cffi
/// at run time) is an error that says so.
pub fn privatize(
    tc: &Toolchain,
    package: &str,
    recorded: &Path,
    out: &Path,
    log: &mut Log,
) -> Result<Vec<ModuleRow>> {
    let mut built = Vec::new();
    if recorded.is_dir() {
        for entry in fs::read_dir(recorded)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let row: BuiltModule = serde_json::from_str(&fs::read_to_string(&path)?)
                    .with_context(|| format!("malformed {}", path.display()))?;
                built.push(row);
            }
        }
    }
    built.sort_by(|a, b| a.module.cmp(&b.module));
    let dir = out.join(DIR);
    fs::create_dir_all(&dir)?;
    let mut rows = Vec::new();
    for module in built {
        let init = init_symbol(&module.module);
        let object = fs::read(&module.object)?;
        let private = namespace::privatize(&object, &native_init(&module.module), &init)
            .map_err(|e| not_a_module(package, &module, &e))?;
        log.note(&format!(
            "{}: {} symbols made private",
            module.module, private.localized
        ));
        let linked = dir.join(format!("{}.o", module.module));
        fs::write(&linked, &private.object)?;
        let archive = dir.join(format!("lib{}.a", module.module));
        let _ = std::fs::remove_file(&archive);
        tc.archive(&archive, std::slice::from_ref(&linked), log)?;
        fs::remove_file(&linked)?;
        rows.push(ModuleRow {
            module: module.module,
            init,
            archive,
            libs: module.libs,
            link_flags: module.link_flags,
        });
    }
    Ok(rows)
}

/// The init function's name as the module's source defines it:
/// `PyInit_` and the last component of its dotted name.
fn native_init(dotted: &str) -> String {
    format!("PyInit_{}", dotted.rsplit('.').next().unwrap_or(dotted))
}

fn not_a_module(package: &str, module: &BuiltModule, err: &anyhow::Error) -> anyhow::Error {
    if let Some(namespace::NoInit(init)) = err.downcast_ref() {
        anyhow::anyhow!(
            "package `{package}` links `{}` like an extension module, but it defines no `{init}`: it is a plain C library that the package loads at run time (through ctypes or cffi's ABI mode), and python.wasm cannot load libraries at run time",
            module.module,
        )
    } else {
        anyhow::anyhow!(
            "cannot rewrite the symbols of module `{}` of package `{package}` ({}): {err:#}",
            module.module,
            module.object.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_symbols_are_unique_per_dotted_name() {
        assert_eq!(
            init_symbol("numpy._core._multiarray_umath"),
            "PyInit_5numpy5_core17_multiarray_umath"
        );
        assert_ne!(init_symbol("a.bc"), init_symbol("ab.c"));
    }
}
