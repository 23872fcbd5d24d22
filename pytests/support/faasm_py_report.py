"""What both in-guest reporters share: the report file and its line format,
and the marker of python.wasm's own refusals.

Each record is one JSON line appended to $FAASM_PY_REPORT and flushed at
once, so a trap or a timeout loses nothing already written. The file stays
open between records; a test that closes every descriptor (some do) only
makes the next record reopen it.
"""
import json
import os

REPORT = os.environ.get("FAASM_PY_REPORT")

# Every refusal python.wasm makes for a capability wasm32-wasi lacks (ctypes'
# foreign calls, callbacks, library loading) says this; a test stopped by
# such an error is reported as skipped, with the message.
UNAVAILABLE = "not available on wasm32-wasi"

_file = None


def _open():
    global _file
    _file = open(REPORT, "a", encoding="utf-8")
    return _file


def write(record):
    if not REPORT:
        return
    line = json.dumps(record) + "\n"
    try:
        f = _file if _file is not None and not _file.closed else _open()
        f.write(line)
        f.flush()
    except (OSError, ValueError):
        # The descriptor went away under us (closed by a test): reopen once.
        f = _open()
        f.write(line)
        f.flush()
