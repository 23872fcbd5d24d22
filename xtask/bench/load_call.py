"""One call of `cargo xtask bench --load`, run as `python -c <this> ID` by
python.wasm's snapshot (and by the native python, for comparison).

Small but realistic: it reads its argv and environment, looks for anything
an earlier call could have left behind, does a little integer numpy work
whose answer the host can compute on its own, writes and reads back files
in its scratch directory and working directory, and prints one JSON object.
"""

import builtins
import json
import os
import random
import sys

import numpy as np

call = int(sys.argv[1])
tmp = os.environ["TMPDIR"]

# What an earlier call in the same instance would have left: none may show.
leftovers = [f"tmp:{name}" for name in os.listdir(tmp)]
leftovers += [f"cwd:{name}" for name in os.listdir(".")]
if "LOAD_LEFTOVER" in os.environ:
    leftovers.append("environ")
if hasattr(builtins, "load_leftover"):
    leftovers.append("builtins")
if hasattr(np, "load_leftover"):
    leftovers.append("numpy attribute")
if "load_leftover" in sys.modules:
    leftovers.append("sys.modules")
os.environ["LOAD_LEFTOVER"] = str(call)
builtins.load_leftover = np.load_leftover = call
sys.modules["load_leftover"] = sys.modules["json"]

# Integer work with one right answer: sum of squares (the trace of A @ A.T)
# and the distinct values of a 64x64 matrix of residues.
a = (np.arange(64 * 64, dtype=np.int64).reshape(64, 64) * (call + 1)) % 1009
total = int(np.trace(a @ a.T))
distinct = int(np.count_nonzero(np.bincount(a.ravel(), minlength=1009)))

with open(os.path.join(tmp, "call.txt"), "w") as f:
    f.write(str(total))
with open(os.path.join(tmp, "call.txt")) as f:
    read_back = int(f.read())
with open("result.txt", "w") as f:
    f.write(f"{call} {total}")

print(
    json.dumps(
        {
            "call": call,
            "env": os.environ["CALL_ID"],
            "total": read_back,
            "distinct": distinct,
            "leftovers": leftovers,
            "random": "%016x" % random.getrandbits(64),
            "np_random": "%016x" % int(np.random.randint(0, 1 << 62, dtype=np.int64)),
            "urandom": os.urandom(8).hex(),
        }
    )
)
