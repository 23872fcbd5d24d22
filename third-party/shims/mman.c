/* mmap, munmap, msync and mprotect for wasm32-wasi, which has no memory
 * mapping. CPython's mmap module is built over these (pandas imports mmap
 * unconditionally). wasi-libc's own emulation (libwasi-emulated-mman) maps
 * a file MAP_SHARED and writable, then never writes it back (and has no
 * msync, so CPython's module did not even link): a program's writes would
 * silently be lost. Here only what can be kept honestly is mapped:
 *  - anonymous maps (zeroed memory);
 *  - private or read-only maps of a file: the file's bytes are read into
 *    memory (a private copy, as MAP_PRIVATE promises; a read-only shared map
 *    does not see later writes to the file);
 * and a writable shared map of a file fails with ENOTSUP. Nothing mapped can
 * need writing back, so msync only checks its arguments.
 * Remove when: WASI can map files (it cannot in preview 1). */
#define _WASI_EMULATED_MMAN
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Kept before each map, to check munmap's length. */
struct map_header {
    size_t length;
    size_t pad; /* keeps the data 16-byte aligned after malloc's 16 */
};

void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) {
    (void)addr;
    int sharing = flags & (MAP_SHARED | MAP_PRIVATE);
    int known = MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS;
    if (length == 0 || (sharing != MAP_SHARED && sharing != MAP_PRIVATE) || (flags & ~known) ||
        prot == PROT_NONE || (prot & PROT_EXEC) || offset < 0) {
        errno = EINVAL;
        return MAP_FAILED;
    }
    int anonymous = (flags & MAP_ANONYMOUS) != 0;
    if (!anonymous && sharing == MAP_SHARED && (prot & PROT_WRITE)) {
        errno = ENOTSUP;
        return MAP_FAILED;
    }
    if (length > SIZE_MAX - sizeof(struct map_header)) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    struct map_header *header = calloc(1, sizeof(struct map_header) + length);
    if (header == NULL) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    header->length = length;
    char *data = (char *)(header + 1);
    if (!anonymous) {
        size_t done = 0;
        while (done < length) {
            ssize_t n = pread(fd, data + done, length - done, offset + (off_t)done);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                int saved = errno;
                free(header);
                errno = saved;
                return MAP_FAILED;
            }
            if (n == 0) {
                break; /* past the end of the file: zeros, as a map's last page */
            }
            done += (size_t)n;
        }
    }
    return data;
}

int munmap(void *addr, size_t length) {
    if (addr == NULL) {
        errno = EINVAL;
        return -1;
    }
    struct map_header *header = (struct map_header *)addr - 1;
    if (header->length != length) {
        errno = EINVAL; /* only whole maps are unmapped */
        return -1;
    }
    free(header);
    return 0;
}

int msync(void *addr, size_t length, int flags) {
    (void)addr;
    (void)length;
    int mode = flags & (MS_ASYNC | MS_SYNC);
    if ((flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) || mode == (MS_ASYNC | MS_SYNC)) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

int mprotect(void *addr, size_t length, int prot) {
    (void)addr;
    (void)length;
    if (prot != (PROT_READ | PROT_WRITE)) {
        errno = ENOTSUP; /* linear memory is always readable and writable */
        return -1;
    }
    return 0;
}
