"""Compute cases of `cargo xtask bench`, run the same way by python.wasm and
by the native python.

- `compute.py [REPEAT]`: prints one JSON object, case name -> median seconds
  of REPEAT timed calls (after one untimed warm-up call);
- `compute.py --list`: prints the case names as a JSON list;
- `compute.py --case NAME CALLS`: one warm-up call of NAME, then CALLS more,
  printing nothing (`bench --ops` counts the operators of the difference).

pandas and SciPy cases are added where the interpreter can import them (a
project that lists them, such as examples/scientific, on both sides).
"""

import json
import re
import statistics
import sys
import time

import numpy as np


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def recursive_calls():
    fib(22)


def dict_str_churn():
    d = {}
    for i in range(50_000):
        key = "k" + str(i % 5000)
        d[key] = d.get(key, "")[:20] + "x"
    "".join(sorted(d))


DOC = {"a": [1, 2.5, "three", None, True], "b": {"c": list(range(50)), "d": "x" * 40}}


def json_round_trip():
    for _ in range(500):
        json.loads(json.dumps([DOC] * 10))


TEXT = " ".join(f"user{i}@example{i % 7}.org some words 12{i}" for i in range(2000))
EMAIL = re.compile(r"(\w+)@(\w+)\.org")


def regex():
    for _ in range(10):
        EMAIL.findall(TEXT)


rng = np.random.default_rng(0)
A256 = rng.random((256, 256))
A300 = rng.random((300, 300)) + 300 * np.eye(300)
B300 = rng.random(300)
S1E6 = rng.random(1_000_000)
E1E6 = rng.random(1_000_000)
R1E7 = rng.random(10_000_000)

CASES = {
    "pure: recursive calls": recursive_calls,
    "pure: dict/str churn": dict_str_churn,
    "pure: json round trip": json_round_trip,
    "pure: regex": regex,
    "numpy: a @ a 256x256": lambda: A256 @ A256,
    "numpy: linalg.solve 300x300": lambda: np.linalg.solve(A300, B300),
    "numpy: sort 1e6": lambda: np.sort(S1E6),
    "numpy: sin(a) + exp(a) 1e6": lambda: np.sin(E1E6) + np.exp(E1E6),
    "numpy: sum/mean/std 1e7": lambda: (R1E7.sum(), R1E7.mean(), R1E7.std()),
}

try:
    import pandas as pd
except ImportError:
    pd = None
else:
    FRAME = pd.DataFrame({"k": rng.integers(0, 1000, 1_000_000), "v": rng.random(1_000_000)})
    CASES["pandas: groupby sum 1e6"] = lambda: FRAME.groupby("k")["v"].sum()

try:
    import scipy.linalg
    import scipy.optimize
    import scipy.sparse
except ImportError:
    scipy = None
else:
    SYM300 = A300 @ A300.T
    X0 = np.full(8, 1.5)
    SPARSE = scipy.sparse.random_array(
        (20_000, 20_000), density=1e-3, format="csr", rng=np.random.default_rng(1)
    )
    DENSE = rng.random((20_000, 16))
    CASES["scipy: linalg.eigh 300x300"] = lambda: scipy.linalg.eigh(SYM300)
    CASES["scipy: minimize Rosenbrock (BFGS)"] = lambda: scipy.optimize.minimize(
        scipy.optimize.rosen, X0, jac=scipy.optimize.rosen_der, method="BFGS"
    )
    CASES["scipy: sparse csr @ dense 2e4x2e4"] = lambda: SPARSE @ DENSE


def main():
    if sys.argv[1:2] == ["--list"]:
        print(json.dumps(list(CASES)))
        return
    if sys.argv[1:2] == ["--case"]:
        case = CASES[sys.argv[2]]
        for _ in range(1 + int(sys.argv[3])):
            case()
        return
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    out = {}
    for name, case in CASES.items():
        case()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            case()
            times.append(time.perf_counter() - start)
        out[name] = statistics.median(times)
    print(json.dumps(out))


main()
