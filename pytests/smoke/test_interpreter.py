"""Short checks of the interpreter inside python.wasm."""
import sys
import zlib


def test_platform():
    assert sys.platform == "wasi"
    assert sys.version_info[:2] == (3, 13)


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
