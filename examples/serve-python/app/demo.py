"""Functions the example server's README and test call: each is
`POST /call/demo:<name>` with its arguments as a JSON array."""

import os

import numpy as np

calls = 0


def mean(xs):
    return float(np.mean(xs))


def stats(xs):
    a = np.asarray(xs, dtype=np.float64)
    return {"n": int(a.size), "sum": float(a.sum()), "min": float(a.min()), "max": float(a.max())}


def divide(a, b):
    return a / b


def shout(text):
    print("this goes to the server's log, not the answer")
    return text.upper()


def visit():
    """What an earlier request would have left: never anything."""
    global calls
    calls += 1
    seen = sorted(os.listdir("/tmp"))
    with open("/tmp/visited", "w") as f:
        f.write("yes")
    return {"calls": calls, "tmp_before": seen}


def spin():
    while True:
        pass


def hoard():
    kept = []
    while True:
        kept.append(bytearray(8 << 20))


def crash():
    import ctypes

    ctypes.memset(0xFFFFFF00, 0, 1024)
