"""What both in-guest reporters share: the report file and its line format,
and the marker of python.wasm's own refusals.

Each record is one JSON line appended to $FAASM_PY_REPORT and flushed at
once, so a trap or a timeout loses nothing already written.
"""
import json
import os

REPORT = os.environ.get("FAASM_PY_REPORT")

# Every refusal python.wasm makes for a capability wasm32-wasi lacks (ctypes'
# foreign calls, callbacks, library loading) says this; a test stopped by
# such an error is reported as skipped, with the message.
UNAVAILABLE = "not available on wasm32-wasi"


def write(record):
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
