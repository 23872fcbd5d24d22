/* The pthread functions python.wasm's code may call beyond those CPython's
   own single-threaded stubs define (HAVE_PTHREAD_STUBS): libc++, built with
   threads over pthreads, notifies all waiters of a condition variable.
   wasi-libc defines these too, but in the same objects as functions
   CPython defines (condvar.o, mutex.o), so taking wasi-libc's would define
   those twice. With one thread nothing ever waits, and a mutex a thread
   holds is never held by another. Linked as an object of the program,
   ahead of every library. */
#include <pthread.h>
#include <time.h>

int pthread_cond_broadcast(pthread_cond_t *cond) {
    (void)cond;
    return 0;
}

int pthread_mutex_timedlock(pthread_mutex_t *restrict mutex, const struct timespec *restrict at) {
    (void)at;
    return pthread_mutex_lock(mutex);
}

int pthread_mutex_consistent(pthread_mutex_t *mutex) {
    (void)mutex;
    return 0;
}

/* No fork on WASI, so the handlers never run (ducc0, in SciPy's FFT,
   registers some to reset its thread pool in a child). */
int pthread_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void)) {
    (void)prepare;
    (void)parent;
    (void)child;
    return 0;
}
