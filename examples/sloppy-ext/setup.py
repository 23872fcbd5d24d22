"""The C extension part (setuptools' pyproject.toml has no table for it)."""
from setuptools import Extension, setup

setup(
    package_dir={"": "src"},
    packages=["sloppy_ext"],
    ext_modules=[Extension("sloppy_ext._sloppy", ["src/sloppy_ext/_sloppy.c"])],
)
