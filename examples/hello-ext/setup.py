"""The C extension part (setuptools' pyproject.toml has no table for it)."""
from setuptools import Extension, setup

setup(
    package_dir={"": "src"},
    packages=["hello_ext"],
    ext_modules=[Extension("hello_ext._speedups", ["src/hello_ext/_speedups.c"])],
)
