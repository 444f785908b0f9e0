"""The batch stage's compiled modules (gateway/pipeline/native.py): never older than their
sources, and imported compiled unless the build was told not to compile (or had no compiler)."""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

import pytest

from gateway.pipeline import native
from gateway.pipeline.patterns import miner

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("module", native.COMPILED)
def test_a_compiled_module_is_not_older_than_its_source(module: str) -> None:
    """An edited module runs its edit, not an old build: `make` rebuilds it
    (`.venv/bin/python setup.py build_ext --inplace` by hand). The modules' code is in the
    library they share (each module's own file only loads it from there, and a build that
    changed none of them leaves those files as they were)."""
    source = native.source(module, ROOT)
    if not native.built(module, ROOT):
        return  # pure Python
    libraries = [path for path in native.shared(ROOT) if path.exists()]
    assert libraries, f"{module} is compiled, but {native.GROUP}__mypyc is missing"
    for library in libraries:
        assert library.stat().st_mtime >= source.stat().st_mtime, (
            f"{library.name} is older than {source}: run make (or `.venv/bin/python "
            "setup.py build_ext --inplace`), or LOGSIEVE_COMPILE=0 make for pure Python"
        )


def test_the_package_runs_compiled_unless_told_not_to() -> None:
    compiled = native.runs_compiled()
    if not native.wanted():
        assert not compiled, "LOGSIEVE_COMPILE=0, yet compiled modules are imported"
    elif not _have_compiler():
        pytest.skip("no C compiler: the package runs pure Python")
    else:
        assert compiled, (
            f"{miner.__file__}: the batch stage runs pure Python, slower; "
            "`make` compiles it (LOGSIEVE_COMPILE=0 says pure Python is meant)"
        )


def test_each_compiled_module_has_its_source_in_the_package() -> None:
    """mypy checks the sources, and a build without a compiler falls back to them."""
    for module in native.COMPILED:
        assert native.source(module, ROOT).is_file()


def _have_compiler() -> bool:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(compiler) is not None
