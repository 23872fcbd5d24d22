/*
 * Why: C++ code built without wasm exception handling (numpy's pocketfft has
 * `throw` on its error paths) still calls the Itanium ABI entry points
 * __cxa_allocate_exception and __cxa_throw, and the wasm32 libc++abi in the
 * sysroot is built without exception support, so it defines neither. A
 * throw cannot unwind on wasm32-wasi preview 1 anyway: these report that a
 * C++ exception was raised and abort, which the host sees as a trap naming
 * __cxa_throw. Everything on the non-throwing paths works unchanged.
 * Remove when: the toolchain supports wasm exception handling end to end
 * (libc++abi built with -fwasm-exceptions and a runtime that runs it).
 */
#include <stdio.h>
#include <stdlib.h>

void *__cxa_allocate_exception(size_t size) {
    void *p = malloc(size);
    if (p == NULL) {
        abort();
    }
    return p;
}

void __cxa_free_exception(void *p) {
    free(p);
}

__attribute__((noreturn)) void __cxa_throw(void *exception, void *type, void (*destructor)(void *)) {
    (void)exception;
    (void)type;
    (void)destructor;
    fputs("python.wasm: a C++ exception was thrown; wasm32-wasi builds cannot unwind it\n", stderr);
    abort();
}
