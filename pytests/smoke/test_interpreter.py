"""Short checks of the interpreter inside python.wasm."""
import os
import sys
import zlib


def test_platform():
    assert sys.platform == "wasi"
    # One build per CPython version (--python X.Y): the interpreter runs the
    # standard library of its own version.
    assert sys.version_info[:2] >= (3, 13)
    stdlib = os.path.basename(os.path.dirname(os.__file__))
    assert stdlib == "python%d.%d" % sys.version_info[:2]


def test_zlib_round_trip():
    data = b"faasm-py " * 1000
    assert zlib.decompress(zlib.compress(data)) == data


def test_recursion_is_deep_enough():
    def depth(n):
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(500) == 500


def test_tmp_is_writable(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("ok")
    assert path.read_text() == "ok"
