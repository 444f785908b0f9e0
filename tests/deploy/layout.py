"""The deploy files as the tests read them: compose.yaml's services (commands, environment,
ports) and the Dockerfile's command and copied files, so that the tests run what those files
say rather than a copy of it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from gateway.config.settings import parse_config

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
UNIT = ROOT / "deploy" / "logsieve.service"
IMAGE_CONFIG = ROOT / "deploy" / "logsieve.yaml"
HEALTHCHECK = ROOT / "deploy" / "healthcheck.py"
GATEWAYS = ("gateway-a", "gateway-b")

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """A compose string with its variables replaced as compose replaces them."""

    def one(match: re.Match[str]) -> str:
        name, operator, word = match.group(1), match.group(2), match.group(3) or ""
        present = env.get(name)
        empty = present is None or (
            operator is not None and operator.startswith(":") and not present
        )
        if operator and operator.endswith("?") and empty:
            raise ValueError(f"{name}: {word}")
        if operator and operator.endswith("-") and empty:
            return word
        return present or ""

    return _VARIABLE.sub(one, value)


@dataclass(frozen=True)
class Service:
    """One compose service, its variables interpolated."""

    name: str
    image: str
    command: list[str] | None  # None: the image's CMD
    environment: dict[str, str]
    ports: list[tuple[str, int]]  # (host part as written, container port)
    depends_on: dict[str, str]  # service -> condition


def compose(env: Mapping[str, str]) -> dict[str, Service]:
    """compose.yaml's services with `env` as the shell's variables."""
    tree = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # merge keys (<<) resolved
    return {name: _service(name, spec, env) for name, spec in tree["services"].items()}


def _service(name: str, spec: dict[str, Any], env: Mapping[str, str]) -> Service:
    environment = {k: interpolate(str(v), env) for k, v in spec.get("environment", {}).items()}
    ports = []
    for port in spec.get("ports", []):
        host, _, container = str(port).rpartition(":")
        ports.append((host, int(container)))
    depends = spec.get("depends_on", {})
    return Service(
        name=name,
        image=spec["image"],
        command=list(spec["command"]) if "command" in spec else None,
        environment=environment,
        ports=ports,
        depends_on={k: v["condition"] for k, v in depends.items()},
    )


def storage_url_parts(url: str) -> tuple[str, str, str, str]:
    """(driver, user, host, database) of a compose storage URL."""
    parsed = make_url(url)
    return parsed.drivername, str(parsed.username), str(parsed.host), str(parsed.database)


def instructions(stage: int | None = -1) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined; only the
    instructions of stage `stage` (by index; -1 the last), or all with None."""
    text = re.sub(r"\\\n(\s*#.*\n)*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stages: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        word, _, rest = line.strip().partition(" ")
        if word.upper() == "FROM":
            stages.append([])
        stages[-1].append((word.upper(), rest.strip()))
    if stage is None:
        return [item for part in stages for item in part]
    return stages[stage]


def image_command(command: list[str] | None = None) -> list[str]:
    """What the image runs: ENTRYPOINT + CMD, or ENTRYPOINT + a compose service's command."""
    found = dict(instructions())
    entrypoint: list[str] = json.loads(found["ENTRYPOINT"])
    return entrypoint + (command if command is not None else json.loads(found["CMD"]))


def image_files() -> dict[str, Path]:
    """The files the runtime stage copies from the build context: path in the image -> in
    the repository."""
    copied = {}
    for word, rest in instructions():
        if word == "COPY" and not rest.startswith("--from"):
            source, target = rest.split()
            copied[target] = ROOT / source
    return copied


def healthcheck_command() -> list[str]:
    """The HEALTHCHECK's CMD (exec form)."""
    rest = dict(instructions())["HEALTHCHECK"]
    return list(json.loads(rest.split(" CMD ", 1)[1]))


def user() -> str:
    return dict(instructions())["USER"]


def image_ports() -> dict[str, int]:
    """The container ports of the image's config when the environment sets none: OTLP/HTTP,
    the live page and telemetry."""
    tree = yaml.safe_load(IMAGE_CONFIG.read_text(encoding="utf-8"))
    config = parse_config(tree, env={})
    endpoints = {
        "http": config.receivers.otlp.http.endpoint,
        "viewer": config.viewer.endpoint,
        "telemetry": config.telemetry.metrics.endpoint,
    }
    return {key: int(endpoint.rpartition(":")[2]) for key, endpoint in endpoints.items()}
