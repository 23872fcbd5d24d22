//! Global symbols of wasm object archives, and which are defined twice.
//!
//! Code written as separate shared objects may define the same global
//! symbol in two modules; natively each module binds to its own copy. Linked
//! statically, wasm-ld takes one copy from the first archive that provides it
//! and says nothing, and if the copies differ in signature, calls trap. So
//! every strong global symbol defined by more than one archive is found here
//! before linking.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use wasmparser::{KnownCustom, Linking, Parser, Payload, SymbolFlags, SymbolInfo};

/// An archive member: its name and, unless the archive is thin, its data.
pub type Member<'a> = (String, Option<&'a [u8]>);

/// The members of a GNU-format archive, as llvm-ar writes them. In a thin
/// archive (`!<thin>`, which meson makes) members are only named, relative
/// to the archive: their data is `None`.
pub fn archive_members(bytes: &[u8]) -> Result<Vec<Member<'_>>> {
    let (thin, mut rest) = if let Some(rest) = bytes.strip_prefix(b"!<arch>\n") {
        (false, rest)
    } else if let Some(rest) = bytes.strip_prefix(b"!<thin>\n") {
        (true, rest)
    } else {
        bail!("not an ar archive");
    };
    let mut long_names: &[u8] = &[];
    let mut members = Vec::new();
    while rest.len() >= 60 {
        let (header, body) = rest.split_at(60);
        let field = |range: std::ops::Range<usize>| {
            std::str::from_utf8(&header[range]).unwrap_or("").trim_end()
        };
        let size: usize = field(48..58)
            .parse()
            .context("malformed archive member size")?;
        let name = field(0..16);
        let inline = !thin || name == "/" || name == "//" || name == "/SYM64/";
        let stored = if inline { size } else { 0 };
        if body.len() < stored {
            bail!("truncated archive member");
        }
        let data = &body[..stored];
        match name {
            "/" | "/SYM64/" => {}
            "//" => long_names = data,
            _ => {
                let name = if let Some(offset) = name.strip_prefix('/') {
                    let offset: usize = offset.parse().context("malformed long member name")?;
                    let tail = long_names.get(offset..).unwrap_or_default();
                    let end = tail.iter().position(|&b| b == b'\n').unwrap_or(tail.len());
                    String::from_utf8_lossy(&tail[..end])
                        .trim_end_matches('/')
                        .to_owned()
                } else {
                    name.trim_end_matches('/').to_owned()
                };
                members.push((name, inline.then_some(data)));
            }
        }
        rest = &body[(stored + (stored & 1)).min(body.len())..];
    }
    Ok(members)
}

/// Whether an archive member is LLVM bitcode (from `-flto`), raw or in
/// its wrapper.
pub fn is_bitcode(data: &[u8]) -> bool {
    data.starts_with(b"BC\xC0\xDE") || data.starts_with(&[0xDE, 0xC0, 0x17, 0x0B])
}

/// Strong, global, defined symbols of one wasm object file.
pub fn defined_globals(object: &[u8]) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for payload in Parser::new(0).parse_all(object) {
        let Payload::CustomSection(section) = payload? else {
            continue;
        };
        let KnownCustom::Linking(linking) = section.as_known() else {
            continue;
        };
        for subsection in linking.subsections() {
            let Linking::SymbolTable(table) = subsection? else {
                continue;
            };
            for symbol in table {
                let (flags, name) = match symbol? {
                    SymbolInfo::Func { flags, name, .. }
                    | SymbolInfo::Global { flags, name, .. } => (flags, name),
                    SymbolInfo::Data {
                        flags,
                        name,
                        symbol: Some(_),
                    } => (flags, Some(name)),
                    _ => continue,
                };
                let skip =
                    SymbolFlags::UNDEFINED | SymbolFlags::BINDING_LOCAL | SymbolFlags::BINDING_WEAK;
                if let Some(name) = name
                    && !flags.intersects(skip)
                {
                    names.push(name.to_owned());
                }
            }
        }
    }
    Ok(names)
}

/// Every strong global symbol an archive defines, with a digest of the
/// object file that defines it.
pub fn archive_globals(path: &Path) -> Result<BTreeMap<String, String>> {
    let bytes = fs_err::read(path)?;
    let mut names = BTreeMap::new();
    let members = archive_members(&bytes).with_context(|| format!("reading {}", path.display()))?;
    for (member, data) in members {
        let external;
        let data = match data {
            Some(data) => data,
            None => {
                let file = path.parent().unwrap_or(Path::new(".")).join(&member);
                external = fs_err::read(&file).with_context(|| {
                    format!(
                        "cannot read {} (member of {})",
                        file.display(),
                        path.display()
                    )
                })?;
                &external[..]
            }
        };
        if is_bitcode(data) {
            // Its symbols are not in a wasm symbol table: the check would
            // silently miss them.
            bail!(
                "{member} in {} is LLVM bitcode, which the duplicate-symbol check cannot read: link it into a wasm object first (wasm-ld -r)",
                path.display()
            );
        }
        if data.starts_with(b"\0asm") {
            let digest = hex::encode(Sha256::digest(data));
            for name in defined_globals(data)
                .with_context(|| format!("reading {member} in {}", path.display()))?
            {
                names.insert(name, digest.clone());
            }
        }
    }
    Ok(names)
}

/// Symbol → the archives (two or more) that define it differently.
///
/// Definitions coming from byte-identical object files (the same source
/// compiled the same way into two modules, like numpy's lapack_lite) are
/// proven identical: whichever copy the linker keeps is the same code.
pub fn duplicates(archives: &[PathBuf]) -> Result<BTreeMap<String, Vec<PathBuf>>> {
    let mut definers: BTreeMap<String, Vec<(PathBuf, String)>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for archive in archives {
        if !seen.insert(archive) {
            continue;
        }
        for (name, digest) in archive_globals(archive)? {
            definers
                .entry(name)
                .or_default()
                .push((archive.clone(), digest));
        }
    }
    Ok(definers
        .into_iter()
        .filter(|(_, defs)| defs.len() > 1 && defs.iter().any(|(_, d)| *d != defs[0].1))
        .map(|(name, defs)| (name, defs.into_iter().map(|(a, _)| a).collect()))
        .collect())
}

/// One line per duplicate, for error messages.
pub fn describe(duplicates: &BTreeMap<String, Vec<PathBuf>>) -> String {
    duplicates
        .iter()
        .map(|(symbol, archives)| {
            let names: Vec<String> = archives.iter().map(|a| a.display().to_string()).collect();
            format!("  {symbol}: {}", names.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GNU archive with a symbol table, a long-name table and two members.
    fn archive(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut long = Vec::new();
        let mut out = b"!<arch>\n".to_vec();
        let header = |name: &str, size: usize| {
            format!("{name:<16}{:<12}{:<6}{:<6}{:<8}{size:<10}`\n", 0, 0, 0, 644)
        };
        let mut names = Vec::new();
        for (name, _) in members {
            if name.len() > 15 {
                names.push(format!("/{}", long.len()));
                long.extend_from_slice(format!("{name}/\n").as_bytes());
            } else {
                names.push(format!("{name}/"));
            }
        }
        out.extend_from_slice(header("/", 4).as_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        if !long.is_empty() {
            out.extend_from_slice(header("//", long.len()).as_bytes());
            out.extend_from_slice(&long);
            if long.len() % 2 == 1 {
                out.push(b'\n');
            }
        }
        for ((_, data), name) in members.iter().zip(names) {
            out.extend_from_slice(header(&name, data.len()).as_bytes());
            out.extend_from_slice(data);
            if data.len() % 2 == 1 {
                out.push(b'\n');
            }
        }
        out
    }

    #[test]
    fn reads_short_and_long_member_names() {
        let bytes = archive(&[("a.o", b"abc"), ("a_rather_long_member_name.o", b"xy")]);
        let members = archive_members(&bytes).unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(members[0], ("a.o".to_owned(), Some(&b"abc"[..])));
        assert_eq!(
            members[1],
            ("a_rather_long_member_name.o".to_owned(), Some(&b"xy"[..]))
        );
    }

    #[test]
    fn rejects_what_is_not_an_archive() {
        assert!(archive_members(b"\0asm").is_err());
    }

    #[test]
    fn bitcode_members_are_refused_not_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("libx.a");
        let bitcode = b"BC\xC0\xDE\x35\x14\x00\x00";
        std::fs::write(&path, archive(&[("ok.txt", b"text"), ("lto.o", bitcode)])).unwrap();
        let err = format!("{:#}", archive_globals(&path).unwrap_err());
        assert!(err.contains("lto.o") && err.contains("bitcode"), "{err}");
        assert!(is_bitcode(&[0xDE, 0xC0, 0x17, 0x0B, 0, 0]));
        assert!(!is_bitcode(b"\0asm\x01\0\0\0"));
    }
}
