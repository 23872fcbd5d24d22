"""Compiler wrapper for package builds: every Python extension module
becomes a static archive, whatever build system asks for it.

Run as `static_ext_cc.py cc|c++ ARGS` (the wrapper scripts `cc` and `c++`
do this) next to a `static_ext_cc.json` that names the real compilers:

- compiling a source of a module (an object under `<module>.so.p/`): its
  `PyInit_<name>` is renamed to one derived from the module's dotted name,
  so two packages' `_common` modules cannot collide once linked together,
  and a per-module rename header is force-included when the duplicate
  symbol check asked for one;
- linking a module (`-shared`): the objects become an archive at the
  requested path, and `<path>.faasm-module.json` records the module's
  dotted name, its init symbol, the static libraries it was linked with,
  and the other link inputs (`-lNAME` not found as an archive) for the
  final link;
- anything else goes to the real compiler unchanged.

`static_ext_cc.py index` is run once after `meson setup`: it reads meson's
introspection (which file installs where) and writes the small map from
built module files to dotted names that every later call reads.
"""
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


def module_of(index, module_file):
    dotted = index.get(os.path.abspath(module_file))
    if dotted is None:
        sys.exit(f"static_ext_cc: {module_file} is not an extension module the build installs; cannot name it")
    return dotted


def compile_command(config, index, real, args):
    """The real compiler's argv for a compile step."""
    out = output_of(args)
    extra = []
    if out and ".so.p/" in out.replace(os.sep, "/"):
        module_file = out.replace(os.sep, "/").split(".so.p/")[0] + ".so"
        dotted = module_of(index, module_file)
        short = dotted.rsplit(".", 1)[-1]
        extra.append(f"-DPyInit_{short}={init_symbol(dotted)}")
        header = os.path.join(config["rename_dir"], dotted.replace(".", "-") + ".h")
        if os.path.isfile(header):
            extra += ["-include", header]
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
    if os.path.exists(out):
        os.remove(out)
    subprocess.run([config["ar"], "rcs", out] + objects, check=True)
    dotted = module_of(index, out)
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
        os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
