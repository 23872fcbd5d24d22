"""Functions and a type whose C definitions do not match the signatures
CPython calls them through (see _sloppy.c)."""
from sloppy_ext._sloppy import Counter, fast_kw_sum, fast_sum, noargs, one_arg, varargs, varkw

__all__ = ["Counter", "fast_kw_sum", "fast_sum", "noargs", "one_arg", "varargs", "varkw"]
