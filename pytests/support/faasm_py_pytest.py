"""pytest plugin run inside python.wasm: one JSON line per test case.

Each case writes a "start" line when it begins and an "end" line when its
outcome is known, appended and flushed to $FAASM_PY_REPORT at once, so a
trap or a timeout halfway through a module loses nothing already run, and
the host can tell which case was running when the guest died.

A test stopped by an error that says a capability is "not available on
wasm32-wasi" (python.wasm's own refusals: ctypes' foreign calls, callbacks,
library loading) is reported as skipped with that message, as upstream
skips tests for what a platform lacks.
"""
import os
import sys
import time

import pytest

from faasm_py_report import UNAVAILABLE, write as _write

if not hasattr(os, "getuid"):
    # WASI has no user ids. pytest's tmp_path asks for one except on win32
    # and emscripten, where it takes "unknown" (None); do the same here, in
    # pytest alone, rather than give `os` a getuid the platform lacks.
    import _pytest.tmpdir

    _pytest.tmpdir.get_user_id = lambda: None
_started = {}
_outcome = {}


def pytest_addoption(parser):
    # The runner turns pytest's faulthandler plugin off (WASI has no
    # signals to dump tracebacks on), so the options it declares would be
    # unknown, and a configuration that sets them (aio-libs' pytest.ini)
    # under `filterwarnings = error` would stop pytest with "Unknown config
    # option". Declared here, they are accepted and do nothing.
    for name in ("faulthandler_timeout", "faulthandler_exit_on_timeout"):
        try:
            parser.addini(name, "(ignored: faulthandler is off in python.wasm)", default="")
        except ValueError:
            pass  # the faulthandler plugin is loaded after all

# pytest captures file descriptors by duplicating them (os.dup), which WASI
# preview 1 cannot do: a test asking for these fixtures is skipped, as
# upstream skips tests for what a platform lacks. (Left to fail, its setup
# error also leaves pytest's capturing half torn down, breaking the
# teardown of every test after it in the module.)
_FD_CAPTURE = ("capfd", "capfdbinary")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if sys.platform == "wasi" and any(f in _FD_CAPTURE for f in getattr(item, "fixturenames", ())):
        pytest.skip("capfd duplicates file descriptors (os.dup), which is not available on wasm32-wasi")


# A suite can run tests that upstream skips on wasm for a capability
# python.wasm does have: FAASM_PY_RUN_SKIPPED holds those skip reasons,
# "|"-separated, set in the suite's `env` (numpy's: its floating-point
# exception tests). Only `skipif` marks with exactly such a reason are
# dropped; the tests then pass or fail on their own merits, and the suite's
# baseline says why any fail.
_RUN_SKIPPED = frozenset(r for r in os.environ.get("FAASM_PY_RUN_SKIPPED", "").split("|") if r)


def pytest_collection_modifyitems(config, items):
    if not _RUN_SKIPPED:
        return
    for item in items:
        # Marks live on the node that was decorated: the function, its
        # class or its module (`pytestmark`).
        for node in item.listchain():
            node.own_markers[:] = [
                m for m in node.own_markers
                if not (m.name == "skipif" and m.kwargs.get("reason") in _RUN_SKIPPED)
            ]


def _message(report):
    if report.longrepr is None:
        return ""
    if isinstance(report.longrepr, tuple):  # skips: (file, line, reason)
        return str(report.longrepr[2])
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    return str(report.longrepr)[-2000:]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    result = yield
    report = result.get_result()
    if report.failed and call.excinfo is not None and UNAVAILABLE in str(call.excinfo.value):
        report.outcome = "skipped"
        reason = f"{call.excinfo.typename}: {call.excinfo.value}"
        report.longrepr = (str(item.path), item.location[1] or 0, reason)


def pytest_runtest_logstart(nodeid, location):
    _started[nodeid] = time.monotonic()
    _outcome.pop(nodeid, None)
    _write({"event": "start", "id": nodeid})


def pytest_runtest_logreport(report):
    nodeid = report.nodeid
    if hasattr(report, "wasxfail"):
        outcome = "xfailed" if report.skipped else ("xpassed" if report.passed else None)
        if outcome:
            _outcome[nodeid] = (outcome, str(report.wasxfail))
            return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if report.failed:
            _outcome[nodeid] = ("failed" if report.when == "call" else "error", _message(report))
        elif report.skipped:
            _outcome[nodeid] = ("skipped", _message(report))
        else:
            _outcome[nodeid] = ("passed", "")
    elif report.when == "teardown" and report.failed:
        _outcome[nodeid] = ("error", "teardown: " + _message(report))


def pytest_runtest_logfinish(nodeid, location):
    outcome, message = _outcome.pop(nodeid, ("error", "no outcome reported"))
    start = _started.pop(nodeid, time.monotonic())
    _write({"event": "end", "id": nodeid, "outcome": outcome,
            "duration": round(time.monotonic() - start, 4), "message": message[:2000]})


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # A conftest that skips its whole directory when imported (pandas'
    # `pytest.importorskip("pyarrow")`) skips that directory when pytest is
    # given the directory, but stops pytest with a traceback when it is given
    # one module below it, as here. Record what the directory run would
    # report: the module skipped, with the conftest's reason.
    try:
        return (yield)
    except pytest.skip.Exception as skipped:
        _write({"event": "end", "id": "<conftest>", "outcome": "skipped", "duration": 0.0,
                "message": "conftest skipped its directory: " + str(skipped.msg)[:2000]})
        sys.stdout.flush()
        os._exit(0)


def pytest_collectreport(report):
    if report.failed:
        _write({"event": "end", "id": report.nodeid or "<collection>", "outcome": "error",
                "duration": 0.0, "message": "collection failed: " + _message(report)[:2000]})
