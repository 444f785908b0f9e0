"""The Collector's receiver layout (`receivers.otlp.protocols.{grpc,http}`) means what
logsieve's own (`receivers.otlp.{grpc,http}`) does; each Collector key is translated,
accepted with a warning that it has no effect, or refused with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.cli.main import main
from gateway.config.collector import BROWSER_HEADERS, RULES, SAME_NAMES, reference
from gateway.config.settings import Config, parse_config
from gateway.errors import ConfigError
from gateway.receivers.http import ALLOWED_HEADERS

# A Collector's receiver block as its users write it (the contrib distribution's examples).
COLLECTOR_BLOCK = """
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
        max_recv_msg_size_mib: 16
        max_concurrent_streams: 50
        include_metadata: true
        keepalive:
          server_parameters:
            max_connection_idle: 11s
            max_connection_age: 1h30m
          enforcement_policy:
            min_time: 5s
            permit_without_stream: true
      http:
        endpoint: 0.0.0.0:4318
        include_metadata: true
        max_request_body_size: 10485760
        idle_timeout: 2m
        read_timeout: 1m
        cors:
          allowed_origins: ["https://shop.example.com", "http://localhost:3000"]
          allowed_headers: ["Content-Type", "authorization"]
          max_age: 7200
"""
# What it means, in logsieve's own layout.
LOGSIEVE_BLOCK = {
    "receivers": {
        "otlp": {
            "grpc": {
                "endpoint": "0.0.0.0:4317",
                "max_recv_msg_size_mib": 16,
                "keepalive": {
                    "max_concurrent_streams": 50,
                    "max_connection_idle": "11s",
                    "min_ping_interval": "5s",
                },
            },
            "http": {
                "endpoint": "0.0.0.0:4318",
                "max_request_mib": 10,
                "max_connection_idle": "2m",
                "read_timeout": "1m",
                "cors": {
                    "allowed_origins": ["https://shop.example.com", "http://localhost:3000"],
                    "max_age": "7200s",
                },
            },
        }
    }
}
COLLECTOR = "receivers.otlp.protocols"


def collector(text: str) -> Any:
    return yaml.safe_load(text)


def refusals(data: Any) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_config(data, env={})
    return raised.value.problems


def test_a_collector_block_means_what_logsieve_s_own_layout_does() -> None:
    config = parse_config(collector(COLLECTOR_BLOCK), env={})
    # Compared as dumped: the warnings, kept on the model, differ.
    assert config.model_dump() == parse_config(LOGSIEVE_BLOCK, env={}).model_dump()
    assert config.deprecations == (
        f"{COLLECTOR}.grpc.include_metadata: has no effect here: logsieve passes no request "
        "metadata on (no processor here reads it)",
        f"{COLLECTOR}.grpc.keepalive.server_parameters.max_connection_age: has no effect here: "
        "connections are not aged out here, but for spreading them over receiver processes",
        f"{COLLECTOR}.http.include_metadata: has no effect here: logsieve passes no request "
        "metadata on (no processor here reads it)",
    )


def test_check_config_accepts_a_collector_users_block_and_says_what_does_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "collector.yaml"
    path.write_text(COLLECTOR_BLOCK)
    assert main(["check-config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"{path}: OK"
    assert f"{path}: warning: {COLLECTOR}.http.include_metadata: has no effect here" in err


def test_the_minimal_collector_block_is_the_defaults_at_its_endpoints() -> None:
    minimal = collector(
        "receivers: {otlp: {protocols: {grpc: {endpoint: '0.0.0.0:4317'}, "
        "http: {endpoint: '0.0.0.0:4318'}}}}"
    )
    own = {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}
    assert parse_config(minimal, env={}) == parse_config({"receivers": {"otlp": own}}, env={})
    nulls = collector("receivers:\n  otlp:\n    protocols:\n      grpc:\n      http:\n")
    assert parse_config(nulls, env={}) == Config()  # `grpc:` alone: every default


def test_a_protocol_left_out_is_off_as_in_the_collector_but_grpc_is_always_served() -> None:
    grpc_only = parse_config(collector("receivers: {otlp: {protocols: {grpc: {}}}}"), env={})
    assert not grpc_only.receivers.otlp.http.enabled
    assert refusals(collector("receivers: {otlp: {protocols: {http: {}}}}")) == [
        f"{COLLECTOR}: logsieve always serves OTLP/gRPC: list grpc (with the endpoint to use); "
        "only http may be left out, which turns it off as in the Collector"
    ]


def test_both_layouts_at_once_are_refused() -> None:
    both = {"receivers": {"otlp": {"protocols": {"grpc": {}}, "http": {"endpoint": "h:1"}}}}
    assert refusals(both) == [
        "receivers.otlp: give protocols.grpc and protocols.http (the Collector's layout) "
        "or grpc and http (logsieve's), not both: here protocols and http"
    ]


def test_keys_logsieve_cannot_honour_are_refused_with_the_reason_all_at_once() -> None:
    block = collector(
        """
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0
        transport: unix
        max_concurrent_streams: 0
        auth: {authenticator: bearertokenauth}
      http:
        logs_url_path: /logs
        response_headers: {X-Frame-Options: deny}
        cors: {allowed_headers: [X-Tenant]}
        tls: {min_version: "1.3", client_ca_file: ca.pem}
        bogus: 1
      thrift: {}
"""
    )
    assert refusals(block) == [
        f"{COLLECTOR}.thrift: unknown protocol: grpc or http",
        f"{COLLECTOR}.grpc.transport: logsieve listens on TCP only",
        f"{COLLECTOR}.grpc.auth.authenticator: Collector extensions do not exist here: use "
        "auth: {bearer_token_file: FILE} (or bearer_token), logsieve's own bearer-token check",
        f"{COLLECTOR}.http.logs_url_path: logsieve takes OTLP logs at /v1/logs only",
        f"{COLLECTOR}.http.response_headers: logsieve adds no response headers of your choosing",
        f"{COLLECTOR}.http.cors.allowed_headers: pages may send Content-Type, Content-Encoding "
        "and Authorization only here",
        f"{COLLECTOR}.http.tls.min_version: logsieve takes TLS 1.2 and later (Python's and "
        "gRPC's defaults): only 1.2 is offered",
        f"{COLLECTOR}.http.tls.client_ca_file: client certificates (mutual TLS) are not "
        "checked here: use auth (a bearer token)",
        # The models' own problems, named where the file put the key:
        f"{COLLECTOR}.grpc.endpoint: invalid endpoint '0.0.0.0': use host:port, as 127.0.0.1:4317",
        f"{COLLECTOR}.grpc.max_concurrent_streams: Input should be greater than or equal to 1",
        f"{COLLECTOR}.http.bogus: unknown key",
    ]


def test_logsieve_keys_are_taken_under_the_collector_layout_too(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("a-token-of-twenty-chars\n")
    block = collector(
        f"""
receivers:
  otlp:
    protocols:
      grpc: {{processes: 2, auth: {{bearer_token_file: {token}}}}}
      http: {{browser: {{burst: 7}}, cors: {{max_age: 10m}}}}
"""
    )
    otlp = parse_config(block, env={}).receivers.otlp
    assert otlp.grpc.processes == 2 and otlp.grpc.auth is not None
    assert (otlp.http.browser.burst, otlp.http.cors.max_age) == (7, 600.0)


def test_the_collector_s_unset_values_keep_logsieve_s_defaults() -> None:
    block = {"receivers": {"otlp": {"protocols": {"grpc": {"transport": "tcp"}, "http": {}}}}}
    block["receivers"]["otlp"]["protocols"]["http"] = {
        "cors": {"max_age": 0},  # the Collector's default: no Access-Control-Max-Age
        "include_metadata": False,
        "logs_url_path": "/v1/logs",
        "max_request_body_size": 1000,  # rounded up to a MiB
    }
    config = parse_config(block, env={})
    assert config == parse_config({"receivers": {"otlp": {"http": {"max_request_mib": 1}}}})
    assert config.deprecations == ()


def test_the_browser_headers_are_the_http_receiver_s() -> None:
    assert {name.strip().lower() for name in ALLOWED_HEADERS.split(",")} == BROWSER_HEADERS


def test_a_wildcard_inside_an_origin_is_refused_in_either_layout() -> None:
    cors = {"allowed_origins": ["https://*.example.com"]}
    for otlp in ({"http": {"cors": cors}}, {"protocols": {"grpc": {}, "http": {"cors": cors}}}):
        (problem,) = refusals({"receivers": {"otlp": otlp}})
        assert problem.endswith(
            ".cors.allowed_origins: 'https://*.example.com': a wildcard inside an origin is "
            "not supported here: list each origin, or give '*' alone for any"
        )


def test_the_reference_names_every_collector_key_and_the_same_names_exist_here() -> None:
    table = reference()
    for rules in RULES.values():
        for path in rules:
            assert f"| `{'.'.join(path)}` |" in table, path
    for name, keys in SAME_NAMES.items():
        for key in keys:
            if not key.startswith("tls."):  # needs files: TlsConfig's own tests have them
                _loads_unchanged(name, key)


SAMPLE_VALUES = {
    "endpoint": "0.0.0.0:1",
    "max_recv_msg_size_mib": 8,
    "read_timeout": "1m",
    "cors.allowed_origins": ["https://a.example"],
}


def _loads_unchanged(protocol: str, key: str) -> None:
    """A Collector block giving `key` means what logsieve's own layout does, unwarned."""
    block: dict[str, Any] = {}
    *parents, leaf = key.split(".")
    node = block
    for parent in parents:
        node = node.setdefault(parent, {})
    node[leaf] = SAMPLE_VALUES[key]
    otlp: dict[str, Any] = {"grpc": {}, "http": {}, protocol: block}
    collector = parse_config({"receivers": {"otlp": {"protocols": otlp}}}, env={})
    own = parse_config({"receivers": {"otlp": otlp}}, env={})
    assert collector.deprecations == ()
    assert collector.model_dump() == own.model_dump() != Config().model_dump(), key
