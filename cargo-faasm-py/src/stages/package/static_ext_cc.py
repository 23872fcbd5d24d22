"""Compiler wrapper for package builds: every Python extension module
becomes a static archive, whatever build system asks for it.

Run as `static_ext_cc.py CONFIG cc|c++ ARGS` (the wrapper scripts `cc`
and `c++` do this), where CONFIG is the JSON file the package stage wrote
(`WrapperConfig` in cross.rs): it names the real compilers and every file
and folder this script reads or writes, so this script names none:

- linking a module (`-shared`): its objects, with the package's own
  static libraries they use, become one relocatable object in
  `modules_dir`, and a row beside it records the module's dotted
  name, the other stages' static libraries it was linked with, and the
  other link inputs (`-lNAME` not found as an archive) for the final link.
  The package stage then makes the object's init function its only global
  symbol, renamed after the dotted name (as a shared library keeps
  everything else to itself). Builds that link in a temporary copy of
  their tree lose nothing;
- anything else goes to the real compiler, after the flags the
  configuration gives every C (`cc_flags`) or C++ (`cxx_flags`) compile.

Either way the flags of `dropped_flags` are removed first.

A module's dotted name comes from the build backend's own list of the
extensions it builds: meson's introspection, which `static_ext_cc.py
CONFIG index` reads once after `meson setup` into `index_file`; setuptools' `build_ext`,
which the package stage's hook (`setuptools_hook`, in every python of the
build, a backend's own `setup.py build` process included) records as it
builds each extension; else the path below a setuptools-style `build/lib.*`
directory.
"""
import json
import os
import shlex
import sys
import threading


def load_config(path):
    with open(path) as f:
        return json.load(f)


def expand_response_files(args):
    """Arguments with every `@file` replaced by the arguments in it."""
    out = []
    for arg in args:
        if arg.startswith("@") and os.path.isfile(arg[1:]):
            with open(arg[1:]) as f:
                out.extend(shlex.split(f.read()))
        else:
            out.append(arg)
    return out


def output_of(args):
    """The `-o` argument, or None."""
    for i, arg in enumerate(args):
        if arg == "-o" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("-o") and len(arg) > 2:
            return arg[2:]
    return None


def dotted_name(install_path, suffix):
    """`.../site-packages/numpy/_core/_x.cpython-313-wasm32-wasi.so` ->
    `numpy._core._x`; None when the path is not under site-packages."""
    parts = install_path.replace(os.sep, "/").split("/")
    for root in ("site-packages", "dist-packages"):
        if root in parts:
            parts = parts[len(parts) - parts[::-1].index(root):]
            break
    else:
        return None
    if not parts or not parts[-1]:
        return None
    last = parts[-1]
    parts[-1] = last[: -len(suffix)] if last.endswith(suffix) else last.split(".")[0]
    return ".".join(parts)


def index_meson(build_dir, suffix):
    """Built module file (absolute) -> dotted name, from meson's
    `intro-installed.json` (built file -> install path)."""
    path = os.path.join(build_dir, "meson-info", "intro-installed.json")
    with open(path) as f:
        installed = json.load(f)
    index = {}
    for built, install in installed.items():
        if install.endswith(suffix):
            dotted = dotted_name(install, suffix)
            if dotted is not None:
                index[os.path.abspath(built)] = dotted
    return index


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def load_index(config):
    """Built module file -> dotted name: meson's (empty before `index`
    ran: meson's own compiler checks during `meson setup` come through
    here too) and setuptools' (what the hook recorded so far)."""
    index = load_json(config["extensions_file"])
    index.update(load_json(config["index_file"]))
    return index


def dotted_from_build_lib(module_file, suffix):
    """`build/lib.wasi-wasm32-cpython-313/pkg/_x<suffix>` -> `pkg._x`
    (setuptools' layout); None elsewhere."""
    parts = os.path.abspath(module_file).replace(os.sep, "/").split("/")
    for i in range(len(parts) - 1, -1, -1):
        if parts[i].startswith("lib.") and i > 0 and parts[i - 1] == "build":
            rest = parts[i + 1:]
            if not rest:
                return None
            last = rest[-1]
            rest[-1] = last[: -len(suffix)] if last.endswith(suffix) else last.split(".")[0]
            return ".".join(rest)
    return None


def module_of(index, module_file, suffix=None):
    dotted = index.get(os.path.abspath(module_file))
    if dotted is None and suffix is not None:
        dotted = dotted_from_build_lib(module_file, suffix)
    if dotted is None:
        sys.exit(
            f"static_ext_cc: {module_file} is linked as a shared library, but neither the build "
            "backend's list of extension modules nor a build/lib.* path names it as one")
    return dotted


def link_inputs(args):
    """(objects, archives, flags) of a link line: archives are `*.a` given
    directly or `-lNAME` found as `libNAME.a` in a `-L` directory; flags are
    the `-lNAME` that are not (system libraries), for the final link."""
    objects, archives, flags, dirs, names = [], [], [], [], []
    i = 0
    while i < len(args):
        arg = args[i]
        value = None
        if arg in ("-L", "-l") and i + 1 < len(args):
            value, i = args[i + 1], i + 1
        if arg.endswith((".o", ".obj")):
            objects.append(arg)
        elif arg.endswith(".a"):
            archives.append(os.path.abspath(arg))
        elif arg.startswith("-L"):
            dirs.append(value if value is not None else arg[2:])
        elif arg.startswith("-l"):
            names.append(value if value is not None else arg[2:])
        i += 1
    for name in names:
        found = [os.path.join(d, f"lib{name}.a") for d in dirs]
        found = [os.path.abspath(p) for p in found if os.path.isfile(p)]
        if found:
            archives.append(found[0])
        else:
            flags.append(f"-l{name}")
    return objects, archives, flags


def is_private(config, path):
    """Whether a static library belongs to the package being built (its
    build tree, its sources, a temporary copy of them) rather than to
    another stage of the build (a configured C library, CPython), which
    every module shares as natively it would be a shared library."""
    path = os.path.abspath(path)
    return (path.startswith(config["out_dir"] + os.sep)
            or not path.startswith(config["stages_dir"] + os.sep))


def archive(config, index, args):
    """Links a module's objects, with the package's own static libraries
    they use, into one relocatable object in `modules_dir`, beside
    the row that describes it; returns the row. The file the build asked
    for gets a copy, so the build carries on as if it had a module there."""
    import subprocess  # here, not at the top: compiles start faster without it
    out = output_of(args)
    if out is None:
        sys.exit("static_ext_cc: -shared without -o")
    objects, archives, flags = link_inputs(args)
    dotted = module_of(index, out, config["ext_suffix"])
    private = [a for a in archives if is_private(config, a)]
    shared = [a for a in archives if not is_private(config, a)]
    modules = config["modules_dir"]
    os.makedirs(modules, exist_ok=True)
    obj = os.path.join(modules, dotted + ".o")
    subprocess.run([config["ld"], "-r", "-o", obj, "--whole-archive"] + objects
                   + ["--no-whole-archive"] + private, check=True)
    row = {"module": dotted, "object": obj, "libs": shared, "link_flags": flags}
    with open(os.path.join(modules, dotted + ".json"), "w") as f:
        json.dump(row, f, indent=1)
    if os.path.exists(out):
        os.remove(out)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(obj, "rb") as src, open(out, "wb") as dst:
        dst.write(src.read())
    return row


_lock = threading.Lock()
HOOKED = ("setuptools.command.build_ext", "distutils.command.build_ext",
          "setuptools._distutils.command.build_ext")


def record_extensions(cls, path):
    """Makes the `build_ext` class `cls` record, for each extension whose
    output file it names (every `build_extension`, the package's own
    included, asks `get_ext_fullpath`), that file and the extension's dotted
    name into `path`."""
    original = cls.__dict__.get("get_ext_fullpath")
    if original is None or getattr(original, "_faasm_py", False):
        return

    def get_ext_fullpath(self, ext_name):
        built = original(self, ext_name)
        with _lock:
            known = load_json(path)
            known[os.path.abspath(built)] = self.get_ext_fullname(ext_name)
            with open(path, "w") as f:
                json.dump(known, f, indent=1)
        return built

    get_ext_fullpath._faasm_py = True
    cls.get_ext_fullpath = get_ext_fullpath


class _AfterImport:
    """A meta-path finder that lets the other finders find the modules of
    HOOKED and patches their `build_ext` once they have run."""

    def __init__(self, path):
        self.path = path

    def find_spec(self, name, target_path=None, target=None):
        if name not in HOOKED:
            return None
        import importlib.util
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader, path = spec.loader, self.path

        class Loader:
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                record_extensions(module.build_ext, path)

        spec.loader = Loader()
        return spec


def setuptools_hook(config_path):
    """In every python of a build (the `sitecustomize` the package stage
    writes beside this file calls it with CONFIG), before any backend is
    imported: whenever setuptools' (or distutils') `build_ext` is imported,
    it records what it builds into `extensions_file`, where `load_index`
    reads it."""
    config = load_config(config_path)
    sys.meta_path.insert(0, _AfterImport(config["extensions_file"]))


def main(argv):
    if len(argv) < 2:
        sys.exit("usage: static_ext_cc.py CONFIG cc|c++|index [ARGS...]")
    config = load_config(argv[0])
    mode = argv[1]
    if mode == "index":
        index = index_meson(config["build_dir"], config["ext_suffix"])
        with open(config["index_file"], "w") as f:
            json.dump(index, f, indent=1)
        return
    if mode not in ("cc", "c++"):
        sys.exit(f"static_ext_cc: unknown mode {mode!r} (cc, c++ or index)")
    dropped = set(config["dropped_flags"])
    args = [a for a in expand_response_files(argv[2:]) if a not in dropped]
    if "-shared" in args:
        archive(config, load_index(config), args)
    else:
        if mode == "c++":
            real, flags = config["cxx"], config["cxx_flags"]
        else:
            real, flags = config["cc"], config["cc_flags"]
        os.execv(real, [real] + flags + args)


if __name__ == "__main__":
    main(sys.argv[1:])
