/* msync() for wasm32-wasi. wasi-libc's mmap emulation (libwasi-emulated-mman,
 * which CPython's mmap module is built over) has mmap, munmap and mprotect
 * but no msync, so the module did not link. The emulation keeps every map
 * in memory only (its munmap writes nothing back either), so there is never
 * anything to flush: msync checks its flags and succeeds, as Linux does on
 * an anonymous map. CPython's mmap makes only anonymous maps on WASI: to map
 * a file it first duplicates the descriptor, which WASI preview 1 cannot,
 * and fails with ENOTSUP.
 * Remove when: wasi-libc's emulation defines msync. */
#define _WASI_EMULATED_MMAN
#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>

int msync(void *addr, size_t length, int flags) {
    (void)addr;
    (void)length;
    int sync = flags & (MS_ASYNC | MS_SYNC);
    if ((flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) || sync == (MS_ASYNC | MS_SYNC)) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}
