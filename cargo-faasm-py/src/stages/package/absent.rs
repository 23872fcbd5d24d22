//! Modules a package's build leaves out on purpose (`scipy.odr`, which is
//! Fortran) say why when imported, instead of a bare "No module named".
//!
//! The package's site-packages gets a module holding the reasons and a
//! finder, and a `.pth` file that installs it at start-up (`site` runs a
//! `.pth` line that starts with `import`). The finder comes last on
//! `sys.meta_path`, so it speaks only for a module no other finder has.

use std::path::Path;

use anyhow::Result;
use fs_err as fs;

use crate::plan::Package;

/// The finder, after a `REASONS = {…}` line this side writes.
pub const FINDER: &str = include_str!("absent.py");

/// Writes the finder of `package`'s absent modules into `site`, if it has
/// any.
pub fn write(package: &Package, site: &Path) -> Result<()> {
    if package.absent_modules.is_empty() {
        return Ok(());
    }
    let stem = format!("_faasm_py_absent_{}", package.name.replace('-', "_"));
    // A JSON object of strings is a Python dict literal.
    let reasons = serde_json::to_string(&package.absent_modules)?;
    fs::write(
        site.join(format!("{stem}.py")),
        format!("REASONS = {reasons}\n{FINDER}"),
    )?;
    fs::write(site.join(format!("{stem}.pth")), format!("import {stem}\n"))?;
    Ok(())
}
