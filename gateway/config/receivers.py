"""The receivers' config: OTLP over gRPC and over HTTP, with their TLS, auth and limits."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from gateway.config.types import Duration, Endpoint, Model, refuse_control_characters

MIB = 1024 * 1024  # the unit of the *_mib settings

MIN_TOKEN_CHARS = 16  # shorter tokens fall to guessing
MAX_TOKEN_FILE_BYTES = 64 * 1024


class TlsConfig(Model):
    cert_file: str  # PEM certificate chain
    key_file: str  # PEM private key

    @field_validator("cert_file", "key_file")
    @classmethod
    def _readable(cls, path: str) -> str:
        if not Path(path).is_file():
            raise ValueError(f"cannot read {path!r}")
        return path

    def pem(self) -> tuple[bytes, bytes]:
        """(certificate chain, private key) as PEM bytes."""
        return Path(self.cert_file).read_bytes(), Path(self.key_file).read_bytes()


class AuthConfig(Model):
    # Exactly one: the token itself (use ${env:NAME}) or a file holding it (a mounted secret).
    bearer_token: SecretStr | None = None
    bearer_token_file: str | None = None

    @field_validator("bearer_token")
    @classmethod
    def _header_safe(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None:
            refuse_control_characters(token.get_secret_value(), ascii_only=True)
        return token

    @field_validator("bearer_token_file")
    @classmethod
    def _readable_token(cls, path: str | None) -> str | None:
        if path is not None:
            refuse_control_characters(_read_token_file(path), ascii_only=True)
        return path

    @model_validator(mode="after")
    def _one_usable_token(self) -> AuthConfig:
        if (self.bearer_token is None) == (self.bearer_token_file is None):
            raise ValueError("set bearer_token or bearer_token_file, one of them")
        if len(self.token()) < MIN_TOKEN_CHARS:
            raise ValueError(f"the token is too short: use at least {MIN_TOKEN_CHARS} characters")
        return self

    def token(self) -> str:
        if self.bearer_token is not None:
            return self.bearer_token.get_secret_value()
        return _read_token_file(str(self.bearer_token_file))


def _read_token_file(path: str) -> str:
    """The token in a file, without the whitespace around it (the newline most files end
    with); a control character inside it is the validator's to refuse."""
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_TOKEN_FILE_BYTES + 1)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        raise ValueError(f"cannot read {path!r}") from None
    if len(raw) > MAX_TOKEN_FILE_BYTES:
        raise ValueError(f"{path!r} is larger than {MAX_TOKEN_FILE_BYTES // 1024} KiB: not a token")
    return text.strip()


class GrpcKeepaliveConfig(Model):
    # A client pinging more often than this is sent GOAWAY (ENHANCE_YOUR_CALM).
    min_ping_interval: Duration = 10.0
    # A connection with no call for this long is closed, so idle clients cannot pile up.
    max_connection_idle: Duration = 300.0
    # Calls in flight on one connection.
    max_concurrent_streams: int = Field(default=100, ge=1, le=10_000)


class GrpcReceiverConfig(Model):
    endpoint: Endpoint = "127.0.0.1:4317"
    # Processes serving this port (SO_REUSEPORT: the kernel spreads connections over them).
    # `logsieve run` starts processes - 1 ingest children beside itself; each takes a core's
    # worth of small requests. Needs a database file or PostgreSQL.
    processes: int = Field(default=1, ge=1, le=64)
    max_recv_msg_size_mib: int = Field(default=4, ge=1, le=1024)
    tls: TlsConfig | None = None
    auth: AuthConfig | None = None
    keepalive: GrpcKeepaliveConfig = GrpcKeepaliveConfig()


class CorsConfig(Model):
    # Origins of the pages allowed to send, as "https://shop.example.com"; "*" allows any.
    allowed_origins: tuple[str, ...] = ()
    # How long a browser may cache a preflight answer.
    max_age: Duration = 600.0

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        trimmed = tuple(origin.rstrip("/") for origin in origins)  # as browsers send them
        for origin in trimmed:
            if "*" in origin and origin != "*":  # the Collector's https://*.example.com
                raise ValueError(
                    f"{origin!r}: a wildcard inside an origin is not supported here: "
                    "list each origin, or give '*' alone for any"
                )
            if origin != "*" and (
                not origin.startswith(("http://", "https://")) or origin.count("/") != 2
            ):
                raise ValueError(f"{origin!r} is not an origin: use scheme://host[:port]")
        return trimmed


class BrowserLimitsConfig(Model):
    """Limits for requests from browser pages (they carry an Origin): untrusted and public."""

    max_request_kib: int = Field(default=64, ge=1, le=64 * 1024)
    # A token bucket per client address: this many requests a second, bursts up to `burst`.
    requests_per_second: float = Field(default=5.0, gt=0)
    burst: int = Field(default=20, ge=1)


class HttpReceiverConfig(Model):
    enabled: bool = True
    endpoint: Endpoint = "127.0.0.1:4318"
    # Counted after decompression: a gzip bomb is refused with 413 like a plain large body.
    max_request_mib: int = Field(default=4, ge=1, le=1024)
    tls: TlsConfig | None = None
    auth: AuthConfig | None = None
    cors: CorsConfig = CorsConfig()
    browser: BrowserLimitsConfig = BrowserLimitsConfig()
    # Open connections at once (a kept-alive client holds one); past it new ones wait in the
    # kernel's queue until one closes. At start it is lowered, if need be, to what a quarter
    # of the open-file limit allows.
    max_connections: int = Field(default=1000, ge=1, le=100_000)
    # Requests handled at once (worker threads); the others wait their turn, already read.
    threads: int = Field(default=8, ge=1, le=256)
    # A kept-alive connection with no request for this long is closed.
    max_connection_idle: Duration = 60.0
    # A request's head and body must have arrived this long after its first byte; a slower
    # client is cut off (slowloris). Waiting costs no thread.
    read_timeout: Duration = 30.0


class OtlpReceiverConfig(Model):
    grpc: GrpcReceiverConfig = GrpcReceiverConfig()
    http: HttpReceiverConfig = HttpReceiverConfig()


class ReceiversConfig(Model):
    otlp: OtlpReceiverConfig = OtlpReceiverConfig()
