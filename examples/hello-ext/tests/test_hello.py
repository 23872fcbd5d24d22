"""hello-ext's own tests: the same in python.wasm as natively."""
import sys
import zlib

import pytest

import hello_ext
from hello_ext import _speedups


def test_fibonacci():
    assert [hello_ext.fibonacci(n) for n in range(10)] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]
    assert hello_ext.fibonacci(92) == 7540113804746346429


@pytest.mark.parametrize("n", [-1, 93])
def test_fibonacci_out_of_range(n):
    with pytest.raises(ValueError, match="does not fit"):
        hello_ext.fibonacci(n)


@pytest.mark.parametrize("data", [b"", b"a", b"wasm" * 1000, bytes(range(256))])
def test_checksum_is_adler32(data):
    assert hello_ext.checksum(data) == zlib.adler32(data)
    assert hello_ext.checksum(bytearray(data)) == zlib.adler32(data)


def test_checksum_needs_bytes():
    with pytest.raises(TypeError):
        hello_ext.checksum("text")


def test_greet_names_the_platform():
    assert hello_ext.greet("you") == f"hello you from {sys.platform}, fib(20) = 6765"


def test_the_extension_is_the_packages_own():
    assert _speedups.__name__ == "hello_ext._speedups"


def test_metadata_is_installed():
    from importlib.metadata import version

    assert version("hello-ext") == "0.1.0"
