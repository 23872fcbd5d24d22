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

    def test_init_symbols_are_unique_per_dotted_name(self):
        self.assertEqual(w.init_symbol("numpy._core._multiarray_umath"),
                         "PyInit_5numpy5_core17_multiarray_umath")
        self.assertNotEqual(w.init_symbol("a.bc"), w.init_symbol("ab.c"))


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

    def test_compiles_are_replayed_with_the_module_renames(self):
        with tempfile.TemporaryDirectory() as d:
            config = {"wrap_dir": d, "rename_dir": os.path.join(d, "rename")}
            obj = os.path.join(d, "build", "temp", "x.o")
            os.makedirs(os.path.dirname(obj))
            # A "compiler" that writes its arguments into the object.
            cc = os.path.join(d, "cc")
            with open(cc, "w") as f:
                f.write("#!/bin/sh\nwhile [ $# -gt 0 ]; do if [ \"$1\" = -o ]; then shift; out=$1; fi; shift; done\necho renamed > \"$out\"\n")
            os.chmod(cc, 0o755)
            w.record_compile(config, obj, [cc, "-c", "x.c", "-o", obj])
            got = w.renamed_objects(config, [obj, "/other/y.o"], "pkg._x")
            self.assertEqual(got, [obj + ".faasm.o", "/other/y.o"])
            with open(obj + ".faasm.o") as f:
                self.assertEqual(f.read().strip(), "renamed")


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

    def test_module_objects_get_their_init_renamed(self):
        config = {"rename_dir": "/nonexistent"}
        index = {os.path.abspath("numpy/_x.so"): "numpy._x"}
        argv = w.compile_command(config, index, "/cc", ["-c", "a.c", "-o", "numpy/_x.so.p/a.c.o"])
        self.assertEqual(argv[:2], ["/cc", "-DPyInit__x=PyInit_5numpy2_x"])
        plain = w.compile_command(config, index, "/cc", ["-c", "b.c", "-o", "lib/b.o"])
        self.assertEqual(plain, ["/cc", "-c", "b.c", "-o", "lib/b.o"])

    def test_an_unknown_module_is_a_clear_error(self):
        with self.assertRaises(SystemExit) as raised:
            w.module_of({}, "pkg/_y.so")
        self.assertIn("pkg/_y.so", str(raised.exception))


if __name__ == "__main__":
    unittest.main()
