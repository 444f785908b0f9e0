"""Each process of `logsieve run` imports what its part runs, not the others' libraries.

Children are fresh interpreters (gateway/runtime/supervisor.py), so a library a process
imports and never uses is resident memory in that process: the batch child loads no gRPC
server, Flask or viewer; the viewer child no miner, gRPC or HTTP client; the receivers' process
no viewer, miner or exporter client. Each role is built in a fresh interpreter as `logsieve run`
builds it (the CLI's modules, then the Gateway for its roles), and its sys.modules read.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
LOGFLARE = {"source": "00000000-0000-4000-8000-000000000000", "api_key": "k"}
BUILD = textwrap.dedent(
    """
    import json, sys
    import yaml
    from gateway.cli import main  # what `logsieve run` imports before it knows its role
    from gateway.config.settings import parse_config
    from gateway.runtime.roles import Child, decide_roles
    from gateway.runtime.supervisor import config_for

    started_as = {"parent": None, "batch": Child.BATCH, "viewer": Child.VIEWER}[sys.argv[2]]
    config = parse_config(yaml.safe_load(open(sys.argv[1])), env={})
    roles = decide_roles(config, started_as)
    from gateway.runtime.app import Gateway, Overrides

    gateway = Gateway(config_for(config, roles), Overrides(run_jobs=False), roles)
    gateway.shutdown()
    print(json.dumps(sorted(sys.modules)))
    """
)
SERVERS = {"flask", "waitress", "viewer", "gateway.receivers.grpc", "gateway.receivers.http"}
BATCH = {"gateway.pipeline.batch", "gateway.pipeline.patterns.miner", "pcre"}
CLIENTS = {"httpx", "gateway.export.logflare", "gateway.export.otlp"}


def imported(tmp_path: Path, role: str) -> set[str]:
    """The modules a process of `role` holds once its Gateway is built."""
    config = tmp_path / "gateway.yaml"
    tree = {
        "receivers": {
            "otlp": {"grpc": {"endpoint": "127.0.0.1:0"}, "http": {"endpoint": "127.0.0.1:0"}}
        },
        "storage": {"url": f"sqlite:///{tmp_path / 'q.db'}"},
        "viewer": {"endpoint": "127.0.0.1:0"},
        "telemetry": {"metrics": {"endpoint": "127.0.0.1:0"}},
        "exporters": {"logflare": LOGFLARE},
    }
    config.write_text(yaml.safe_dump(tree))
    done = subprocess.run(
        [sys.executable, "-c", BUILD, str(config), role],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def loaded(modules: set[str], names: set[str]) -> set[str]:
    """Those of `names` (packages or modules) that `modules` holds."""
    return {name for name in names if name in modules}


@pytest.mark.parametrize(
    ("role", "needs", "never"),
    [
        # grpc stays out too: with no OTLP exporter configured, no gRPC client either
        ("batch", BATCH | {"httpx", "gateway.export.logflare"}, SERVERS | {"grpc"}),
        ("viewer", {"flask", "viewer.app", "waitress"}, BATCH | CLIENTS | {"grpc"}),
        ("parent", {"grpc", "gateway.receivers.grpc"}, BATCH | CLIENTS | {"flask", "viewer"}),
    ],
)
def test_each_process_imports_only_what_its_part_runs(
    tmp_path: Path, role: str, needs: set[str], never: set[str]
) -> None:
    modules = imported(tmp_path, role)
    assert loaded(modules, needs) == needs  # the check sees imports at all
    assert loaded(modules, never) == set()
