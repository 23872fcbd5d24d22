"""hello-rust's own tests, inside python.wasm: PyO3 functions, a class,
exceptions both ways, and a Rust panic that must arrive as PyO3's
PanicException (the interpreter lives on)."""
import sys

import pytest

import hello_rust
from hello_rust import _native


def test_the_module_is_built_in():
    assert _native.__name__ == "hello_rust._native"
    assert hello_rust.__version__ == "0.1.0"
    if sys.platform == "wasi":
        assert "hello_rust._native" in sys.builtin_module_names


def test_fibonacci():
    assert [hello_rust.fibonacci(n) for n in range(10)] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]
    assert hello_rust.fibonacci(93) == 12200160415121876738


@pytest.mark.parametrize("n", [-1, 94])
def test_fibonacci_out_of_range(n):
    with pytest.raises(ValueError, match="does not fit"):
        hello_rust.fibonacci(n)


def test_argument_types_are_checked():
    with pytest.raises(TypeError):
        hello_rust.fibonacci("ten")
    with pytest.raises(OverflowError):
        hello_rust.fibonacci(2**80)


def test_strings_and_dicts_cross_over():
    assert hello_rust.word_counts("A rose is a Rose is ä rose") == {
        "a": 2, "rose": 3, "is": 2, "ä": 1,
    }
    assert hello_rust.top_words("b a b c a b", 2) == ["b", "a"]


def test_python_exceptions_pass_through_rust():
    assert hello_rust.sum_of(lambda x: x * x, [1, 2, 3]) == 14

    def fails(x):
        raise KeyError(x)

    with pytest.raises(KeyError, match="2"):
        hello_rust.sum_of(lambda x: fails(x) if x == 2 else x, [1, 2, 3])


def test_a_class():
    mean = hello_rust.Mean()
    with pytest.raises(ValueError, match="nothing"):
        mean.value
    for v in (1.0, 2.0, 6.0):
        mean.add(v)
    assert mean.value == 3.0
    assert len(mean) == 3
    assert repr(mean) == "Mean(count=3)"


def test_a_panic_is_a_python_exception():
    before = hello_rust.drops()
    assert hello_rust.panic_if_positive(-1, "no") == -1
    with pytest.raises(BaseException) as caught:
        hello_rust.panic_if_positive(5, "it went wrong")
    assert type(caught.value).__name__ == "PanicException"
    assert "it went wrong (5)" in str(caught.value)
    # The guard's destructor ran as the panic unwound, both times.
    assert hello_rust.drops() == before + 2


def test_the_interpreter_lives_on_after_panics():
    for i in range(3):
        with pytest.raises(BaseException, match="again"):
            hello_rust.panic_if_positive(i + 1, "again")
    assert hello_rust.fibonacci(20) == 6765
