"""Compiler wrapper for package builds: every Python extension module
becomes a static archive, whatever build system asks for it.

Run as `static_ext_cc.py cc|c++ ARGS` (the wrapper scripts `cc` and `c++`
do this) next to a `static_ext_cc.json` that names the real compilers:

- compiling a source of a module: its `PyInit_<name>` is renamed to one
  derived from the module's dotted name, so two packages' `_common`
  modules cannot collide once linked together, and a per-module rename
  header is force-included when the duplicate symbol check asked for one.
  Under meson an object's path (`<module>.so.p/`) names its module, so
  this happens as it is compiled; under setuptools (and other builds that
  compile first and link later) every compile is recorded, and replayed
  with the renames when the module is linked;
- linking a module (`-shared`): the objects become an archive at the
  requested path, and `<path>.faasm-module.json` records the module's
  dotted name, its init symbol, the static libraries it was linked with,
  and the other link inputs (`-lNAME` not found as an archive) for the
  final link;
- anything else goes to the real compiler unchanged.

A module's dotted name comes from where the build installs it: meson's
introspection, which `static_ext_cc.py index` reads once after `meson
setup` into a small map every later call reads; else (setuptools) its path
below the build's `lib.<platform>` directory.
"""
import hashlib
import json
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG_FILE = "static_ext_cc.json"
INDEX_FILE = "static_ext_modules.json"


def load_config(directory=HERE):
    with open(os.path.join(directory, CONFIG_FILE)) as f:
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


def init_symbol(dotted):
    """A `PyInit_` name unique per dotted name and a valid C identifier:
    length-prefixed components."""
    return "PyInit_" + "".join(f"{len(p)}{p}" for p in dotted.split("."))


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


def load_index(config):
    """The module index; empty before `index` ran (meson's own compiler
    checks during `meson setup` come through here too)."""
    try:
        with open(os.path.join(config["wrap_dir"], INDEX_FILE)) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


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
        sys.exit(f"static_ext_cc: {module_file} is not an extension module the build installs; cannot name it")
    return dotted


def record_compile(config, obj, argv):
    """Keeps the command that made `obj`, to replay it with renames."""
    records = os.path.join(config["wrap_dir"], "compiles")
    os.makedirs(records, exist_ok=True)
    key = hashlib.sha256(os.path.abspath(obj).encode()).hexdigest()[:24]
    with open(os.path.join(records, key + ".json"), "w") as f:
        json.dump({"object": os.path.abspath(obj), "cwd": os.getcwd(), "argv": argv}, f)


def recorded_compile(config, obj):
    key = hashlib.sha256(os.path.abspath(obj).encode()).hexdigest()[:24]
    try:
        with open(os.path.join(config["wrap_dir"], "compiles", key + ".json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def rename_flags(config, dotted):
    short = dotted.rsplit(".", 1)[-1]
    flags = [f"-DPyInit_{short}={init_symbol(dotted)}"]
    header = os.path.join(config["rename_dir"], dotted.replace(".", "-") + ".h")
    if os.path.isfile(header):
        flags += ["-include", header]
    return flags


def renamed_objects(config, objects, dotted):
    """Recompiles each recorded object with the module's renames; objects
    compiled as the module's own under meson are already renamed."""
    out = []
    for obj in objects:
        record = recorded_compile(config, obj)
        if record is None:
            out.append(obj)
            continue
        renamed = obj + ".faasm.o"
        argv = list(record["argv"])
        o = argv.index("-o") if "-o" in argv else None
        if o is not None:
            argv[o + 1] = renamed
        else:
            argv = [a for a in argv if not a.startswith("-o")] + ["-o", renamed]
        argv = argv[:1] + rename_flags(config, dotted) + argv[1:]
        subprocess.run(argv, cwd=record["cwd"], check=True)
        out.append(renamed)
    return out


def compile_command(config, index, real, args):
    """The real compiler's argv for a compile step."""
    out = output_of(args)
    extra = []
    if out and ".so.p/" in out.replace(os.sep, "/"):
        module_file = out.replace(os.sep, "/").split(".so.p/")[0] + ".so"
        extra = rename_flags(config, module_of(index, module_file))
    return [real] + extra + args


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


def archive(config, index, args):
    """Archives a module's objects; returns the manifest row it wrote."""
    out = output_of(args)
    if out is None:
        sys.exit("static_ext_cc: -shared without -o")
    objects, archives, flags = link_inputs(args)
    dotted = module_of(index, out, config["ext_suffix"])
    objects = renamed_objects(config, objects, dotted)
    if os.path.exists(out):
        os.remove(out)
    subprocess.run([config["ar"], "rcs", out] + objects, check=True)
    row = {"module": dotted, "init": init_symbol(dotted), "archive": os.path.abspath(out),
           "libs": archives, "link_flags": flags}
    with open(out + ".faasm-module.json", "w") as f:
        json.dump(row, f, indent=1)
    return row


def main(argv):
    config = load_config()
    mode = argv[0] if argv else ""
    if mode == "index":
        index = index_meson(config["build_dir"], config["ext_suffix"])
        with open(os.path.join(config["wrap_dir"], INDEX_FILE), "w") as f:
            json.dump(index, f, indent=1)
        return
    if mode not in ("cc", "c++"):
        sys.exit(f"static_ext_cc: unknown mode {mode!r} (cc, c++ or index)")
    args = expand_response_files(argv[1:])
    index = load_index(config)
    if "-shared" in args:
        archive(config, index, args)
    else:
        real = config["cxx"] if mode == "c++" else config["cc"]
        command = compile_command(config, index, real, args)
        out = output_of(args)
        if out and "-c" in args and command == [real] + args:
            # Not known to belong to a module yet: replayed if it does.
            record_compile(config, out, command)
        os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
