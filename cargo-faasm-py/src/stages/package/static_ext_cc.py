# Compiler wrapper used by package builds, run as `static_ext_cc.py cc|c++ ARGS`
# next to a `static_ext_cc.json` that names the real compilers. It makes every Python
# extension module a static archive, whatever build system asks for it:
#
# - compiling a source of a module (an object under `<module>.so.p/`): its
#   `PyInit_<name>` is renamed to one derived from the module's dotted name,
#   so two packages' `_common` modules cannot collide once linked together,
#   and a per-module rename header is force-included when the duplicate
#   symbol check asked for one;
# - linking a module (`-shared`): the objects become an archive at the
#   requested path, and `<path>.faasm-module.json` records the module's
#   dotted name, its init symbol and the static libraries it was linked with.
#
# Everything else goes to the real compiler unchanged.
import json
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "static_ext_cc.json")) as f:
    CONFIG = json.load(f)
SUFFIX = CONFIG["ext_suffix"]


def expand_response_files(args):
    out = []
    for arg in args:
        if arg.startswith("@") and os.path.isfile(arg[1:]):
            with open(arg[1:]) as f:
                out.extend(shlex.split(f.read()))
        else:
            out.append(arg)
    return out


def output_of(args):
    for i, arg in enumerate(args):
        if arg == "-o" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("-o") and len(arg) > 2:
            return arg[2:]
    return None


def installed_map():
    """Built file (absolute) -> install path, from meson's introspection."""
    path = os.path.join(CONFIG["build_dir"], "meson-info", "intro-installed.json")
    with open(path) as f:
        return json.load(f)


def dotted_name(module_file):
    """The module's dotted name, from where meson installs it."""
    install = installed_map().get(os.path.abspath(module_file))
    if install is None:
        sys.exit(f"static_ext_cc: {module_file} is not installed by the build; cannot name it")
    parts = install.replace(os.sep, "/").split("/")
    for root in ("site-packages", "dist-packages"):
        if root in parts:
            parts = parts[len(parts) - parts[::-1].index(root):]
            break
    else:
        sys.exit(f"static_ext_cc: {install} is not under site-packages")
    parts[-1] = parts[-1][: -len(SUFFIX)] if parts[-1].endswith(SUFFIX) else parts[-1].split(".")[0]
    return ".".join(parts)


def init_symbol(dotted):
    # Length-prefixed components: unique per dotted name, a valid C identifier.
    return "PyInit_" + "".join(f"{len(p)}{p}" for p in dotted.split("."))


def mangle_path(dotted):
    return dotted.replace(".", "-")


def compile_(real, args):
    out = output_of(args)
    extra = []
    if out and ".so.p/" in out.replace(os.sep, "/"):
        module_file = out.replace(os.sep, "/").split(".so.p/")[0] + ".so"
        dotted = dotted_name(module_file)
        short = dotted.rsplit(".", 1)[-1]
        extra.append(f"-DPyInit_{short}={init_symbol(dotted)}")
        header = os.path.join(CONFIG["rename_dir"], mangle_path(dotted) + ".h")
        if os.path.isfile(header):
            extra += ["-include", header]
    os.execv(real, [real] + extra + args)


def archive(args):
    out = output_of(args)
    if out is None:
        sys.exit("static_ext_cc: -shared without -o")
    objects = [a for a in args if a.endswith((".o", ".obj"))]
    libs = [os.path.abspath(a) for a in args if a.endswith(".a")]
    if os.path.exists(out):
        os.remove(out)
    subprocess.run([CONFIG["ar"], "rcs", out] + objects, check=True)
    dotted = dotted_name(out)
    with open(out + ".faasm-module.json", "w") as f:
        json.dump({"module": dotted, "init": init_symbol(dotted), "archive": os.path.abspath(out),
                   "libs": libs}, f, indent=1)


def main():
    mode = sys.argv[1]
    real = CONFIG["cxx"] if mode == "c++" else CONFIG["cc"]
    args = expand_response_files(sys.argv[2:])
    if "-shared" in args:
        archive(args)
    else:
        compile_(real, args)


main()
