"""Builds qbopt._core with the project's CMake build and installs the package qbopt.

Metadata lives in pyproject.toml; this file adds what it cannot say: the version (parsed from
project(VERSION) in CMakeLists.txt, the one source of truth) and the CMake-built extension.

Environment:
  QBOPT_CMAKE_ARGS  extra CMake arguments, split like a shell line. The extension is built with
                    -march=native (QBOPT_NATIVE=ON) like the rest of qbopt; a wheel meant for
                    other machines needs QBOPT_CMAKE_ARGS="-DQBOPT_NATIVE=OFF".
  CMAKE_BUILD_PARALLEL_LEVEL  parallel jobs of the build (default: all cores).
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def cmake_project_version() -> str:
    text = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    m = re.search(r"\bproject\s*\(\s*qbopt\b[^)]*?\bVERSION\s+([0-9]+(?:\.[0-9]+)*)", text)
    if not m:
        raise RuntimeError("no project(qbopt VERSION x.y.z) in CMakeLists.txt")
    return m.group(1)


class CMakeExtension(Extension):
    def __init__(self, name: str):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        dest = Path(self.get_ext_fullpath(ext.name)).resolve()
        build_dir = Path(self.build_temp).resolve() / "cmake"
        build_dir.mkdir(parents=True, exist_ok=True)
        configure = [
            "cmake", "-S", str(ROOT), "-B", str(build_dir),
            "-DCMAKE_BUILD_TYPE=Release",
            "-DQBOPT_BUILD_TESTS=OFF", "-DQBOPT_BUILD_BENCH=OFF", "-DQBOPT_BUILD_PYTHON=ON",
            # The interpreter running pip (a venv's python): its headers, its extension suffix.
            f"-DPython_EXECUTABLE={sys.executable}",
        ]
        configure += shlex.split(os.environ.get("QBOPT_CMAKE_ARGS", ""))
        # CMake keeps -D values in its cache: a build tree configured with other arguments
        # (another interpreter, other QBOPT_CMAKE_ARGS) starts afresh instead of inheriting them.
        stamp = build_dir / "qbopt-configure-args.txt"
        previous = stamp.read_text(encoding="utf-8") if stamp.exists() else None
        if (build_dir / "CMakeCache.txt").exists() and previous != shlex.join(configure):
            configure.insert(1, "--fresh")
        build = ["cmake", "--build", str(build_dir), "--target", "qbopt_python"]
        if "CMAKE_BUILD_PARALLEL_LEVEL" not in os.environ:
            build += ["-j", str(os.cpu_count() or 1)]
        for cmd in (configure, build):
            print("+", shlex.join(cmd), flush=True)
            subprocess.run(cmd, check=True)
        stamp.write_text(shlex.join([a for a in configure if a != "--fresh"]), encoding="utf-8")
        # python/CMakeLists.txt assembles the package in <build>/python/qbopt.
        built = sorted((build_dir / "python" / "qbopt").glob("_core*.so"))
        if len(built) != 1:
            raise RuntimeError(f"expected one _core*.so in {build_dir / 'python' / 'qbopt'}, found {built}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], dest)


setup(
    version=cmake_project_version(),
    package_dir={"": "python"},
    packages=["qbopt"],
    ext_modules=[CMakeExtension("qbopt._core")],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
    # Not build/: that is the CMake build tree of scripts/build.sh.
    options={"build": {"build_base": "build-pip"}},
)
