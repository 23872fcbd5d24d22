/*
 * The dynamic loader of python.wasm (written for faasm-py).
 *
 * Why: wasi-libc's dlopen, dlsym and dlclose fail every call ("dlopen not
 * implemented"). The link stage links this file into python.wasm as an
 * object, ahead of every library, so it replaces those stubs. `import ctypes` opens the program itself (for
 * ctypes.pythonapi), so with those stubs ctypes cannot even be imported.
 * Here the program can be opened, as the one library a static module has.
 * Opening a file fails, and so does looking up a symbol: a wasm module keeps
 * no symbol table at run time. The messages say why; ctypes raises them as
 * OSError (CDLL) and AttributeError (attribute lookup on a library).
 * Remove when: wasi-libc's dlopen can open the main program.
 */
#include <dlfcn.h>
#include <stdio.h>

static char program; /* the handle of the program itself */
/* Every refusal says "not available on wasm32-wasi": the test-suite plugins
   report tests stopped by such an error as skipped, with this message. */
static char message[320];
static int pending;

static void *fail(const char *what, const char *why) {
    snprintf(message, sizeof message, "%.120s: %s", what, why);
    pending = 1;
    return NULL;
}

void *dlopen(const char *file, int mode) {
    (void)mode;
    if (file == NULL) {
        return &program;
    }
    return fail(file, "cannot load a library: dynamic loading is not available on wasm32-wasi "
                      "(python.wasm has every extension module linked in), so ctypes cannot call "
                      "foreign functions");
}

void *dlsym(void *restrict handle, const char *restrict name) {
    (void)handle;
    return fail(name, "symbol lookup is not available on wasm32-wasi (a wasm module keeps no "
                      "symbol table at run time), so ctypes cannot call foreign functions");
}

int dlclose(void *handle) {
    if (handle == &program) {
        return 0;
    }
    fail("dlclose", "not a handle from dlopen");
    return -1;
}

char *dlerror(void) {
    if (!pending) {
        return NULL;
    }
    pending = 0;
    return message;
}
