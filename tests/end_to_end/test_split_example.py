"""The documented split deployment, run from its own files (config/split/*.yaml): two ingest
processes and one batch process on one PostgreSQL, and one viewer; every record
acknowledged reaches Logflare exactly once, and the viewer shows what was processed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import websocket

from testkit.logflare import FakeLogflare
from tests.harness import GatewayProcess, SeqSender, all_delivered, delivered
from tests.runtime.test_crash import _drop_postgresql, _empty_postgresql

SPLIT = Path(__file__).resolve().parents[2] / "config" / "split"
VIEWER_TOKEN = "a-viewer-token-for-the-split-test"
WARN = 13  # kept by every rule of the example's sampling


def environment(url: str, logflare: FakeLogflare) -> dict[str, str]:
    free = "127.0.0.1:0"
    return {
        "LOGSIEVE_STORAGE_URL": url,
        "LOGSIEVE_GRPC": free,
        "LOGSIEVE_HTTP": free,
        "LOGSIEVE_METRICS": free,
        "LOGSIEVE_VIEWER": free,
        "LOGSIEVE_VIEWER_TOKEN": VIEWER_TOKEN,
        "LOGFLARE_ENDPOINT": logflare.url,
        "LOGFLARE_SOURCE": logflare.source_id,
        "LOGFLARE_API_KEY": logflare.api_key,
    }


def viewer_url(viewer: GatewayProcess) -> str:
    for line in viewer.log:
        if match := re.search(r"viewer at (http://[\w.:\[\]-]+)/logs", line):
            return match.group(1)
    raise AssertionError("the viewer did not say where it is:\n" + "".join(viewer.log))


@pytest.mark.slow
def test_the_documented_split_deployment_delivers_every_record_once(tmp_path: Path) -> None:
    url = _empty_postgresql()
    try:
        with FakeLogflare() as logflare:
            env = environment(url, logflare)
            ingest = [GatewayProcess(SPLIT / "ingest.yaml", env) for _ in range(2)]
            processing = GatewayProcess(SPLIT / "batch.yaml", env)
            viewer = GatewayProcess(SPLIT / "viewer.yaml", env)
            senders = [SeqSender(offset=i * 10_000_000, severity_number=WARN) for i in range(2)]
            for sender, receiver in zip(senders, ingest, strict=True):
                sender.start(receiver.address)
            try:
                senders[0].wait_for(3000)
                senders[1].wait_for(3000)
            finally:
                acknowledged = all_delivered(senders, logflare, timeout=120)
            stream = viewer_url(viewer).replace("http://", "ws://") + "/logs/stream"
            socket = websocket.create_connection(
                stream, timeout=10, header=[f"Authorization: Bearer {VIEWER_TOKEN}"]
            )
            socket.send(json.dumps({"after": "0"}))
            frames = [json.loads(socket.recv()) for _ in range(2)]  # hello, then the backfill
            socket.close()
            assert all(p.terminate() == 0 for p in [*ingest, processing, viewer])
    finally:
        _drop_postgresql()
    counts = delivered(logflare)
    assert acknowledged <= counts.keys()
    assert sum(times - 1 for times in counts.values()) == 0
    backfill = frames[1]["entries"]["entries"]
    assert backfill and all(entry["body"].startswith("record ") for entry in backfill)
