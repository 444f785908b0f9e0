"""`exporters.otlp`: the kept entries sent to any OpenTelemetry backend over OTLP.

Off while `endpoint` is empty. The endpoint is always a URL, so that whether the connection is
encrypted is written in one place: https:// is TLS (checked against the system's CAs, or
`tls.ca_file`), http:// is plaintext. Header values are secrets (API keys travel there): they
are masked in every repr and never logged.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from gateway.config.delivery import DeliveryConfig
from gateway.config.types import Model, refuse_control_characters

OTLP_HTTP_PATH = "/v1/logs"  # appended to an HTTP endpoint that does not end with it
_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")  # an HTTP token, in gRPC's lower case
# Set by the exporter itself, or meaningless to change: a user's value would break requests.
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-encoding",
        "content-length",
        "transfer-encoding",
        "connection",
        "host",
        "te",
        "user-agent",
        "accept-encoding",
    }
)


class OtlpTlsConfig(Model):
    # PEM certificates of the CAs to trust instead of the system's (a private CA, or a
    # self-signed certificate).
    ca_file: str | None = None

    @field_validator("ca_file")
    @classmethod
    def _readable(cls, path: str | None) -> str | None:
        """A file of PEM certificates a TLS client can load, checked here: the exporter's
        client is made in the batch process, where a bad file would only fail and restart."""
        if path is None:
            return path
        if not Path(path).is_file():
            raise ValueError(f"cannot read {path!r}")
        try:
            ssl.create_default_context(cafile=path)
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise ValueError(
                f"{path!r} holds no PEM certificate a TLS client can use ({exc})"
            ) from None
        return path

    def ca_pem(self) -> bytes | None:
        return Path(self.ca_file).read_bytes() if self.ca_file else None


class OtlpExporterConfig(DeliveryConfig):
    endpoint: str = ""
    protocol: Literal["grpc", "http"] = "grpc"
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    tls: OtlpTlsConfig = OtlpTlsConfig()
    compression: Literal["gzip", "none"] = "gzip"
    # The Collector's otlp exporter sends up to 8,192 records a request (its batch processor).
    max_batch_events: int = Field(default=1000, ge=1, le=10_000)

    @field_validator("endpoint")
    @classmethod
    def _url(cls, endpoint: str) -> str:
        if not endpoint:
            return endpoint
        refuse_control_characters(endpoint)
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{endpoint!r} is not a URL: write https://HOST:PORT (TLS) or "
                "http://HOST:PORT (plaintext), as https://otel.example.com:4317"
            )
        try:
            parts.port  # noqa: B018 (read for its check: a port past 65535 raises)
        except ValueError:
            raise ValueError(f"{endpoint!r}: the port is not a number from 0 to 65535") from None
        if parts.username is not None or parts.password is not None:
            raise ValueError("holds credentials: send them in `headers` instead")
        if parts.query or parts.fragment:
            raise ValueError("a query or fragment has no place in an OTLP endpoint")
        return endpoint.rstrip("/")

    @field_validator("headers")
    @classmethod
    def _header_safe(cls, headers: dict[str, SecretStr]) -> dict[str, SecretStr]:
        checked: dict[str, SecretStr] = {}
        for name, value in headers.items():
            key = name.strip().lower()
            if not _HEADER_NAME.fullmatch(key):
                raise ValueError(f"{name!r} is not a header name")
            if key in RESERVED_HEADERS or key.startswith("grpc-") or key.endswith("-bin"):
                raise ValueError(f"{name!r} is set by the exporter itself (or binary in gRPC)")
            if key in checked:
                raise ValueError(f"{name!r} is given twice (header names ignore case)")
            secret = value.get_secret_value()
            if not secret:  # the message names the header, never a value
                raise ValueError(f"{name!r} is empty (is its environment variable set?)")
            try:
                refuse_control_characters(secret, ascii_only=True)
            except ValueError as exc:
                raise ValueError(f"{name!r}: {exc}") from None
            checked[key] = value
        return checked

    @model_validator(mode="after")
    def _coherent(self) -> OtlpExporterConfig:
        if not self.endpoint and self.headers:
            raise ValueError("headers are set but endpoint is empty: set it, or remove both")
        if self.tls.ca_file and self.endpoint.startswith("http://"):
            raise ValueError("tls.ca_file is set for a plaintext http:// endpoint: use https://")
        if self.protocol == "grpc" and urlsplit(self.endpoint).path not in ("", "/"):
            raise ValueError("a gRPC endpoint has no path: write only https://HOST:PORT")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.endpoint)

    @property
    def secure(self) -> bool:
        return self.endpoint.startswith("https://")

    def grpc_target(self) -> str:
        """HOST:PORT for a gRPC channel (the scheme's port when none is written)."""
        parts = urlsplit(self.endpoint)
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
        return f"{host}:{parts.port or (443 if self.secure else 80)}"

    def http_url(self) -> str:
        """The URL requests are POSTed to: the endpoint, with /v1/logs appended unless its
        path already ends with it (an SDK's base URL and a backend's full URL both work)."""
        if self.endpoint.endswith(OTLP_HTTP_PATH):
            return self.endpoint
        return self.endpoint + OTLP_HTTP_PATH
