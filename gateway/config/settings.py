"""The one config loader: YAML -> `${env:...}` expansion -> frozen, validated models.

Every problem in a file is reported at once, each with its key path, as one ConfigError.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from gateway import severity
from gateway.config.reading import read_text, read_yaml
from gateway.config.receivers import MIN_TOKEN_CHARS, ReceiversConfig
from gateway.config.types import Duration, Endpoint, Model, refuse_control_characters
from gateway.errors import ConfigError

# Names changed since they were released: the old ones still load, with a warning each.
RENAMED_SECTIONS = {"processor": "batch"}
RENAMED_COMPONENTS = {"processing": "batch"}
_ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class StorageConfig(Model):
    url: str = Field(default="sqlite:///data/logsieve.db", min_length=1)
    # SQLite only. NORMAL: a commit survives a process crash; FULL: power loss too.
    sqlite_synchronous: Literal["normal", "full"] = "normal"

    @field_validator("url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql")):
            raise ValueError("unsupported database: use sqlite:///PATH or postgresql+psycopg://...")
        return url


def _check_severity(name: str | None) -> str | None:
    if name is not None and name not in severity.BANDS:
        raise ValueError(f"unknown severity {name!r}: use one of {', '.join(severity.BANDS)}")
    return name


class RuleMatch(Model):
    severity_at_least: str | None = None
    severity: str | None = None
    service: str | None = None
    body_matches: str | None = None

    _severities = field_validator("severity_at_least", "severity")(_check_severity)

    @field_validator("body_matches")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return pattern


Probability = Annotated[float, Field(ge=0.0, le=1.0)]
# `pattern`: the body's template (variables masked or learned); `body`: the exact text.
DedupeKey = Literal["body", "pattern", "severity", "service.name"]


def _check_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    if not keys or len(set(keys)) != len(keys):
        raise ValueError("keys must be a non-empty list without repeats")
    if {"body", "pattern"} <= set(keys):
        raise ValueError("keys may hold body or pattern, not both")
    return keys


class GroupingMatch(Model):
    """Which records a grouping rule is for: by severity band and service, never by body
    (the key must not depend on what it groups)."""

    severity_at_least: str | None = None
    severity: str | None = None
    service: str | None = None

    _severities = field_validator("severity_at_least", "severity")(_check_severity)


class GroupingRule(Model):
    match: GroupingMatch = GroupingMatch()
    keys: tuple[DedupeKey, ...]

    _keys = field_validator("keys")(_check_keys)


class DedupeConfig(Model):
    # The key for records no rule matches; rules choose other keys per severity band and
    # service (first match wins), for example errors by exact body and the rest by pattern.
    keys: tuple[DedupeKey, ...] = ("body", "severity")
    rules: tuple[GroupingRule, ...] = ()

    _keys = field_validator("keys")(_check_keys)

    def uses_patterns(self) -> bool:
        return "pattern" in self.keys or any("pattern" in rule.keys for rule in self.rules)


class MaskConfig(Model):
    name: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,31}$")  # the placeholder: <NAME>
    regex: str

    @field_validator("regex")
    @classmethod
    def _compiles(cls, regex: str) -> str:
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {regex!r}: {exc}") from None
        if compiled.match(""):
            raise ValueError(f"{regex!r} matches the empty string: it would mask nothing")
        return regex


class PatternsConfig(Model):
    # Your own variables, masked before the built-in ones (numbers, ids, addresses, times...).
    masks: tuple[MaskConfig, ...] = ()
    # Share of constant tokens two bodies of one length must have in common to be candidates
    # for one template.
    similarity: float = Field(default=0.5, gt=0.0, le=1.0)
    # Patterns kept in memory and in the store; past it the least recently seen go.
    max_patterns: int = Field(default=100_000, ge=100, le=10_000_000)
    top_values: int = Field(default=5, ge=1, le=100)  # per variable of an entry


class SamplingRule(Model):
    match: RuleMatch = RuleMatch()
    keep: Probability


class SamplingConfig(Model):
    rules: tuple[SamplingRule, ...] = ()
    default_keep: Probability = 1.0
    # Mixed into every sampling hash; change it to reshuffle which entries are kept.
    seed: int = 0


class BatchConfig(Model):
    interval: Duration = 10.0
    max_batch_records: int = Field(default=50_000, ge=1, le=1_000_000)
    # How long a claimed batch stays with its stage (on the database's clock) before another
    # stage may take it over: a crashed or stalled gateway's rows come back after this.
    lease: Duration = 60.0
    # `logsieve run` puts the batch stage, export and purge in a child process, so that
    # they and the receivers each get a core (not for an in-memory SQLite database).
    own_process: bool = True
    dedupe: DedupeConfig = DedupeConfig()
    patterns: PatternsConfig = PatternsConfig()
    sampling: SamplingConfig = SamplingConfig()


class LogflareConfig(Model):
    endpoint: str = "https://api.logflare.app"
    source: str = ""
    source_name: str = ""
    api_key: SecretStr = SecretStr("")
    timeout: Duration = 10.0
    max_batch_events: int = Field(default=500, ge=1, le=500)
    # Backoff after a failed request: doubles from retry_initial up to retry_max, with jitter.
    retry_initial: Duration = 1.0
    retry_max: Duration = 60.0
    # Past this many events waiting for Logflare, the oldest below ERROR are dropped (counted);
    # when only ERROR and above are left, the batch stage pauses until Logflare takes some.
    max_outbox_events: int = Field(default=1_000_000, ge=1)

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"invalid endpoint {url!r}: use an http:// or https:// URL")
        return url.rstrip("/")

    @field_validator("source", "source_name")
    @classmethod
    def _printable(cls, name: str) -> str:
        return refuse_control_characters(name)  # sent in the URL's query

    @field_validator("api_key")
    @classmethod
    def _header_safe(cls, key: SecretStr) -> SecretStr:
        refuse_control_characters(key.get_secret_value(), ascii_only=True)
        return key

    @field_validator("source")
    @classmethod
    def _uuid(cls, source: str) -> str:
        if source:
            try:
                uuid.UUID(source)
            except ValueError:
                raise ValueError("source must be a Logflare source UUID") from None
        return source

    @model_validator(mode="after")
    def _complete_or_empty(self) -> LogflareConfig:
        has_source = bool(self.source or self.source_name)
        has_key = bool(self.api_key.get_secret_value())
        if self.source and self.source_name:
            raise ValueError("set source or source_name, not both")
        if has_source != has_key:
            missing = "api_key" if has_source else "source (or source_name)"
            raise ValueError(f"{missing} is empty: set both, or neither to turn Logflare off")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.api_key.get_secret_value())


class ExportersConfig(Model):
    logflare: LogflareConfig = LogflareConfig()


class RecentConfig(Model):
    ttl: Duration = 3600.0
    purge_interval: Duration = 60.0
    purge_chunk_rows: int = Field(default=5000, ge=1)


class ViewerConfig(Model):
    endpoint: Endpoint = "127.0.0.1:8080"
    # How many of the newest entries a page receives on connect.
    backfill: int = Field(default=300, ge=0, le=5000)
    # Open live pages (websockets) at once; past it a new one is closed with the reason.
    max_connections: int = Field(default=200, ge=1, le=10_000)
    # What one page's socket may have waiting to be sent, as framed; past it the page is
    # dropped with the reason and resumes from its cursor when it reconnects.
    max_buffer_kib: int = Field(default=1024, ge=64, le=65_536)
    # An entry's body longer than this is cut in the stream, and attributes longer than
    # this (as JSON) are left out; the page loads the whole entry when a row is expanded.
    max_entry_kib: int = Field(default=16, ge=1, le=1024)
    # `logsieve run` serves the viewer from a child process of its own, so that pages
    # cannot take the receivers' CPU, memory or database connections (not for an
    # in-memory SQLite database).
    own_process: bool = True
    # When set, the page and its socket need this token (a sign-in form sets a cookie;
    # programs send `Authorization: Bearer`). Use ${env:NAME} rather than writing it here.
    auth_token: SecretStr | None = None

    @field_validator("auth_token")
    @classmethod
    def _long_enough(cls, token: SecretStr | None) -> SecretStr | None:
        # A short token falls to guessing; the sign-in form is reachable by anyone.
        if token is not None and len(token.get_secret_value()) < MIN_TOKEN_CHARS:
            raise ValueError(f"too short: use at least {MIN_TOKEN_CHARS} characters")
        if token is not None:
            refuse_control_characters(token.get_secret_value())
        return token


class QueueConfig(Model):
    # Past this many queued records the receiver refuses (UNAVAILABLE + RetryInfo) or, with
    # drop_lowest_severity, first drops the oldest records below ERROR to make room.
    max_records: int = Field(default=2_000_000, ge=1)
    when_full: Literal["refuse", "drop_lowest_severity"] = "refuse"
    # A larger record is left out of its request and reported in partial_success.
    max_record_bytes: int = Field(default=1024 * 1024, ge=1024)


class MetricsConfig(Model):
    enabled: bool = True
    # /metrics (Prometheus), /healthz and /readyz; 8888 as the OpenTelemetry Collector.
    endpoint: Endpoint = "127.0.0.1:8888"


class GatewayLogsConfig(Model):
    # The gateway's own logs on stderr: text for people, json for log shippers.
    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class TelemetryConfig(Model):
    metrics: MetricsConfig = MetricsConfig()
    logs: GatewayLogsConfig = GatewayLogsConfig()


Component = Literal["ingest", "batch", "viewer"]


class Config(Model):
    # Which parts this process runs: all three on a laptop; split them to scale each part
    # (several ingest processes, one processing, one viewer, on one PostgreSQL).
    components: tuple[Component, ...] = ("ingest", "batch", "viewer")
    receivers: ReceiversConfig = ReceiversConfig()
    storage: StorageConfig = StorageConfig()
    queue: QueueConfig = QueueConfig()
    batch: BatchConfig = BatchConfig()
    exporters: ExportersConfig = ExportersConfig()
    recent: RecentConfig = RecentConfig()
    viewer: ViewerConfig = ViewerConfig()
    telemetry: TelemetryConfig = TelemetryConfig()
    # What the file said in names that have changed, as warnings (not a key of the file).
    _deprecations: tuple[str, ...] = PrivateAttr(default=())

    @property
    def deprecations(self) -> tuple[str, ...]:
        return self._deprecations

    @field_validator("components")
    @classmethod
    def _some_components(cls, components: tuple[str, ...]) -> tuple[str, ...]:
        if not components or len(set(components)) != len(components):
            raise ValueError("list at least one of ingest, batch, viewer, each once")
        return components


def expand_env(node: Any, env: Mapping[str, str]) -> Any:
    """Replace `${env:NAME}` and `${env:NAME:-default}` in every string of a YAML tree."""
    if isinstance(node, str):
        return _ENV_REF.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), node)
    if isinstance(node, dict):
        return {key: expand_env(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [expand_env(item, env) for item in node]
    return node


def _describe(error: Any, written_as: Mapping[str, str]) -> str:
    """One problem as `key.path: message`, the path in the names the file used."""
    path = ""
    for depth, part in enumerate(error["loc"]):
        part = written_as.get(part, part) if depth == 0 else part
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    path = path.lstrip(".") or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{path}: unknown key"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{path}: {message}"


def parse_config(data: Any, env: Mapping[str, str] | None = None) -> Config:
    """Validate an already-parsed YAML tree (None means every default)."""
    tree = expand_env(data if data is not None else {}, os.environ if env is None else env)
    if not isinstance(tree, dict):
        raise ConfigError(["(top level): the config must be a mapping of sections"])
    written_as = {new: old for old, new in RENAMED_SECTIONS.items() if old in tree}
    tree, deprecations = _renamed(tree)
    try:
        config = Config.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError([_describe(e, written_as) for e in exc.errors()]) from None
    config._deprecations = tuple(deprecations)
    return config


def _renamed(tree: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The tree in today's names, and a warning for each old name it used."""
    tree, notes = dict(tree), []
    for old, new in RENAMED_SECTIONS.items():
        if old not in tree:
            continue
        if new in tree:
            raise ConfigError([f"{old}: renamed to {new}; give only {new}"])
        tree[new] = tree.pop(old)
        notes.append(f"{old}: renamed to {new} (the old name still loads; rename it)")
    components = tree.get("components")
    if isinstance(components, list) and set(components) & set(RENAMED_COMPONENTS):
        for old in sorted(set(components) & set(RENAMED_COMPONENTS)):
            new = RENAMED_COMPONENTS[old]
            notes.append(f"components: {old} is now {new} (the old name still loads; rename it)")
        tree["components"] = [RENAMED_COMPONENTS.get(c, c) for c in components]
    return tree, notes


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a YAML config file; raises ConfigError listing every problem."""
    return parse_config(read_yaml(read_text(path)), env)


def config_secrets(config: Config) -> list[str]:
    """Every secret value of a config, for the log redactor (never written anywhere)."""
    otlp = config.receivers.otlp
    tokens = [auth.token() for auth in (otlp.grpc.auth, otlp.http.auth) if auth is not None]
    viewer = config.viewer.auth_token
    password = make_url_password(config.storage.url)
    return [
        config.exporters.logflare.api_key.get_secret_value(),
        *tokens,
        *([viewer.get_secret_value()] if viewer else []),
        *([password] if password else []),
    ]


def make_url_password(url: str) -> str | None:
    """The password in a database URL (postgresql://user:PASSWORD@host/db), if any."""
    match = re.match(r"^[a-z0-9+]+://[^:/@]+:([^@]+)@", url)
    return match.group(1) if match else None
