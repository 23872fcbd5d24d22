# Computations run twice by tests/numpy.rs: inside python.wasm and with the
# native numpy wheel of the same version on the host. Prints one JSON object;
# keys starting with "approx:" are compared with a tolerance (different
# LAPACK/BLAS underneath), all others must be identical.
import hashlib
import json
import numpy as np

out = {}


def put(name, value):
    out[name] = np.asarray(value).tolist() if not isinstance(value, (str, int, float)) else value


# Every distribution, each from a fresh generator with a fixed seed.
GENERATOR = {
    "beta": (2.0, 3.0), "binomial": (10, 0.3), "chisquare": (3.0,), "dirichlet": ([1.0, 2.0, 3.0],),
    "exponential": (), "f": (3.0, 4.0), "gamma": (2.0,), "geometric": (0.3,), "gumbel": (),
    "hypergeometric": (10, 5, 7), "integers": (0, 100), "laplace": (), "logistic": (),
    "lognormal": (), "logseries": (0.5,), "multinomial": (10, [0.2, 0.3, 0.5]),
    "multivariate_hypergeometric": ([3, 4, 5], 6), "negative_binomial": (5, 0.5),
    "noncentral_chisquare": (3.0, 2.0), "noncentral_f": (3.0, 4.0, 2.0), "normal": (),
    "pareto": (3.0,), "poisson": (3.0,), "power": (3.0,), "random": (), "rayleigh": (),
    "standard_cauchy": (), "standard_exponential": (), "standard_gamma": (2.0,),
    "standard_normal": (), "standard_t": (5.0,), "triangular": (0.0, 1.0, 3.0), "uniform": (),
    "vonmises": (0.0, 1.0), "wald": (1.0, 1.0), "weibull": (2.0,), "zipf": (2.0,),
}
for name, args in GENERATOR.items():
    put(f"Generator.{name}", getattr(np.random.default_rng(12345), name)(*args, size=7))
put("Generator.choice", np.random.default_rng(1).choice(100, 5, replace=False))
put("Generator.permutation", np.random.default_rng(2).permutation(10))
put("approx:Generator.multivariate_normal",
    np.random.default_rng(3).multivariate_normal([0.0, 1.0], [[2.0, 0.5], [0.5, 1.0]], size=3))

LEGACY = dict(GENERATOR)
for name in ("integers", "multivariate_hypergeometric", "random"):
    del LEGACY[name]
LEGACY.update({"randint": (0, 100), "random_sample": (), "rand": None, "randn": None,
               "tomaxint": None})
for name, args in LEGACY.items():
    rs = np.random.RandomState(12345)
    if name in ("rand", "randn"):
        value = getattr(rs, name)(7)
    elif name == "tomaxint":
        value = rs.randint(0, 2**31 - 1, size=7)
    else:
        value = getattr(rs, name)(*args, size=7)
    put(f"RandomState.{name}", value)

put("default_rng(0).random(3)", np.random.default_rng(0).random(3))
put("arange(10).sum()", int(np.arange(10).sum()))

m = np.array([[4.0, 1.0, 2.0], [1.0, 3.0, 0.5], [2.0, 0.5, 5.0]])
put("approx:linalg.inv", np.linalg.inv(m))
put("approx:linalg.eigvals", np.sort(np.linalg.eigvals(m).real))
put("approx:linalg.solve", np.linalg.solve(m, [1.0, 2.0, 3.0]))
f = np.fft.fft(np.arange(8.0))
put("approx:fft.real", f.real)
put("approx:fft.imag", f.imag)

# BLAS: OpenBLAS in the guest, the wheel's own natively. Integer-valued
# inputs make every product and partial sum exact (|x| <= 8, sums < 2**24,
# so float32 too), so the results must be bit-identical whatever order the
# kernels sum in; shapes cover GEMM (plain, transposed, the a @ a.T that
# numpy hands to SYRK, blocks across kernel panels, strided views numpy
# copies first), GEMV, DOT, VDOT and inner, for every type numpy hands to
# CBLAS. Random float64 inputs are compared approximately. Only the sign of
# an exact zero may differ (the wheel's x86 zgemm gives -0.0 where the wasm
# kernel gives 0.0): adding 0 makes every zero +0.0 before hashing.
def digest(x):
    return hashlib.sha256((np.ascontiguousarray(x) + 0).tobytes()).hexdigest()


blas_rng = np.random.default_rng(7)
for dtype in ("float64", "float32", "complex128", "complex64"):
    def mat(*shape):
        x = blas_rng.integers(-8, 9, size=shape).astype(dtype)
        if dtype.startswith("complex"):
            x += 1j * blas_rng.integers(-8, 9, size=shape)
        return x

    a, b, big, v, w = mat(37, 64), mat(64, 29), mat(256, 256), mat(64), mat(64)
    put(f"blas {dtype} matmul", digest(a @ b))
    put(f"blas {dtype} matmul transposed", digest(b.T @ a.T))
    put(f"blas {dtype} a @ a.T", digest(a @ a.T))
    put(f"blas {dtype} 256x256", digest(big @ big))
    put(f"blas {dtype} strided", digest(big[::2, ::3] @ big[::3, ::2]))
    put(f"blas {dtype} gemv", digest(a @ v))
    put(f"blas {dtype} dot", digest(np.dot(v, w)))
    put(f"blas {dtype} vdot", digest(np.vdot(v, w)))
    put(f"blas {dtype} inner", digest(np.inner(a, a)))
r1, r2 = blas_rng.random((50, 40)), blas_rng.random((40, 30))
put("approx:blas float64 random matmul", r1 @ r2)
put("approx:blas float64 random dot", np.dot(r1[0], r2[:, 0]))
# OpenBLAS's LAPACK (C_LAPACK): blocked paths above the block size of 64,
# the drivers behind eigh/svd/eig/qr, single precision and complex;
# well-conditioned inputs, compared as values (signs of singular and
# eigenvectors are not unique, so only invariant quantities).
spd = blas_rng.random((150, 150))
spd = spd @ spd.T + 150 * np.eye(150)
sq = blas_rng.random((200, 200)) + 200 * np.eye(200)
put("approx:lapack solve 200", np.linalg.solve(sq, np.arange(200.0)))
put("approx:lapack inv 200", np.linalg.inv(sq)[::17, ::13])
put("approx:lapack cholesky 150", np.linalg.cholesky(spd)[::11, ::7])
put("approx:lapack det 200", np.linalg.det(sq / 200))
put("approx:lapack lstsq 200x120", np.linalg.lstsq(sq[:, :120], np.ones(200), rcond=None)[0][::9])
put("approx:lapack eigvalsh 150", np.linalg.eigvalsh(spd)[::7])
put("approx:lapack svd values 200x120", np.linalg.svd(sq[:, :120], compute_uv=False)[::9])
pairs = lambda z: np.stack([np.real(z), np.imag(z)], -1)
put("approx:lapack eigvals 120", pairs(np.sort_complex(np.linalg.eigvals(sq[:120, :120] / 200)))[::11])
put("approx:lapack qr r diagonal 200x120", np.abs(np.diag(np.linalg.qr(sq[:, :120])[1]))[::9])
x64 = np.linalg.solve(sq[:100, :100], np.ones(100))
x32 = np.linalg.solve(sq[:100, :100].astype(np.float32), np.ones(100, np.float32))
put("lapack float32 solve agrees with float64", [str(x32.dtype), bool(np.allclose(x32, x64, rtol=1e-4))])
csq = sq[:100, :100] + 1j * blas_rng.random((100, 100))
put("approx:lapack complex solve 100", pairs(np.linalg.solve(csq, np.ones(100)))[::9])
herm = csq @ csq.conj().T
put("approx:lapack complex eigvalsh 100", np.linalg.eigvalsh(herm)[::9])

d = np.datetime64("2024-02-28") + np.arange(3)
put("datetime64", [str(x) for x in d] + [str(np.datetime64("2024-03-01T12:00") - np.datetime64("2024-01-01"))])
s = np.array(["wasm", "numpy", "é"])
put("str arrays", [str(x) for x in np.char.upper(s)] + [str(s.dtype)])
b = np.array([b"ab", b"cde"])
put("bytes arrays", [x.decode() for x in b] + [str(b.dtype), int(b.itemsize)])
st = np.zeros(3, dtype=[("id", "<i4"), ("pos", "<f8", (2,)), ("name", "S5")])
st["id"] = [3, 1, 2]
st["pos"][:, 0] = [0.5, 1.5, 2.5]
st["name"] = [b"c", b"a", b"b"]
put("structured", [st.dtype.itemsize, st.dtype.descr.__repr__(), np.sort(st, order="id")["name"].tolist().__repr__()])
a = np.arange(12.0).reshape(3, 4)
put("einsum", np.einsum("ij,kj->ik", a, a))
put("sort", np.sort(np.array([3, 1, 2, 9, -4, 7]), kind="stable"))
put("argsort", np.argsort(np.array([0.5, -1.0, 2.0, 0.0]), kind="mergesort"))
# The default sort of 32- and 64-bit numbers: Highway's vqsort in python.wasm
# (numpy patch 0010), x86-simd-sort or numpy's own introsort natively. The
# sorted bytes must be the same, but for two choices each algorithm makes
# its own way: where -0.0 goes among zeros (so there is none), and the NaN
# it writes at the end (vqsort writes its own, as numpy does on Arm: so the
# NaNs' places are compared, not their payloads).
sort_rng = np.random.default_rng(7)


def sorted_digest(a):
    if a.dtype.kind == "f":
        a = np.where(np.isnan(a), np.nan, a).astype(a.dtype)
    return hashlib.sha256(a.tobytes()).hexdigest()


for dtype in ["float64", "float32", "int64", "int32", "uint64", "uint32"]:
    info = np.finfo(dtype) if dtype.startswith("float") else np.iinfo(dtype)
    values = sort_rng.integers(-1000, 1000, 100_003).astype(dtype)
    values[::97] = info.max
    values[1::89] = info.min
    if dtype.startswith("float"):
        values[2::53] = np.nan
        values[3::61] = np.inf
        values[4::67] = -np.inf
        values[5::3] *= 1e-3
    for descending in [False, True]:
        for n in [17, 1_000, 100_003]:
            key = f"quicksort {dtype} n={n}{' descending' if descending else ''}"
            put(key, sorted_digest(np.sort(values[:n], descending=descending)))
    rows = np.sort(values[:30_000].reshape(3, -1), axis=1)
    put(f"quicksort {dtype} rows", sorted_digest(rows))
put("reduce where", float(np.add.reduce(np.arange(10.0), where=np.arange(10) % 3 == 0)))
put("version", np.__version__)

# Floating-point exceptions numpy raises on purpose (integer division by zero,
# integer overflow): python.wasm keeps the flags in software (docs/notes.md),
# so the warnings and errstate's raising are the native ones. (Flags that
# float arithmetic would set in hardware are not kept: wasm has none.)
import warnings

FP_CASES = {
    "int floor_divide by 0": lambda: np.array([1, 2], dtype=np.int64) // 0,
    "int remainder by 0": lambda: np.array([1, 2], dtype=np.int32) % np.int32(0),
    "int divmod by 0": lambda: np.divmod(np.arange(3), 0),
    "int min // -1": lambda: np.array([np.iinfo(np.int64).min]) // -1,
    "scalar int8 overflow": lambda: np.int8(100) * np.int8(3),
    "scalar int64 // 0": lambda: np.int64(7) // np.int64(0),
}
for name, fn in FP_CASES.items():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="warn"):
            fn()
    put(f"fp warn {name}", sorted(str(w.message) for w in caught))
    try:
        with np.errstate(all="raise"):
            fn()
        put(f"fp raise {name}", "no error")
    except FloatingPointError as e:
        put(f"fp raise {name}", str(e))
print(json.dumps(out, sort_keys=True))
