"""Logflare's rules for a request body, as the fake Logflare (testkit/logflare.py) applies them:
decompression and its limit, the Accept check, BigQuery's column names and empty values."""

from __future__ import annotations

import re
import zlib
from typing import Any

MAX_BODY_BYTES = 12_000_000  # Logflare's Plug.Parsers length, counted after decompression
ENCODINGS = {"": 0, "identity": 0, "gzip": 31, "x-gzip": 31, "deflate": 15}  # zlib wbits
RESERVED = ("_TABLE_", "_FILE_", "_PARTITION", "_ROW_TIMESTAMP", "__ROOT__", "_COLIDENTIFIER")


class Rejected(Exception):
    """args = (status, [violation]); a violation is something logsieve must never send."""


def decode(raw: bytes, encoding: str) -> bytes:
    """gzip/deflate like PlugCaisson; br, zstd and others are a 400; the limit counts decoded."""
    wbits = ENCODINGS.get(encoding.strip().lower(), -1)
    if wbits == -1:
        raise Rejected(400)
    try:  # bounded, so a zip bomb stops at the limit (a truncated stream then fails as JSON)
        data = zlib.decompressobj(wbits).decompress(raw, MAX_BODY_BYTES + 1) if wbits else raw
    except zlib.error as exc:
        raise Rejected(400) from exc
    if len(data) > MAX_BODY_BYTES:
        raise Rejected(413)
    return data


def accepts_json(accept: str) -> bool:
    """Phoenix `accepts ["json"]`: no header, */*, application/* or application/json."""
    media = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return not accept.strip() or bool(media & {"*/*", "application/*", "application/json"})


def compact(value: Any) -> Any:
    """Rewrite keys to BigQuery column names and deep-drop None, "", {} and [], like Logflare."""
    if isinstance(value, list):
        return [v for v in map(compact, value) if v is not None and v not in ("", {}, [])]
    if not isinstance(value, dict):
        return value
    kept = {column_name(str(k)): compact(v) for k, v in value.items()}
    return {k: v for k, v in kept.items() if v is not None and v not in ("", {}, [])}


def column_name(key: str) -> str:
    """BigQuery column rule: `service.name` -> `_service_name`, `top-level` -> `_top_level`."""
    reserved = key.startswith(RESERVED)
    if not reserved and re.fullmatch(r"([A-Za-z_]\w{0,127})?", key, re.ASCII):
        return key
    dash, odd = "-" in key, re.search(r"[^\w-]", key, re.ASCII) is not None
    digit = not reserved and not dash and key[:1] in tuple("0123456789")
    name = "_" * (reserved + dash + odd + digit) + re.sub(r"\W", "_", key, flags=re.ASCII)
    return "_" + name[:128] if len(name) > 128 else name
