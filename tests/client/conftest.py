"""A real OTLP/HTTP receiver of the gateway for the client package to send to, and what it
queued, read back from the store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs

from gateway.clock import SystemClock
from gateway.config.receivers import HttpReceiverConfig
from gateway.otlp import service_name
from gateway.receivers.http import OtlpHttpReceiver
from gateway.receivers.ingest import Ingest
from gateway.store import Store

REPO = Path(__file__).resolve().parents[2]
CLIENT = REPO / "client"  # the client package's folder: what `pip install ./client` installs
TOKEN = "a-token-for-the-python-services"


@dataclass(frozen=True)
class Queued:
    """One record as the receiver queued it."""

    body: str
    record: LogRecord
    service: str


@contextmanager
def started_receiver(store: Store) -> Iterator[OtlpHttpReceiver]:
    config = HttpReceiverConfig.model_validate(
        {"endpoint": "127.0.0.1:0", "auth": {"bearer_token": TOKEN}}
    )
    clock = SystemClock()
    receiver = OtlpHttpReceiver(Ingest(store, clock), config, clock)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.shutdown()


@pytest.fixture
def receiver(store: Store) -> Iterator[OtlpHttpReceiver]:
    with started_receiver(store) as started:
        yield started


def queued(store: Store) -> list[Queued]:
    """Everything in the queue, oldest first."""
    claim = store.claim_batch(1, 10**9, 10_000)
    records = store.claimed_records([row[0] for row in claim.rows])
    return [
        Queued(
            row[3],
            LogRecord.FromString(records[row[0]]),
            service_name(ResourceLogs.FromString(claim.origins[row[4]]).resource),
        )
        for row in claim.rows
    ]
