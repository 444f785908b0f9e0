"""Nothing acknowledged is lost: kill -9 of the real gateway process under load, with restarts."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.store import Store
from gateway.testing import FakeLogflare
from tests.conftest import PG_URL, require
from tests.harness import GatewayProcess, SeqSender, delivered, gateway_config, wait_until

CRASHES = 3
EXPORT_BATCH = 500  # duplicates after a crash: at most one export request's events


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'queue.db'}"
        return
    store = Store(PG_URL, pool_size=1)
    try:
        store.ping()
    except Exception as exc:
        require(False, f"PostgreSQL not reachable: {exc}")
    store.drop_all()
    store.dispose()
    yield PG_URL
    store = Store(PG_URL, pool_size=1)
    store.drop_all()
    store.dispose()


def test_kill_9_under_load_loses_no_acknowledged_record(tmp_path: Path, storage_url: str) -> None:
    rng = random.Random(3)
    with FakeLogflare() as logflare:
        config = gateway_config(tmp_path, storage_url, logflare)
        gateway = GatewayProcess(config)
        sender = SeqSender()
        sender.start(gateway.address)
        try:
            for _ in range(CRASHES):
                sender.wait_for(len(sender.acknowledged) + rng.randint(500, 3000))
                gateway.kill9()  # at a random moment of enqueue, batch or export
                gateway = GatewayProcess(config)
                sender.retarget(gateway.address)
            sender.wait_for(len(sender.acknowledged) + 1000)
        finally:
            sender.stop()
        acknowledged = set(sender.acknowledged)
        wait_until(
            lambda: acknowledged <= delivered(logflare).keys(), 90, "every record in Logflare"
        )
        assert gateway.terminate() == 0
    counts = delivered(logflare)
    lost = len(acknowledged - counts.keys())
    duplicates = sum(count - 1 for count in counts.values())
    print(
        f"\n[{storage_url.split(':')[0]}] {CRASHES} kill -9 cycles: "
        f"{len(acknowledged)} acknowledged, "
        f"{lost} lost, {duplicates} duplicates ({duplicates / CRASHES:.0f} per crash), "
        f"{sender.failures} refused or failed sends during restarts"
    )
    assert lost == 0
    assert duplicates <= CRASHES * EXPORT_BATCH
    assert logflare.violations == []
