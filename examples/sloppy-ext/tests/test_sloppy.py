"""Each C function of sloppy_ext is declared with a signature other than the
one CPython calls it through; each must answer as it does natively. Calls
repeat, so that the interpreter's specialized call instructions (which take
other paths into C than the first, generic calls) are exercised too."""
import functools

import pytest

import sloppy_ext
from sloppy_ext import Counter

# More than the specializing interpreter needs to rewrite a call site.
REPEAT = 100


def test_noargs_declared_without_its_null():
    assert [sloppy_ext.noargs() for _ in range(REPEAT)] == ["noargs"] * REPEAT


def test_one_arg_declared_without_its_argument():
    assert [sloppy_ext.one_arg(i) for i in range(REPEAT)] == ["one_arg"] * REPEAT


def test_varargs_declared_with_keywords():
    assert [sloppy_ext.varargs(*range(i % 5)) for i in range(REPEAT)] == [i % 5 for i in range(REPEAT)]
    # A call with an empty keywords dict takes the tp_call path.
    assert sloppy_ext.varargs(1, 2, **{}) == 2


def test_varkw_declared_without_keywords():
    assert [sloppy_ext.varkw(*range(i % 4)) for i in range(REPEAT)] == [i % 4 for i in range(REPEAT)]


def test_fastcall_declared_with_keyword_names():
    assert [sloppy_ext.fast_sum(i, 1, 2) for i in range(REPEAT)] == [i + 3 for i in range(REPEAT)]
    with pytest.raises(TypeError):
        sloppy_ext.fast_sum(1, "two")


def test_fastcall_keywords_declared_without_keyword_names():
    assert [sloppy_ext.fast_kw_sum(i, i) for i in range(REPEAT)] == [2 * i for i in range(REPEAT)]


def test_getter_and_setter_declared_without_closure():
    c = Counter()
    assert c.value == 0
    for i in range(REPEAT):
        c.value = i
        assert c.value == i
    with pytest.raises(TypeError):
        c.value = "x"
    with pytest.raises(AttributeError, match="cannot delete"):
        del c.value


def test_methods_declared_without_their_second_parameter():
    c = Counter()
    assert [c.bump() for _ in range(REPEAT)] == list(range(1, REPEAT + 1))
    assert c.reset(None) is None
    assert c.value == 0
    # Through the method descriptor, unbound.
    assert [Counter.bump(c) for _ in range(3)] == [1, 2, 3]


def test_defining_class_method_declared_without_keyword_names():
    c = Counter()
    c.value = 10
    assert [c.method_sum(i, 1) for i in range(REPEAT)] == [i + 11 for i in range(REPEAT)]


def test_through_other_callers():
    # map, functools.partial and sorted's key call through vectorcall and
    # PyObject_Call rather than the interpreter's own call instructions.
    assert list(map(sloppy_ext.one_arg, range(3))) == ["one_arg"] * 3
    assert functools.partial(sloppy_ext.fast_sum, 1)(2, 3) == 6
    assert sorted([3, 1, 2], key=sloppy_ext.one_arg) == [3, 1, 2]
    c = Counter()
    assert list(map(Counter.bump, [c, c])) == [1, 2]
    assert getattr(c, "value") == 2


def test_init_and_repr_slots_declared_with_other_parameters():
    assert [repr(Counter(i)) for i in range(3)] == ["Counter(0)", "Counter(1)", "Counter(2)"]
    with pytest.raises(TypeError):
        Counter("x")


def test_the_collector_clears_cycles_through_a_clear_that_returns_nothing():
    import gc
    import weakref

    class Sub(Counter):
        pass

    # A cycle of the C type, and one of a Python subclass (whose tp_clear
    # calls the C type's).
    a, b = Counter(1), Counter(2)
    a.link, b.link = b, a
    del a, b
    assert gc.collect() >= 2
    c, d = Sub(3), Sub(4)
    c.link, d.link = d, c
    alive = weakref.ref(c)
    del c, d
    gc.collect()
    assert alive() is None
