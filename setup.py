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
            for path in self._outputs(inplace_only=False):
                path.unlink(missing_ok=True)
            self.extensions = []  # nothing built: nothing to install (the wheel keeps its tag)
            print(f"logsieve: not compiled, the package runs pure Python: {error}", file=sys.stderr)
            return
        if self.inplace:
            # Built from the sources as they are now, even where mypyc found the C unchanged
            # and nothing was compiled again: the staleness check (tests/pipeline/
            # test_native.py) and make compare the built files' times with the sources'.
            for path in self._outputs(inplace_only=True):
                if path.exists():
                    path.touch()

    def _outputs(self, inplace_only: bool) -> list[Path]:
        """The extensions' files beside their sources, and (unless `inplace_only`) in build/."""
        build_py = self.get_finalized_command("build_py")
        paths: list[Path] = []
        for ext in self.extensions:
            inplace, built = self._get_inplace_equivalent(build_py, ext)
            paths += [Path(inplace)] if inplace_only else [Path(inplace), Path(built)]
        return paths


# The same C wherever it is built: the types of the standard library and of the project's own
# modules only, none of the installed packages' (a build environment holds none of them, a
# dev one all); what they would type is `Any`, and no hot loop reads them. Errors outside the
# compiled modules are `make check`'s to report.
_MYPY_OPTIONS = ["--no-site-packages", "--ignore-missing-imports", "--follow-imports=silent"]


def extensions() -> list[Any]:
    if not native["wanted"]():
        return []
    try:
        from mypyc.build import mypycify  # a build requirement (pyproject.toml)

        return mypycify(
            [*_MYPY_OPTIONS, *(str(native["source"](module)) for module in native["COMPILED"])],
            opt_level="3",
            debug_level="0",
            group_name=native["GROUP"],
        )
    except (Exception, SystemExit) as error:  # mypyc reports a failure by exiting
        print(f"logsieve: not compiled, the package runs pure Python: {error}", file=sys.stderr)
        return []


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
