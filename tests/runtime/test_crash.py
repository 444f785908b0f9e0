"""Nothing acknowledged is lost: kill -9 of the real gateway process under load, with restarts."""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.store import Store
from testkit.logflare import FakeLogflare, Fault
from tests.conftest import PG_URL, reachable_postgresql
from tests.harness import (
    GatewayProcess,
    SeqSender,
    all_delivered,
    delivered,
    gateway_config,
    send,
    wait_until,
)
from tests.tcp_proxy import TcpProxy

CRASHES = 5
EXPORT_BATCH = 500  # duplicates after a crash: at most one export request's events
LEASE_S = 2.0  # batch.lease in the harness's config


def _empty_postgresql() -> str:
    """The test database with logsieve's tables made anew (before gateways race to make them)."""
    store = reachable_postgresql(pool_size=1)
    store.drop_all()
    store.create_schema()
    store.dispose()
    return PG_URL


def _drop_postgresql() -> None:
    store = Store(PG_URL, pool_size=1)
    store.drop_all()
    store.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'queue.db'}"
        return
    yield _empty_postgresql()
    _drop_postgresql()


@pytest.mark.slow
@pytest.mark.timeout(300)  # waits up to 120 s for delivery itself
def test_kill_9_under_load_loses_no_acknowledged_record(
    tmp_path: Path, storage_url: str, report: Callable[[str], None]
) -> None:
    rng = random.Random(3)
    with FakeLogflare() as logflare:
        config = gateway_config(tmp_path, storage_url, logflare)
        gateway = GatewayProcess(config)
        senders = [SeqSender(per_request=256, offset=i * 10_000_000) for i in range(2)]
        for sender in senders:
            sender.start(gateway.address)
        try:
            for _ in range(CRASHES):
                senders[0].wait_for(len(senders[0].acknowledged) + rng.randint(2_000, 10_000))
                gateway.kill9()  # at a random moment of enqueue, batch or export
                gateway = GatewayProcess(config)
                for sender in senders:
                    sender.retarget(gateway.address)
            senders[0].wait_for(len(senders[0].acknowledged) + 2000)
        finally:
            acknowledged = all_delivered(senders, logflare, timeout=120)
        assert gateway.terminate() == 0
    counts = delivered(logflare)
    lost = len(acknowledged - counts.keys())
    duplicates = sum(times - 1 for times in counts.values())
    report(
        f"\n[{storage_url.split(':')[0]}] {CRASHES} kill -9 cycles: "
        f"{len(acknowledged)} acknowledged, "
        f"{lost} lost, {duplicates} duplicates ({duplicates / CRASHES:.0f} per crash), "
        f"{sum(s.failures for s in senders)} refused or failed sends during restarts"
    )
    assert lost == 0
    assert duplicates <= CRASHES * EXPORT_BATCH
    assert logflare.violations == []


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield _empty_postgresql()
    _drop_postgresql()


@pytest.mark.parametrize(
    ("count", "stall"),
    [(2, False), (3, False), (2, True)],
    ids=["two-no-faults", "three-no-faults", "two-one-sigstopped"],
)
@pytest.mark.slow
def test_gateways_sharing_postgresql_deliver_every_record(
    tmp_path: Path, pg_url: str, count: int, stall: bool, report: Callable[[str], None]
) -> None:
    with FakeLogflare() as logflare:
        config = gateway_config(tmp_path, pg_url, logflare)
        gateways = [GatewayProcess(config) for _ in range(count)]
        senders = [SeqSender(offset=i * 10_000_000) for i in range(count)]
        for sender, gateway in zip(senders, gateways, strict=True):
            sender.start(gateway.address)
        try:
            senders[0].wait_for(3000)
            if stall:  # past its lease (2 s): the other gateway takes over its claims
                gateways[0].process.send_signal(signal.SIGSTOP)
                stopped_at = time.monotonic()
                # Leases run on the database's clock, so here real time has to pass.
                wait_until(lambda: time.monotonic() - stopped_at > 3 * LEASE_S, 30, "the lease")
                senders[1].wait_for(len(senders[1].acknowledged) + 2000)
                gateways[0].process.send_signal(signal.SIGCONT)
            senders[1].wait_for(len(senders[1].acknowledged) + 2000)
        finally:
            acknowledged = all_delivered(senders, logflare, timeout=90)
        assert all(gateway.terminate() == 0 for gateway in gateways)
    counts = delivered(logflare)
    duplicates = sum(times - 1 for times in counts.values())
    report(
        f"\n[{count} gateways, stall={stall}] {len(acknowledged)} acknowledged, "
        f"{duplicates} duplicates"
    )
    assert acknowledged <= counts.keys()
    if not stall:
        assert duplicates == 0
    else:  # a stalled export request may be sent again by the other gateway: one at most
        assert duplicates <= EXPORT_BATCH


def test_a_logflare_outage_stalls_nothing_and_drains_after_recovery(
    tmp_path: Path, report: Callable[[str], None]
) -> None:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    with FakeLogflare() as logflare:
        logflare.outage = Fault.server_error(503)
        gateway = GatewayProcess(gateway_config(tmp_path, url, logflare, retry_max="500ms"))
        acknowledged = send(gateway.address, 20_000)
        store = Store(url)
        # The live view kept updating: every record became a recent entry, waiting in the outbox.
        wait_until(lambda: store.outbox_depth() >= len(acknowledged), 60, "the outbox to fill")
        assert store.recent_count(time.time_ns()) >= len(acknowledged)
        assert store.queue_depth() == 0 and not delivered(logflare)
        recovered_at = time.monotonic()
        logflare.outage = None
        wait_until(lambda: acknowledged <= delivered(logflare).keys(), 90, "the backlog delivered")
        drained_s = time.monotonic() - recovered_at
        wait_until(lambda: store.outbox_depth() == 0, 30, "an empty outbox")
        store.dispose()
        assert gateway.terminate() == 0
    duplicates = sum(times - 1 for times in delivered(logflare).values())
    report(
        f"\n[outage] {len(acknowledged)} events queued while Logflare answered 503; "
        f"delivered {drained_s:.1f} s after it recovered, {duplicates} duplicates"
    )
    assert duplicates == 0


def test_postgresql_going_away_is_unavailable_then_recovers_without_restart(
    tmp_path: Path, pg_url: str, report: Callable[[str], None]
) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432))
    proxied = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    assert proxied != pg_url, "the PostgreSQL URL is expected at 127.0.0.1:5432"
    try:
        with FakeLogflare() as logflare:
            gateway = GatewayProcess(gateway_config(tmp_path, proxied, logflare))
            sender = SeqSender()
            sender.start(gateway.address)
            try:
                sender.wait_for(2000)
                proxy.cut()  # the database is gone: the receiver must refuse, never accept
                failures = sender.failures
                wait_until(lambda: sender.failures >= failures + 5, 60, "refused requests")
                during = len(sender.acknowledged)
                proxy.restore()
                sender.wait_for(during + 2000)  # recovered without a restart
            finally:
                sender.stop()
            acknowledged = set(sender.acknowledged)
            wait_until(lambda: acknowledged <= delivered(logflare).keys(), 90, "every record")
            assert gateway.terminate() == 0
    finally:
        proxy.close()
    refused = [line for line in gateway.log if "enqueue failed" in line]
    report(
        f"\n[postgresql away] {len(acknowledged)} acknowledged, all delivered; "
        f"{len(refused)} requests refused while the database was away: {dict(sender.codes)}"
    )
    assert refused
    assert set(sender.codes) <= {"UNAVAILABLE", "DEADLINE_EXCEEDED"}  # never INTERNAL


@pytest.mark.slow
def test_every_kind_of_logflare_fault_loses_nothing(
    tmp_path: Path, report: Callable[[str], None]
) -> None:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    faults = [
        Fault.server_error(500),
        Fault.server_error(502),
        Fault.buffer_full(),  # 429 with Retry-After: 3
        Fault.quota(),  # 429 without Retry-After
        Fault(200, delay=2.0),  # slower than the 1 s timeout
        Fault(0, reset=True),  # connection reset
        Fault.unauthorized(),  # a revoked key: kept, retried slowly
        Fault(406, {"message": ["Type error!"]}, ingest_valid=True),  # partial ingest
    ]
    with FakeLogflare() as logflare:
        logflare.fail_next(*faults)
        gateway = GatewayProcess(gateway_config(tmp_path, url, logflare, retry_max="500ms"))
        acknowledged = send(gateway.address, 5000)
        wait_until(lambda: acknowledged <= delivered(logflare).keys(), 90, "every record")
        assert gateway.terminate() == 0
        store = Store(url)
        dead = store.dead_letters()
        store.dispose()
    duplicates = sum(times - 1 for times in delivered(logflare).values())
    report(
        f"\n[faults] {len(faults)} kinds of Logflare failure: {len(acknowledged)} acknowledged, "
        f"all delivered, {duplicates} duplicates, {len(dead)} events dead-lettered after the 406"
    )
    assert duplicates == 0
    assert dead and all("ingested the valid events" in reason for _, reason in dead)
    assert logflare.violations == []


@pytest.mark.parametrize("policy", ["refuse", "drop_lowest_severity"])
def test_a_full_queue_refuses_or_drops_by_its_policy_and_loses_nothing_else(
    tmp_path: Path, policy: str, report: Callable[[str], None]
) -> None:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    queue = f"{{max_records: 3000, when_full: {policy}}}"
    with FakeLogflare() as logflare:
        config = gateway_config(tmp_path, url, logflare, interval="1s", queue=queue)
        gateway = GatewayProcess(config)
        sender = SeqSender()
        sender.start(gateway.address)
        try:
            sender.wait_for(15_000)  # five times the cap, drained once a second
        finally:
            sender.stop()
        store = Store(url)
        dropped = store.counter("dropped_records")
        acknowledged = set(sender.acknowledged)
        wait_until(
            lambda: len(acknowledged - delivered(logflare).keys()) <= dropped, 60, "the rest"
        )
        store.dispose()
        assert gateway.terminate() == 0
    missing = len(acknowledged - delivered(logflare).keys())
    report(
        f"\n[queue full, {policy}] {len(acknowledged)} acknowledged; refused: "
        f"{dict(sender.codes)}; dropped by policy: {dropped}; missing: {missing}"
    )
    assert missing == dropped  # every acknowledged record arrived, or was dropped and counted
    assert set(sender.codes) <= {"UNAVAILABLE"}
    if policy == "refuse":
        assert dropped == 0 and sender.codes["UNAVAILABLE"] > 0
    else:
        assert dropped > 0


def test_sigterm_with_logflare_down_keeps_everything_for_the_next_run(
    tmp_path: Path, report: Callable[[str], None]
) -> None:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    with FakeLogflare() as logflare:
        logflare.outage = Fault.server_error(503)
        config = gateway_config(tmp_path, url, logflare, retry_max="500ms")
        gateway = GatewayProcess(config)
        acknowledged = send(gateway.address, 5000)
        stopping = time.monotonic()
        assert gateway.terminate() == 0  # promptly, although Logflare is down
        stop_s = time.monotonic() - stopping
        store = Store(url)
        assert store.queue_depth() + store.outbox_depth() >= len(acknowledged)
        store.dispose()
        logflare.outage = None
        gateway = GatewayProcess(config)
        wait_until(lambda: acknowledged <= delivered(logflare).keys(), 60, "every record")
        assert gateway.terminate() == 0
    report(
        f"\n[sigterm, Logflare down] stopped in {stop_s:.1f} s keeping {len(acknowledged)} "
        "records; all delivered by the next run"
    )
    assert stop_s < 15


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_split_deployment_ingest_processes_and_one_processing_process(
    tmp_path: Path, database: str, report: Callable[[str], None]
) -> None:
    url = f"sqlite:///{tmp_path / 'queue.db'}" if database == "sqlite" else _empty_postgresql()
    try:
        with FakeLogflare() as logflare:
            ingest = gateway_config(tmp_path, url, logflare, components="[ingest]", name="i.yaml")
            processing = gateway_config(
                tmp_path, url, logflare, components="[processing]", name="p.yaml"
            )
            receivers = [GatewayProcess(ingest) for _ in range(2)]
            worker = GatewayProcess(processing)
            senders = [SeqSender(offset=i * 10_000_000) for i in range(2)]
            for sender, receiver in zip(senders, receivers, strict=True):
                sender.start(receiver.address)
            try:
                senders[0].wait_for(5000)
                senders[1].wait_for(5000)
            finally:
                acknowledged = all_delivered(senders, logflare, timeout=90)
            assert all(g.terminate() == 0 for g in [*receivers, worker])
    finally:
        if database == "postgresql":
            _drop_postgresql()
    duplicates = sum(times - 1 for times in delivered(logflare).values())
    report(
        f"\n[split, {database}] 2 ingest processes + 1 batch process: "
        f"{len(acknowledged)} acknowledged, all delivered, {duplicates} duplicates"
    )
    assert duplicates == 0
