"""The `logsieve` command as a user runs it: check-config, run, and a clean SIGTERM."""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

from gateway.cli.main import main
from gateway.store import Store
from tests.builders import Rec, request

REPO = Path(__file__).parents[2]


def test_check_config_accepts_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(REPO / "config" / "gateway.yaml")]) == 0
    assert "OK" in capsys.readouterr().out


def test_version_is_the_packages(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"logsieve {metadata.version('logsieve')}\n"


def test_check_config_takes_config_as_every_command_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = str(REPO / "config" / "gateway.yaml")
    assert main(["check-config", "--config", shipped]) == 0
    assert main(["check-config", shipped, "--config", shipped]) == 0  # the same file twice
    assert capsys.readouterr().out == f"{shipped}: OK\n" * 2
    other = tmp_path / "other.yaml"
    assert main(["check-config", shipped, "--config", str(other)]) == 2
    assert capsys.readouterr().err == f"two files given: {shipped} and --config {other}\n"


def test_init_config_takes_config_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "new.yaml"
    assert main(["init-config", "--config", str(target)]) == 0
    assert f"logsieve check-config --config {target}" in capsys.readouterr().out
    assert main(["check-config", "--config", str(target)]) == 0
    assert main(["init-config", str(target)]) == 1  # the positional form, refused: it exists


def test_check_config_lists_every_problem_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("processor: {interval: soon, bogus: 1}\nviewer: {endpoint: nowhere}\n")
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "3 problem(s)" in err
    for path in ("processor.interval", "processor.bogus: unknown key", "viewer.endpoint"):
        assert path in err  # in the names the file used, old ones too


def test_check_config_warns_of_an_old_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.yaml"
    old.write_text("components: [ingest, processing]\nprocessor: {interval: 2s}\n")
    assert main(["check-config", str(old)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"{old}: OK"
    assert f"{old}: warning: processor: renamed to batch" in err
    assert f"{old}: warning: components: processing is now batch" in err


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "receivers: {otlp: {grpc: {endpoint: '127.0.0.1:0'}, http: {endpoint: '127.0.0.1:0'}}}\n"
        f"storage: {{url: 'sqlite:///{tmp_path / 'q.db'}'}}\n"
        "batch: {interval: 1h}\n"
        "viewer: {endpoint: '127.0.0.1:0'}\n"
        "telemetry: {metrics: {endpoint: '127.0.0.1:0'}}\n"
    )
    return config


def start(config: Path) -> tuple[subprocess.Popen[str], str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGFLARE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:  # blocks until the gateway logs its address (or exits)
        seen.append(line)
        if match := re.search(r"receiver listening on (\S+)", line):
            return process, match.group(1), "".join(seen)
    process.wait(10)
    pytest.fail(f"gateway exited with {process.returncode} before listening")


def test_run_says_logflare_is_off_and_sigterm_loses_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    process, address, _ = start(config)
    try:
        with grpc.insecure_channel(address) as channel:
            stub = LogsServiceStub(channel)
            for _ in range(20):
                stub.Export(request([Rec("acknowledged", 17)] * 50), timeout=10)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "stopped" in err
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    # Every acknowledged record is still queued, or was processed by the start-up batch.
    processed = sum(r.entry.count for r in store.recent_newest(time.time_ns(), 1000))
    assert store.queue_depth() + processed == 1000
    store.dispose()


def test_no_exporter_on_is_said_once_at_start(tmp_path: Path) -> None:
    process, _, early = start(write_config(tmp_path))
    process.send_signal(signal.SIGINT)
    _, late = process.communicate(timeout=30)
    assert process.returncode == 0
    err = early + late
    assert err.count("no exporter is on") == 1


def test_a_corrupt_database_fails_loudly(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "q.db").write_bytes(b"this is not a database" * 1000)
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "cannot start" in result.stderr


def test_a_bad_config_exits_2_without_starting(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("storage: {url: 'mysql://x'}\n")
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "storage.url" in result.stderr


BOMB = REPO / "tests" / "golden" / "config" / "alias_bomb.yaml"
# Address space for a check-config run: Python and the config models need about 100 MB; the
# bombs written out need gigabytes (before the fix: a MemoryError after half a minute).
BOMB_ADDRESS_SPACE = 300 * 1024 * 1024


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (BOMB_ADDRESS_SPACE, BOMB_ADDRESS_SPACE))


def _long_string_bomb(folder: Path) -> Path:
    """Few values, but a 900 KB bad pattern in each of 10,000 rules, and in each one's error."""
    rule = '{match: {body_matches: "(' + "a" * 900_000 + '"}, keep: 1}'
    bomb = folder / "long_string_bomb.yaml"
    rules = ", ".join(["*rule"] * 10_000)
    bomb.write_text(f"rule: &rule {rule}\nbatch: {{sampling: {{rules: [{rules}]}}}}\n")
    return bomb


@pytest.mark.parametrize("command", [["check-config"], ["run", "--config"]])
@pytest.mark.parametrize("kind", ["billion laughs", "long string"])
def test_an_alias_bomb_is_refused_in_little_memory(
    tmp_path: Path, command: list[str], kind: str
) -> None:
    bomb = BOMB if kind == "billion laughs" else _long_string_bomb(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "gateway", *command, str(bomb)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_address_space,
    )
    assert "MemoryError" not in result.stderr
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"{bomb}: 1 problem(s):",
        "  (file): the YAML expands to more than 100,000 values or 4 MiB of text "
        "(each use of an alias counts its whole value): refused",
    ]


def test_a_second_gateway_on_the_same_sqlite_file_fails_loudly(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    first, _, _ = start(config)
    try:
        second = subprocess.run(
            [sys.executable, "-m", "gateway", "run", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert second.returncode == 1
    assert "another gateway is processing this SQLite database" in second.stderr
