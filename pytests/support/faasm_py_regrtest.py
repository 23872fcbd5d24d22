"""Runs CPython's regrtest inside python.wasm, one JSON line per test case.

regrtest runs each test module through unittest with its own result class;
that class is extended here to append "start"/"end" lines to
$FAASM_PY_REPORT as each case runs (see faasm_py_pytest.py for the format),
then regrtest's own main() runs with the given arguments.

A test stopped by an error that says a capability is "not available on
wasm32-wasi" (python.wasm's own refusals: ctypes' foreign calls, callbacks,
library loading) is reported as skipped with that message, as upstream
skips tests for what a platform lacks; so is a test module whose import
stops on such an error.
"""
import importlib
import sys
import time
import types
import unittest

from test.libregrtest import single, testresult

from faasm_py_report import UNAVAILABLE, write as _write


def _first_line(err):
    exc_type, value, _ = err
    text = f"{exc_type.__name__}: {value}"
    return text[:2000]


_Base = testresult.RegressionTestResult


class ReportingResult(_Base):
    def startTest(self, test):
        self._faasm_started = time.monotonic()
        _write({"event": "start", "id": test.id()})
        super().startTest(test)

    def _end(self, test, outcome, message=""):
        start = getattr(self, "_faasm_started", time.monotonic())
        _write({"event": "end", "id": test.id(), "outcome": outcome,
                "duration": round(time.monotonic() - start, 4), "message": message})

    def addSuccess(self, test):
        super().addSuccess(test)
        self._end(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._end(test, "failed", _first_line(err))

    def addError(self, test, err):
        if UNAVAILABLE in str(err[1]):
            self.addSkip(test, _first_line(err))
            return
        super().addError(test, err)
        self._end(test, "error", _first_line(err))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._end(test, "skipped", str(reason)[:2000])

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._end(test, "xfailed")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._end(test, "xpassed")

    def addSubTest(self, test, subtest, err):
        if err is not None and UNAVAILABLE in str(err[1]):
            self.addSkip(subtest, _first_line(err))
            return
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            _write({"event": "end", "id": subtest.id(), "outcome": "failed" if failed else "error",
                    "duration": 0.0, "message": _first_line(err)})


testresult.RegressionTestResult = ReportingResult


def _import_test_module(name):
    try:
        return importlib.import_module(name)
    except Exception as exc:
        if UNAVAILABLE in str(exc):
            reason = _first_line((type(exc), exc, None))
            # No case of the module will report, so the module does.
            _write({"event": "end", "id": name, "outcome": "skipped",
                    "duration": 0.0, "message": reason})
            raise unittest.SkipTest(reason) from exc
        raise


# regrtest imports each test module through `importlib.import_module` in
# test.libregrtest.single, and nothing else of importlib there.
single.importlib = types.SimpleNamespace(import_module=_import_test_module)

if __name__ == "__main__":
    from test.libregrtest.main import main
    main(sys.argv[1:])
