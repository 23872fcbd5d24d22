"""Each package's compiled modules are built into python.wasm (their import
spec says "built-in"), so the package's own suite tests them rather than a
pure-Python fallback. Natively the same modules are extension files."""
import importlib
import sys

import pytest

COMPILED = [
    "markupsafe._speedups",
    "regex._regex",
    "mmh3",
    "bitarray._bitarray",
    "bitarray._util",
    "simplejson._speedups",
    "msgspec._core",
    "wrapt._wrappers",
    "zope.interface._zope_interface_coptimizations",
    "kiwisolver._cext",
    "ujson",
    "xxhash._xxhash",
    "_brotli",
    "multidict._multidict",
    "propcache._helpers_c",
    "frozenlist._frozenlist",
    "yarl._quoting_c",
    "charset_normalizer.md",
    "charset_normalizer.cd",
    "zstandard.backend_c",
]


@pytest.mark.parametrize("name", COMPILED)
def test_compiled_module_is_built_in(name):
    module = importlib.import_module(name)
    if sys.platform == "wasi":
        assert module.__spec__.origin == "built-in", module.__spec__
    else:
        assert module.__spec__.origin.endswith((".so", ".pyd")), module.__spec__


def test_the_packages_use_their_compiled_parts():
    import markupsafe
    import multidict

    assert markupsafe._escape_inner is importlib.import_module("markupsafe._speedups")._escape_inner
    assert multidict.MultiDict.__module__ == "multidict._multidict"
