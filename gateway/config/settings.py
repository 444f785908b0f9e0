"""The one config loader: YAML -> `${env:...}` expansion -> frozen, validated models.

Every problem in a file is reported at once, each with its key path, as one ConfigError.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

# The batch section's models live in batch.py, named here too (their importers' one place).
from gateway.config.batch import BatchConfig as BatchConfig
from gateway.config.batch import DedupeConfig as DedupeConfig
from gateway.config.batch import PatternsConfig as PatternsConfig
from gateway.config.batch import SamplingConfig as SamplingConfig
from gateway.config.batch import SamplingRule as SamplingRule
from gateway.config.collector import KeyPath, collector_layout, dotted
from gateway.config.delivery import DeliveryConfig
from gateway.config.otlp_exporter import OtlpExporterConfig
from gateway.config.reading import read_text, read_yaml
from gateway.config.receivers import MIN_TOKEN_CHARS, ReceiversConfig
from gateway.config.types import Duration, Endpoint, Model, refuse_control_characters
from gateway.errors import ConfigError

# Names changed since they were released: the old ones still load, with a warning each.
RENAMED_SECTIONS = {"processor": "batch"}
RENAMED_COMPONENTS = {"processing": "batch"}
_ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class StorageConfig(Model):
    model_config = ConfigDict(serialize_by_alias=True)  # `schema`, as the file writes it

    url: str = Field(default="sqlite:///data/logsieve.db", min_length=1)
    # SQLite only. NORMAL: a commit survives a process crash; FULL: power loss too.
    sqlite_synchronous: Literal["normal", "full"] = "normal"
    # PostgreSQL only: the schema holding every logsieve table, made by the migrations when
    # missing, so that several gateways (or applications) share a database apart. Empty: the
    # role's search_path (normally public). Named db_schema here: BaseModel has a `schema`.
    db_schema: str = Field(default="", alias="schema")

    @field_validator("url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql")):
            raise ValueError("unsupported database: use sqlite:///PATH or postgresql+psycopg://...")
        return url

    @field_validator("db_schema")
    @classmethod
    def _schema_name(cls, name: str, info: ValidationInfo) -> str:
        """Used unquoted in SQL and search_path: the store checks the same rule again
        (gateway/store/_namespace.py; the config may not import the store)."""
        if name and str(info.data.get("url", "")).startswith("sqlite"):
            raise ValueError(
                "PostgreSQL only (SQLite keeps every table in its file): "
                "remove it, or use a postgresql URL"
            )
        if name and not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(
                f"{name!r} is not a schema name here: lower-case letters, digits and _, "
                "not starting with a digit, at most 63"
            )
        if name.startswith("pg_"):
            raise ValueError(f"{name!r}: names starting with pg_ are PostgreSQL's own")
        return name


class LogflareConfig(DeliveryConfig):
    endpoint: str = "https://api.logflare.app"
    source: str = ""
    source_name: str = ""
    api_key: SecretStr = SecretStr("")
    max_batch_events: int = Field(default=500, ge=1, le=500)  # Logflare's advice

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


# A second OTLP backend is named as the Collector names a second instance: `otlp/archive`.
NAMED_OTLP = re.compile(r"otlp/[a-z0-9][a-z0-9_-]{0,31}")


class ExportersConfig(Model):
    # Keys past the two fields are more OTLP exporters (`otlp/<name>`), each one of its own.
    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, OtlpExporterConfig]
    logflare: LogflareConfig = LogflareConfig()
    otlp: OtlpExporterConfig = OtlpExporterConfig()

    @model_validator(mode="before")
    @classmethod
    def _known_names(cls, data: Any) -> Any:
        for key in data if isinstance(data, dict) else ():
            if key not in cls.model_fields and not NAMED_OTLP.fullmatch(str(key)):
                raise ValueError(
                    f"unknown exporter {str(key)!r}: use logflare, otlp, or otlp/NAME for "
                    "another OTLP backend (NAME: lower-case letters, digits, _ and -)"
                )
        return data

    def otlp_named(self) -> dict[str, OtlpExporterConfig]:
        """Every OTLP exporter, `otlp` first, by its key."""
        return {"otlp": self.otlp, **dict(sorted((self.model_extra or {}).items()))}

    def configured(self) -> dict[str, DeliveryConfig]:
        """Every exporter the file names (or logsieve knows), on or off, by its key."""
        return {"logflare": self.logflare, **self.otlp_named()}

    def enabled(self) -> dict[str, DeliveryConfig]:
        """The exporters that run, by their key (also their outbox rows' and metrics' name)."""
        return {name: config for name, config in self.configured().items() if config.enabled}

    def label(self) -> str:
        """What the live page's header calls the export: the one exporter's backend
        ("Logflare", "OTLP"), or "Export" for several or none."""
        running = list(self.enabled())
        if len(running) != 1:
            return "Export"
        return "Logflare" if running == ["logflare"] else "OTLP"


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
    # A link from an entry's trace id to a tracing UI: {trace_id} is replaced by the id.
    trace_url: str | None = None

    @field_validator("trace_url")
    @classmethod
    def _trace_link(cls, url: str | None) -> str | None:
        # The page puts it in a link: only web addresses, and only with the id's place named.
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        if url is not None and "{trace_id}" not in url:
            raise ValueError("must contain {trace_id}, where the entry's trace id goes")
        if url is not None:
            refuse_control_characters(url)
        return url

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
    # /metrics (Prometheus), /healthz and /readyz. 8890 runs beside a Collector (8888, 8889,
    # 13133, 4317, 4318, 55679, 1777), Prometheus (9090) and the SDK's exporter (9464);
    # Prometheus's exporter range, 9100-9999, is all allocated.
    endpoint: Endpoint = "127.0.0.1:8890"


class GatewayLogsConfig(Model):
    # The gateway's own logs on stderr: text for people, json for log shippers.
    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # One line per HTTP request (method, path, status) when true; probes (/healthz, /readyz,
    # /metrics) and static files only when they fail.
    access: bool = False


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
    exporters: ExportersConfig = ExportersConfig.model_validate({})
    recent: RecentConfig = RecentConfig()
    viewer: ViewerConfig = ViewerConfig()
    telemetry: TelemetryConfig = TelemetryConfig()
    # Warnings (not a key of the file): names that have changed, Collector keys with no effect.
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


def _describe(error: Any, written_as: Mapping[KeyPath, KeyPath]) -> str:
    """One problem as `key.path: message`, the path in the names the file used."""
    path = dotted(_as_written(tuple(error["loc"]), written_as))
    if error["type"] == "extra_forbidden":
        return f"{path}: unknown key"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{path}: {message}"


def _as_written(loc: KeyPath, written_as: Mapping[KeyPath, KeyPath]) -> KeyPath:
    """The path where the file put a value: the longest renamed prefix, rewritten."""
    for length in range(len(loc), 0, -1):
        if loc[:length] in written_as:
            return (*written_as[loc[:length]], *loc[length:])
    return loc


def parse_config(data: Any, env: Mapping[str, str] | None = None) -> Config:
    """Validate an already-parsed YAML tree (None means every default)."""
    tree = expand_env(data if data is not None else {}, os.environ if env is None else env)
    if not isinstance(tree, dict):
        raise ConfigError(["(top level): the config must be a mapping of sections"])
    written_as = {(new,): (old,) for old, new in RENAMED_SECTIONS.items() if old in tree}
    tree, deprecations = _renamed(tree)
    layout = collector_layout(tree)  # receivers.otlp.protocols, as a Collector writes it
    written_as |= layout.written_as
    try:
        config = Config.model_validate(layout.tree)
    except ValidationError as exc:
        described = [_describe(e, written_as) for e in exc.errors()]
        raise ConfigError(layout.problems + described) from None
    if layout.problems:
        raise ConfigError(layout.problems)
    config._deprecations = (*deprecations, *layout.notes)
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
        *(
            value.get_secret_value()
            for otlp in config.exporters.otlp_named().values()
            for value in otlp.headers.values()
        ),
        *tokens,
        *([viewer.get_secret_value()] if viewer else []),
        *([password] if password else []),
    ]


def make_url_password(url: str) -> str | None:
    """The password in a database URL (postgresql://user:PASSWORD@host/db), if any."""
    match = re.match(r"^[a-z0-9+]+://[^:/@]+:([^@]+)@", url)
    return match.group(1) if match else None
