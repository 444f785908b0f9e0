"""A real `logsieve run` against a Logflare that trickles its response head a byte a second:
`exporters.logflare.timeout: 3s` bounds the whole request, so the export is abandoned and
retried (the issue's figure: within 15 s), and the events arrive once Logflare answers."""

from __future__ import annotations

from pathlib import Path

from testkit.logflare import FakeLogflare, Fault
from tests.harness import GatewayProcess, delivered, gateway_config, send, wait_until

RETRIED_WITHIN_S = 15  # the figure; the drip alone would last about 90 s


def test_a_dripping_response_head_is_abandoned_and_retried(tmp_path: Path) -> None:
    with FakeLogflare() as logflare:
        logflare.fail_next(Fault.drip_head(seconds_per_byte=1.0))
        config = gateway_config(tmp_path, f"sqlite:///{tmp_path / 'logsieve.db'}", logflare)
        config.write_text(config.read_text().replace("timeout: 1s", "timeout: 3s"))
        gateway = GatewayProcess(config)
        acknowledged = send(gateway.address, 100)
        wait_until(lambda: len(logflare.requests) >= 1, 30, "the first export request")
        wait_until(
            lambda: len(logflare.requests) >= 2, RETRIED_WITHIN_S, "the abandoned export's retry"
        )
        wait_until(lambda: acknowledged <= delivered(logflare).keys(), 30, "every record")
        assert gateway.terminate() == 0
    assert logflare.requests[0].status == 503  # the dripped answer, never read whole
    assert logflare.requests[1].status == 200
    assert any("timed out: no complete answer within 3 s" in line for line in gateway.log)
