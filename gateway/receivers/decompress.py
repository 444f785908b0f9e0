"""Request bodies in `Content-Encoding: gzip` or `deflate`, inflated to a limit.

gzip (RFC 1952) allows several members one after another: what `cat a.gz b.gz` makes, and
what some clients send when they compress a body in parts. Every member is inflated and the
results joined; anything after the last member that is not a member is refused, never
silently ignored. deflate is one stream, zlib-wrapped (RFC 1950, as HTTP says) or raw (as
some clients send); anything after its end is refused too.

The limit counts the inflated bytes of all members together, and inflating stops as soon as
it is passed: a bomb, split across members or not, costs at most `limit` bytes of memory.
"""

from __future__ import annotations

import zlib

ENCODINGS = ("gzip", "deflate")
GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ZLIB_WBITS = zlib.MAX_WBITS
_RAW_WBITS = -zlib.MAX_WBITS
FIRST_PIECE, MAX_PIECE = 256, 64 * 1024  # input fed to zlib per call, growing


class CorruptBody(ValueError):
    """The body is not valid data of its encoding: corrupt, truncated or followed by garbage."""


class BodyTooLarge(ValueError):
    """The body inflates to more than the limit."""


def decompress(raw: bytes, encoding: str, limit: int) -> bytes:
    """`raw` inflated per `encoding` (one of ENCODINGS), at most `limit` bytes of it."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unsupported encoding {encoding!r}")
    try:
        return _gzip(raw, limit) if encoding == "gzip" else _deflate(raw, limit)
    except BodyTooLarge:
        raise BodyTooLarge(f"the decompressed body is larger than {limit} bytes") from None


def _gzip(raw: bytes, limit: int) -> bytes:
    inflated: list[bytes] = []
    left, offset, members = limit, 0, 0
    while True:
        member, used = _inflate_one(memoryview(raw)[offset:], _GZIP_WBITS, left, "gzip")
        inflated.append(member)
        left -= len(member)
        offset += used
        members += 1
        if offset == len(raw):
            return b"".join(inflated)
        if raw[offset : offset + 2] != GZIP_MAGIC:
            raise CorruptBody(
                f"{len(raw) - offset} bytes after gzip member {members} are not a gzip member"
            )


def _deflate(raw: bytes, limit: int) -> bytes:
    wbits = _ZLIB_WBITS if _has_zlib_header(raw) else _RAW_WBITS
    inflated, used = _inflate_one(memoryview(raw), wbits, limit, "deflate")
    if used < len(raw):
        raise CorruptBody(f"{len(raw) - used} bytes follow the end of the deflate stream")
    return inflated


def _has_zlib_header(raw: bytes) -> bool:
    """RFC 1950's two header bytes: method 8, window up to 32 KiB, a check that divides by 31."""
    if len(raw) < 2:
        return False
    method, flags = raw[0], raw[1]
    return method & 0x0F == 8 and method >> 4 <= 7 and (method << 8 | flags) % 31 == 0


def _inflate_one(data: memoryview, wbits: int, room: int, encoding: str) -> tuple[bytes, int]:
    """The first stream in `data` inflated (`room` bytes at most), and the bytes it took.

    The input goes in growing pieces: zlib copies what follows a stream's end into
    `unused_data`, and a body of many tiny members must not copy the rest of itself once per
    member (a few MiB of empty members would cost minutes).
    """
    inflater = zlib.decompressobj(wbits)
    inflated: list[bytes] = []
    produced, offset, piece = 0, 0, FIRST_PIECE
    while not inflater.eof:
        if offset >= len(data):
            raise CorruptBody(f"the {encoding} body is truncated")
        chunk = data[offset : offset + piece]
        offset += len(chunk)
        try:  # never more than one byte past the room
            out = inflater.decompress(chunk, room - produced + 1)
        except zlib.error as exc:
            raise CorruptBody(f"the {encoding} body is corrupt: {exc}") from None
        produced += len(out)
        if produced > room:
            raise BodyTooLarge
        inflated.append(out)
        piece = min(piece * 2, MAX_PIECE)
    return b"".join(inflated), offset - len(inflater.unused_data)
