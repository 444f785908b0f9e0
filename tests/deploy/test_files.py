"""The deploy files checked as files: the Dockerfile by hadolint, the systemd unit by
systemd-analyze (verify, and its security exposure), compose.yaml's wiring, and the image's
config against the shipped one. Fast; `make test` runs them."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from gateway.config.settings import parse_config
from tests.conftest import require
from tests.deploy import layout

SHIPPED_CONFIG = layout.ROOT / "config" / "gateway.yaml"
MAX_EXPOSURE = "2.0"  # systemd-analyze security: 0 is locked down, 10 is wide open
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "ReadWritePaths": "/var/lib/logsieve",
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "SystemCallFilter": "@system-service",
    "Restart": "on-failure",
    "User": "logsieve",
}


def tool(name: str) -> str:
    """A program from the venv (hadolint comes with the dev extra) or the system."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    require(found is not None, f"{name} is not installed")
    assert found is not None
    return found


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    command = [tool("hadolint"), str(layout.DOCKERFILE)]
    lint = subprocess.run(command, capture_output=True, text=True)
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, "")


def test_the_dockerfile_builds_in_one_stage_and_runs_in_another() -> None:
    build, runtime = layout.instructions(1), layout.instructions(2)
    assert build[0][1].endswith("AS build")
    assert any(word == "RUN" and "gcc" in rest for word, rest in build)
    installs = " ".join(rest for word, rest in runtime if word == "RUN")
    assert "gcc" not in installs and "--no-index" in installs  # wheels only, no compiler
    assert not layout.user().startswith("0") and layout.user() != "root"
    assert dict(runtime)["VOLUME"] == '["/var/lib/logsieve"]'
    storage = parse_config(_tree(layout.IMAGE_CONFIG), env={}).storage.url
    assert storage.startswith("sqlite:////var/lib/logsieve/")  # the default stays in the volume


def _unit_root(tmp: Path) -> Path:
    """A root holding systemd's own units, ours, and a stand-in for each program it runs
    (verify checks that they exist), so that the unit is verified as installed."""
    root = tmp / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    unit_dir = root / "etc/systemd/system"
    unit_dir.mkdir(parents=True)
    shutil.copy(layout.UNIT, unit_dir)
    for program in re.findall(r"^Exec\w+=[-@:+!]*(\S+)", layout.UNIT.read_text(), re.M):
        stand_in = root / program.lstrip("/")
        stand_in.parent.mkdir(parents=True, exist_ok=True)
        stand_in.write_text("#!/bin/sh\n")
        stand_in.chmod(0o755)
    return root


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    require(Path("/usr/lib/systemd/system").is_dir(), "systemd's units are not installed")
    root = _unit_root(tmp_path)
    verify = subprocess.run(
        [analyze, "verify", f"--root={root}", layout.UNIT.name], capture_output=True, text=True
    )
    assert (verify.returncode, verify.stdout + verify.stderr) == (0, "")


def test_the_unit_is_hardened(tmp_path: Path, report: Callable[[str], None]) -> None:
    settings = _unit_settings()
    assert {key: settings.get(key) for key in HARDENING} == HARDENING
    assert "MemoryDenyWriteExecute" not in settings  # PCRE2's JIT writes and runs code
    require(Path("/usr/lib/systemd/system").is_dir(), "systemd's units are not installed")
    security = subprocess.run(
        [tool("systemd-analyze"), "security", "--offline=yes", f"--root={_unit_root(tmp_path)}",
         f"--threshold={float(MAX_EXPOSURE) * 10:.0f}", "--no-pager", layout.UNIT.name],
        capture_output=True, text=True,
    )  # fmt: skip
    exposure = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
    assert exposure, security.stdout + security.stderr
    report(f"systemd-analyze security: exposure {exposure.group(1)} (0 best, 10 worst)")
    assert security.returncode == 0 and float(exposure.group(1)) <= float(MAX_EXPOSURE)


def _unit_settings() -> dict[str, str]:
    settings = {}
    for line in layout.UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings[key] = value
    return settings


def test_compose_runs_two_gateways_after_the_migration_on_its_postgresql() -> None:
    services = layout.compose({"POSTGRES_PASSWORD": "secret"})
    assert set(services) == {"postgres", "migrate", *layout.GATEWAYS}
    pg = services["postgres"].environment
    image = services["migrate"].image
    assert services["migrate"].command == ["migrate", "--config", "/etc/logsieve/logsieve.yaml"]
    assert services["migrate"].depends_on == {"postgres": "service_healthy"}
    for name in ["migrate", *layout.GATEWAYS]:
        service = services[name]
        assert service.image == image
        url = service.environment["LOGSIEVE_STORAGE_URL"]
        assert layout.storage_url_parts(url) == (
            "postgresql+psycopg",
            pg["POSTGRES_USER"],
            "postgres",
            pg["POSTGRES_DB"],
        )
        assert ":secret@" in url  # the password compose was given
    for name in layout.GATEWAYS:
        assert services[name].command is None  # the image's CMD: logsieve run
        assert services[name].depends_on == {"migrate": "service_completed_successfully"}


def test_compose_publishes_every_port_of_each_gateway_once() -> None:
    services = layout.compose({"POSTGRES_PASSWORD": "secret"})
    ports = layout.image_ports()
    grpc = _config_port(parse_config(_tree(layout.IMAGE_CONFIG), env={}).receivers.otlp.grpc)
    host_ports = []
    for name in layout.GATEWAYS:
        published = dict((port, host) for host, port in services[name].ports)
        assert set(published) == {grpc, *ports.values()}
        for private in (ports["viewer"], ports["telemetry"]):  # no viewer token in the image
            assert published[private].startswith("127.0.0.1:")
        host_ports += [host.rpartition(":")[2] for host in published.values()]
    assert len(host_ports) == len(set(host_ports))


def _config_port(receiver: Any) -> int:
    return int(receiver.endpoint.rpartition(":")[2])


def test_compose_wants_a_database_password() -> None:
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
        layout.compose({})


def test_the_images_config_is_the_shipped_one_but_for_addresses_and_storage() -> None:
    image = parse_config(_tree(layout.IMAGE_CONFIG), env={}).model_dump()
    shipped = parse_config(_tree(SHIPPED_CONFIG), env={}).model_dump()
    for config in (image, shipped):
        for receiver in config["receivers"]["otlp"].values():
            receiver.pop("endpoint", None)
        config["viewer"].pop("endpoint")
        config["telemetry"]["metrics"].pop("endpoint")
        config.pop("storage")
    assert image == shipped


def _tree(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("healthcheck", layout.HEALTHCHECK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_health_check_asks_readyz_where_the_images_config_listens() -> None:
    healthcheck = _healthcheck()
    port = layout.image_ports()["telemetry"]
    assert healthcheck.readyz_url(healthcheck.DEFAULT_ENDPOINT).endswith(f":{port}/readyz")
    assert healthcheck.readyz_url("0.0.0.0:8890") == "http://127.0.0.1:8890/readyz"
    assert healthcheck.readyz_url("[::]:8890") == "http://[::1]:8890/readyz"
    assert healthcheck.readyz_url("10.1.2.3:99") == "http://10.1.2.3:99/readyz"
    assert "${env:LOGSIEVE_METRICS:-" in layout.IMAGE_CONFIG.read_text()  # the variable it reads
