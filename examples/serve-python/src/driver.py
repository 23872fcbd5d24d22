"""serve-python's side inside the guest, run as `python -c <this> MODULE FUNCTION`
with the arguments as a JSON array on stdin.

Prints one JSON object on stdout: {"result": ...}, or {"error": "not_found"
| "exception", ...}. Whatever the function prints goes to stderr, so it
cannot corrupt the answer. MemoryError is not caught: the run then ends
with a failing status, which the host reports as out of memory.
"""

import contextlib
import importlib
import json
import sys
import traceback


def answer(obj):
    sys.__stdout__.write(json.dumps(obj))
    sys.__stdout__.flush()


def main():
    module_name, function_name = sys.argv[1], sys.argv[2]
    args = json.load(sys.stdin)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is not None and module_name.startswith(e.name):
            return answer({"error": "not_found", "message": f"no module {module_name}"})
        raise
    function = getattr(module, function_name, None)
    if not callable(function):
        return answer(
            {"error": "not_found", "message": f"{module_name} has no function {function_name}"}
        )
    with contextlib.redirect_stdout(sys.stderr):
        result = function(*args)
    # json.dumps raises before anything is written, so a result JSON cannot
    # hold is an exception like any other.
    answer({"result": result})


try:
    main()
except MemoryError:
    raise
except Exception as e:
    traceback.print_exc()
    answer({"error": "exception", "type": type(e).__name__, "message": str(e)})
