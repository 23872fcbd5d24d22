/*
 * <bits/fenv.h> for wasm32-wasi, installed by faasm-py's toolchain stage in
 * place of wasi-libc's (which has no exceptions: FE_ALL_EXCEPT is 0).
 *
 * WebAssembly has no floating-point status register, so arithmetic never
 * raises these. They are kept in software by the fenv.o the same stage puts
 * into libc.a (fenv.c beside this file): feraiseexcept sets them,
 * fetestexcept and feclearexcept read and clear them. Code that raises
 * exceptions on purpose (numpy's integer division by zero and overflow, its
 * checked casts) then behaves as on hardware with flags; code that relies
 * on arithmetic setting them sees none, as before.
 *
 * The values are x86's, so that a printed mask reads the same.
 */
#define FE_INVALID    1
#define FE_DIVBYZERO  4
#define FE_OVERFLOW   8
#define FE_UNDERFLOW  16
#define FE_INEXACT    32
#define FE_ALL_EXCEPT 61

/* wasm rounds to nearest and nothing else. */
#define FE_TONEAREST  0

typedef unsigned long fexcept_t;

typedef struct {
	unsigned long __cw;
} fenv_t;

#define FE_DFL_ENV      ((const fenv_t *) -1)
