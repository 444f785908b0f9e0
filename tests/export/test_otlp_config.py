"""`exporters.otlp`: what check-config accepts, and the one-line errors for what it refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trustme

from gateway.cli.main import main
from gateway.config.settings import config_secrets, parse_config
from gateway.errors import ConfigError

KEY = "otlp-key-0123456789"


def otlp(**section: Any) -> dict[str, Any]:
    return {"exporters": {"otlp": section}}


def problems(data: dict[str, Any], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_config(data, env=env or {})
    return raised.value.problems


def test_off_by_default_and_on_with_an_endpoint() -> None:
    assert not parse_config(None, env={}).exporters.otlp.enabled
    config = parse_config(
        otlp(endpoint="https://otel.example.com:4317", headers={"X-API-Key": "${env:K}"}),
        env={"K": KEY},
    ).exporters.otlp
    assert config.enabled and config.secure and config.protocol == "grpc"
    assert config.grpc_target() == "otel.example.com:4317"
    assert list(config.headers) == ["x-api-key"]  # lower-cased, as gRPC metadata must be
    assert KEY not in repr(config) and KEY not in str(config.model_dump())


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/logs"),
        ("https://o2.example.com/api/org/", "https://o2.example.com/api/org/v1/logs"),
        (
            "https://seq.example.com/ingest/otlp/v1/logs",
            "https://seq.example.com/ingest/otlp/v1/logs",
        ),
    ],
)
def test_an_http_endpoint_is_a_base_or_the_full_url(endpoint: str, url: str) -> None:
    config = parse_config(otlp(endpoint=endpoint, protocol="http"), env={}).exporters.otlp
    assert config.http_url() == url


def test_grpc_targets_take_the_schemes_port() -> None:
    def target(endpoint: str) -> str:
        return parse_config(otlp(endpoint=endpoint), env={}).exporters.otlp.grpc_target()

    assert target("https://otel.example.com") == "otel.example.com:443"
    assert target("http://[::1]:4317") == "[::1]:4317"


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({"endpoint": "otel:4317"}, "is not a URL: write https://HOST:PORT (TLS) or"),
        ({"endpoint": "ftp://otel:21"}, "is not a URL"),
        ({"endpoint": "https://otel:99999"}, "the port is not a number from 0 to 65535"),
        ({"endpoint": "https://user:pw@otel:4317"}, "holds credentials: send them in `headers`"),
        ({"endpoint": "https://otel:4317?key=1"}, "a query or fragment has no place"),
        ({"endpoint": "https://otel:4317/v1/logs"}, "a gRPC endpoint has no path"),
        ({"headers": {"x-api-key": KEY}}, "headers are set but endpoint is empty"),
        ({"protocol": "json", "endpoint": "http://h:1"}, "Input should be 'grpc' or 'http'"),
        ({"compression": "br", "endpoint": "http://h:1"}, "Input should be 'gzip' or 'none'"),
        ({"timeout": 10, "endpoint": "http://h:1"}, "give its unit, as 10s or 10ms"),
        ({"endpoint": "http://h:1", "tls": {"ca_file": "/nonexistent.pem"}}, "cannot read"),
    ],
)
def test_refused_with_the_key_and_the_reason(section: dict[str, Any], problem: str) -> None:
    (line,) = problems(otlp(**section))
    assert line.startswith("exporters.otlp") and problem in line, line


def test_a_ca_file_for_a_plaintext_endpoint_is_refused(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    (line,) = problems(otlp(endpoint="http://h:1", tls={"ca_file": str(ca)}))
    assert "tls.ca_file is set for a plaintext http:// endpoint: use https://" in line


def test_a_ca_file_without_a_certificate_is_refused_in_one_line(tmp_path: Path) -> None:
    """Checked with the config, not when the batch process first makes the client."""
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    (line,) = problems(otlp(endpoint="https://h:1", tls={"ca_file": str(ca)}))
    assert line.startswith("exporters.otlp.tls.ca_file: ")
    assert "holds no PEM certificate a TLS client can use" in line and "\n" not in line


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"x-api-key": "${env:UNSET}"}, "'x-api-key' is empty (is its environment variable set?)"),
        ({"x-api-key": "k\r\nx: y"}, "'x-api-key': contains a control character (CR)"),
        ({"x-api-key": "kéy"}, "'x-api-key': contains a non-ASCII character"),
        ({"Content-Type": "text/plain"}, "'Content-Type' is set by the exporter itself"),
        ({"grpc-timeout": "1S"}, "is set by the exporter itself"),
        ({"trace-bin": "x"}, "(or binary in gRPC)"),
        ({"x api key": "k"}, "'x api key' is not a header name"),
        ({"X-Key": "a", "x-key": "b"}, "'x-key' is given twice"),
    ],
)
def test_header_problems_name_the_header_never_the_value(
    headers: dict[str, str], problem: str
) -> None:
    (line,) = problems(otlp(endpoint="https://otel:4317", headers=headers))
    assert line.startswith("exporters.otlp.headers: ") and problem in line, line
    assert all(value not in line for value in headers.values() if len(value) > 2)


def test_header_values_are_secrets_of_the_config() -> None:
    config = parse_config(otlp(endpoint="https://otel:4317", headers={"x-api-key": KEY}), env={})
    assert KEY in config_secrets(config)  # the log redactor masks it


def test_check_config_accepts_an_otlp_exporter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        "exporters:\n  otlp:\n    endpoint: https://otel.example.com:4317\n"
        "    headers: {x-api-key: '${env:OTLP_TEST_KEY:-k-default}'}\n    compression: none\n"
    )
    assert main(["check-config", "--config", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: OK\n"
    path.write_text("exporters:\n  otlp:\n    endpoint: otel.example.com:4317\n")
    assert main(["check-config", "--config", str(path)]) == 2
    assert (
        "exporters.otlp.endpoint: 'otel.example.com:4317' is not a URL" in capsys.readouterr().err
    )


def test_more_otlp_backends_are_named_as_the_collector_names_them() -> None:
    exporters = parse_config(
        {
            "exporters": {
                "otlp": {"endpoint": "https://otel.example.com:4317"},
                "otlp/archive": {
                    "endpoint": "http://archive:4318",
                    "protocol": "http",
                    "headers": {"x-api-key": "${env:K}"},
                },
                "otlp/spare": {},  # named but off: no endpoint
            }
        },
        env={"K": KEY},
    ).exporters
    assert list(exporters.enabled()) == ["otlp", "otlp/archive"]
    assert list(exporters.configured()) == ["logflare", "otlp", "otlp/archive", "otlp/spare"]
    config = parse_config(
        {"exporters": {"otlp/archive": {"endpoint": "http://a:1", "headers": {"k": KEY}}}},
        env={},
    )
    assert KEY in config_secrets(config)  # masked in logs like the first exporter's


@pytest.mark.parametrize(
    ("key", "where"),
    [("loki", "exporters"), ("otlp/Archive", "exporters"), ("otlp/", "exporters")],
)
def test_an_unknown_exporter_name_is_refused(key: str, where: str) -> None:
    [problem] = problems({"exporters": {key: {}}})
    assert problem.startswith(f"{where}: unknown exporter {key!r}")


def test_a_named_exporters_problem_names_its_key() -> None:
    [problem] = problems({"exporters": {"otlp/archive": {"endpoint": "nope"}}})
    assert problem.startswith("exporters.otlp/archive.endpoint: 'nope' is not a URL")


@pytest.mark.parametrize(
    ("exporters", "label"),
    [
        ({}, "Export"),
        ({"logflare": {"source_name": "s", "api_key": "k"}}, "Logflare"),
        ({"otlp/archive": {"endpoint": "http://a:1"}}, "OTLP"),
        (
            {"logflare": {"source_name": "s", "api_key": "k"}, "otlp": {"endpoint": "http://a:1"}},
            "Export",
        ),
    ],
)
def test_the_live_page_names_the_export_by_what_runs(exporters: dict[str, Any], label: str) -> None:
    assert parse_config({"exporters": exporters}, env={}).exporters.label() == label
