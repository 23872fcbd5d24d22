//! Host file names that are not UTF-8.
//!
//! WASI preview 1 passes names as bytes, but wasmtime-wasi 48 implements it
//! over preview 2, whose names are Rust `String`s: one entry whose host name
//! is not UTF-8 fails a whole `fd_readdir` with EILSEQ, and a path whose
//! bytes are not UTF-8 fails before any file system call. Native CPython
//! shows such names with surrogate escapes, and so does the guest when it is
//! handed the raw bytes (its file system encoding is UTF-8 with
//! `surrogateescape`, and it encodes them back the same way).
//!
//! So the calls that take or give names are shadowed in the linker: each
//! calls wasmtime's own first and, only when that fails with EILSEQ, does the
//! work itself on the host directory behind the descriptor, through cap-std
//! (the same sandbox: nothing above a mount, no change to a read-only one).
//! Listing, `stat`, mkdir, unlink, rmdir and rename work that way. Opening needs a
//! guest descriptor, which only wasmtime-wasi can make (its table is
//! private), so such a name is opened through a UTF-8 alias made for the
//! moment ([`open_through_alias`]); in a read-only mount, where no alias can
//! be made, the open fails with EILSEQ and one warning per run on the
//! host's stderr names the file and says why.
//!
//! The host directory behind a descriptor is known by following descriptors
//! as wasmtime hands them out: the mounts in order from fd 3, then
//! `path_open`, `fd_renumber` and `fd_close`.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::sync::Arc;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, FileType, Metadata, MetadataExt};
use wasmtime::{AsContextMut, Caller, Extern, Linker, Memory};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p1::wasi_snapshot_preview1::{self, WasiSnapshotPreview1 as _};
use wasmtime_wasi::runtime::in_tokio;
use wiggle::{GuestMemory, GuestPtr};

use crate::run::Preopen;

const MODULE: &str = "wasi_snapshot_preview1";

/// WASI's errno values used here (`wasi_snapshot_preview1.witx`).
mod errno {
    pub const SUCCESS: i32 = 0;
    pub const ACCES: i32 = 2;
    pub const BADF: i32 = 8;
    pub const BUSY: i32 = 10;
    pub const EXIST: i32 = 20;
    pub const FAULT: i32 = 21;
    pub const ILSEQ: i32 = 25;
    pub const INVAL: i32 = 28;
    pub const IO: i32 = 29;
    pub const ISDIR: i32 = 31;
    pub const LOOP: i32 = 32;
    pub const NAMETOOLONG: i32 = 37;
    pub const NOENT: i32 = 44;
    pub const NOSPC: i32 = 51;
    pub const NOTDIR: i32 = 54;
    pub const NOTEMPTY: i32 = 55;
    pub const OVERFLOW: i32 = 61;
    pub const PERM: i32 = 63;
    pub const ROFS: i32 = 69;
    pub const XDEV: i32 = 75;
    pub const NOTCAPABLE: i32 = 76;
}

/// The descriptor of the first mount; 0–2 are the standard streams.
const FIRST_MOUNT_FD: u32 = 3;
/// `lookupflags::symlink_follow`.
const SYMLINK_FOLLOW: i32 = 1;
/// Bytes of a `dirent` before its name, and of a `filestat`.
const DIRENT_SIZE: usize = 24;
const FILESTAT_SIZE: usize = 64;

/// A mount: its host directory and whether the guest may change it.
#[derive(Debug)]
struct Mount {
    host: PathBuf,
    writable: bool,
}

/// The host directory behind a guest descriptor: a path below a mount.
#[derive(Debug, Clone)]
struct Place {
    mount: Arc<Mount>,
    below: PathBuf,
}

impl Place {
    /// Opens the directory, confined to its mount as wasmtime's own are.
    fn open(&self) -> io::Result<Dir> {
        let root = Dir::open_ambient_dir(&self.mount.host, ambient_authority())?;
        if self.below.as_os_str().is_empty() {
            Ok(root)
        } else {
            root.open_dir(&self.below)
        }
    }

    /// `name` on the host, for messages.
    fn host_path(&self, name: &OsStr) -> PathBuf {
        self.mount.host.join(&self.below).join(name)
    }
}

/// Per-run state: where each descriptor leads, and wasmtime's own functions.
pub(crate) struct Names {
    places: HashMap<u32, Place>,
    warned: bool,
}

impl Names {
    /// For a run whose mounts are `preopens`, in the order they were given
    /// to wasmtime (which numbers them from fd 3).
    pub(crate) fn new(preopens: &[Preopen]) -> Self {
        let places = (FIRST_MOUNT_FD..)
            .zip(preopens)
            .map(|(fd, p)| {
                let mount = Arc::new(Mount {
                    host: p.host.clone(),
                    writable: p.writable,
                });
                let below = PathBuf::new();
                (fd, Place { mount, below })
            })
            .collect();
        Self {
            places,
            warned: false,
        }
    }

    fn opened(&mut self, dir: u32, fd: u32, path: &OsStr) {
        match self.places.get(&dir) {
            Some(place) => {
                let place = Place {
                    mount: place.mount.clone(),
                    below: place.below.join(path),
                };
                self.places.insert(fd, place);
            }
            None => {
                self.places.remove(&fd);
            }
        }
    }

    fn renumbered(&mut self, from: u32, to: u32) {
        match self.places.remove(&from) {
            Some(place) => self.places.insert(to, place),
            None => self.places.remove(&to),
        };
    }

    fn place(&self, fd: i32) -> Option<Place> {
        self.places.get(&(fd as u32)).cloned()
    }
}

/// Calls wasmtime-wasi's own implementation of a preview-1 function the
/// way its linker entry does. (Calling that entry as a `Func` from here
/// would not work: a host function called from the host sees no guest
/// memory.)
macro_rules! own {
    ($caller:ident, $wasi:ident, $func:ident($($arg:expr),* $(,)?)) => {{
        let fuel = $caller.as_context_mut().hostcall_fuel();
        let memory = memory(&mut $caller)?;
        let (bytes, data) = memory.data_and_store_mut(&mut $caller);
        let ctx = $wasi(data);
        ctx.set_hostcall_fuel(fuel);
        let mut guest = GuestMemory::Unshared(bytes);
        in_tokio(wasi_snapshot_preview1::$func(ctx, &mut guest, $($arg),*))?
    }};
}

/// Shadows the name-carrying WASI functions in `linker` (which must already
/// hold wasmtime-wasi's); `wasi` and `names` find the [`WasiP1Ctx`] and the
/// [`Names`] in the store's data.
pub(crate) fn install<T: 'static>(
    linker: &mut Linker<T>,
    wasi: fn(&mut T) -> &mut WasiP1Ctx,
    names: fn(&mut T) -> &mut Names,
) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.func_wrap(
        MODULE,
        "path_open",
        move |mut caller: Caller<'_, T>,
              dir: i32,
              lookup: i32,
              path: i32,
              len: i32,
              oflags: i32,
              base: i64,
              inheriting: i64,
              fdflags: i32,
              opened: i32| {
            let e = own!(
                caller,
                wasi,
                path_open(
                    dir, lookup, path, len, oflags, base, inheriting, fdflags, opened
                )
            );
            if e == errno::SUCCESS {
                let name = read_name(&mut caller, path, len)?;
                let fd = u32::from_le_bytes(read_array(&mut caller, opened)?);
                names(caller.data_mut()).opened(dir as u32, fd, &name);
            } else if e == errno::ILSEQ {
                let name = read_name(&mut caller, path, len)?;
                let Some(place) = names(caller.data_mut()).place(dir) else {
                    return Ok(e);
                };
                let request = OpenRequest {
                    dir,
                    lookup,
                    oflags,
                    base,
                    inheriting,
                    fdflags,
                };
                match open_through_alias(&mut caller, wasi, &place, &name, request)? {
                    Ok(fd) => {
                        let memory = memory(&mut caller)?;
                        if memory
                            .write(&mut caller, opened as u32 as usize, &fd.to_le_bytes())
                            .is_err()
                        {
                            return Ok(errno::FAULT);
                        }
                        names(caller.data_mut()).opened(dir as u32, fd, &name);
                        return Ok(errno::SUCCESS);
                    }
                    Err(Some(e)) => return Ok(e),
                    Err(None) => {
                        let state = names(caller.data_mut());
                        if !state.warned {
                            state.warned = true;
                            eprintln!(
                                "faasm-py: the guest cannot open {:?}: its name is not UTF-8, \
                                 which wasmtime's WASI cannot carry, and its mount is read-only \
                                 (listing and stat work)",
                                place.host_path(&name)
                            );
                        }
                    }
                }
            }
            Ok(e)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_close",
        move |mut caller: Caller<'_, T>, fd: i32| {
            let e = own!(caller, wasi, fd_close(fd));
            if e == errno::SUCCESS {
                names(caller.data_mut()).places.remove(&(fd as u32));
            }
            Ok(e)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_renumber",
        move |mut caller: Caller<'_, T>, from: i32, to: i32| {
            let e = own!(caller, wasi, fd_renumber(from, to));
            if e == errno::SUCCESS {
                names(caller.data_mut()).renumbered(from as u32, to as u32);
            }
            Ok(e)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_readdir",
        move |mut caller: Caller<'_, T>,
              fd: i32,
              buf: i32,
              buf_len: i32,
              cookie: i64,
              used: i32| {
            let e = own!(caller, wasi, fd_readdir(fd, buf, buf_len, cookie, used));
            let Some(place) = fallback(&mut caller, names, e, fd) else {
                return Ok(e);
            };
            let Ok(skip) = usize::try_from(cookie as u64) else {
                return Ok(errno::OVERFLOW);
            };
            let bytes = match list(&place) {
                Ok(entries) => dirents(&entries, skip, buf_len as u32 as usize),
                Err(err) => return Ok(errno_of(&err)),
            };
            let memory = memory(&mut caller)?;
            if memory
                .write(&mut caller, buf as u32 as usize, &bytes)
                .is_err()
            {
                return Ok(errno::FAULT);
            }
            let used_bytes = (bytes.len() as u32).to_le_bytes();
            if memory
                .write(&mut caller, used as u32 as usize, &used_bytes)
                .is_err()
            {
                return Ok(errno::FAULT);
            }
            Ok(errno::SUCCESS)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_filestat_get",
        move |mut caller: Caller<'_, T>, fd: i32, lookup: i32, path: i32, len: i32, out: i32| {
            let e = own!(caller, wasi, path_filestat_get(fd, lookup, path, len, out));
            let Some(place) = fallback(&mut caller, names, e, fd) else {
                return Ok(e);
            };
            let name = read_name(&mut caller, path, len)?;
            let stat = place.open().and_then(|dir| {
                if lookup & SYMLINK_FOLLOW != 0 {
                    dir.metadata(&name)
                } else {
                    dir.symlink_metadata(&name)
                }
            });
            match stat {
                Ok(stat) => {
                    let memory = memory(&mut caller)?;
                    match memory.write(&mut caller, out as u32 as usize, &filestat(&stat)) {
                        Ok(()) => Ok(errno::SUCCESS),
                        Err(_) => Ok(errno::FAULT),
                    }
                }
                Err(err) => Ok(errno_of(&err)),
            }
        },
    )?;
    // The calls that change one name below a descriptor: wasmtime's, else
    // the same change through cap-std.
    macro_rules! one_name_change {
        ($func:ident, $change:expr) => {
            linker.func_wrap(
                MODULE,
                stringify!($func),
                move |mut caller: Caller<'_, T>, fd: i32, path: i32, len: i32| {
                    let e = own!(caller, wasi, $func(fd, path, len));
                    let Some(place) = fallback(&mut caller, names, e, fd) else {
                        return Ok(e);
                    };
                    let name = read_name(&mut caller, path, len)?;
                    Ok(change(&place, |dir| $change(dir, &name)))
                },
            )?;
        };
    }
    one_name_change!(path_create_directory, Dir::create_dir);
    one_name_change!(path_unlink_file, Dir::remove_file);
    one_name_change!(path_remove_directory, Dir::remove_dir);
    linker.func_wrap(
        MODULE,
        "path_rename",
        move |mut caller: Caller<'_, T>,
              fd: i32,
              old: i32,
              old_len: i32,
              new_fd: i32,
              new: i32,
              new_len: i32| {
            let e = own!(
                caller,
                wasi,
                path_rename(fd, old, old_len, new_fd, new, new_len)
            );
            let Some(from) = fallback(&mut caller, names, e, fd) else {
                return Ok(e);
            };
            let Some(to) = names(caller.data_mut()).place(new_fd) else {
                return Ok(e);
            };
            let old = read_name(&mut caller, old, old_len)?;
            let new = read_name(&mut caller, new, new_len)?;
            if !to.mount.writable {
                return Ok(errno::PERM);
            }
            Ok(change(&from, |dir| {
                let target = to.open()?;
                dir.rename(&old, &target, &new)
            }))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The arguments of a `path_open` besides its path and result.
#[derive(Debug, Clone, Copy)]
struct OpenRequest {
    dir: i32,
    lookup: i32,
    oflags: i32,
    base: i64,
    inheriting: i64,
    fdflags: i32,
}

/// Opens `name` (not UTF-8) below `place` through a UTF-8 alias: a relative
/// symbolic link to it, made beside it for the moment wasmtime opens it,
/// then removed (cap-std resolves the link inside the mount, as it would any
/// other). The guest is single-threaded, so it never sees the alias. Only in
/// a writable mount: `Err(None)` for an existing name in a read-only one,
/// `Err(Some(errno))` when the open fails; the outer error is a trap.
fn open_through_alias<T>(
    caller: &mut Caller<'_, T>,
    wasi: fn(&mut T) -> &mut WasiP1Ctx,
    place: &Place,
    name: &OsStr,
    r: OpenRequest,
) -> wasmtime::Result<Result<u32, Option<i32>>> {
    use wasmtime_wasi::p1::types::{Fd, Fdflags, Lookupflags, Oflags, Rights};

    let dir = match place.open() {
        Ok(dir) => dir,
        Err(err) => return Ok(Err(Some(errno_of(&err)))),
    };
    let mut oflags = Oflags::from_bits_truncate(r.oflags as u16);
    let existing = dir.symlink_metadata(name);
    if !place.mount.writable {
        return Ok(Err(match (&existing, oflags.contains(Oflags::CREAT)) {
            (Ok(_), _) => None,
            (Err(_), true) => Some(errno::PERM),
            (Err(err), false) => Some(errno_of(err)),
        }));
    }
    if oflags.contains(Oflags::CREAT) {
        match (&existing, oflags.contains(Oflags::EXCL)) {
            (Ok(_), true) => return Ok(Err(Some(errno::EXIST))),
            (Ok(_), false) => {}
            (Err(_), _) => {
                let mut create = cap_std::fs::OpenOptions::new();
                create.write(true).create_new(true);
                if let Err(err) = dir.open_with(name, &create) {
                    return Ok(Err(Some(errno_of(&err))));
                }
            }
        }
        oflags.remove(Oflags::CREAT | Oflags::EXCL);
    } else if let Err(err) = &existing {
        return Ok(Err(Some(errno_of(err))));
    }
    // The alias is always followed; a guest that asked not to follow a
    // link gets what the host's O_NOFOLLOW gives for one.
    let follow = r.lookup & SYMLINK_FOLLOW != 0;
    if !follow && existing.is_ok_and(|m| m.file_type().is_symlink()) {
        return Ok(Err(Some(errno::LOOP)));
    }

    let alias = loop {
        let n = ALIASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let alias = format!(".faasm-py-alias-{}-{n}", std::process::id());
        match dir.symlink(name, &alias) {
            Ok(()) => break alias,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Ok(Err(Some(errno_of(&err)))),
        }
    };
    let mut bytes = alias.clone().into_bytes();
    let path = GuestPtr::<str>::new((0, bytes.len() as u32));
    let fuel = caller.as_context_mut().hostcall_fuel();
    let ctx = wasi(caller.data_mut());
    ctx.set_hostcall_fuel(fuel);
    let opened = in_tokio(ctx.path_open(
        &mut GuestMemory::Unshared(&mut bytes),
        Fd::from(r.dir as u32),
        Lookupflags::from_bits_truncate(r.lookup as u32) | Lookupflags::SYMLINK_FOLLOW,
        path,
        oflags,
        Rights::from_bits_truncate(r.base as u64),
        Rights::from_bits_truncate(r.inheriting as u64),
        Fdflags::from_bits_truncate(r.fdflags as u16),
    ));
    let removed = dir.remove_file(&alias);
    let fd = match opened {
        Ok(fd) => u32::from(fd),
        Err(err) => return Ok(Err(Some(err.downcast()? as i32))),
    };
    if let Err(err) = removed {
        eprintln!(
            "faasm-py: cannot remove {:?}, made to open a name that is not UTF-8: {err}",
            place.host_path(OsStr::new(&alias))
        );
    }
    Ok(Ok(fd))
}

/// Numbers the aliases of [`open_through_alias`] apart within a process.
static ALIASES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The place to do the work ourselves: only when wasmtime failed on a name
/// (EILSEQ) behind a descriptor we can follow.
fn fallback<T>(
    caller: &mut Caller<'_, T>,
    names: fn(&mut T) -> &mut Names,
    e: i32,
    fd: i32,
) -> Option<Place> {
    (e == errno::ILSEQ)
        .then(|| names(caller.data_mut()).place(fd))
        .flatten()
}

/// Runs a change in `place` if its mount may be changed; the errno.
fn change(place: &Place, f: impl FnOnce(&Dir) -> io::Result<()>) -> i32 {
    if !place.mount.writable {
        return errno::PERM;
    }
    match place.open().and_then(|dir| f(&dir)) {
        Ok(()) => errno::SUCCESS,
        Err(err) => errno_of(&err),
    }
}

fn memory<T>(caller: &mut Caller<'_, T>) -> wasmtime::Result<Memory> {
    caller
        .get_export("memory")
        .and_then(Extern::into_memory)
        .ok_or_else(|| wasmtime::format_err!("the guest exports no memory"))
}

/// The guest's bytes at `ptr..ptr+len`, as a host name.
fn read_name<T>(caller: &mut Caller<'_, T>, ptr: i32, len: i32) -> wasmtime::Result<OsString> {
    let memory = memory(caller)?;
    let start = ptr as u32 as usize;
    let bytes = memory
        .data(&*caller)
        .get(start..start.saturating_add(len as u32 as usize))
        .ok_or_else(|| wasmtime::format_err!("a WASI path lies outside the guest's memory"))?;
    Ok(OsString::from_vec(bytes.to_vec()))
}

fn read_array<T, const N: usize>(
    caller: &mut Caller<'_, T>,
    ptr: i32,
) -> wasmtime::Result<[u8; N]> {
    let mut out = [0; N];
    memory(caller)?
        .read(&*caller, ptr as u32 as usize, &mut out)
        .map_err(|_| wasmtime::format_err!("a WASI result lies outside the guest's memory"))?;
    Ok(out)
}

/// One directory entry: WASI file type, inode, name bytes.
type Entry = (u8, u64, Vec<u8>);

/// `.`, `..` and the directory's entries in the host's order (wasmtime's
/// order too, so cookies mean the same).
fn list(place: &Place) -> io::Result<Vec<Entry>> {
    let dir = place.open()?;
    let own = dir.dir_metadata()?.ino();
    let mut entries = vec![
        (filetype::DIRECTORY, own, b".".to_vec()),
        (filetype::DIRECTORY, own, b"..".to_vec()),
    ];
    for entry in dir.entries()? {
        let entry = entry?;
        let kind = wasi_filetype(entry.file_type()?);
        entries.push((kind, entry.metadata()?.ino(), entry.file_name().into_vec()));
    }
    Ok(entries)
}

/// The `dirent` records from entry `skip` on, cut at `cap` bytes as
/// `fd_readdir` does (a full buffer tells the guest to ask again).
fn dirents(entries: &[Entry], skip: usize, cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (kind, ino, name)) in entries.iter().enumerate().skip(skip) {
        out.extend_from_slice(&(i as u64 + 1).to_le_bytes());
        out.extend_from_slice(&ino.to_le_bytes());
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&[*kind, 0, 0, 0]);
        out.extend_from_slice(name);
        if out.len() >= cap {
            break;
        }
    }
    debug_assert!(out.is_empty() || out.len() >= DIRENT_SIZE);
    out.truncate(cap);
    out
}

/// WASI's `filetype` values.
mod filetype {
    pub const UNKNOWN: u8 = 0;
    pub const BLOCK_DEVICE: u8 = 1;
    pub const CHARACTER_DEVICE: u8 = 2;
    pub const DIRECTORY: u8 = 3;
    pub const REGULAR_FILE: u8 = 4;
    pub const SOCKET_STREAM: u8 = 6;
    pub const SYMBOLIC_LINK: u8 = 7;
}

fn wasi_filetype(t: FileType) -> u8 {
    use cap_std::fs::FileTypeExt;
    if t.is_dir() {
        filetype::DIRECTORY
    } else if t.is_file() {
        filetype::REGULAR_FILE
    } else if t.is_symlink() {
        filetype::SYMBOLIC_LINK
    } else if t.is_block_device() {
        filetype::BLOCK_DEVICE
    } else if t.is_char_device() {
        filetype::CHARACTER_DEVICE
    } else if t.is_socket() {
        filetype::SOCKET_STREAM
    } else {
        filetype::UNKNOWN
    }
}

/// A WASI `filestat`. `dev` is 1 as wasmtime reports it; `ino` is the host's
/// (wasmtime reports a hash of it, so the two differ for the same file).
fn filestat(m: &Metadata) -> [u8; FILESTAT_SIZE] {
    let nanos = |secs: i64, nsecs: i64| (secs as u64).wrapping_mul(1_000_000_000) + nsecs as u64;
    let mut out = [0u8; FILESTAT_SIZE];
    out[0..8].copy_from_slice(&1u64.to_le_bytes());
    out[8..16].copy_from_slice(&m.ino().to_le_bytes());
    out[16] = wasi_filetype(m.file_type());
    out[24..32].copy_from_slice(&m.nlink().to_le_bytes());
    out[32..40].copy_from_slice(&m.size().to_le_bytes());
    out[40..48].copy_from_slice(&nanos(m.atime(), m.atime_nsec()).to_le_bytes());
    out[48..56].copy_from_slice(&nanos(m.mtime(), m.mtime_nsec()).to_le_bytes());
    out[56..64].copy_from_slice(&nanos(m.ctime(), m.ctime_nsec()).to_le_bytes());
    out
}

/// WASI's errno for a host error.
fn errno_of(err: &io::Error) -> i32 {
    match err.raw_os_error() {
        Some(1) => errno::PERM,
        Some(2) => errno::NOENT,
        Some(5) => errno::IO,
        Some(9) => errno::BADF,
        Some(13) => errno::ACCES,
        Some(16) => errno::BUSY,
        Some(17) => errno::EXIST,
        Some(18) => errno::XDEV,
        Some(20) => errno::NOTDIR,
        Some(21) => errno::ISDIR,
        Some(22) => errno::INVAL,
        Some(28) => errno::NOSPC,
        Some(30) => errno::ROFS,
        Some(36) => errno::NAMETOOLONG,
        Some(39) => errno::NOTEMPTY,
        Some(40) => errno::LOOP,
        Some(84) => errno::ILSEQ,
        // cap-std's refusal of a path that leaves the mount carries no code.
        None if err.kind() == io::ErrorKind::PermissionDenied => errno::NOTCAPABLE,
        _ => errno::IO,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    use super::*;

    fn entries() -> Vec<Entry> {
        vec![
            (filetype::DIRECTORY, 7, b".".to_vec()),
            (filetype::DIRECTORY, 7, b"..".to_vec()),
            (filetype::REGULAR_FILE, 9, b"caf\xe9".to_vec()),
        ]
    }

    #[test]
    fn dirents_are_laid_out_as_wasi_says() {
        let out = dirents(&entries(), 2, 4096);
        assert_eq!(out.len(), DIRENT_SIZE + 4);
        assert_eq!(u64::from_le_bytes(out[0..8].try_into().unwrap()), 3);
        assert_eq!(u64::from_le_bytes(out[8..16].try_into().unwrap()), 9);
        assert_eq!(u32::from_le_bytes(out[16..20].try_into().unwrap()), 4);
        assert_eq!(out[20], filetype::REGULAR_FILE);
        assert_eq!(&out[DIRENT_SIZE..], b"caf\xe9");
    }

    #[test]
    fn a_full_buffer_is_cut_at_its_size() {
        let all = dirents(&entries(), 0, 4096);
        assert_eq!(all.len(), 3 * DIRENT_SIZE + 1 + 2 + 4);
        let cut = dirents(&entries(), 0, 30);
        assert_eq!(cut, all[..30]);
        assert!(dirents(&entries(), 3, 4096).is_empty());
    }

    #[test]
    fn descriptors_follow_opens_renumbers_and_closes() {
        let mut names = Names::new(&[Preopen::read_write("/host/a", "/a")]);
        names.opened(3, 9, OsStr::from_bytes(b"sub/d\xff"));
        let place = names.place(9).unwrap();
        assert_eq!(place.below, Path::new(OsStr::from_bytes(b"sub/d\xff")));
        assert!(place.mount.writable);
        names.renumbered(9, 12);
        assert!(names.place(9).is_none());
        assert!(names.place(12).is_some());
        // Opened from an unknown descriptor: nothing to follow, and an old
        // entry under the reused number is gone.
        names.opened(40, 12, OsStr::new("x"));
        assert!(names.place(12).is_none());
    }

    #[test]
    fn host_errors_map_to_wasi_errnos() {
        assert_eq!(errno_of(&io::Error::from_raw_os_error(2)), errno::NOENT);
        assert_eq!(errno_of(&io::Error::from_raw_os_error(39)), errno::NOTEMPTY);
        let escape = io::Error::new(io::ErrorKind::PermissionDenied, "outside");
        assert_eq!(errno_of(&escape), errno::NOTCAPABLE);
    }
}
