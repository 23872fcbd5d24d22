/*
 * libffi's target part for wasm32-wasi (written for faasm-py).
 *
 * Why: libffi's own wasm32 port (src/wasm32/ffi.c) is for Emscripten: it
 * builds call frames and closures in JavaScript. wasm32-wasi has no
 * JavaScript host, cannot create functions at run time and has no dynamic
 * loader. Everything else comes unchanged from the pinned libffi release:
 * ffi.h, the wasm32 ffitarget.h (ABI FFI_WASM32), the type descriptors
 * (types.c) and ffi_prep_cif (prep_cif.c). This file is only the part that
 * does not exist upstream.
 *
 * What it does: a call goes through a C function pointer of the matching
 * prototype, so that the module's call_indirect checks the callee's type.
 * A wasm call through the wrong function type traps, so only the prototypes
 * below are prepared: up to MAX_ARGS arguments and a result that all lower
 * to a wasm i32 (integers up to 32 bits, pointers), or no result. That is
 * every function ctypes itself calls (memmove, memset, string_at,
 * wstring_at, cast). ffi_prep_cif refuses any other prototype with
 * FFI_BAD_ABI before a call is tried, and closures cannot be prepared.
 *
 * Remove when: libffi has a WASI target.
 */
#include <ffi.h>
#include <ffi_common.h>

#include <stdint.h>
#include <stdlib.h>

#define MAX_ARGS 6

/* cif->flags: what ffi_call stores as the result. */
enum { RESULT_VOID, RESULT_I32 };

static int lowers_to_i32(const ffi_type *t) {
    switch (t->type) {
    case FFI_TYPE_INT:
    case FFI_TYPE_UINT8:
    case FFI_TYPE_SINT8:
    case FFI_TYPE_UINT16:
    case FFI_TYPE_SINT16:
    case FFI_TYPE_UINT32:
    case FFI_TYPE_SINT32:
    case FFI_TYPE_POINTER:
        return 1;
    default:
        return 0;
    }
}

ffi_status ffi_prep_cif_machdep(ffi_cif *cif) {
    if (cif->abi != FFI_WASM32 || cif->nargs > MAX_ARGS) {
        return FFI_BAD_ABI;
    }
    for (unsigned i = 0; i < cif->nargs; i++) {
        if (!lowers_to_i32(cif->arg_types[i])) {
            return FFI_BAD_ABI;
        }
    }
    if (cif->rtype->type == FFI_TYPE_VOID) {
        cif->flags = RESULT_VOID;
    } else if (lowers_to_i32(cif->rtype)) {
        cif->flags = RESULT_I32;
    } else {
        return FFI_BAD_ABI;
    }
    cif->nfixedargs = cif->nargs;
    return FFI_OK;
}

/* The wasm32 C ABI passes variadic arguments in a memory buffer whose
   layout no caller-side code here builds. */
ffi_status ffi_prep_cif_machdep_var(ffi_cif *cif, unsigned nfixedargs, unsigned ntotalargs) {
    (void)cif;
    (void)nfixedargs;
    (void)ntotalargs;
    return FFI_BAD_ABI;
}

/* An argument as the i32 the callee receives: narrower integers are
   extended as C's default promotions extend them. */
static uint32_t load_i32(const ffi_type *t, const void *p) {
    switch (t->type) {
    case FFI_TYPE_SINT8:
        return (uint32_t)(int32_t) * (const int8_t *)p;
    case FFI_TYPE_UINT8:
        return *(const uint8_t *)p;
    case FFI_TYPE_SINT16:
        return (uint32_t)(int32_t) * (const int16_t *)p;
    case FFI_TYPE_UINT16:
        return *(const uint16_t *)p;
    default:
        return *(const uint32_t *)p;
    }
}

/* The result widened to ffi_arg, as libffi's callers expect for integral
   results narrower than a register. */
static ffi_arg widen(const ffi_type *t, uint32_t r) {
    switch (t->type) {
    case FFI_TYPE_SINT8:
        return (ffi_arg)(ffi_sarg)(int8_t)r;
    case FFI_TYPE_UINT8:
        return (uint8_t)r;
    case FFI_TYPE_SINT16:
        return (ffi_arg)(ffi_sarg)(int16_t)r;
    case FFI_TYPE_UINT16:
        return (uint16_t)r;
    default:
        return r;
    }
}

typedef uint32_t w;

static w call_i32(void (*fn)(void), unsigned n, const w *a) {
    switch (n) {
    case 0:
        return ((w(*)(void))fn)();
    case 1:
        return ((w(*)(w))fn)(a[0]);
    case 2:
        return ((w(*)(w, w))fn)(a[0], a[1]);
    case 3:
        return ((w(*)(w, w, w))fn)(a[0], a[1], a[2]);
    case 4:
        return ((w(*)(w, w, w, w))fn)(a[0], a[1], a[2], a[3]);
    case 5:
        return ((w(*)(w, w, w, w, w))fn)(a[0], a[1], a[2], a[3], a[4]);
    default:
        return ((w(*)(w, w, w, w, w, w))fn)(a[0], a[1], a[2], a[3], a[4], a[5]);
    }
}

static void call_void(void (*fn)(void), unsigned n, const w *a) {
    switch (n) {
    case 0:
        ((void (*)(void))fn)();
        break;
    case 1:
        ((void (*)(w))fn)(a[0]);
        break;
    case 2:
        ((void (*)(w, w))fn)(a[0], a[1]);
        break;
    case 3:
        ((void (*)(w, w, w))fn)(a[0], a[1], a[2]);
        break;
    case 4:
        ((void (*)(w, w, w, w))fn)(a[0], a[1], a[2], a[3]);
        break;
    case 5:
        ((void (*)(w, w, w, w, w))fn)(a[0], a[1], a[2], a[3], a[4]);
        break;
    default:
        ((void (*)(w, w, w, w, w, w))fn)(a[0], a[1], a[2], a[3], a[4], a[5]);
        break;
    }
}

void ffi_call(ffi_cif *cif, void (*fn)(void), void *rvalue, void **avalue) {
    w args[MAX_ARGS] = {0};
    /* ffi_prep_cif accepted this cif, so nargs <= MAX_ARGS. */
    for (unsigned i = 0; i < cif->nargs; i++) {
        args[i] = load_i32(cif->arg_types[i], avalue[i]);
    }
    if (cif->flags == RESULT_VOID) {
        call_void(fn, cif->nargs, args);
        return;
    }
    w r = call_i32(fn, cif->nargs, args);
    if (rvalue != NULL) {
        *(ffi_arg *)rvalue = widen(cif->rtype, r);
    }
}

/* A closure is a new function made at run time; a wasm module cannot make
   one, so ffi_prep_closure_loc refuses every closure. Its memory is only
   memory, though: it is allocated (CPython 3.14's _ctypes allocates and
   frees one at import, to warm up its allocator), but its code address is
   not a function and is never prepared into one. */
void *ffi_closure_alloc(size_t size, void **code) {
    void *closure = calloc(1, size == 0 ? 1 : size);
    if (code != NULL) {
        *code = closure;
    }
    return closure;
}

void ffi_closure_free(void *closure) {
    free(closure);
}

ffi_status ffi_prep_closure_loc(ffi_closure *closure, ffi_cif *cif,
                                void (*fun)(ffi_cif *, void *, void **, void *),
                                void *user_data, void *codeloc) {
    (void)closure;
    (void)cif;
    (void)fun;
    (void)user_data;
    (void)codeloc;
    return FFI_BAD_ABI;
}
