"""Config loading: golden files for a full config and for every error path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from gateway.config.settings import Config, SamplingRule, load_config, parse_config
from gateway.config.types import parse_duration
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
                "sampling": {
                    "rules": [
                        {"match": {"severity_at_least": "ERROR"}, "keep": 1.0},
                        {"match": {"severity": "WARN"}, "keep": 1.0},
                        {"match": {"severity": "INFO"}, "keep": 0.2},
                    ]
                }
            }
        },
        env={},
    )
    assert not config.exporters.logflare.enabled


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


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("10s", 10.0), ("60m", 3600.0), ("1h", 3600.0), ("1.5s", 1.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["10", "ten s", "5d", "-1s", "", "1h30m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


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
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel) and kind is not SamplingRule:
            paths += _leaf_paths(kind, f"{prefix}{name}.")
        else:
            paths.append(f"{prefix}{name}")
    return paths


def test_the_readme_documents_every_config_key() -> None:
    readme = (REPO / "README.md").read_text()
    assert [path for path in _leaf_paths(Config) if f"| `{path}` |" not in readme] == []
