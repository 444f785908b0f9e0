"""Securing the receivers: TLS with a certificate made in the test, bearer-token auth on and
off for gRPC and HTTP (a refused call writes nothing), and gRPC's reaping of idle connections."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import trustme
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

from gateway.config.receivers import GrpcReceiverConfig, HttpReceiverConfig
from gateway.receivers.grpc import OtlpGrpcReceiver
from gateway.receivers.http import OtlpHttpReceiver
from gateway.receivers.ingest import Ingest
from gateway.store import Store
from testkit.clock import FakeClock
from tests.builders import T0, Rec, request

TOKEN = "s3cret-ingest-token-for-tests"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, dict[str, str]]:
    """A CA, and a server certificate for 127.0.0.1 it signed, as PEM files."""
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "server.pem", folder / "server.key"
    cert.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    key.write_bytes(server.private_key_pem.bytes())
    return ca, {"cert_file": str(cert), "key_file": str(key)}


def grpc_receiver(store: Store, **settings: Any) -> OtlpGrpcReceiver:
    config = GrpcReceiverConfig.model_validate({"endpoint": "127.0.0.1:0", **settings})
    receiver = OtlpGrpcReceiver(Ingest(store, FakeClock(T0)), config)
    receiver.start()
    return receiver


def http_receiver(store: Store, **settings: Any) -> OtlpHttpReceiver:
    config = HttpReceiverConfig.model_validate({"endpoint": "127.0.0.1:0", **settings})
    receiver = OtlpHttpReceiver(Ingest(store, FakeClock(T0)), config, FakeClock(T0))
    receiver.start()
    return receiver


@pytest.fixture
def stop() -> Iterator[list[Any]]:
    running: list[Any] = []
    yield running
    for receiver in running:
        receiver.shutdown()


def export(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...] = ()) -> None:
    LogsServiceStub(channel).Export(request([Rec("hi")]), timeout=10, metadata=metadata)


def test_grpc_auth_refuses_a_missing_or_wrong_token_and_writes_nothing(
    store: Store, stop: list[Any]
) -> None:
    receiver = grpc_receiver(store, auth={"bearer_token": TOKEN})
    stop.append(receiver)
    with grpc.insecure_channel(receiver.address) as channel:
        for metadata in ((), (("authorization", "Bearer nope"),), (("authorization", TOKEN),)):
            with pytest.raises(grpc.RpcError) as refused:
                export(channel, metadata)
            assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
            assert TOKEN not in str(refused.value.details())
        assert store.queue_depth() == 0
        export(channel, (("authorization", f"Bearer {TOKEN}"),))
    assert store.queue_depth() == 1


def test_grpc_without_auth_configured_takes_any_caller(store: Store, stop: list[Any]) -> None:
    receiver = grpc_receiver(store)
    stop.append(receiver)
    with grpc.insecure_channel(receiver.address) as channel:
        export(channel)
    assert store.queue_depth() == 1


def test_http_auth_on_and_off(store: Store, stop: list[Any]) -> None:
    guarded, open_ = http_receiver(store, auth={"bearer_token": TOKEN}), http_receiver(store)
    stop.extend([guarded, open_])
    body = request([Rec("hi")]).SerializeToString()
    headers = {"Content-Type": "application/x-protobuf"}
    for sent in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"}):
        refused = httpx.post(guarded.url + "/v1/logs", content=body, headers=headers | sent)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert store.queue_depth() == 0
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.post(guarded.url + "/v1/logs", content=body, headers=headers | auth).is_success
    assert httpx.post(open_.url + "/v1/logs", content=body, headers=headers).is_success
    assert store.queue_depth() == 2


def test_the_token_can_come_from_a_file(tmp_path: Path, store: Store, stop: list[Any]) -> None:
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")  # as a mounted secret usually ends
    receiver = http_receiver(store, auth={"bearer_token_file": str(secret)})
    stop.append(receiver)
    body = request([Rec("hi")]).SerializeToString()
    headers = {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {TOKEN}"}
    assert httpx.post(receiver.url + "/v1/logs", content=body, headers=headers).is_success


def test_grpc_over_tls(
    certificate: tuple[trustme.CA, dict[str, str]], store: Store, stop: list[Any]
) -> None:
    ca, files = certificate
    receiver = grpc_receiver(store, tls=files)
    stop.append(receiver)
    trusted = grpc.ssl_channel_credentials(root_certificates=ca.cert_pem.bytes())
    with grpc.secure_channel(receiver.address, trusted) as channel:
        export(channel)
    assert store.queue_depth() == 1
    with grpc.insecure_channel(receiver.address) as plaintext, pytest.raises(grpc.RpcError):
        LogsServiceStub(plaintext).Export(request([Rec("x")]), timeout=3)
    assert store.queue_depth() == 1


def test_http_over_tls(
    certificate: tuple[trustme.CA, dict[str, str]], store: Store, stop: list[Any]
) -> None:
    ca, files = certificate
    receiver = http_receiver(store, tls=files)
    stop.append(receiver)
    assert receiver.url.startswith("https://")
    body = request([Rec("hi")]).SerializeToString()
    headers = {"Content-Type": "application/x-protobuf"}
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    sent = httpx.post(receiver.url + "/v1/logs", content=body, headers=headers, verify=trusting)
    assert sent.status_code == 200
    with pytest.raises(httpx.ConnectError):  # an untrusted certificate is refused by clients
        httpx.post(receiver.url + "/v1/logs", content=body, headers=headers)
    assert store.queue_depth() == 1


def test_grpc_closes_idle_connections(store: Store, stop: list[Any]) -> None:
    receiver = grpc_receiver(store, keepalive={"max_connection_idle": "500ms"})
    stop.append(receiver)
    idle = threading.Event()
    with grpc.insecure_channel(receiver.address) as channel:
        export(channel)

        def watch(state: grpc.ChannelConnectivity) -> None:
            if state is grpc.ChannelConnectivity.IDLE:
                idle.set()  # the server sent GOAWAY: the channel drops back to idle

        channel.subscribe(watch)
        assert idle.wait(10)
        export(channel)  # a real client just reconnects
    assert store.queue_depth() == 2


def test_grpc_sends_goaway_to_a_client_that_pings_too_often(store: Store, stop: list[Any]) -> None:
    receiver = grpc_receiver(store, keepalive={"min_ping_interval": "10s"})
    stop.append(receiver)
    pinging = [
        ("grpc.keepalive_time_ms", 100),  # a ping every 100 ms: far more often than allowed
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]
    dropped = threading.Event()
    with grpc.insecure_channel(receiver.address, options=pinging) as channel:
        export(channel)

        def watch(state: grpc.ChannelConnectivity) -> None:
            if state in (grpc.ChannelConnectivity.IDLE, grpc.ChannelConnectivity.TRANSIENT_FAILURE):
                dropped.set()  # GOAWAY (too_many_pings): the connection is gone

        channel.subscribe(watch)
        assert dropped.wait(10)
    assert store.queue_depth() == 1
