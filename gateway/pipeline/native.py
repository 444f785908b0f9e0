"""Which of the batch stage's modules are compiled to C by mypyc, and whether they run so.

The one list of them: setup.py compiles these (unless LOGSIEVE_COMPILE=0, or the build has no
C compiler: then the package is pure Python and gives the same results), the Makefile
rebuilds them when one's source is newer than its compiled form, and tests/pipeline/
test_native.py fails on a stale one. They are the batch stage's hot loop by pattern (mask,
learn, match, group, count); gateway/model.py stays Python: the viewer subclasses its classes,
and compiled classes take no interpreted subclasses.

Run as a script (no import of the package: setup.py and make read it before any build), it
prints the modules' source files, one a line; `clean` removes their compiled forms.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import sys
from pathlib import Path

COMPILED = (
    "gateway.pipeline.dedupe",
    "gateway.pipeline.fine",
    "gateway.pipeline.grouping",
    "gateway.pipeline.sampling",
    "gateway.pipeline.patterns.clusters",
    "gateway.pipeline.patterns.dormant",
    "gateway.pipeline.patterns.index",
    "gateway.pipeline.patterns.joining",
    "gateway.pipeline.patterns.masks",
    "gateway.pipeline.patterns.miner",
    "gateway.pipeline.patterns.scan",
    "gateway.pipeline.patterns.spans",
    "gateway.pipeline.patterns.tokens",
)
GROUP = "gateway_native"  # the shared library's name (gateway_native__mypyc.*.so)
SWITCH = "LOGSIEVE_COMPILE"  # "0": build and run pure Python


def wanted() -> bool:
    """Whether a build should compile them."""
    return os.environ.get(SWITCH, "1") != "0"


def source(module: str, root: Path = Path()) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def built(module: str, root: Path = Path()) -> list[Path]:
    """The module's compiled forms beside its source (one per Python version built for)."""
    py = source(module, root)
    stem = py.with_suffix("")
    return [
        path
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
        if (path := stem.with_name(stem.name + suffix)).exists()
    ]


def shared(root: Path = Path()) -> list[Path]:
    """The library the compiled modules share (mypyc's runtime and their code), at the top."""
    return [root / f"{GROUP}__mypyc{suffix}" for suffix in importlib.machinery.EXTENSION_SUFFIXES]


def runs_compiled() -> bool:
    """Whether this process runs the compiled forms (each module imported if not yet)."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    files = [importlib.import_module(name).__file__ or "" for name in COMPILED]
    return all(file.endswith(suffixes) for file in files)


def _main(args: list[str]) -> None:
    if args == ["clean"]:  # back to pure Python: the compiled forms beside the sources go
        for path in [*shared(), *(path for module in COMPILED for path in built(module))]:
            path.unlink(missing_ok=True)
    else:
        print("\n".join(str(source(module)) for module in COMPILED))


if __name__ == "__main__":
    _main(sys.argv[1:])
