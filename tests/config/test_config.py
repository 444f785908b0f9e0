"""Config loading: golden files for a full config and for every error path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from gateway import severity
from gateway.config.settings import (
    Config,
    SamplingConfig,
    SamplingRule,
    load_config,
    parse_config,
)
from gateway.errors import ConfigError

GOLDEN = Path(__file__).parents[1] / "golden" / "config"
REPO = Path(__file__).parents[2]
SOURCE = "9dd9a6f6-8e9b-4fa4-b682-4f2f5cd99da3"


def problems(name: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_config(GOLDEN / f"{name}.yaml", env=env or {})
    return raised.value.problems


def test_full_config_matches_golden() -> None:
    config = load_config(GOLDEN / "full.yaml", env={"LF_NAME": "prod", "LF_KEY": "s3cret"})
    dumped = json.loads(json.dumps(config.model_dump(mode="json")))
    assert dumped == json.loads((GOLDEN / "full.json").read_text())
    assert config.exporters.logflare.api_key.get_secret_value() == "s3cret"
    assert config.storage.url == "sqlite:///tmp/x.db"  # the ${env:...:-default} fallback


GOLDEN_ERRORS = [
    "bad_everything",
    "half_logflare",
    "not_a_mapping",
    "alias_bomb",
    "control_characters",
]


@pytest.mark.parametrize("name", GOLDEN_ERRORS)
def test_every_problem_is_listed_with_its_key_path(name: str) -> None:
    expected = (GOLDEN / f"{name}.errors").read_text().splitlines()
    assert problems(name, env={"LOGFLARE_SOURCE": SOURCE}) == expected


def test_broken_yaml_names_the_line() -> None:
    (problem,) = problems("broken_yaml")
    assert problem.startswith("(file): not valid YAML") and "line 1" in problem


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


def test_shipped_default_config_is_valid_without_credentials() -> None:
    config = load_config(REPO / "config" / "gateway.yaml", env={})
    assert config == parse_config(
        {
            "batch": {
                "dedupe": {"keys": ["pattern", "severity"]},
                "sampling": {
                    "rules": [
                        {"match": {"severity_at_least": "ERROR"}, "keep": 1.0},
                        {"match": {"severity": "WARN"}, "keep": 1.0},
                        {"match": {"severity": "INFO"}, "keep": 0.2},
                        {"match": {"severity": "DEBUG"}, "keep": 0.05},
                        {"match": {"severity": "TRACE"}, "keep": 0.01},
                    ]
                },
            }
        },
        env={},
    )
    assert not config.exporters.logflare.enabled
    assert (REPO / "config" / "gateway.yaml").read_bytes() == (
        REPO / "gateway" / "config" / "default.yaml"
    ).read_bytes()


@pytest.mark.parametrize(
    "shipped", ["config/gateway.yaml", "config/demo.yaml", "deploy/logsieve.yaml"]
)
def test_shipped_rules_sample_debug_and_trace_at_least_as_hard_as_info(shipped: str) -> None:
    """Chatty bands must not outnumber INFO on the page: each band's keep, as the shipped
    rules decide it (first match wins), falls from INFO down to TRACE."""
    sampling = load_config(REPO / shipped, env={}).batch.sampling
    keep = {band: _shipped_keep(sampling, band) for band in ("INFO", "DEBUG", "TRACE")}
    assert keep["TRACE"] <= keep["DEBUG"] <= keep["INFO"] < 1.0


def test_old_names_still_load_with_a_warning_each() -> None:
    old = parse_config({"components": ["ingest", "processing"], "processor": {"interval": "2s"}})
    new = parse_config({"components": ["ingest", "batch"], "batch": {"interval": "2s"}})
    assert old.model_dump() == new.model_dump() and not new.deprecations
    assert old.deprecations == (
        "processor: renamed to batch (the old name still loads; rename it)",
        "components: processing is now batch (the old name still loads; rename it)",
    )


def test_an_old_and_a_new_name_together_are_refused() -> None:
    with pytest.raises(ConfigError, match="processor: renamed to batch; give only batch"):
        parse_config({"processor": {"interval": "2s"}, "batch": {"interval": "3s"}})


def test_defaults_when_empty() -> None:
    config = parse_config(None, env={})
    assert config == Config()
    assert config.batch.interval == 10.0
    assert config.recent.ttl == 3600.0
    assert config.receivers.otlp.grpc.endpoint == "127.0.0.1:4317"


def test_env_expansion_uses_default_only_when_unset_or_empty() -> None:
    data = {"viewer": {"endpoint": "${env:HOST:-127.0.0.1}:${env:PORT:-8080}"}}
    assert parse_config(data, env={}).viewer.endpoint == "127.0.0.1:8080"
    assert parse_config(data, env={"PORT": "9000"}).viewer.endpoint == "127.0.0.1:9000"
    assert parse_config(data, env={"PORT": ""}).viewer.endpoint == "127.0.0.1:8080"


def test_secret_is_masked_in_repr_and_errors() -> None:
    config = parse_config(
        {"exporters": {"logflare": {"source": SOURCE, "api_key": "${env:KEY}"}}},
        env={"KEY": "topsecret"},
    )
    assert "topsecret" not in repr(config)
    assert "topsecret" not in str(config.model_dump())
    assert config.exporters.logflare.enabled


def test_unspecified_is_not_a_rule_severity() -> None:
    with pytest.raises(
        ConfigError, match=r"rules\[0\]\.match\.severity: unknown severity 'UNSPECIFIED'"
    ):
        parse_config(
            {"batch": {"sampling": {"rules": [{"match": {"severity": "UNSPECIFIED"}, "keep": 1}]}}}
        )


def test_components_must_be_known_and_listed_once() -> None:
    with pytest.raises(ConfigError, match=r"components\[1\]: Input should be 'ingest'"):
        parse_config({"components": ["ingest", "everything"]}, env={})
    with pytest.raises(ConfigError, match="each once"):
        parse_config({"components": ["viewer", "viewer"]}, env={})
    assert parse_config({"components": ["batch"]}, env={}).components == ("batch",)


def test_a_control_character_is_named_and_the_secret_is_not_printed() -> None:
    secret = "logflare-key-0123456789"
    data = {"exporters": {"logflare": {"source": SOURCE, "api_key": "${env:KEY}"}}}
    with pytest.raises(ConfigError) as raised:
        parse_config(data, env={"KEY": secret + "\r\n"})  # a secret file's line ending
    assert raised.value.problems == [
        "exporters.logflare.api_key: contains a control character (CR)"
    ]
    assert secret not in str(raised.value)
    with pytest.raises(ConfigError, match="non-ASCII character: HTTP headers carry ASCII only"):
        parse_config(data, env={"KEY": "logflare-kéy-0123456789"})


def _http_auth(token_file: Path) -> dict[str, object]:
    return {"receivers": {"otlp": {"http": {"auth": {"bearer_token_file": str(token_file)}}}}}


def test_a_token_file_loses_its_line_ending_but_not_a_control_character_inside(
    tmp_path: Path,
) -> None:
    token_file = tmp_path / "token"
    token_file.write_bytes(b"file-token-0123456789\r\n")
    auth = parse_config(_http_auth(token_file), env={}).receivers.otlp.http.auth
    assert auth is not None and auth.token() == "file-token-0123456789"
    token_file.write_bytes(b"file-token\n0123456789\n")
    with pytest.raises(ConfigError) as raised:
        parse_config(_http_auth(token_file), env={})
    assert raised.value.problems == [
        "receivers.otlp.http.auth.bearer_token_file: contains a control character (LF)"
    ]
    token_file.write_bytes(b"x" * (64 * 1024 + 1))
    with pytest.raises(ConfigError, match=r"bearer_token_file: .* is larger than 64 KiB"):
        parse_config(_http_auth(token_file), env={})


def test_source_and_source_name_are_exclusive() -> None:
    with pytest.raises(ConfigError, match="not both"):
        parse_config(
            {"exporters": {"logflare": {"source": SOURCE, "source_name": "x", "api_key": "k"}}},
            env={},
        )


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    paths = []
    for name, field in model.model_fields.items():
        key = field.alias or name  # as the file writes it (storage.schema)
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel) and kind is not SamplingRule:
            paths += _leaf_paths(kind, f"{prefix}{key}.")
        else:
            paths.append(f"{prefix}{key}")
    return paths


def test_the_readme_documents_every_config_key() -> None:
    """Each key has its row, or one row for what every exporter has alike."""
    readme = (REPO / "README.md").read_text()
    rows = {path: re.sub(r"^exporters\.[^.]+\.", "exporters.<name>.", path) for path in
            _leaf_paths(Config)}  # fmt: skip
    missing = [path for path, shared in rows.items() if f"| `{path}` |" not in readme
               and f"| `{shared}` |" not in readme]  # fmt: skip
    assert missing == []


def _shipped_keep(sampling: SamplingConfig, band: str) -> float:
    rank = severity.RANK[band]
    for rule in sampling.rules:
        at_least = rule.match.severity_at_least
        if (rule.match.severity in (None, band)) and (
            at_least is None or severity.RANK[at_least] <= rank
        ):
            return rule.keep
    return sampling.default_keep


# Ports a Collector (own metrics, Prometheus exporter, health_check, zpages, pprof),
# Prometheus and the OpenTelemetry SDK's Prometheus exporter listen on by default.
NEIGHBOURS_PORTS = {8888, 8889, 13133, 55679, 1777, 9090, 9464}
SHIPPED_CONFIGS = sorted((REPO / "config").glob("**/*.yaml"))


def _listening_ports(config: Config) -> dict[str, int]:
    otlp = config.receivers.otlp
    endpoints = {
        "grpc": otlp.grpc.endpoint,
        "http": otlp.http.endpoint,
        "viewer": config.viewer.endpoint,
        "metrics": config.telemetry.metrics.endpoint,
    }
    return {name: int(endpoint.rsplit(":", 1)[1]) for name, endpoint in endpoints.items()}


def test_no_shipped_config_listens_where_a_collector_or_prometheus_does() -> None:
    env = {
        "LOGSIEVE_STORAGE_URL": "postgresql+psycopg://db/logsieve",
        "LOGSIEVE_VIEWER_TOKEN": "a-viewer-token-0123456789",
    }
    configs = {path.name: load_config(path, env=env) for path in SHIPPED_CONFIGS}
    for name, config in {"(defaults)": Config(), **configs}.items():
        ports = _listening_ports(config)
        assert not set(ports.values()) & NEIGHBOURS_PORTS, (name, ports)
    assert Config().telemetry.metrics.endpoint == "127.0.0.1:8890"
    # The split parts may share a host: each serves /metrics on a port of its own.
    split = [_listening_ports(configs[f"{part}.yaml"])["metrics"] for part in SPLIT_PARTS]
    assert len(set(split)) == len(SPLIT_PARTS)


SPLIT_PARTS = ("ingest", "batch", "viewer")


def test_storage_schema_is_for_postgresql_and_a_plain_name() -> None:
    pg = "postgresql+psycopg://db/logsieve"
    config = parse_config({"storage": {"url": pg, "schema": "tenant_a"}}, env={})
    assert config.storage.db_schema == "tenant_a"
    assert config.model_dump()["storage"]["schema"] == "tenant_a"  # as the file writes it
    assert parse_config({"storage": {"schema": ""}}, env={}).storage.db_schema == ""
    refused = {
        ("sqlite:///x.db", "tenant_a"): "PostgreSQL only (SQLite keeps every table in its "
        "file): remove it, or use a postgresql URL",
        (pg, "Tenant"): "'Tenant' is not a schema name here: lower-case letters, digits and _, "
        "not starting with a digit, at most 63",
        (pg, "a; drop"): "'a; drop' is not a schema name here",
        (pg, "x" * 64): f"'{'x' * 64}' is not a schema name here",
        (pg, "pg_temp"): "'pg_temp': names starting with pg_ are PostgreSQL's own",
    }
    for (url, schema), message in refused.items():
        with pytest.raises(ConfigError) as raised:
            parse_config({"storage": {"url": url, "schema": schema}}, env={})
        (problem,) = raised.value.problems
        assert problem.startswith(f"storage.schema: {message}")
