"""Entries and exporters for the OTLP exporter's tests (tests/export/test_otlp*.py)."""

from __future__ import annotations

from typing import Any

from gateway.config.otlp_exporter import OtlpExporterConfig
from gateway.export.otlp import OtlpExporter
from gateway.model import Entry, PatternRef, VariableValues
from testkit.otlp import FakeOtlp

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
KEY = "otlp-sekrit-key-42"
TRACE, SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
PROTOCOLS = ("grpc", "http")


def entry(body: str = "disk full", **fields: Any) -> Entry:
    values: dict[str, Any] = {
        "body": body,
        "severity_number": 17,
        "severity": "ERROR",
        "service": "checkout",
        "count": 1,
        "first_seen": T0,
        "last_seen": T0,
        "resource": {"service.name": "checkout", "host.name": "web-1"},
        "scope": "app",
    }
    values.update(fields)
    return Entry(**values)


def pattern_entry() -> Entry:
    variables = (VariableValues((("admin", 3), ("root", 2)), 1, 3),)
    pattern = PatternRef(0x1234ABCD, "Invalid user <*> from <IP>", variables)
    return entry("Invalid user admin from 10.0.0.1", count=6, pattern=pattern, sample_rate=0.25)


def exporter(fake: FakeOtlp, protocol: str, **overrides: Any) -> OtlpExporter:
    settings: dict[str, Any] = {"endpoint": fake.url(protocol), "protocol": protocol}
    settings.update(overrides)
    return OtlpExporter(OtlpExporterConfig.model_validate(settings))
