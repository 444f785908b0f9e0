"""The OTLP exporter: kept entries -> any OpenTelemetry backend, over OTLP/gRPC or OTLP/HTTP.

`encode` writes an entry as one LogRecord with its resource and scope (the stored text and the
record's fields: gateway/export/otlp_record.py); `export` groups stored texts by resource and
scope into one ExportLogsServiceRequest and sends it (gateway/export/otlp_transport.py); what
the backend answers becomes an ExportOutcome (gateway/export/otlp_answers.py).

A partial success is an OK outcome carrying `rejected` and the backend's message, logged here:
the backend stored the other records, so the request is not sent again (the OTLP specification
forbids it, and a backend without dedupe would store them twice). Header values (API keys) are
masked in this exporter's repr, in every outcome and in the log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import httpx

from gateway import redact
from gateway.config.otlp_exporter import OtlpExporterConfig
from gateway.export import otlp_record
from gateway.export.otlp_record import UnreadableText
from gateway.export.otlp_transport import sender_for
from gateway.export.outcome import ExportOutcome, OutcomeKind
from gateway.redact import MASK, Redactor

log = logging.getLogger("logsieve.exporter")


class OtlpExporter:
    """One backend's client; one request at a time (the outbox sends them in turn)."""

    encode = staticmethod(otlp_record.encode)

    def __init__(self, config: OtlpExporterConfig, client: httpx.Client | None = None) -> None:
        secrets = [value.get_secret_value() for value in config.headers.values()]
        self._redactor = Redactor(secrets)  # at the source, whatever this process installed
        self._sender = sender_for(config, self._masked, client)
        self._one_at_a_time = threading.Lock()
        self._endpoint = config.endpoint
        headers = {name: MASK for name in config.headers}
        self._described = (
            f"OtlpExporter(endpoint={config.endpoint!r}, protocol={config.protocol!r}, "
            f"headers={headers!r})"
        )

    def __repr__(self) -> str:
        return self._described

    def export(self, events: Sequence[str]) -> ExportOutcome:
        """Send stored texts (from `encode`) as one request."""
        try:
            body, count = otlp_record.request_for(events)
        except UnreadableText as exc:  # the outbox halves the request to find the text
            return ExportOutcome(OutcomeKind.REFUSED, detail=str(exc))
        with self._one_at_a_time:
            outcome = self._sender.send(body, count)
        if outcome.ok and outcome.detail:
            log.warning("OTLP backend %s %s", self._endpoint, outcome.detail)
        return outcome

    def _masked(self, text: str, cut: bool) -> str:
        """`text` without a header value or any other secret this process knows."""
        return redact.text(self._redactor(text, cut), cut)

    def shutdown(self) -> None:
        self._sender.close()
