"""Short checks of numpy inside python.wasm."""
import numpy as np
import pytest


def test_version():
    # The exact version is the pin's (tests/numpy.rs checks it against the
    # native wheel); here, that the package is whole and a numpy 2.
    assert np.__version__ == np.version.version
    assert int(np.__version__.split(".")[0]) >= 2


def test_unique_by_hashing():
    # Compiled with C++ exceptions (numpy >= 2.3).
    assert np.unique(np.array([3, 1, 3, 2]), sorted=False).size == 3


def test_reductions():
    a = np.arange(12).reshape(3, 4)
    assert a.sum() == 66
    assert a.sum(axis=0).tolist() == [12, 15, 18, 21]
    assert np.add.reduce(np.arange(6.0), where=np.arange(6) > 2) == 12.0


def test_linalg():
    m = np.array([[2.0, 1.0], [1.0, 3.0]])
    np.testing.assert_allclose(m @ np.linalg.inv(m), np.eye(2), atol=1e-12)


@pytest.mark.parametrize("dtype", ["i1", "i8", "f4", "f8", "c16", "M8[s]", "U3"])
def test_sort_each_dtype(dtype):
    a = np.array([3, 1, 2]).astype(dtype)
    assert np.sort(a).tolist() == np.array([1, 2, 3]).astype(dtype).tolist()


def test_random_is_reproducible():
    assert np.random.default_rng(0).integers(0, 1000, 3).tolist() == [850, 636, 511]
