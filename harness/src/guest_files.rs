//! Reading files a guest wrote, from the host, as untrusted input.
//!
//! A guest can leave anything in a directory it may write: a link to a host
//! file (a relative one is allowed to exist, only not to be followed by the
//! guest), a FIFO that blocks whoever opens it, a file of endless size. The
//! host reads such directories through `cap-std`, which resolves every path
//! inside the directory and refuses links that leave it, opens only regular
//! files, and reads at most a given number of bytes.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use cap_std::ambient_authority;
use cap_std::fs::Dir;

/// The contents of `name` in the guest-writable directory `dir`, at most
/// `limit` bytes (more is an error). `Ok(None)` when there is no such
/// file; an error when it is anything but a regular file (a link, a FIFO,
/// a directory, a device).
pub fn read_guest_file(dir: &Path, name: &str, limit: u64) -> Result<Option<Vec<u8>>> {
    let root = Dir::open_ambient_dir(dir, ambient_authority())
        .with_context(|| format!("cannot open {}", dir.display()))?;
    let meta = match root.symlink_metadata(name) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot inspect {}", dir.join(name).display()));
        }
    };
    if !meta.is_file() {
        bail!(
            "{} is not a regular file (the guest left a {} there); not reading it",
            dir.join(name).display(),
            kind(&meta)
        );
    }
    if meta.len() > limit {
        bail!(
            "{} holds {} bytes, more than the {limit} this reads",
            dir.join(name).display(),
            meta.len()
        );
    }
    let file = root
        .open(name)
        .with_context(|| format!("cannot open {}", dir.join(name).display()))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", dir.join(name).display()))?;
    if bytes.len() as u64 > limit {
        bail!(
            "{} grew past the {limit} bytes this reads",
            dir.join(name).display()
        );
    }
    Ok(Some(bytes))
}

fn kind(meta: &cap_std::fs::Metadata) -> &'static str {
    use cap_std::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_symlink() {
        "link"
    } else if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_block_device() || t.is_char_device() {
        "device"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_and_missing_ones_are_none() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("r"), "line\n").unwrap();
        assert_eq!(
            read_guest_file(dir.path(), "r", 100).unwrap().unwrap(),
            b"line\n"
        );
        assert!(
            read_guest_file(dir.path(), "missing", 100)
                .unwrap()
                .is_none()
        );
        let err = read_guest_file(dir.path(), "r", 2).unwrap_err().to_string();
        assert!(err.contains("more than the 2"), "{err}");
    }

    #[test]
    fn links_fifos_and_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let secret = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(secret.path(), "host secret").unwrap();
        std::os::unix::fs::symlink(secret.path(), dir.path().join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../../../etc/passwd", dir.path().join("rel")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero")).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        for (name, what) in [
            ("abs", "link"),
            ("rel", "link"),
            ("zero", "link"),
            ("sub", "directory"),
            ("fifo", "FIFO"),
        ] {
            let err = read_guest_file(dir.path(), name, 1 << 20)
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("left a {what}")), "{name}: {err}");
        }
    }
}
