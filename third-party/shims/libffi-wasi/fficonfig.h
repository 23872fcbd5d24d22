/*
 * What libffi's configure would find for wasm32-wasi (written for
 * faasm-py): its configure script knows wasm32 only as Emscripten, so the
 * few facts the generic sources need are stated here instead.
 */
#define HAVE_ALLOCA_H 1
#define HAVE_LONG_DOUBLE 1
#define HAVE_MEMCPY 1
#define STDC_HEADERS 1
#define SIZEOF_DOUBLE 8
#define SIZEOF_LONG_DOUBLE 16
#define FFI_HIDDEN __attribute__((visibility("hidden")))
