"""The container image itself, built from the Dockerfile and run in compose.yaml's layout:
the migrate service, then the two gateways, as containers of the image with the commands,
environment and container ports compose.yaml gives them, on the test's PostgreSQL.

It takes minutes (a Debian base made with mmdebstrap when no registry is reachable, then the
build), so `make test` leaves it out: `make test-image` runs it (LOGSIEVE_IMAGE_TEST=1), and CI
does. It needs podman (Debian's package); the postgres service is the test's PostgreSQL on the
host, reached through slirp4netns (the host's loopback is 10.0.2.2 there), since no registry
serves the postgres image here."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from gateway.store import Store
from tests.conftest import PG_URL, reachable_postgresql, require
from tests.deploy import checks, layout
from tests.harness import wait_until

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("LOGSIEVE_IMAGE_TEST") != "1",
        reason="builds the container image (minutes): `make test-image` runs it",
    ),
    pytest.mark.timeout(2400),  # the first test's time includes the build
]
Completed = subprocess.CompletedProcess[str]
TAG = "localhost/logsieve:test"
# Inside the image: its user, whether a compiler is there, whether its config loads.
SHOW = (
    "id -u; command -v gcc cc || echo no compiler;"
    " logsieve check-config /etc/logsieve/logsieve.yaml"
)
BASE = os.environ.get("LOGSIEVE_BASE_IMAGE", "localhost/debian:bookworm-slim")
HOST_LOOPBACK = "10.0.2.2"  # the host's 127.0.0.1 as slirp4netns:allow_host_loopback shows it
NETWORK = "slirp4netns:allow_host_loopback=true"
CA_BUNDLE = Path(os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"))


def podman(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run podman with what this kind of machine needs: runc where installed (crun refuses a
    hybrid cgroup layout) and resource limits no higher than ours (without CAP_SYS_RESOURCE
    the runtime cannot raise them to podman's defaults)."""
    runtime = ["--runtime", "runc"] if shutil.which("runc") else []
    done = subprocess.run(
        ["podman", *runtime, *args], capture_output=True, text=True, timeout=timeout
    )
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: {done.returncode}\n{done.stderr[-3000:]}")
    return done


def limits() -> list[str]:
    files = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 65536)
    processes = min(resource.getrlimit(resource.RLIMIT_NPROC)[1], 4096)
    return ["--ulimit", f"nofile={files}:{files}", "--ulimit", f"nproc={processes}:{processes}"]


FIGURES: list[str] = []  # build times, reported by the first test that uses the image


@pytest.fixture(scope="module")
def image() -> str:
    require(shutil.which("podman") is not None, "podman is not installed (Debian's podman)")
    if BASE == "localhost/debian:bookworm-slim":  # no registry: made from Debian's packages
        require(shutil.which("mmdebstrap") is not None, "mmdebstrap is not installed")
        started = time.monotonic()
        made = subprocess.run([str(layout.ROOT / "deploy" / "base-image.sh"), BASE], timeout=1800)
        assert made.returncode == 0
        FIGURES.append(f"base image {BASE}: {time.monotonic() - started:.0f} s")
    secret = ["--secret", f"id=ca-certificates,src={CA_BUNDLE}"] if CA_BUNDLE.is_file() else []
    started = time.monotonic()
    podman(
        "build", "--format", "docker", "--build-arg", f"BASE_IMAGE={BASE}", *secret, *limits(),
        "-t", TAG, str(layout.ROOT), timeout=1800,
    )  # fmt: skip
    FIGURES.append(f"image build: {time.monotonic() - started:.0f} s")
    return TAG


@pytest.fixture
def containers() -> Iterator[list[str]]:
    """Names of the containers a test starts; all removed after it."""
    names: list[str] = []
    yield names
    for name in names:
        podman("rm", "--force", "--time", "5", name, check=False)


def container_url() -> str:
    """The test database as a container reaches it."""
    return make_url(PG_URL).set(host=HOST_LOOPBACK).render_as_string(hide_password=False)


def start(service: layout.Service, names: list[str], detach: bool = True) -> str:
    name = f"logsieve-test-{service.name}-{uuid.uuid4().hex[:8]}"
    names.append(name)
    env = service.environment | {"LOGSIEVE_STORAGE_URL": container_url()}
    published = [f"--publish=127.0.0.1::{port}" for _, port in service.ports]
    run = ["run", f"--name={name}", f"--network={NETWORK}", *limits(), *published]
    run += [f"--env={key}={value}" for key, value in env.items()]
    podman(*run, *(["--detach"] if detach else []), TAG, *(service.command or []), timeout=300)
    return name


def endpoints(name: str) -> checks.Endpoints:
    """Where the test reaches a gateway container: the host ports its container ports got."""
    found = {}
    for key, port in layout.image_ports().items():
        mapped = podman("port", name, f"{port}/tcp").stdout.strip().splitlines()[0]
        found[key] = f"http://{mapped}"
    return checks.Endpoints(**found)


def healthy(name: str) -> bool:
    """The image's HEALTHCHECK (GET /readyz) run once, as the engine runs it."""
    return podman("healthcheck", "run", name, check=False).returncode == 0


def test_the_image_runs_the_compose_layout_on_postgresql(image: str, containers: list[str]) -> None:
    services = layout.compose({"POSTGRES_PASSWORD": "composepassword"})
    store = reachable_postgresql(pool_size=1)
    store.drop_all()  # an empty database, as a new postgres service starts with
    store.dispose()

    migrate = start(services["migrate"], containers)
    exited = podman("wait", migrate, timeout=300).stdout.strip()
    assert exited == "0", podman("logs", migrate).stderr
    names = [start(services[name], containers) for name in layout.GATEWAYS]
    wait_until(lambda: all(healthy(name) for name in names), 180, "both containers healthy")
    a, b = (endpoints(name) for name in names)
    assert checks.ready(a) and checks.ready(b)

    body = checks.send_one_log(a)
    checks.stored_once(PG_URL, body)
    assert checks.shown_by(b, body) == 1  # sent to a, shown by b: one database
    for name in names:  # `docker compose stop`: SIGTERM to the gateway as PID 1, a clean exit
        podman("stop", "--time", "45", name, timeout=120)
        state = podman("inspect", name, "--format", "{{.State.ExitCode}}").stdout.strip()
        assert state == "0", podman("logs", name).stderr[-3000:]
    store = Store(PG_URL, pool_size=1)
    store.drop_all()
    store.dispose()


def test_the_image_is_what_the_dockerfile_says(image: str, report: Callable[[str], None]) -> None:
    """Its own user, the health check on /readyz, the command line, no compiler, and the
    config it ships loads."""
    for figure in FIGURES:
        report(figure)
    inspected = json.loads(podman("image", "inspect", image).stdout)[0]
    assert inspected["Config"]["User"] == layout.user() == "10001:10001"
    assert inspected["Healthcheck"]["Test"] == ["CMD", *layout.healthcheck_command()]
    command = inspected["Config"]["Entrypoint"] + inspected["Config"]["Cmd"]
    assert command == layout.image_command()
    probe = podman(
        "run", "--rm", *limits(), "--entrypoint", "sh", image, "-c",
        SHOW,
    ).stdout.splitlines()  # fmt: skip
    assert probe == ["10001", "no compiler", "/etc/logsieve/logsieve.yaml: OK"]
