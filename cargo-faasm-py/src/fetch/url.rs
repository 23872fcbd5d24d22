//! Plain downloads, with curl.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::process::{Cmd, Log};

/// Downloads `url` to `dest`.
pub fn download(url: &str, dest: &Path, log: &mut Log) -> Result<PathBuf> {
    Cmd::new("curl")
        .args(["--fail", "--location", "--silent", "--show-error"])
        .args(["--retry", "3", "--connect-timeout", "20"])
        .arg("--output")
        .arg(dest)
        .arg(url)
        .run(log)?;
    Ok(dest.to_owned())
}

/// Fetches a small document (an index page) to a string.
pub fn get_text(url: &str, accept: &str, log: &mut Log) -> Result<String> {
    Cmd::new("curl")
        .args(["--fail", "--location", "--silent", "--show-error"])
        .args(["--retry", "3", "--connect-timeout", "20"])
        .args(["--header", &format!("Accept: {accept}")])
        .arg(url)
        .output(log)
}
