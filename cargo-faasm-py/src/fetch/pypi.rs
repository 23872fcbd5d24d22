//! Files from the Python package index, through its JSON simple API (PEP 691).
//!
//! `pip download` would do for wheels, but for an sdist it runs the build
//! backend just to read metadata, so files are fetched by name instead, from
//! the index pip is configured with.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::process::{Cmd, Log};
use crate::project::normalize;

#[derive(Deserialize)]
struct ProjectPage {
    files: Vec<FileEntry>,
}

#[derive(Deserialize)]
struct FileEntry {
    filename: String,
    url: String,
}

/// Downloads `file` of `project` into `staging`.
pub fn download(project: &str, file: &str, staging: &Path, log: &mut Log) -> Result<PathBuf> {
    let index = index_url(log)?;
    let page_url = format!("{}/{}/", index.trim_end_matches('/'), normalize(project));
    let page = super::url::get_text(&page_url, "application/vnd.pypi.simple.v1+json", log)?;
    let page: ProjectPage = serde_json::from_str(&page).with_context(|| {
        format!("the package index did not answer {page_url} with PEP 691 JSON")
    })?;
    let Some(entry) = page.files.iter().find(|f| f.filename == file) else {
        bail!("the package index has no file {file} for project {project}");
    };
    let url = resolve(&page_url, &entry.url);
    super::url::download(&url, &staging.join(file), log)
}

/// The index pip uses: `PIP_INDEX_URL`, pip's configuration, else pip's default.
pub fn index_url(log: &mut Log) -> Result<String> {
    if let Some(url) = std::env::var("PIP_INDEX_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        return Ok(url);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    for key in [
        "global.index-url",
        "download.index-url",
        "install.index-url",
    ] {
        if let Ok(url) = Cmd::new(&python)
            .args(["-m", "pip", "config", "get", key])
            .output(log)
        {
            let url = url.trim();
            if !url.is_empty() {
                return Ok(url.to_owned());
            }
        }
    }
    let url = Cmd::new(&python)
        .args([
            "-c",
            "from pip._internal.models.index import PyPI; print(PyPI.simple_url)",
        ])
        .output(log)
        .context("cannot find the package index: set PIP_INDEX_URL or install pip for python3")?;
    Ok(url.trim().to_owned())
}

/// Resolves a file URL that the index may give relative to the page.
pub fn resolve(page: &str, url: &str) -> String {
    if url.contains("://") {
        return url.to_owned();
    }
    let scheme_end = page.find("://").map_or(0, |i| i + 3);
    if let Some(path) = url.strip_prefix('/') {
        let host_end = page[scheme_end..]
            .find('/')
            .map_or(page.len(), |i| scheme_end + i);
        return format!("{}/{path}", &page[..host_end]);
    }
    let mut base = page.to_owned();
    let mut rel = url;
    while let Some(rest) = rel.strip_prefix("../") {
        base.truncate(
            base.trim_end_matches('/')
                .rfind('/')
                .map_or(base.len(), |i| i + 1),
        );
        rel = rest;
    }
    format!("{}{}", base, rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_urls() {
        let page = "https://idx.example/simple/numpy/";
        assert_eq!(
            resolve(page, "https://f.example/a.whl"),
            "https://f.example/a.whl"
        );
        assert_eq!(
            resolve(page, "/files/a.whl"),
            "https://idx.example/files/a.whl"
        );
        assert_eq!(
            resolve(page, "../../files/a.whl"),
            "https://idx.example/files/a.whl"
        );
        assert_eq!(
            resolve(page, "a.whl"),
            "https://idx.example/simple/numpy/a.whl"
        );
    }
}
