# Modules this package's wasm32 build leaves out (REASONS, above): an
# import of one raises ModuleNotFoundError that says why. Installed by the
# `.pth` file beside this one.
import sys


class _Absent:
    @staticmethod
    def find_spec(name, path=None, target=None):
        reason = REASONS.get(name)
        if reason is None:
            return None
        raise ModuleNotFoundError(f"No module named {name!r}: {reason}", name=name)


sys.meta_path.append(_Absent)
