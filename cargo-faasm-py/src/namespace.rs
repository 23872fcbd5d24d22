//! One extension module, one namespace, as its shared library has natively.
//!
//! Natively each extension module is a shared library: only its `PyInit_*`
//! is looked up from outside, and whatever else it defines or vendors (a
//! hash function, half of numpy's datetime code) binds inside it. Linked
//! statically into python.wasm, two modules defining one name would meet.
//! So each module's objects (and the package's own static libraries it
//! uses) are linked into one relocatable object (`wasm-ld -r`), and that
//! object's symbol table is rewritten here: its init function gets the name
//! unique to its dotted name, and every other symbol it defines becomes
//! local to it. What it leaves undefined (CPython's API, libc, the C
//! libraries of other stages) stays global and binds at the final link.
//!
//! The rewrite only touches the `linking` custom section; relocations name
//! symbols by index, so nothing else moves. COMDAT groups are dropped:
//! within the module wasm-ld already chose one copy of each, and a group
//! left in place would let the final link discard one module's (now
//! private) copy in favour of another module's.

use anyhow::{Context, Result, bail};

const LINKING: &str = "linking";
const SYMBOL_TABLE: u8 = 8;
const COMDAT_INFO: u8 = 7;

const KIND_FUNCTION: u8 = 0;
const KIND_DATA: u8 = 1;
const KIND_GLOBAL: u8 = 2;
const KIND_SECTION: u8 = 3;
const KIND_TAG: u8 = 4;
const KIND_TABLE: u8 = 5;

const BINDING_MASK: u32 = 0x3;
const BINDING_LOCAL: u32 = 0x2;
const UNDEFINED: u32 = 0x10;
const EXPORTED: u32 = 0x20;
const EXPLICIT_NAME: u32 = 0x40;

/// The object defines no function of the init's name: it is no Python
/// extension module (a C library loaded through ctypes, say). A type of its
/// own, so that callers tell it from a malformed object without reading
/// the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoInit(pub String);

impl std::fmt::Display for NoInit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "defines no function `{}`", self.0)
    }
}

impl std::error::Error for NoInit {}

/// What [`privatize`] did to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Privatized {
    /// The rewritten object file.
    pub object: Vec<u8>,
    /// How many defined symbols became local.
    pub localized: usize,
}

/// Rewrites the relocatable wasm object `object` so that it defines one
/// global symbol: the function `init_from`, renamed `init_to`. Symbols the
/// object exports on purpose (`export_name`) stay global too. Fails, saying
/// so, when the object does not define `init_from`: then it is no Python
/// extension module ([`NoInit`]).
pub fn privatize(object: &[u8], init_from: &str, init_to: &str) -> Result<Privatized> {
    if !object.starts_with(b"\0asm\x01\0\0\0") {
        bail!("not a wasm object file");
    }
    let mut out = object[..8].to_vec();
    let mut r = Reader::new(&object[8..]);
    let mut found_init = false;
    let mut localized = 0;
    let mut saw_linking = false;
    while !r.is_empty() {
        let id = r.byte()?;
        let size = r.u32()? as usize;
        let payload = r.bytes(size)?;
        if id == 0 {
            let mut p = Reader::new(payload);
            let name = p.name()?;
            if name == LINKING {
                saw_linking = true;
                let rest = p.rest();
                let (linking, found, count) = rewrite_linking(rest, init_from, init_to)
                    .context("malformed linking section")?;
                found_init |= found;
                localized += count;
                let mut section = Vec::new();
                write_name(&mut section, LINKING);
                section.extend_from_slice(&linking);
                out.push(0);
                write_u32(&mut out, section.len() as u32);
                out.extend_from_slice(&section);
                continue;
            }
        }
        out.push(id);
        write_u32(&mut out, size as u32);
        out.extend_from_slice(payload);
    }
    if !saw_linking {
        bail!("not a relocatable object (no linking section)");
    }
    if !found_init {
        return Err(NoInit(init_from.to_owned()).into());
    }
    Ok(Privatized {
        object: out,
        localized,
    })
}

/// The `linking` section's payload with its symbol table rewritten and its
/// COMDAT groups dropped; whether `init_from` was found; how many symbols
/// became local.
fn rewrite_linking(
    payload: &[u8],
    init_from: &str,
    init_to: &str,
) -> Result<(Vec<u8>, bool, usize)> {
    let mut r = Reader::new(payload);
    let version = r.u32()?;
    if version != 2 {
        bail!("linking section version {version} (this reads version 2)");
    }
    let mut out = Vec::new();
    write_u32(&mut out, version);
    let mut found = false;
    let mut localized = 0;
    while !r.is_empty() {
        let kind = r.byte()?;
        let size = r.u32()? as usize;
        let body = r.bytes(size)?;
        match kind {
            COMDAT_INFO => continue,
            SYMBOL_TABLE => {
                let (table, f, n) = rewrite_symbols(body, init_from, init_to)?;
                found |= f;
                localized += n;
                out.push(kind);
                write_u32(&mut out, table.len() as u32);
                out.extend_from_slice(&table);
            }
            _ => {
                out.push(kind);
                write_u32(&mut out, size as u32);
                out.extend_from_slice(body);
            }
        }
    }
    Ok((out, found, localized))
}

fn rewrite_symbols(body: &[u8], init_from: &str, init_to: &str) -> Result<(Vec<u8>, bool, usize)> {
    let mut r = Reader::new(body);
    let count = r.u32()?;
    let mut out = Vec::new();
    write_u32(&mut out, count);
    let mut found = false;
    let mut localized = 0;
    for _ in 0..count {
        let kind = r.byte()?;
        let mut flags = r.u32()?;
        let defined = flags & UNDEFINED == 0;
        // Each kind's fields after the flags, copied as they are except
        // for a function's name.
        let mut fields = Vec::new();
        let mut name = None;
        match kind {
            KIND_FUNCTION | KIND_GLOBAL | KIND_TAG | KIND_TABLE => {
                write_u32(&mut fields, r.u32()?);
                if defined || flags & EXPLICIT_NAME != 0 {
                    name = Some(r.name()?.to_owned());
                }
            }
            KIND_DATA => {
                name = Some(r.name()?.to_owned());
                if defined {
                    for _ in 0..3 {
                        write_u64(&mut fields, r.u64()?);
                    }
                }
            }
            KIND_SECTION => write_u32(&mut fields, r.u32()?),
            other => bail!("unknown symbol kind {other}"),
        }
        let is_init = kind == KIND_FUNCTION && defined && name.as_deref() == Some(init_from);
        if is_init {
            found = true;
            name = Some(init_to.to_owned());
        } else if defined
            && matches!(kind, KIND_FUNCTION | KIND_DATA | KIND_GLOBAL)
            && flags & EXPORTED == 0
            && flags & BINDING_MASK != BINDING_LOCAL
        {
            // Tags stay global: a C++ exception must carry the one
            // `__cpp_exception` tag every catch looks for.
            flags = (flags & !BINDING_MASK) | BINDING_LOCAL;
            localized += 1;
        }
        out.push(kind);
        write_u32(&mut out, flags);
        if matches!(kind, KIND_DATA) {
            write_name(&mut out, name.as_deref().unwrap_or_default());
            out.extend_from_slice(&fields);
        } else {
            out.extend_from_slice(&fields);
            if let Some(name) = &name {
                write_name(&mut out, name);
            }
        }
    }
    if !r.is_empty() {
        bail!("trailing bytes after the symbol table");
    }
    Ok((out, found, localized))
}

/// Rewrites the relocatable wasm object `object` so that each undefined
/// function whose function index is in `renames` is called by its new
/// name there (an explicit symbol name; the import stays as it was, and
/// the definition of the new name binds at the link). Returns how many
/// symbols were renamed.
pub fn rename_undefined_functions(
    object: &[u8],
    renames: &std::collections::BTreeMap<u32, String>,
) -> Result<(Vec<u8>, usize)> {
    if !object.starts_with(b"\0asm\x01\0\0\0") {
        bail!("not a wasm object file");
    }
    let mut out = object[..8].to_vec();
    let mut r = Reader::new(&object[8..]);
    let mut renamed = 0;
    while !r.is_empty() {
        let id = r.byte()?;
        let size = r.u32()? as usize;
        let payload = r.bytes(size)?;
        if id == 0 {
            let mut p = Reader::new(payload);
            if p.name()? == LINKING {
                let mut linking = Vec::new();
                let mut l = Reader::new(p.rest());
                write_u32(&mut linking, l.u32()?);
                while !l.is_empty() {
                    let kind = l.byte()?;
                    let size = l.u32()? as usize;
                    let body = l.bytes(size)?;
                    let body = match kind {
                        SYMBOL_TABLE => {
                            let (table, n) = rename_in_table(body, renames)?;
                            renamed += n;
                            table
                        }
                        _ => body.to_vec(),
                    };
                    linking.push(kind);
                    write_u32(&mut linking, body.len() as u32);
                    linking.extend_from_slice(&body);
                }
                let mut section = Vec::new();
                write_name(&mut section, LINKING);
                section.extend_from_slice(&linking);
                out.push(0);
                write_u32(&mut out, section.len() as u32);
                out.extend_from_slice(&section);
                continue;
            }
        }
        out.push(id);
        write_u32(&mut out, size as u32);
        out.extend_from_slice(payload);
    }
    Ok((out, renamed))
}

fn rename_in_table(
    body: &[u8],
    renames: &std::collections::BTreeMap<u32, String>,
) -> Result<(Vec<u8>, usize)> {
    let mut r = Reader::new(body);
    let count = r.u32()?;
    let mut out = Vec::new();
    write_u32(&mut out, count);
    let mut renamed = 0;
    for _ in 0..count {
        let kind = r.byte()?;
        let mut flags = r.u32()?;
        let defined = flags & UNDEFINED == 0;
        let mut fields = Vec::new();
        let mut name = None;
        let mut index = None;
        match kind {
            KIND_FUNCTION | KIND_GLOBAL | KIND_TAG | KIND_TABLE => {
                let i = r.u32()?;
                index = Some(i);
                write_u32(&mut fields, i);
                if defined || flags & EXPLICIT_NAME != 0 {
                    name = Some(r.name()?.to_owned());
                }
            }
            KIND_DATA => {
                name = Some(r.name()?.to_owned());
                if defined {
                    for _ in 0..3 {
                        write_u64(&mut fields, r.u64()?);
                    }
                }
            }
            KIND_SECTION => write_u32(&mut fields, r.u32()?),
            other => bail!("unknown symbol kind {other}"),
        }
        if kind == KIND_FUNCTION
            && !defined
            && let Some(new) = index.and_then(|i| renames.get(&i))
        {
            flags |= EXPLICIT_NAME;
            name = Some(new.clone());
            renamed += 1;
        }
        out.push(kind);
        write_u32(&mut out, flags);
        if matches!(kind, KIND_DATA) {
            write_name(&mut out, name.as_deref().unwrap_or_default());
            out.extend_from_slice(&fields);
        } else {
            out.extend_from_slice(&fields);
            if let Some(name) = &name {
                write_name(&mut out, name);
            }
        }
    }
    if !r.is_empty() {
        bail!("trailing bytes after the symbol table");
    }
    Ok((out, renamed))
}

/// A cursor over a byte slice with wasm's LEB128 and name encodings.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }
    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }
    fn byte(&mut self) -> Result<u8> {
        let (&b, rest) = self.bytes.split_first().context("unexpected end")?;
        self.bytes = rest;
        Ok(b)
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.bytes.len() < n {
            bail!("unexpected end");
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u64(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!("LEB128 number too long")
    }
    fn u32(&mut self) -> Result<u32> {
        u32::try_from(self.u64()?).context("LEB128 number out of range")
    }
    fn name(&mut self) -> Result<&'a str> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.bytes(len)?).context("a name is not UTF-8")
    }
}

fn write_u64(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let b = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn write_u32(out: &mut Vec<u8>, value: u32) {
    write_u64(out, u64::from(value));
}

fn write_name(out: &mut Vec<u8>, name: &str) {
    write_u32(out, name.len() as u32);
    out.extend_from_slice(name.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An object with a code-less linking section: a defined function
    /// `PyInit_x`, a defined function `helper`, a defined data symbol
    /// `table`, an undefined function `PyLong_FromLong`, a tag, and a
    /// COMDAT group.
    fn object() -> Vec<u8> {
        let mut symbols = Vec::new();
        write_u32(&mut symbols, 5);
        let mut func = |flags: u32, index: u32, name: Option<&str>| {
            symbols.push(KIND_FUNCTION);
            write_u32(&mut symbols, flags);
            write_u32(&mut symbols, index);
            if let Some(name) = name {
                write_name(&mut symbols, name);
            }
        };
        func(0, 1, Some("PyInit_x"));
        func(4, 2, Some("helper"));
        func(UNDEFINED, 0, None);
        symbols.push(KIND_DATA);
        write_u32(&mut symbols, 1);
        write_name(&mut symbols, "table");
        for v in [0, 16, 300] {
            write_u64(&mut symbols, v);
        }
        symbols.push(KIND_TAG);
        write_u32(&mut symbols, 0);
        write_u32(&mut symbols, 0);
        write_name(&mut symbols, "__cpp_exception");

        let mut linking = Vec::new();
        write_u32(&mut linking, 2);
        linking.push(COMDAT_INFO);
        write_u32(&mut linking, 3);
        linking.extend_from_slice(&[0, 0, 0]);
        linking.push(SYMBOL_TABLE);
        write_u32(&mut linking, symbols.len() as u32);
        linking.extend_from_slice(&symbols);

        let mut section = Vec::new();
        write_name(&mut section, LINKING);
        section.extend_from_slice(&linking);
        let mut object = b"\0asm\x01\0\0\0".to_vec();
        // A type section before it, kept as it is.
        object.extend_from_slice(&[1, 1, 0]);
        object.push(0);
        write_u32(&mut object, section.len() as u32);
        object.extend_from_slice(&section);
        object
    }

    /// (kind, flags, name) of every symbol, through wasmparser.
    fn symbols(object: &[u8]) -> Vec<(String, u32)> {
        use wasmparser::{KnownCustom, Linking, Parser, Payload, SymbolInfo};
        let mut out = Vec::new();
        for payload in Parser::new(0).parse_all(object) {
            let Payload::CustomSection(section) = payload.unwrap() else {
                continue;
            };
            let KnownCustom::Linking(linking) = section.as_known() else {
                continue;
            };
            for sub in linking.subsections() {
                if let Linking::SymbolTable(table) = sub.unwrap() {
                    for symbol in table {
                        let (flags, name) = match symbol.unwrap() {
                            SymbolInfo::Func { flags, name, .. } => (flags, name),
                            SymbolInfo::Data { flags, name, .. } => (flags, Some(name)),
                            SymbolInfo::Event { flags, name, .. } => (flags, name),
                            _ => continue,
                        };
                        out.push((name.unwrap_or("?").to_owned(), flags.bits()));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn renames_the_init_and_localizes_the_rest() {
        let done = privatize(&object(), "PyInit_x", "PyInit_3pkg1x").unwrap();
        assert_eq!(done.localized, 2);
        assert_eq!(
            symbols(&done.object),
            [
                ("PyInit_3pkg1x".to_owned(), 0),
                ("helper".to_owned(), 4 | BINDING_LOCAL),
                ("?".to_owned(), UNDEFINED),
                ("table".to_owned(), BINDING_LOCAL),
                ("__cpp_exception".to_owned(), 0),
            ]
        );
        // The type section before the linking section is untouched.
        assert_eq!(&done.object[8..11], &[1, 1, 0]);
    }

    #[test]
    fn an_undefined_function_is_renamed_by_its_index() {
        let renames = std::collections::BTreeMap::from([(0, "adapter".to_owned())]);
        let (object, renamed) = rename_undefined_functions(&object(), &renames).unwrap();
        assert_eq!(renamed, 1);
        assert_eq!(
            symbols(&object),
            [
                ("PyInit_x".to_owned(), 0),
                ("helper".to_owned(), 4),
                ("adapter".to_owned(), UNDEFINED | EXPLICIT_NAME),
                ("table".to_owned(), 1),
                ("__cpp_exception".to_owned(), 0),
            ]
        );
        let none = std::collections::BTreeMap::new();
        assert_eq!(rename_undefined_functions(&object, &none).unwrap().1, 0);
    }

    #[test]
    fn a_library_without_the_init_is_refused() {
        let err = privatize(&object(), "PyInit_y", "PyInit_1y").unwrap_err();
        assert_eq!(err.to_string(), "defines no function `PyInit_y`");
    }

    #[test]
    fn what_is_not_an_object_is_refused() {
        assert!(privatize(b"\0asm\x01\0\0\0", "a", "b").is_err());
        assert!(privatize(b"garbage", "a", "b").is_err());
        let mut truncated = object();
        truncated.truncate(truncated.len() - 3);
        assert!(privatize(&truncated, "PyInit_x", "b").is_err());
    }
}
