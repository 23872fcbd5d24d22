//! Crates from the crate registry cargo uses.
//!
//! The registry's download address is its own `config.json` (its `dl`
//! key), which cargo keeps beside each registry index it has read in
//! `$CARGO_HOME/registry/index/`: no registry host is written here, and a
//! machine whose cargo reads a mirror downloads from that mirror. Every
//! registry cargo knows is tried in turn; the sha256 decides.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::process::Log;

/// Downloads crate `name` `version` to `dest`, from the first registry
/// whose file matches `sha256`.
pub fn download(
    name: &str,
    version: &str,
    sha256: &str,
    dest: &Path,
    log: &mut Log,
) -> Result<PathBuf> {
    let registries = download_addresses()?;
    let mut failures = Vec::new();
    for dl in &registries {
        let url = crate_url(dl, name, version, sha256);
        match super::url::download(&url, dest, log) {
            Ok(path) if crate::digest::sha256_file(&path)? == sha256 => return Ok(path),
            Ok(_) => failures.push(format!("{url}: another file (sha256 differs)")),
            Err(err) => failures.push(format!("{url}: {err:#}")),
        }
    }
    bail!("{}", failures.join("; "))
}

/// The `dl` addresses of the registries cargo has read.
fn download_addresses() -> Result<Vec<String>> {
    let home = cargo_home()?;
    let index = home.join("registry/index");
    let mut found = Vec::new();
    if let Ok(dirs) = std::fs::read_dir(&index) {
        let mut dirs: Vec<PathBuf> = dirs.flatten().map(|e| e.path()).collect();
        dirs.sort();
        for dir in dirs {
            let Ok(text) = std::fs::read_to_string(dir.join("config.json")) else {
                continue;
            };
            let config: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{}/config.json", dir.display()))?;
            if let Some(dl) = config.get("dl").and_then(|d| d.as_str()) {
                found.push(dl.to_owned());
            }
        }
    }
    if found.is_empty() {
        bail!(
            "cannot find the crate registry's download address: cargo has read no registry index into {} (any `cargo fetch` of a project with dependencies does)",
            index.display()
        );
    }
    Ok(found)
}

/// `$CARGO_HOME`, else `~/.cargo`.
fn cargo_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME").context("neither CARGO_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".cargo"))
}

/// A crate's address under a registry's `dl`: its markers filled in, or
/// `/{crate}/{version}/download` appended when it has none (the registry
/// protocol's two forms).
pub fn crate_url(dl: &str, name: &str, version: &str, sha256: &str) -> String {
    const MARKERS: [&str; 5] = [
        "{crate}",
        "{version}",
        "{prefix}",
        "{lowerprefix}",
        "{sha256-checksum}",
    ];
    if !MARKERS.iter().any(|m| dl.contains(m)) {
        return format!("{}/{name}/{version}/download", dl.trim_end_matches('/'));
    }
    let prefix = match name.len() {
        1 => "1".to_owned(),
        2 => "2".to_owned(),
        3 => format!("3/{}", &name[..1]),
        _ => format!("{}/{}", &name[..2], &name[2..4]),
    };
    dl.replace("{crate}", name)
        .replace("{version}", version)
        .replace("{prefix}", &prefix)
        .replace("{lowerprefix}", &prefix.to_lowercase())
        .replace("{sha256-checksum}", sha256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_addresses_follow_the_registry_protocol() {
        assert_eq!(
            crate_url("https://r.example/crates/", "serde", "1.0.0", "ab"),
            "https://r.example/crates/serde/1.0.0/download"
        );
        assert_eq!(
            crate_url(
                "https://r.example/{prefix}/{crate}-{version}.crate?{sha256-checksum}",
                "Serde",
                "1.0.0",
                "ab"
            ),
            "https://r.example/Se/rd/Serde-1.0.0.crate?ab"
        );
        assert_eq!(
            crate_url("https://r.example/{lowerprefix}/{crate}", "Abc", "1", "x"),
            "https://r.example/3/a/Abc"
        );
    }
}
