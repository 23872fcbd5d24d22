// python.wasm's entry point: the generated C main (faasm_py_main, main.c)
// inside a handler that makes a C++ exception nobody caught end the program
// the way it ends a native one: std::terminate, whose handler prints
// "libc++abi: terminating due to uncaught exception of type T: what()" and
// aborts. Without it, wasm's unwinder carries the exception out of _start
// and the host only learns that a "thrown Wasm exception" escaped.
// Exceptions pass through CPython's C frames untouched, so this catches
// whatever an extension module let escape.
#include <exception>

extern "C" int faasm_py_main(int argc, char **argv);

int main(int argc, char **argv) {
    try {
        return faasm_py_main(argc, argv);
    } catch (...) {
        std::terminate();
    }
}
