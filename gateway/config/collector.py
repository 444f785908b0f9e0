"""The OpenTelemetry Collector's receiver layout, read as logsieve's own: a Collector user's
`receivers.otlp.protocols.{grpc,http}` blocks mean what `receivers.otlp.{grpc,http}` mean, so
a Collector's receiver block can be pasted as it is.

Each Collector key is one of three kinds (the tables below):
- the same setting here, moved or converted (`max_request_body_size` bytes -> MiB, a CORS
  `max_age` in seconds -> a duration, `idle_timeout` -> `max_connection_idle`...);
- a key with no effect here (`include_metadata`, buffer sizes...): accepted, with a warning;
- a key logsieve cannot honour (a Collector auth extension, client certificates, TLS versions
  it does not enforce...): refused with the reason.
Keys of logsieve's own are taken as they are under either layout; any other key is the
models' "unknown key", named where the file put it. As in the Collector, a protocol left out
of `protocols` is off; logsieve always serves gRPC, so `grpc` must be listed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.config.receivers import MIB

KeyPath = tuple[Any, ...]  # keys as the YAML gave them; list items as ints
DROP = object()  # what a conversion gives for a value that asks for the default
OTLP: KeyPath = ("receivers", "otlp")
PROTOCOLS = ("grpc", "http")
# The request headers the HTTP receiver allows a browser page (its ALLOWED_HEADERS).
BROWSER_HEADERS = frozenset({"content-type", "content-encoding", "authorization"})


@dataclass(frozen=True)
class Same:
    """The same setting here, at `to` (within the protocol's block), its value converted."""

    to: KeyPath
    convert: Callable[[Any], Any] = lambda value: value
    how: str = ""  # the conversion, for the reference


@dataclass(frozen=True)
class NoEffect:
    """Accepted, with a warning saying why nothing changes; none for the value that asks for
    nothing (the Collector's default)."""

    why: str
    quiet_for: object = None


@dataclass(frozen=True)
class Only:
    """Accepted with no warning when `ok(value)` (what logsieve does anyway); refused else."""

    accepts: str  # the values accepted, for the reference
    ok: Callable[[Any], bool]
    why: str


@dataclass(frozen=True)
class Refused:
    why: str


Rule = Same | NoEffect | Only | Refused


def _bytes_to_mib(value: Any) -> Any:
    """The Collector's max_request_body_size (bytes) as max_request_mib, rounded up."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return math.ceil(value / MIB)
    return value  # the model says what is wrong with it


def _seconds_to_duration(value: Any) -> Any:
    """The Collector's CORS max_age (whole seconds; 0, its default, sends none) as a duration."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value}s" if value else DROP
    return value


def _browser_headers(value: Any) -> bool:
    names = value if isinstance(value, list) else [value]
    return all(isinstance(name, str) and name.lower() in BROWSER_HEADERS for name in names)


_NO_METADATA = "logsieve passes no request metadata on (no processor here reads it)"
_BOTH: dict[KeyPath, Rule] = {
    ("include_metadata",): NoEffect(_NO_METADATA, quiet_for=False),
    ("auth", "authenticator"): Refused(
        "Collector extensions do not exist here: use auth: {bearer_token_file: FILE} "
        "(or bearer_token), logsieve's own bearer-token check"
    ),
    ("tls", "client_ca_file"): Refused(
        "client certificates (mutual TLS) are not checked here: use auth (a bearer token)"
    ),
    ("tls", "ca_file"): Refused(
        "client certificates (mutual TLS) are not checked here: use auth (a bearer token)"
    ),
    ("tls", "cert_pem"): Refused("give the certificate as a file: tls.cert_file"),
    ("tls", "key_pem"): Refused("give the private key as a file: tls.key_file"),
    ("tls", "min_version"): Only(
        "1.2",
        lambda version: str(version) == "1.2",
        "logsieve takes TLS 1.2 and later (Python's and gRPC's defaults): only 1.2 is offered",
    ),
    ("tls", "max_version"): Only(
        "1.3 or empty",
        lambda version: str(version) in ("", "1.3"),
        "logsieve takes TLS 1.2 and later: it cannot cap the version",
    ),
    ("tls", "cipher_suites"): Refused(
        "the ciphers are Python's and gRPC's defaults here: they cannot be chosen"
    ),
    ("tls", "reload_interval"): NoEffect("the certificate is read at start: restart for a new one"),
    ("tls", "include_system_ca_certs_pool"): NoEffect("no client certificates are checked here"),
}
_GRPC: dict[KeyPath, Rule] = {
    **_BOTH,
    ("transport",): Only("tcp", lambda kind: kind == "tcp", "logsieve listens on TCP only"),
    ("max_concurrent_streams",): Same(("keepalive", "max_concurrent_streams")),
    ("read_buffer_size",): NoEffect("gRPC's own buffer sizes are used"),
    ("write_buffer_size",): NoEffect("gRPC's own buffer sizes are used"),
    ("keepalive", "server_parameters", "max_connection_idle"): Same(
        ("keepalive", "max_connection_idle")
    ),
    ("keepalive", "enforcement_policy", "min_time"): Same(("keepalive", "min_ping_interval")),
    ("keepalive", "enforcement_policy", "permit_without_stream"): NoEffect(
        "clients may always ping without a call in flight here", quiet_for=True
    ),
    ("keepalive", "server_parameters", "max_connection_age"): NoEffect(
        "connections are not aged out here, but for spreading them over receiver processes"
    ),
    ("keepalive", "server_parameters", "max_connection_age_grace"): NoEffect(
        "connections are not aged out here, but for spreading them over receiver processes"
    ),
    ("keepalive", "server_parameters", "time"): NoEffect("logsieve does not ping idle clients"),
    ("keepalive", "server_parameters", "timeout"): NoEffect("logsieve does not ping idle clients"),
}
_HTTP: dict[KeyPath, Rule] = {
    **_BOTH,
    ("max_request_body_size",): Same(
        ("max_request_mib",), _bytes_to_mib, "bytes, rounded up to MiB"
    ),
    ("idle_timeout",): Same(("max_connection_idle",)),
    ("read_header_timeout",): NoEffect("read_timeout covers a request's head and body here"),
    ("write_timeout",): NoEffect("answers are small and written at once here"),
    ("keepalives_enabled",): NoEffect("keep-alive is always on here", quiet_for=True),
    ("compression_algorithms",): NoEffect("bodies may be gzip, deflate or uncompressed here"),
    ("response_headers",): Refused("logsieve adds no response headers of your choosing"),
    ("logs_url_path",): Only(
        "/v1/logs", lambda path: path == "/v1/logs", "logsieve takes OTLP logs at /v1/logs only"
    ),
    ("traces_url_path",): NoEffect("logsieve receives logs only"),
    ("metrics_url_path",): NoEffect("logsieve receives logs only"),
    ("cors", "max_age"): Same(("cors", "max_age"), _seconds_to_duration, "seconds; 0 sends none"),
    ("cors", "allowed_headers"): Only(
        "any of Content-Type, Content-Encoding, Authorization",
        _browser_headers,
        "pages may send Content-Type, Content-Encoding and Authorization only here",
    ),
}
RULES = {"grpc": _GRPC, "http": _HTTP}


@dataclass
class Layout:
    """The tree in logsieve's layout, what to say about it, and where its values were."""

    tree: dict[str, Any]
    notes: list[str] = field(default_factory=list)  # warnings: keys with no effect
    problems: list[str] = field(default_factory=list)  # refusals
    # A path in logsieve's layout -> where the file put it, so errors name the file's keys.
    written_as: dict[KeyPath, KeyPath] = field(default_factory=dict)


def dotted(path: KeyPath) -> str:
    """("receivers", "otlp", "grpc") -> receivers.otlp.grpc; list items as [0]."""
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)
    return text.lstrip(".") or "(top level)"


def collector_layout(tree: dict[str, Any]) -> Layout:
    """The tree with a `receivers.otlp.protocols` block read into logsieve's layout; the tree
    unchanged when it has none."""
    receivers = tree.get("receivers")
    otlp = receivers.get("otlp") if isinstance(receivers, dict) else None
    if not isinstance(receivers, dict) or not isinstance(otlp, dict) or "protocols" not in otlp:
        return Layout(tree)
    layout = Layout(tree)
    own = {key: value for key, value in otlp.items() if key != "protocols"}
    mixed = sorted(set(otlp) & set(PROTOCOLS))
    if mixed:  # logsieve's layout is checked all the same
        layout.problems.append(
            f"{dotted(OTLP)}: give protocols.grpc and protocols.http (the Collector's layout) "
            f"or grpc and http (logsieve's), not both: here protocols and {' and '.join(mixed)}"
        )
    else:
        own.update(_protocols(otlp["protocols"], layout))
    layout.tree = {**tree, "receivers": {**receivers, "otlp": own}}
    return layout


def _protocols(protocols: Any, layout: Layout) -> dict[str, Any]:
    where = (*OTLP, "protocols")
    if protocols is None:
        protocols = {}
    if not isinstance(protocols, dict):
        layout.problems.append(f"{dotted(where)}: must be a mapping: grpc, http or both")
        return {}
    for name in sorted(set(protocols) - set(PROTOCOLS), key=str):
        layout.problems.append(f"{dotted((*where, name))}: unknown protocol: grpc or http")
    if "grpc" not in protocols:
        layout.problems.append(
            f"{dotted(where)}: logsieve always serves OTLP/gRPC: list grpc (with the endpoint "
            "to use); only http may be left out, which turns it off as in the Collector"
        )
    blocks = {
        name: _block(name, protocols[name], layout) for name in PROTOCOLS if name in protocols
    }
    if "http" not in protocols:
        blocks["http"] = {"enabled": False}  # the Collector's meaning of a protocol left out
    return blocks


def _block(name: str, block: Any, layout: Layout) -> Any:
    """One protocol's block in logsieve's keys; null (`grpc:` alone) means every default."""
    source, target = (*OTLP, "protocols", name), (*OTLP, name)
    layout.written_as[target] = source
    if block is None:
        return {}
    if not isinstance(block, dict):
        return block  # the model says what is wrong with it
    out: dict[str, Any] = {}
    rules = RULES[name]
    for path, value in _leaves(block, rules):
        rule = rules.get(path)
        if rule is None:
            _put(out, path, value)
        elif isinstance(rule, Same):
            converted = rule.convert(value)
            if converted is not DROP:
                _put(out, rule.to, converted)
                layout.written_as[(*target, *rule.to)] = (*source, *path)
        else:
            _judge(rule, value, (*source, *path), layout)
    return out


def _judge(rule: NoEffect | Only | Refused, value: Any, where: KeyPath, layout: Layout) -> None:
    if isinstance(rule, NoEffect):
        if value != rule.quiet_for:
            layout.notes.append(f"{dotted(where)}: has no effect here: {rule.why}")
    elif isinstance(rule, Refused) or not rule.ok(value):
        layout.problems.append(f"{dotted(where)}: {rule.why}")


def _leaves(
    block: Mapping[str, Any], rules: Mapping[KeyPath, Rule], prefix: KeyPath = ()
) -> list[tuple[KeyPath, Any]]:
    """Every (path, value) under a block: mappings are walked, but for one a rule is about
    (response_headers: {...}); anything else is a value."""
    found: list[tuple[KeyPath, Any]] = []
    for key, value in block.items():
        path = (*prefix, key)
        if isinstance(value, dict) and value and path not in rules:
            found += _leaves(value, rules, path)
        else:
            found.append((path, value))
    return found


def _put(tree: dict[Any, Any], path: KeyPath, value: Any) -> None:
    for key in path[:-1]:
        if not isinstance(tree.get(key), dict):
            tree[key] = {}
        tree = tree[key]
    tree[path[-1]] = value


# Collector keys that are logsieve's too, with the same meaning: taken as they are.
SAME_NAMES = {
    "grpc": ("endpoint", "max_recv_msg_size_mib", "tls.cert_file", "tls.key_file"),
    "http": ("endpoint", "tls.cert_file", "tls.key_file", "read_timeout", "cors.allowed_origins"),
}


def reference() -> str:
    """What each Collector key becomes here, as a Markdown table (docs/configuration.md)."""
    rows = [
        f"| {name} | {', '.join(f'`{key}`' for key in keys)} | the same setting |"
        for name, keys in SAME_NAMES.items()
    ]
    for path in dict.fromkeys([*_GRPC, *_HTTP]):
        protocols = [name for name in PROTOCOLS if path in RULES[name]]
        meaning = _meaning(RULES[protocols[0]][path])
        rows.append(f"| {' and '.join(protocols)} | `{'.'.join(path)}` | {meaning} |")
    return "\n".join(["| protocol | Collector key | here |", "|---|---|---|", *rows])


def _meaning(rule: Rule) -> str:
    if isinstance(rule, Same):
        return f"`{'.'.join(rule.to)}`" + (f" ({rule.how})" if rule.how else "")
    if isinstance(rule, NoEffect):
        quiet = f", but for {str(rule.quiet_for).lower()}" if rule.quiet_for is not None else ""
        return f"accepted with no effect (a warning{quiet}): {rule.why}"
    if isinstance(rule, Only):
        return f"accepted as {rule.accepts}; refused otherwise: {rule.why}"
    return f"refused: {rule.why}"
