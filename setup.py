"""Builds the batch stage's hot modules as C extensions with mypyc (the list and the switch:
gateway/pipeline/native.py); everything else about the package is in pyproject.toml.

LOGSIEVE_COMPILE=0, or a build without a C compiler, gives the pure-Python package: the same
modules, the same results, slower. A compiled module sits beside its source (`pip install -e`
and `setup.py build_ext --inplace` put it there; `make` rebuilds it when the source is newer).
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
native = runpy.run_path(str(ROOT / "gateway" / "pipeline" / "native.py"))


class OptionalBuildExt(build_ext):  # type: ignore[misc]
    """Any failure to compile (no compiler, no Python headers) leaves the pure-Python package,
    with a warning, and none of the compiled modules: a partial set would not import."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # a compiler's failures come in many types
            build_py = self.get_finalized_command("build_py")
            for ext in self.extensions:
                for path in self._get_inplace_equivalent(build_py, ext):  # both places
                    Path(path).unlink(missing_ok=True)
            self.extensions.clear()  # nothing built: nothing to install
            print(f"logsieve: not compiled, the package runs pure Python: {error}", file=sys.stderr)


def extensions() -> list[Any]:
    if not native["wanted"]():
        return []
    from mypyc.build import mypycify  # a build requirement (pyproject.toml)

    return mypycify(
        [str(native["source"](module)) for module in native["COMPILED"]],
        opt_level="3",
        debug_level="0",
        group_name=native["GROUP"],
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
