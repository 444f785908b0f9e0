"""Which parts run in which process (gateway/runtime/roles.py), decided once from the config
and the child flag, and each process's configuration cut to its share (supervisor.config_for)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config.settings import parse_config
from gateway.runtime.roles import Child, Roles, decide_roles
from gateway.runtime.supervisor import config_for

IN_MEMORY = {"storage": {"url": "sqlite:///:memory:"}}  # no second process can open it
THREE_RECEIVERS = {"receivers": {"otlp": {"grpc": {"processes": 3}}}}


def roles(tree: dict[str, Any], started_as: Child | None = None) -> Roles:
    return decide_roles(parse_config(tree, env={}), started_as)


def test_by_default_the_parent_keeps_ingest_and_the_batch_stage_and_viewer_get_children() -> None:
    assert roles({}) == Roles(
        ingest=True, batch=False, viewer=False, batch_child=True, viewer_child=True
    )


def test_on_an_in_memory_database_everything_runs_in_one_process() -> None:
    assert roles({**IN_MEMORY, **THREE_RECEIVERS}) == Roles(ingest=True, batch=True, viewer=True)


def test_ingest_alone_runs_alone() -> None:
    assert roles({"components": ["ingest"]}) == Roles(ingest=True, batch=False, viewer=False)


def test_more_grpc_processes_are_ingest_children_beside_the_parent() -> None:
    decided = roles(THREE_RECEIVERS)
    assert decided.ingest_children == 2
    assert decided.ingest and decided.supervises


@pytest.mark.parametrize("started_as", list(Child))
def test_a_child_runs_its_one_part_and_keeps_no_children(started_as: Child) -> None:
    decided = roles(THREE_RECEIVERS, started_as)
    assert decided.components == (started_as.value,)
    assert decided.started_as is started_as
    assert not decided.supervises


@pytest.mark.parametrize(
    ("tree", "batch_here", "batch_child"),
    [
        ({"components": ["ingest", "viewer"]}, False, False),
        ({"components": ["batch"]}, True, False),  # nothing to split it from
        ({"batch": {"own_process": False}}, True, False),
        ({"storage": {"url": "postgresql+psycopg://u@h/db"}}, False, True),
    ],
)
def test_where_the_batch_stage_runs(
    tree: dict[str, Any], batch_here: bool, batch_child: bool
) -> None:
    decided = roles(tree)
    assert (decided.batch, decided.batch_child) == (batch_here, batch_child)
    assert decided.owns_batches is (batch_here or batch_child)


@pytest.mark.parametrize(
    ("tree", "viewer_here", "viewer_child"),
    [
        ({"components": ["viewer"]}, True, False),  # nothing to keep it apart from
        ({"components": ["ingest", "viewer"]}, False, True),
        ({"components": ["batch", "viewer"]}, False, True),
        ({"viewer": {"own_process": False}}, True, False),
    ],
)
def test_where_the_viewer_runs(tree: dict[str, Any], viewer_here: bool, viewer_child: bool) -> None:
    decided = roles(tree)
    assert (decided.viewer, decided.viewer_child) == (viewer_here, viewer_child)


def test_no_ingest_here_means_no_ingest_children() -> None:
    assert roles({**THREE_RECEIVERS, "components": ["batch"]}).ingest_children == 0


def test_the_parents_config_keeps_its_own_share_and_its_endpoints() -> None:
    config = parse_config({}, env={})
    own = config_for(config, decide_roles(config))
    assert own.components == ("ingest",)
    assert own.telemetry.metrics.enabled and own.receivers.otlp.http.enabled


def test_a_batch_or_viewer_child_serves_no_endpoint_of_its_own() -> None:
    config = parse_config({}, env={})
    for started_as in (Child.BATCH, Child.VIEWER):
        own = config_for(config, decide_roles(config, started_as))
        assert own.components == (started_as.value,)
        assert not own.telemetry.metrics.enabled
        assert own.receivers == config.receivers


def test_an_ingest_child_serves_grpc_only_on_the_parents_port() -> None:
    tree = {"receivers": {"otlp": {"grpc": {"endpoint": "0.0.0.0:4317", "processes": 2}}}}
    config = parse_config(tree, env={})
    own = config_for(config, decide_roles(config, Child.INGEST), parent_port=40123)
    assert own.components == ("ingest",)
    assert own.receivers.otlp.grpc.endpoint == "0.0.0.0:40123"
    assert not own.receivers.otlp.http.enabled
    assert not own.telemetry.metrics.enabled
