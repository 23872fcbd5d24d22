/* gethostname() for wasm32-wasi. wasi-libc (2024-12) declares it but does
 * not define it, so CPython's configure left socket.gethostname out and the
 * test suite skipped every module that needs a host name. The guest's host
 * name is the node name uname() reports, which is how musl and glibc derive
 * it too; wasi-libc fixes that name (the sandbox has no network identity),
 * so every run sees the same one, and os.uname(), platform.node() and
 * socket.gethostname() agree.
 * Remove when: wasi-libc defines gethostname (its 2026 snapshots do). */
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

int gethostname(char *name, size_t len) {
    struct utsname uts;
    if (uname(&uts) != 0) {
        return -1;
    }
    size_t n = strnlen(uts.nodename, sizeof uts.nodename);
    if (n >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(name, uts.nodename, n + 1);
    return 0;
}
