/* Destructors of C++ `thread_local` objects (SciPy's _uarray and HiGHS have
   some), which the compiler registers through __cxa_thread_atexit. Our
   libc++abi is built without threads, so without its cxa_thread_atexit.cpp
   (which needs the C library's __cxa_thread_atexit_impl, which wasi-libc
   has not). python.wasm has one thread, whose exit is the program's: its
   thread-locals are destroyed at exit, with the other exit handlers in
   reverse order of registration, as libc++abi's own fallback does for
   the main thread. Linked as an object of the program. */
int __cxa_atexit(void (*func)(void *), void *arg, void *dso);

int __cxa_thread_atexit(void (*dtor)(void *), void *obj, void *dso_symbol) {
    return __cxa_atexit(dtor, obj, dso_symbol);
}
