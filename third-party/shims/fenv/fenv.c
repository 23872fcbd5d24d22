/*
 * Floating-point exception flags in software for wasm32-wasi (see
 * bits-fenv.h beside this file): one word of flags, which only
 * feraiseexcept and the environment functions change. Replaces wasi-libc's
 * fenv.o and feupdateenv.o (compiled there with no exceptions at all) in
 * the toolchain's libc.a.
 *
 * One word for the whole program: wasm32-wasi preview 1 runs one thread.
 */
#include <fenv.h>

static unsigned long flags;

int feclearexcept(int mask)
{
	flags &= ~(unsigned long)(mask & FE_ALL_EXCEPT);
	return 0;
}

int feraiseexcept(int mask)
{
	flags |= (unsigned long)(mask & FE_ALL_EXCEPT);
	return 0;
}

int fetestexcept(int mask)
{
	return (int)(flags & (unsigned long)(mask & FE_ALL_EXCEPT));
}

int fegetround(void)
{
	return FE_TONEAREST;
}

/* musl's fesetround checks its argument, then calls this. */
int __fesetround(int mode)
{
	return mode == FE_TONEAREST ? 0 : -1;
}

int fegetenv(fenv_t *env)
{
	env->__cw = flags;
	return 0;
}

int fesetenv(const fenv_t *env)
{
	flags = env == FE_DFL_ENV ? 0 : env->__cw & FE_ALL_EXCEPT;
	return 0;
}

/* Installs `env`, then raises again what was raised before. */
int feupdateenv(const fenv_t *env)
{
	unsigned long raised = flags;
	fesetenv(env);
	flags |= raised;
	return 0;
}
