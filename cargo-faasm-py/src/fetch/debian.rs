//! Debian's archive through a private apt configuration.
//!
//! The machine's own apt setup is never touched: a sources list of our own
//! (for the pinned suite) and a state directory under the cache are passed
//! to apt-get with `-o`. The mirror is read from the machine's configuration
//! so that no archive host is written into the project.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::layout::Layout;
use crate::process::{Cmd, Log};

const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// The archive and security mirrors this machine's apt uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirrors {
    pub archive: String,
    pub security: Option<String>,
}

/// Reads `/etc/apt/sources.list` and `/etc/apt/sources.list.d/*`.
pub fn read_machine_mirrors() -> Result<Mirrors> {
    let mut texts = Vec::new();
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut extra: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        extra.sort();
        files.extend(extra);
    }
    for file in files {
        if let Ok(text) = std::fs::read_to_string(&file) {
            let deb822 = file.extension().is_some_and(|e| e == "sources");
            texts.push((deb822, text));
        }
    }
    parse_mirrors(&texts)
        .context("cannot find a Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d")
}

/// Finds the mirrors in apt source files, one-line or deb822 (`deb822 = true`).
pub fn parse_mirrors(files: &[(bool, String)]) -> Option<Mirrors> {
    let mut entries: Vec<(String, Vec<String>)> = Vec::new();
    for (deb822, text) in files {
        if *deb822 {
            for stanza in text.split("\n\n") {
                let field = |name: &str| {
                    stanza.lines().find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.trim()
                            .eq_ignore_ascii_case(name)
                            .then(|| v.trim().to_owned())
                    })
                };
                let (Some(uris), Some(suites)) = (field("URIs"), field("Suites")) else {
                    continue;
                };
                if field("Enabled").is_some_and(|v| v.eq_ignore_ascii_case("no")) {
                    continue;
                }
                let suites: Vec<String> = suites.split_whitespace().map(String::from).collect();
                for uri in uris.split_whitespace() {
                    entries.push((uri.to_owned(), suites.clone()));
                }
            }
        } else {
            for line in text.lines() {
                let line = line.split('#').next().unwrap_or("").trim();
                let mut words = line.split_whitespace();
                if !matches!(words.next(), Some("deb" | "deb-src")) {
                    continue;
                }
                let mut rest: Vec<&str> = words.collect();
                if rest.first().is_some_and(|w| w.starts_with('[')) {
                    let end = rest.iter().position(|w| w.ends_with(']'))?;
                    rest.drain(..=end);
                }
                if let [uri, suite, ..] = rest[..] {
                    entries.push((uri.to_owned(), vec![suite.to_owned()]));
                }
            }
        }
    }
    let is_security = |suites: &[String]| suites.iter().any(|s| s.contains("security"));
    let archive = entries
        .iter()
        .find(|(_, s)| !is_security(s))
        .map(|(u, _)| u.trim_end_matches('/').to_owned())?;
    let security = entries
        .iter()
        .find(|(_, s)| is_security(s))
        .map(|(u, _)| u.trim_end_matches('/').to_owned());
    Some(Mirrors { archive, security })
}

/// The address of `file` of source package `package` in a Debian mirror's
/// pool (`pool/main/p/python3.14/…`, `pool/main/libf/libffi/…`).
pub fn pool_url(mirror: &str, package: &str, file: &str) -> String {
    let prefix = match package.strip_prefix("lib") {
        Some(rest) if !rest.is_empty() => &package[..4],
        _ => &package[..package.len().min(1)],
    };
    format!(
        "{}/pool/main/{prefix}/{package}/{file}",
        mirror.trim_end_matches('/')
    )
}

/// apt-get with the private configuration, lists updated once per cache.
pub struct Apt {
    options: Vec<String>,
}

impl Apt {
    pub fn prepare(layout: &Layout, suite: &str, log: &mut Log) -> Result<Self> {
        let root = layout.apt();
        let mirrors = read_machine_mirrors()?;
        let mut list = format!(
            "deb [signed-by={KEYRING}] {0} {suite} main\ndeb-src [signed-by={KEYRING}] {0} {suite} main\n",
            mirrors.archive
        );
        if let Some(security) = &mirrors.security {
            list.push_str(&format!(
                "deb-src [signed-by={KEYRING}] {security} {suite}-security main\n"
            ));
        }
        for dir in ["lists/partial", "cache/archives/partial"] {
            fs_err::create_dir_all(root.join(dir))?;
        }
        let list_file = root.join("sources.list");
        let options = vec![
            format!("Dir::Etc::sourcelist={}", list_file.display()),
            "Dir::Etc::sourceparts=-".to_owned(),
            format!("Dir::State::Lists={}", root.join("lists").display()),
            format!("Dir::Cache={}", root.join("cache").display()),
            // Downloads land in our own directory; apt's sandbox user could not write there.
            "APT::Sandbox::User=root".to_owned(),
        ];
        let apt = Self { options };
        let updated = root.join("updated");
        let current = std::fs::read_to_string(&list_file).unwrap_or_default();
        if current != list || !updated.exists() {
            let _ = std::fs::remove_file(&updated);
            fs_err::write(&list_file, &list)?;
            log.step("apt-get update (private lists)");
            apt.cmd()
                .arg("update")
                .run(log)
                .context("cannot update the private apt lists")?;
            std::fs::write(&updated, "").ok();
        }
        Ok(apt)
    }

    fn cmd(&self) -> Cmd {
        let mut cmd = Cmd::new("apt-get").arg("-q");
        for option in &self.options {
            cmd = cmd.arg("-o").arg(option);
        }
        cmd
    }

    /// A binary package, as the single `.deb` apt-get leaves in `staging`.
    pub fn download(
        &self,
        package: &str,
        version: &str,
        staging: &Path,
        log: &mut Log,
    ) -> Result<PathBuf> {
        self.cmd()
            .arg("download")
            .arg(format!("{package}={version}"))
            .cwd(staging)
            .run(log)?;
        let debs: Vec<PathBuf> = fs_err::read_dir(staging)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "deb"))
            .collect();
        match &debs[..] {
            [deb] => Ok(deb.clone()),
            _ => bail!(
                "apt-get download {package}={version} left {} .deb files",
                debs.len()
            ),
        }
    }

    /// One file of a source package. apt-get's exit status is not trusted
    /// either way: a missing security `.dsc` fails it although the upstream
    /// tarball arrived, and the sha256 check decides.
    pub fn source_file(
        &self,
        package: &str,
        file: &str,
        staging: &Path,
        log: &mut Log,
    ) -> Result<PathBuf> {
        let status = self
            .cmd()
            .args(["source", "--download-only"])
            .arg(package)
            .cwd(staging)
            .run(log);
        let path = staging.join(file);
        if path.is_file() {
            return Ok(path);
        }
        status?;
        bail!("apt-get source {package} did not provide {file}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_paths_follow_debians_prefix_rule() {
        assert_eq!(
            pool_url("http://m.example/debian/", "python3.14", "a.tar.xz"),
            "http://m.example/debian/pool/main/p/python3.14/a.tar.xz"
        );
        assert_eq!(
            pool_url("http://m.example/debian", "libzstd", "z.tar.xz"),
            "http://m.example/debian/pool/main/libz/libzstd/z.tar.xz"
        );
    }

    #[test]
    fn reads_deb822_sources() {
        let text = "Types: deb\n# comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security/\nSuites: bookworm-security\nComponents: main\n";
        let m = parse_mirrors(&[(true, text.into())]).unwrap();
        assert_eq!(m.archive, "http://mirror.example/debian");
        assert_eq!(
            m.security.as_deref(),
            Some("http://mirror.example/debian-security")
        );
    }

    #[test]
    fn reads_one_line_sources() {
        let text = "# deb http://old.example/debian buster main\ndeb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\ndeb http://m.example/debian-security bookworm-security main\n";
        let m = parse_mirrors(&[(false, text.into())]).unwrap();
        assert_eq!(m.archive, "http://m.example/debian");
        assert_eq!(
            m.security.as_deref(),
            Some("http://m.example/debian-security")
        );
    }

    #[test]
    fn skips_disabled_stanzas_and_needs_a_mirror() {
        let text = "Enabled: no\nTypes: deb\nURIs: http://x.example/debian\nSuites: bookworm\n";
        assert_eq!(parse_mirrors(&[(true, text.into())]), None);
        assert_eq!(parse_mirrors(&[]), None);
    }
}
