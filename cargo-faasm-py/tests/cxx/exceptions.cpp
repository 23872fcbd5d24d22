// C++ exceptions on wasm32-wasip1, as the toolchain builds them: each check
// prints one line "name ok" or "name FAILED ..."; the exit code counts the
// failures. Argument "uncaught" throws something nobody catches instead.
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

static int failures = 0;
static std::vector<std::string> trail;

static void check(const char *name, bool ok, const std::string &detail = "") {
    std::printf("%s %s%s%s\n", name, ok ? "ok" : "FAILED", detail.empty() ? "" : " ", detail.c_str());
    if (!ok) ++failures;
}

struct Noisy {
    std::string name;
    explicit Noisy(std::string n) : name(std::move(n)) {}
    ~Noisy() { trail.push_back(name); }
};

struct Base : std::runtime_error { using std::runtime_error::runtime_error; };
struct Derived : Base { int code; Derived(const char *w, int c) : Base(w), code(c) {} };

[[gnu::noinline]] static void level3(int depth) {
    Noisy n("level3");
    throw Derived("deep", depth);
}
[[gnu::noinline]] static void level2(int depth) { Noisy n("level2"); level3(depth + 1); }
[[gnu::noinline]] static void level1(int depth) { Noisy n("level1"); level2(depth + 1); }

int main(int argc, char **argv) {
    if (argc > 1 && std::strcmp(argv[1], "uncaught") == 0) {
        Noisy n("main");
        throw std::logic_error("nobody catches this");
    }

    // Through three frames, caught by base type, destructors innermost first.
    try {
        level1(1);
        check("throw_through_frames", false, "nothing thrown");
    } catch (const Base &e) {
        const Derived *d = dynamic_cast<const Derived *>(&e);
        check("catch_by_base_type", d != nullptr && d->code == 3 && std::string(e.what()) == "deep");
        check("destructors_ran_in_order", trail == std::vector<std::string>{"level3", "level2", "level1"});
    }

    // The first matching handler wins; others are skipped.
    int which = 0;
    try {
        throw 42;
    } catch (const std::exception &) {
        which = 1;
    } catch (int v) {
        which = v == 42 ? 2 : 3;
    } catch (...) {
        which = 4;
    }
    check("catch_int_not_exception", which == 2);

    // Rethrow keeps the same object.
    try {
        try {
            throw Derived("first", 7);
        } catch (Derived &e) {
            e.code = 8;
            throw;
        }
    } catch (const Derived &e) {
        check("rethrow_same_object", e.code == 8);
    }

    // The library's own throws (out-of-line code in libc++).
    try {
        std::vector<int> v(3);
        (void)v.at(10);
        check("vector_at", false, "no exception");
    } catch (const std::out_of_range &) {
        check("vector_at", true);
    }
    try {
        (void)std::stoi("not a number");
        check("stoi", false, "no exception");
    } catch (const std::invalid_argument &) {
        check("stoi", true);
    }

    // Many throws: nothing leaks, nothing is left in flight.
    long sum = 0;
    for (int i = 0; i < 10000; ++i) {
        try {
            throw i;
        } catch (int v) {
            sum += v;
        }
    }
    check("many_throws", sum == 49995000L && std::uncaught_exceptions() == 0);

    // Threads: code that guards itself with mutexes runs single-threaded;
    // starting a thread fails at run time, as std::system_error.
    {
        // (Not a recursive mutex: wasi-libc's single-threaded stubs refuse
        // to lock one twice; python.wasm has CPython's stubs instead.)
        static std::mutex lock;
        std::lock_guard<std::mutex> guard(lock);
        static std::once_flag once;
        int calls = 0;
        std::call_once(once, [&] { ++calls; });
        std::call_once(once, [&] { ++calls; });
        check("mutex_and_call_once", calls == 1);
    }
    try {
        std::thread([] {}).join();
        check("thread_start_fails", false, "a thread started");
    } catch (const std::system_error &e) {
        check("thread_start_fails", e.code() == std::errc::resource_unavailable_try_again);
    }
    return failures;
}
