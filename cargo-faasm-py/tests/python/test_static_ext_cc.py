"""Unit tests of the static-archive compiler wrapper (run by
tests/static_ext_cc.rs with the wrapper's directory on sys.path)."""
import json
import os
import tempfile
import unittest

import static_ext_cc as w

SUFFIX = ".cpython-313-wasm32-wasi.so"


class Names(unittest.TestCase):
    def test_dotted_name_from_install_path(self):
        self.assertEqual(
            w.dotted_name("/usr/local/lib/python3.13/site-packages/numpy/_core/_x" + SUFFIX, SUFFIX),
            "numpy._core._x")
        self.assertEqual(w.dotted_name("/x/dist-packages/a/b.so", SUFFIX), "a.b")
        self.assertIsNone(w.dotted_name("/usr/local/lib/libfoo.so", SUFFIX))

    def test_libraries_of_the_package_are_private_others_shared(self):
        config = {"out_dir": "/c/build/pkg-1", "stages_dir": "/c/build"}
        self.assertTrue(w.is_private(config, "/c/build/pkg-1/src/build/libx.a"))
        self.assertTrue(w.is_private(config, "/tmp/copy-of-tree/build/libx.a"))
        self.assertFalse(w.is_private(config, "/c/build/openblas-2/lib/libopenblas.a"))
        self.assertFalse(w.is_private(config, "/c/build/pkg-10/lib/libx.a"))


class Arguments(unittest.TestCase):
    def test_output_and_response_files(self):
        self.assertEqual(w.output_of(["-c", "a.c", "-o", "a.o"]), "a.o")
        self.assertEqual(w.output_of(["-oa.o"]), "a.o")
        self.assertIsNone(w.output_of(["-c", "a.c"]))
        with tempfile.TemporaryDirectory() as d:
            rsp = os.path.join(d, "args.rsp")
            with open(rsp, "w") as f:
                f.write("-O2 'a b.c'")
            self.assertEqual(w.expand_response_files(["-c", "@" + rsp]), ["-c", "-O2", "a b.c"])

    def test_link_inputs_pass_through(self):
        with tempfile.TemporaryDirectory() as d:
            lib = os.path.join(d, "libfoo.a")
            open(lib, "w").close()
            objects, archives, flags = w.link_inputs(
                ["-shared", "-o", "m.so", "m.o", "n.obj", "x/libbar.a", "-L", d, "-lfoo", "-lm", "-Lnowhere", "-l", "z"])
            self.assertEqual(objects, ["m.o", "n.obj"])
            self.assertEqual(archives, [os.path.abspath("x/libbar.a"), lib])
            self.assertEqual(flags, ["-lm", "-lz"])


class Setuptools(unittest.TestCase):
    def test_dotted_name_from_the_build_lib_directory(self):
        self.assertEqual(
            w.dotted_from_build_lib("/s/build/lib.wasi-wasm32-cpython-313/msgpack/_cmsgpack" + SUFFIX, SUFFIX),
            "msgpack._cmsgpack")
        self.assertIsNone(w.dotted_from_build_lib("/s/other/_x.so", SUFFIX))

    def test_build_ext_records_each_extension_it_builds(self):
        class BuildExt:
            package = "pkg"

            def get_ext_fullpath(self, name):
                return "/s/bin/" + name.replace(".", "/") + SUFFIX

            def get_ext_fullname(self, name):
                return self.package + "." + name

        class Custom(BuildExt):
            # A package's own build_extension that never calls the base's.
            def build_extension(self, ext_name):
                return self.get_ext_fullpath(ext_name)

        with tempfile.TemporaryDirectory() as d:
            config = w.load_config(write_config(d))
            path = config["extensions_file"]
            w.record_extensions(BuildExt, path)
            w.record_extensions(BuildExt, path)  # a second hook is a no-op
            self.assertEqual(Custom().build_extension("sub._x"), "/s/bin/sub/_x" + SUFFIX)
            index = w.load_index(config)
            self.assertEqual(w.module_of(index, "/s/bin/sub/_x" + SUFFIX, SUFFIX), "pkg.sub._x")

    def test_the_hook_patches_setuptools_when_it_is_imported(self):
        with tempfile.TemporaryDirectory() as d:
            code = (
                "import static_ext_cc, sys\n"
                f"static_ext_cc.setuptools_hook({write_config(d)!r})\n"
                "try:\n"
                "    from setuptools.command.build_ext import build_ext\n"
                "except ImportError:\n"
                "    sys.exit(0)\n"
                "assert build_ext.get_ext_fullpath._faasm_py\n"
            )
            import subprocess
            import sys
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, done.stderr)

    def test_a_sitecustomize_beside_the_wrapper_hooks_every_python_of_the_build(self):
        # As the package stage lays it out: the wrapper, and a sitecustomize
        # beside it, on PYTHONPATH; a backend that runs `setup.py build` in
        # a python of its own gets the hook too.
        import shutil
        import subprocess
        import sys
        with tempfile.TemporaryDirectory() as d:
            shutil.copy(w.__file__, d)
            with open(os.path.join(d, "sitecustomize.py"), "w") as f:
                f.write(f"import static_ext_cc\nstatic_ext_cc.setuptools_hook({write_config(d)!r})\n")
            nested = (
                "import sys\n"
                "try:\n"
                "    from setuptools.command.build_ext import build_ext\n"
                "except ImportError:\n"
                "    sys.exit(0)\n"
                "assert build_ext.get_ext_fullpath._faasm_py\n"
            )
            code = f"import subprocess, sys; sys.exit(subprocess.run([sys.executable, '-c', {nested!r}]).returncode)"
            env = dict(os.environ, PYTHONPATH=d)
            done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, done.stderr)


def write_config(d):
    """A configuration as the package stage writes it (the fields these
    tests use), in `d`; its path."""
    path = os.path.join(d, "config.json")
    with open(path, "w") as f:
        json.dump({
            "extensions_file": os.path.join(d, "setuptools-extensions.json"),
            "index_file": os.path.join(d, "meson-extensions.json"),
            "modules_dir": os.path.join(d, "modules"),
        }, f)
    return path


class Meson(unittest.TestCase):
    def test_index_reads_introspection_once_into_a_map(self):
        with tempfile.TemporaryDirectory() as build:
            os.makedirs(os.path.join(build, "meson-info"))
            built = os.path.join(build, "numpy/_core/_x" + SUFFIX)
            with open(os.path.join(build, "meson-info", "intro-installed.json"), "w") as f:
                json.dump({
                    built: "/usr/local/lib/python3.13/site-packages/numpy/_core/_x" + SUFFIX,
                    os.path.join(build, "numpy/__init__.py"): "/usr/local/lib/python3.13/site-packages/numpy/__init__.py",
                }, f)
            self.assertEqual(w.index_meson(build, SUFFIX), {built: "numpy._core._x"})

    def test_an_unknown_module_is_a_clear_error(self):
        with self.assertRaises(SystemExit) as raised:
            w.module_of({}, "pkg/_y.so")
        self.assertIn("pkg/_y.so", str(raised.exception))


if __name__ == "__main__":
    unittest.main()
