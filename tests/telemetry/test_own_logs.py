"""The gateway's own logs: control characters escaped, secrets redacted, text or JSON."""

from __future__ import annotations

import io
import json
import logging

import pytest

from gateway.telemetry.own_logs import configure

SECRET = "lf-api-key-0123456789abcdef"


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_lines_escape_control_characters_and_redact_secrets(fmt: str) -> None:
    out = io.StringIO()
    configure(fmt, "INFO", [SECRET], stream=out)
    log = logging.getLogger("logsieve.test")
    log.warning("body %r\nFAKE LINE \x1b[31mred", "x\x00y")
    log.error("export failed with key %s and Authorization: Bearer abc.def", SECRET)
    log.debug("not at INFO")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # the newline in the message did not forge a second line
    assert SECRET not in out.getvalue() and "abc.def" not in out.getvalue()
    assert "\x1b" not in out.getvalue()
    if fmt == "json":
        first, second = (json.loads(line) for line in lines)
        assert first["level"] == "WARNING" and first["logger"] == "logsieve.test"
        assert first["message"] == "body 'x\\x00y'\\nFAKE LINE \\x1b[31mred"
        assert second["message"] == "export failed with key *** and Authorization: Bearer ***"
    else:
        assert lines[0].endswith("WARNING logsieve.test: body 'x\\x00y'\\nFAKE LINE \\x1b[31mred")
        assert lines[1].endswith("export failed with key *** and Authorization: Bearer ***")


def test_every_secret_of_a_config_is_known_to_the_redactor() -> None:
    from gateway.config.settings import config_secrets, parse_config

    config = parse_config(
        {
            "storage": {"url": "postgresql+psycopg://app:db-pass-w0rd@db.internal/logs"},
            "receivers": {"otlp": {"grpc": {"auth": {"bearer_token": "grpc-token-1234567890"}}}},
            "viewer": {"auth_token": "viewer-token-1234567890"},
            "exporters": {"logflare": {"source_name": "prod", "api_key": SECRET}},
        },
        env={},
    )
    assert set(config_secrets(config)) >= {
        "db-pass-w0rd",
        "grpc-token-1234567890",
        "viewer-token-1234567890",
        SECRET,
    }
