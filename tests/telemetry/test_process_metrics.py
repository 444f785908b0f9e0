"""/metrics of a real `logsieve run` with its children (batch and viewer in processes of their
own, prometheus-client's multiprocess mode): the process metrics of each process by role, the
build, every refusal series at 0, and the database's running totals as counters."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import GatewayProcess, loopback_config, wait_until
from tests.telemetry.test_collectors import PROCESS_FAMILIES


def test_a_gateway_with_children_shows_each_process_by_role(tmp_path: Path) -> None:
    gateway = GatewayProcess(loopback_config(tmp_path))
    try:
        wait_until(lambda: gateway.viewer_url is not None, 60, "the viewer child")
        text = httpx.get(gateway.telemetry_url + "/metrics", timeout=10).text
        children = gateway.children()
    finally:
        assert gateway.terminate() == 0
    families = {family.name: family for family in text_string_to_metric_families(text)}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in families.values()
        for s in family.samples
    }
    for name in PROCESS_FAMILIES:
        roles = {dict(labels)["role"] for sample, labels in samples if sample == name}
        assert roles == {"main", "batch", "viewer"}, name
    assert len(children) == 2  # so the roles above are three distinct processes
    starts = {v for (n, _), v in samples.items() if n == "process_start_time_seconds"}
    assert len(starts) >= 2  # the children started after the parent
    [build] = [labels for (name, labels) in samples if name == "logsieve_build_info"]
    assert dict(build)["storage"] == "sqlite"
    refused = {
        k: v for k, v in samples.items() if k[0] == "logsieve_receiver_requests_refused_total"
    }
    assert len(refused) == 12 and set(refused.values()) == {0.0}  # 2 receivers x 6 reasons
    assert families["logsieve_persistent_dropped_records"].type == "counter"
    assert "logsieve_persistent_counter" not in families
