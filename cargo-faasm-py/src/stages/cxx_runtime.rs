//! `cxx-runtime`: libc++, libc++abi and libunwind for wasm32-wasip1 with
//! WebAssembly exception handling (the standard "exnref" encoding that
//! wasmtime runs), and the `clang++` that compiles and links against them.
//!
//! The sources are LLVM's, as the pinned zig wheel carries them
//! (`ziglang/lib/{libcxx,libcxxabi,libunwind}`: the same LLVM release as
//! zig's clang); the installed headers are Debian's LLVM wasm32 libc++
//! headers of that release, with their `__config_site` changed in two
//! respects: threads on, over pthreads, and the filesystem library on
//! (`<fstream>` needs it: HiGHS in SciPy reads its files so). wasi-libc's
//! single-threaded pthreads (with its thread emulation, so that
//! `pthread_create` is declared; CPython's stub fails it with `EAGAIN`) give
//! `std::mutex` and friends working single-threaded, and `std::thread` a
//! `std::system_error` at run time, so C++ that only guards itself with a
//! mutex compiles. Every C++ file the toolchain compiles gets wasm exceptions
//! unless it asks for `-fno-exceptions`: clang's own default on wasm32
//! compiles `try` but silently drops every `catch`. libunwind's two objects
//! (the wasm unwinder and the `__cpp_exception` tag, which no LLVM source
//! defines) are merged into libc++abi, as LLVM's
//! `LIBCXXABI_STATICALLY_LINK_UNWINDER_IN_STATIC_LIBRARY` does, so the
//! driver's own `-lc++abi` brings them in and no link line needs more.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use fs_err as fs;

use super::script::Wrapper;
use super::toolchain::{LlvmRelease, Toolchain, clang_cxx, wasi_sdk_path};
use crate::layout::Layout;
use crate::pipeline::{Contract, Stage, StageContext, StageId};
use crate::process::{Cmd, Log};

/// What every C++ file is compiled with unless it says `-fno-exceptions`.
pub const EXCEPTIONS: &[&str] = &["-fwasm-exceptions", "-mllvm", "-wasm-use-legacy-eh=false"];
/// The Debian package with the LLVM wasm32 libc++ headers.
const HEADERS_DEB: &str = "libcxx-headers";
/// Where that package keeps them, under its LLVM release's prefix.
const HEADERS_IN_DEB: &str = "include/wasm32-wasi/c++/v1";

/// What every C++ file is compiled with: libc++'s thread support includes
/// `<pthread.h>`, which declares `pthread_create` only with wasi-libc's
/// thread emulation asked for.
pub const THREADS: &str = "-D_WASI_EMULATED_PTHREAD";
/// `__config_site` lines changed from Debian's: threads on, over pthreads;
/// the filesystem library (and with it `<fstream>`) on.
const CONFIG_CHANGES: &[(&str, &str)] = &[
    (
        "#define _LIBCPP_HAS_THREADS 0",
        "#define _LIBCPP_HAS_THREADS 1",
    ),
    (
        "#define _LIBCPP_HAS_THREAD_API_PTHREAD 0",
        "#define _LIBCPP_HAS_THREAD_API_PTHREAD 1",
    ),
    (
        "#define _LIBCPP_HAS_FILESYSTEM 0",
        "#define _LIBCPP_HAS_FILESYSTEM 1",
    ),
];

/// Force-included into libc++'s sources: `operations.cpp` calls
/// `copy_file_range` on every musl, which wasi-libc lacks; failing with
/// ENOSYS sends `std::filesystem::copy_file` to its `<fstream>` copy, as
/// on a kernel without the call.
const NO_COPY_FILE_RANGE: &str = "#include <errno.h>\n#include <sys/types.h>\nstatic inline ssize_t copy_file_range(int, off_t *, int, off_t *, size_t, unsigned) { errno = ENOSYS; return -1; }\n";

/// libc++'s sources for this configuration (threads on, filesystem on,
/// random_device and localization on; `operator new` comes from
/// libc++abi): relative to `libcxx/src`.
const LIBCXX_SOURCES: &[&str] = &[
    "algorithm.cpp",
    "any.cpp",
    "atomic.cpp",
    "barrier.cpp",
    "condition_variable.cpp",
    "condition_variable_destructor.cpp",
    "future.cpp",
    "mutex.cpp",
    "mutex_destructor.cpp",
    "shared_mutex.cpp",
    "thread.cpp",
    "bind.cpp",
    "call_once.cpp",
    "charconv.cpp",
    "chrono.cpp",
    "error_category.cpp",
    "exception.cpp",
    "expected.cpp",
    "filesystem/directory_entry.cpp",
    "filesystem/directory_iterator.cpp",
    "filesystem/filesystem_clock.cpp",
    "filesystem/filesystem_error.cpp",
    "filesystem/operations.cpp",
    "filesystem/path.cpp",
    "functional.cpp",
    "hash.cpp",
    "memory.cpp",
    "memory_resource.cpp",
    "new_handler.cpp",
    "new_helpers.cpp",
    "optional.cpp",
    "print.cpp",
    "random_shuffle.cpp",
    "ryu/d2fixed.cpp",
    "ryu/d2s.cpp",
    "ryu/f2s.cpp",
    "stdexcept.cpp",
    "string.cpp",
    "system_error.cpp",
    "typeinfo.cpp",
    "valarray.cpp",
    "variant.cpp",
    "vector.cpp",
    "verbose_abort.cpp",
    "random.cpp",
    "fstream.cpp",
    "ios.cpp",
    "ios.instantiations.cpp",
    "iostream.cpp",
    "locale.cpp",
    "ostream.cpp",
    "regex.cpp",
    "strstream.cpp",
];
/// libc++abi's sources with exceptions on and threads off (not
/// `cxa_noexception.cpp`, not `cxa_thread_atexit.cpp`): relative to
/// `libcxxabi/src`.
const LIBCXXABI_SOURCES: &[&str] = &[
    "abort_message.cpp",
    "cxa_aux_runtime.cpp",
    "cxa_default_handlers.cpp",
    "cxa_demangle.cpp",
    "cxa_exception.cpp",
    "cxa_exception_storage.cpp",
    "cxa_guard.cpp",
    "cxa_handlers.cpp",
    "cxa_personality.cpp",
    "cxa_vector.cpp",
    "cxa_virtual.cpp",
    "fallback_malloc.cpp",
    "private_typeinfo.cpp",
    "stdlib_exception.cpp",
    "stdlib_new_delete.cpp",
    "stdlib_stdexcept.cpp",
    "stdlib_typeinfo.cpp",
];
/// The tag of every C++ exception (its payload: the `_Unwind_Exception`
/// pointer). LLVM defines it only in a compiler-rt file that Debian builds
/// without exception handling, so empty.
const CPP_EXCEPTION_TAG: &str =
    ".globl __cpp_exception\n.tagtype __cpp_exception i32\n__cpp_exception:\n";

/// A C++ program the stage compiles and links as its last step: throw,
/// catch by base type, a destructor on the way; a mutex and a thread that
/// cannot start; a file stream and a filesystem query.
const SMOKE_TEST: &str = r#"#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
struct Guard { int *n; ~Guard() { ++*n; } };
static int thrower(int *n) { Guard g{n}; throw std::out_of_range(std::to_string(*n)); }
static std::recursive_mutex lock;
int main() {
    int n = 0;
    try { thrower(&n); } catch (const std::logic_error &) { n += 10; }
    std::lock_guard<std::recursive_mutex> guard(lock);
    try { std::thread([] {}).join(); } catch (const std::system_error &) { n += 100; }
    std::ofstream("smoke.txt") << n;
    if (std::filesystem::exists("smoke.txt")) n += 1000;
    return n;
}
"#;

/// The `cxx-runtime` stage.
pub struct CxxRuntime;

impl Stage for CxxRuntime {
    fn id(&self) -> StageId {
        StageId::CxxRuntime
    }
    fn contract(&self) -> Contract {
        // The sources come with the toolchain's zig.
        let contract = Contract::new(&[
            include_str!("cxx_runtime.rs"),
            include_str!("script.rs"),
            include_str!("toolchain.rs"),
            include_str!("util.rs"),
        ])
        .stage(StageId::Toolchain)
        .publishes("", Layout::cxx_runtime);
        match wasi_sdk_path() {
            Some(_) => contract,
            None => contract.pin(HEADERS_DEB),
        }
    }

    fn build(&self, cx: &StageContext, out: &Path, log: &mut Log) -> Result<()> {
        let toolchain_out = cx.output(&StageId::Toolchain)?;
        let tc = Toolchain::at(&toolchain_out);
        fs::create_dir_all(out.join("bin"))?;
        match wasi_sdk_path() {
            // A wasi-sdk brings its own C++ runtime; only the flags are ours.
            Some(sdk) => Wrapper::new(tc.tool("clang"))
                .arg("--driver-mode=g++")
                .args(EXCEPTIONS)
                .arg(THREADS)
                .write(&clang_cxx(out))
                .map(|()| log.note(&format!("using the C++ runtime of {}", sdk.display())))?,
            None => build_runtime(cx, &tc, &toolchain_out, out, log)?,
        }
        smoke_test(&clang_cxx(out), out, log)
    }
}

fn build_runtime(
    cx: &StageContext,
    tc: &Toolchain,
    toolchain_out: &Path,
    out: &Path,
    log: &mut Log,
) -> Result<()> {
    let llvm = toolchain_out.join("zig/ziglang/lib");
    let headers = install_headers(cx, &llvm, out, log)?;
    let (abi, cxx) = compile_libraries(cx, tc, &llvm, &headers, out, log)?;
    log.step("archives");
    tc.archive(&out.join("lib/libc++abi.a"), &abi, log)?;
    tc.archive(&out.join("lib/libc++.a"), &cxx, log)?;
    fs::remove_dir_all(out.join("obj"))?;

    Wrapper::new(tc.tool("clang"))
        .args(["--driver-mode=g++", "-nostdinc++", "-isystem"])
        .arg(&headers)
        .arg("-L")
        .arg(out.join("lib"))
        .args(EXCEPTIONS)
        .arg(THREADS)
        .write(&clang_cxx(out))
}

/// Debian's libc++ headers of the pinned LLVM release into
/// `<out>/include/c++/v1`, threads turned on, with libc++abi's own headers
/// from zig's sources (`llvm`), which must be the same release; their
/// directory.
fn install_headers(cx: &StageContext, llvm: &Path, out: &Path, log: &mut Log) -> Result<PathBuf> {
    log.step("headers");
    let debs = out.join("deb");
    Cmd::new("dpkg-deb")
        .arg("-x")
        .arg(cx.fetch(HEADERS_DEB, log)?)
        .arg(&debs)
        .run(log)?;
    let headers = out.join("include/c++/v1");
    if let Some(parent) = headers.parent() {
        fs::create_dir_all(parent)?;
    }
    // The headers' pin is the LLVM release both they and zig's sources
    // must be.
    let release = LlvmRelease::of_debian_version(&cx.pin(HEADERS_DEB)?.version)?;
    fs::rename(
        debs.join(release.debian_prefix()).join(HEADERS_IN_DEB),
        &headers,
    )?;
    fs::remove_dir_all(&debs)?;
    configure(&headers.join("__config_site"))?;
    // cxxabi.h comes with libc++abi's sources (Debian ships it in another
    // package, byte-identical).
    for header in ["cxxabi.h", "__cxxabi_config.h"] {
        fs::copy(
            llvm.join("libcxxabi/include").join(header),
            headers.join(header),
        )?;
    }
    for (what, config) in [
        ("Debian's headers", headers.join("__config")),
        ("zig's libc++ sources", llvm.join("libcxx/include/__config")),
    ] {
        let want = release.libcpp_version_line();
        if !fs::read_to_string(&config)?.contains(&want) {
            bail!(
                "{what} are not the LLVM release of the `{HEADERS_DEB}` pin ({want}, in {})",
                config.display()
            );
        }
    }
    Ok(headers)
}

/// Compiles libunwind, libc++abi and libc++ from zig's LLVM sources
/// (`llvm`) against `headers`: the objects of libc++abi (with libunwind's)
/// and of libc++, in `<out>/obj`.
fn compile_libraries(
    cx: &StageContext,
    tc: &Toolchain,
    llvm: &Path,
    headers: &Path,
    out: &Path,
    log: &mut Log,
) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let include = |dir: &str| format!("-I{}", llvm.join(dir).display());
    let mut base: Vec<String> = ["-O2", "-DNDEBUG", THREADS].map(String::from).to_vec();
    base.extend(EXCEPTIONS.iter().map(|f| f.to_string()));
    let mut cxx_base = base.clone();
    cxx_base.extend([
        "-std=c++23".into(),
        "-nostdinc++".into(),
        format!("-isystem{}", headers.display()),
        "-fstrict-aliasing".into(),
        "-faligned-allocation".into(),
        "-fsized-deallocation".into(),
    ]);

    log.step("libunwind");
    let objects = out.join("obj");
    let mut unwind_flags = base.clone();
    unwind_flags.extend([
        // Otherwise a non-ELF target exports with __declspec(dllexport).
        "-D_LIBUNWIND_HIDE_SYMBOLS".into(),
        include("libunwind/include"),
        "-Wno-c23-extensions".into(),
    ]);
    let tag = objects.join("cpp_exception_tag.S");
    fs::create_dir_all(&objects)?;
    fs::write(&tag, CPP_EXCEPTION_TAG)?;
    let mut unwind = tc.compile(
        [llvm.join("libunwind/src/Unwind-wasm.c"), tag],
        &unwind_flags,
        &objects.join("unwind"),
        cx.jobs(),
        log,
    )?;

    log.step("libc++abi");
    let mut abi_flags = cxx_base.clone();
    abi_flags.extend([
        "-D_LIBCXXABI_BUILDING_LIBRARY".into(),
        "-D_LIBCPP_BUILDING_LIBRARY".into(),
        "-D_LIBCXXABI_HAS_NO_THREADS".into(),
        "-DLIBCXXABI_USE_LLVM_UNWINDER".into(),
        include("libcxxabi/include"),
        include("libcxx/src"),
        include("libunwind/include"),
    ]);
    let mut abi = tc.compile(
        LIBCXXABI_SOURCES
            .iter()
            .map(|s| llvm.join("libcxxabi/src").join(s)),
        &abi_flags,
        &objects.join("cxxabi"),
        cx.jobs(),
        log,
    )?;
    abi.append(&mut unwind);

    log.step("libc++");
    let no_copy_file_range = objects.join("no_copy_file_range.h");
    fs::write(&no_copy_file_range, NO_COPY_FILE_RANGE)?;
    let mut cxx_flags = cxx_base;
    cxx_flags.extend([
        "-fvisibility=hidden".into(),
        "-fvisibility-inlines-hidden".into(),
        "-D_LIBCPP_BUILDING_LIBRARY".into(),
        "-D_LIBCPP_REMOVE_TRANSITIVE_INCLUDES".into(),
        // The real libc++abi provides exception, new_handler and typeinfo.
        "-DLIBCXX_BUILDING_LIBCXXABI".into(),
        include("libcxx/src"),
        // charconv parses floats with LLVM libc's shared code.
        include("libcxx/libc"),
        "-DLIBC_NAMESPACE=__llvm_libc_common_utils".into(),
        "-include".into(),
        no_copy_file_range.display().to_string(),
    ]);
    let cxx = tc.compile(
        LIBCXX_SOURCES
            .iter()
            .map(|s| llvm.join("libcxx/src").join(s)),
        &cxx_flags,
        &objects.join("cxx"),
        cx.jobs(),
        log,
    )?;
    Ok((abi, cxx))
}

/// Turns Debian's single-threaded `__config_site` without a filesystem
/// library into one with threads over pthreads and the filesystem library
/// ([`CONFIG_CHANGES`]).
fn configure(config_site: &Path) -> Result<()> {
    let mut text = fs::read_to_string(config_site)?;
    for (from, to) in CONFIG_CHANGES {
        if !text.contains(from) {
            bail!(
                "{} has no `{from}`: not the configuration this recipe knows",
                config_site.display()
            );
        }
        text = text.replace(from, to);
    }
    fs::write(config_site, text)?;
    Ok(())
}

/// Compiles and links a program that throws and catches, so a broken
/// runtime fails here rather than deep inside a package build.
fn smoke_test(clang_cxx: &Path, out: &Path, log: &mut Log) -> Result<()> {
    log.step("smoke test");
    let dir = out.join("smoke");
    fs::create_dir_all(&dir)?;
    fs::write(dir.join("throw.cpp"), SMOKE_TEST)?;
    // The thread emulation's `pthread_create`, which python.wasm has from
    // CPython's stubs.
    Cmd::new(clang_cxx)
        .args([
            "-O2",
            "throw.cpp",
            "-o",
            "throw.wasm",
            "-lwasi-emulated-pthread",
        ])
        .cwd(&dir)
        .run(log)
}
