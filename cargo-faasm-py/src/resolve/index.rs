//! The package index pip uses, through its JSON simple API (PEP 691): the
//! files of each project with their sha256, `requires-python`, whether
//! they are yanked, and whether their metadata can be had alone (PEP 658).

use std::collections::HashMap;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::fetch::pypi;
use crate::process::Log;
use crate::project::normalize;

/// One file of a project.
#[derive(Debug, Clone)]
pub struct IndexFile {
    /// Its name (`numpy-2.5.5.tar.gz`).
    pub filename: String,
    /// Where to download it.
    pub url: String,
    /// Its sha256, as the index states it.
    pub sha256: String,
    /// The Python versions it supports.
    pub requires_python: Option<String>,
    /// Whether the project withdrew it.
    pub yanked: bool,
    /// Whether `<url>.metadata` holds its core metadata (PEP 658).
    pub core_metadata: bool,
}

#[derive(Deserialize)]
struct Page {
    files: Vec<RawFile>,
}

#[derive(Deserialize)]
struct RawFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: HashMap<String, String>,
    #[serde(rename = "requires-python")]
    requires_python: Option<String>,
    #[serde(default)]
    yanked: serde_json::Value,
    #[serde(rename = "core-metadata", default)]
    core_metadata: serde_json::Value,
    #[serde(rename = "dist-info-metadata", default)]
    dist_info_metadata: serde_json::Value,
}

/// Pages fetched once per project.
pub struct Index {
    url: String,
    pages: HashMap<String, Vec<IndexFile>>,
}

fn truthy(v: &serde_json::Value) -> bool {
    !matches!(v, serde_json::Value::Null | serde_json::Value::Bool(false))
}

impl Index {
    /// The index pip is configured with.
    pub fn new(log: &mut Log) -> Result<Self> {
        Ok(Self {
            url: pypi::index_url(log)?,
            pages: HashMap::new(),
        })
    }

    /// Every file of `project`.
    pub fn files(&mut self, project: &str, log: &mut Log) -> Result<&[IndexFile]> {
        let key = normalize(project);
        if !self.pages.contains_key(&key) {
            let page_url = format!("{}/{key}/", self.url.trim_end_matches('/'));
            let text =
                crate::fetch::url::get_text(&page_url, "application/vnd.pypi.simple.v1+json", log)
                    .with_context(|| {
                        format!("cannot list project `{project}` on the package index")
                    })?;
            let page: Page = serde_json::from_str(&text).with_context(|| {
                format!("the package index did not answer {page_url} with PEP 691 JSON")
            })?;
            let files = page
                .files
                .into_iter()
                .filter_map(|f| {
                    let sha256 = f.hashes.get("sha256")?.clone();
                    Some(IndexFile {
                        url: pypi::resolve(&page_url, &f.url),
                        filename: f.filename,
                        sha256,
                        requires_python: f.requires_python,
                        yanked: truthy(&f.yanked),
                        core_metadata: truthy(&f.core_metadata) || truthy(&f.dist_info_metadata),
                    })
                })
                .collect();
            self.pages.insert(key.clone(), files);
        }
        Ok(&self.pages[&key])
    }
}
