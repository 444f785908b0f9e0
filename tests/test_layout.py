"""The import rules of docs/architecture.md, checked on the source tree.

Imports run one way: the core <- the stages <- runtime and cli. Stages never import each other
(the composition root wires them); the viewer imports only the core; the composition root is
the only module that imports both a stage and the viewer. Inside the core, the base modules
import nothing of the project, and store, config, http and telemetry only the base (telemetry
also http, for its endpoint). Every import counts, a lazy one inside a function too.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# room -> the module prefixes it holds (the longest matching prefix wins)
ROOMS = {
    "base": (
        "gateway",  # gateway/__init__.py and the plain modules directly in gateway/
        "gateway.model",
        "gateway.otlp",
        "gateway.severity",
        "gateway.errors",
        "gateway.clock",
        "gateway.text",
        "gateway.redact",
    ),
    "store": ("gateway.store",),
    "config": ("gateway.config",),
    "http": ("gateway.http",),
    "telemetry": ("gateway.telemetry",),
    "receivers": ("gateway.receivers",),
    "pipeline": ("gateway.pipeline",),
    "export": ("gateway.export",),
    "runtime": ("gateway.runtime",),
    "cli": ("gateway.cli", "gateway.__main__"),
    "viewer": ("viewer",),
}
CORE = {"base", "store", "config", "http", "telemetry"}
STAGES = {"receivers", "pipeline", "export"}
MAY_IMPORT = {
    "base": {"base"},
    "store": {"base", "store"},
    "config": {"base", "config"},
    "http": {"base", "http"},
    "telemetry": {"base", "http", "telemetry"},
    **{stage: CORE | {stage} for stage in STAGES},
    "viewer": CORE | {"viewer"},
    "runtime": CORE | STAGES | {"runtime", "viewer"},
    "cli": CORE | STAGES | {"runtime", "cli"},
}
COMPOSITION_ROOT = "gateway.runtime.app"
# The client package (client/, its own distribution) runs in users' applications: it may import
# the standard library, OpenTelemetry and itself, nothing of the gateway.
CLIENT_MAY_IMPORT = ("logsieve_client", "opentelemetry")


def room_of(module: str) -> str | None:
    """The room holding `module`, or None for a module outside the project."""
    best: tuple[int, str | None] = (0, None)
    for room, prefixes in ROOMS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[0]:
                best = (len(prefix), room)
    return best[1]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, module: str, root: Path) -> Iterator[str]:
    """Every module `path` imports, wherever the import stands; relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            yield base
            # `from package import module`: the module counts, in whatever room it stands
            names = (f"{base}.{alias.name}" for alias in node.names)
            yield from (name for name in names if _is_module(name, root))


def _is_module(name: str, root: Path) -> bool:
    path = root / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*parent, *([node.module] if node.module else [])])


def violations(root: Path) -> list[str]:
    """Each import that breaks a rule, as `module -> imported (why)`."""
    found: list[str] = []
    for path in sorted([*root.glob("gateway/**/*.py"), *root.glob("viewer/**/*.py")]):
        module = module_name(path, root)
        room = room_of(module)
        assert room is not None, f"{module} is in no room: add it to ROOMS"
        rooms = {target: room_of(target) for target in imported(path, module, root)}
        found += [
            f"{module} -> {target} ({room} may not import {other})"
            for target, other in rooms.items()
            if other is not None and other not in MAY_IMPORT[room]
        ]
        touched = set(rooms.values())
        if module != COMPOSITION_ROOT and "viewer" in touched and touched & STAGES:
            found.append(f"{module} imports a stage and the viewer (only {COMPOSITION_ROOT} may)")
    return found


def test_the_source_tree_keeps_the_import_rules() -> None:
    assert violations(REPO) == []


def client_violations(root: Path) -> list[str]:
    """Each import of the client package that is neither the standard library's nor allowed."""
    found: list[str] = []
    for path in sorted(root.glob("client/logsieve_client/**/*.py")):
        module = module_name(path, root / "client")
        for target in imported(path, module, root / "client"):
            top = target.partition(".")[0]
            if top not in sys.stdlib_module_names and top not in CLIENT_MAY_IMPORT:
                found.append(f"{module} -> {target} (the client imports nothing of the gateway)")
    return found


def test_the_client_package_imports_nothing_of_the_gateway() -> None:
    assert list(REPO.glob("client/logsieve_client/*.py"))
    assert client_violations(REPO) == []


def test_a_client_importing_the_gateway_is_a_violation(tmp_path: Path) -> None:
    write(
        tmp_path / "client",
        "logsieve_client.__init__",
        "import logging\nfrom gateway import otlp\n",
    )
    assert client_violations(tmp_path) == [
        "logsieve_client -> gateway (the client imports nothing of the gateway)",
    ]


def write(root: Path, module: str, source: str) -> None:
    path = root / (module.replace(".", "/") + ".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")


def test_a_stage_importing_the_runtime_is_a_violation(tmp_path: Path) -> None:
    write(tmp_path, "gateway.runtime.app", "")
    write(tmp_path, "gateway.runtime.__init__", "")
    write(tmp_path, "gateway.pipeline.batch", "def f():\n    from gateway.runtime import app\n")
    assert violations(tmp_path) == [
        "gateway.pipeline.batch -> gateway.runtime (pipeline may not import runtime)",
        "gateway.pipeline.batch -> gateway.runtime.app (pipeline may not import runtime)",
    ]


def test_a_module_imported_from_its_package_counts_in_its_own_room(tmp_path: Path) -> None:
    write(tmp_path, "gateway.receivers.__init__", "")
    write(tmp_path, "viewer.feed", "from gateway import receivers\n")
    assert violations(tmp_path) == [
        "viewer.feed -> gateway.receivers (viewer may not import receivers)",
    ]


def test_the_viewer_importing_a_stage_is_a_violation(tmp_path: Path) -> None:
    write(tmp_path, "viewer.app", "import gateway.export.logflare\nfrom gateway import model\n")
    assert violations(tmp_path) == [
        "viewer.app -> gateway.export.logflare (viewer may not import export)",
    ]


def test_a_stage_importing_another_stage_is_a_violation(tmp_path: Path) -> None:
    write(tmp_path, "gateway.pipeline.batch", "from ..export.logflare import encode\n")
    assert violations(tmp_path) == [
        "gateway.pipeline.batch -> gateway.export.logflare (pipeline may not import export)",
    ]


def test_only_the_composition_root_imports_a_stage_and_the_viewer(tmp_path: Path) -> None:
    both = "from gateway.receivers import grpc\nfrom viewer import app\n"
    write(tmp_path, "gateway.runtime.app", both)
    write(tmp_path, "gateway.runtime.supervisor", both)
    assert violations(tmp_path) == [
        "gateway.runtime.supervisor imports a stage and the viewer (only gateway.runtime.app may)"
    ]


def test_the_core_imports_no_stage(tmp_path: Path) -> None:
    write(tmp_path, "gateway.store._store", "from gateway.telemetry.metrics import Metrics\n")
    write(tmp_path, "gateway.model", "from gateway.receivers import ingest\n")
    write(tmp_path, "gateway.receivers.ingest", "")
    assert violations(tmp_path) == [
        "gateway.model -> gateway.receivers (base may not import receivers)",
        "gateway.model -> gateway.receivers.ingest (base may not import receivers)",
        "gateway.store._store -> gateway.telemetry.metrics (store may not import telemetry)",
    ]
