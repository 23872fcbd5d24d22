"""hello-ext: a pure-Python face over a small C extension."""
from ._speedups import checksum, fibonacci

__all__ = ["checksum", "fibonacci", "greet"]


def greet(name):
    """A greeting that says where it ran."""
    import sys

    return f"hello {name} from {sys.platform}, fib(20) = {fibonacci(20)}"
