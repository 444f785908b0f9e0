"""Bodies in gzip (every member) and deflate (zlib-wrapped and raw), inflated to a limit:
trailing garbage, truncation and corruption refused; bombs stop at the limit, split or not."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Callable

import pytest

from gateway.receivers import decompress as decompress_module
from gateway.receivers.decompress import BodyTooLarge, CorruptBody, decompress

MIB = 1024 * 1024
Compress = Callable[[bytes], bytes]


def raw_deflate(data: bytes) -> bytes:
    return zlib.compress(data, wbits=-zlib.MAX_WBITS)


def test_one_gzip_member() -> None:
    assert decompress(gzip.compress(b"hello"), "gzip", MIB) == b"hello"


def test_every_gzip_member_is_inflated_in_order() -> None:
    body = gzip.compress(b"first ") + gzip.compress(b"second ") + gzip.compress(b"third")
    assert decompress(body, "gzip", MIB) == b"first second third"


def test_empty_members_count_for_nothing() -> None:
    body = gzip.compress(b"") + gzip.compress(b"a") + gzip.compress(b"") + gzip.compress(b"b")
    assert decompress(body, "gzip", MIB) == b"ab"
    assert decompress(gzip.compress(b""), "gzip", MIB) == b""


@pytest.mark.parametrize(
    "trailer",
    [b"garbage", b"\x00" * 8, b"\n", b"\x1f"],
    ids=["text", "zero-padding", "newline", "half-a-magic"],
)
def test_trailing_bytes_after_the_last_member_are_refused(trailer: bytes) -> None:
    body = gzip.compress(b"payload") + gzip.compress(b"more") + trailer
    with pytest.raises(CorruptBody, match=rf"{len(trailer)} bytes after gzip member 2"):
        decompress(body, "gzip", MIB)


def test_a_corrupt_second_member_is_refused() -> None:
    second = bytearray(gzip.compress(b"second member" * 10))
    second[12] ^= 0xFF  # inside the deflate data
    with pytest.raises(CorruptBody, match="corrupt"):
        decompress(gzip.compress(b"first") + bytes(second), "gzip", MIB)


def test_a_wrong_crc_is_refused() -> None:
    member = bytearray(gzip.compress(b"checked"))
    member[-8] ^= 0x01  # the CRC-32 in the trailer
    with pytest.raises(CorruptBody, match="corrupt"):
        decompress(bytes(member), "gzip", MIB)


@pytest.mark.parametrize("cut", [1, 4, 9])
def test_a_truncated_last_member_is_refused(cut: int) -> None:
    body = gzip.compress(b"whole") + gzip.compress(b"cut short" * 20)[:-cut]
    with pytest.raises(CorruptBody, match="truncated"):
        decompress(body, "gzip", MIB)


def test_an_empty_gzip_body_is_truncated() -> None:
    with pytest.raises(CorruptBody, match="truncated"):
        decompress(b"", "gzip", MIB)


def test_the_limit_counts_every_member_together() -> None:
    half = gzip.compress(b"x" * 600)
    assert len(decompress(half + half, "gzip", 1200)) == 1200  # exactly the limit is fine
    with pytest.raises(BodyTooLarge, match="larger than 1199 bytes"):
        decompress(half + half, "gzip", 1199)


def test_a_bomb_split_across_members_stops_at_the_limit() -> None:
    member = gzip.compress(b"\x00" * (4 * MIB))  # about 4 KiB on the wire each
    bomb = member * 64  # 256 MiB inflated in all
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge):
            decompress(bomb, "gzip", 8 * MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # What was inflated before the limit, and not the rest of the 256 MiB.
    assert peak < 3 * 8 * MIB


def test_a_bomb_in_one_member_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"\x00" * (64 * MIB))
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge):
            decompress(bomb, "gzip", MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * MIB


@pytest.mark.parametrize("compress", [zlib.compress, raw_deflate], ids=["zlib", "raw"])
def test_deflate_zlib_wrapped_and_raw(compress: Compress) -> None:
    data = b"deflated " * 100
    assert decompress(compress(data), "deflate", MIB) == data
    assert decompress(compress(b""), "deflate", MIB) == b""


@pytest.mark.parametrize("compress", [zlib.compress, raw_deflate], ids=["zlib", "raw"])
def test_deflate_refuses_trailing_bytes(compress: Compress) -> None:
    with pytest.raises(CorruptBody, match="7 bytes follow the end of the deflate stream"):
        decompress(compress(b"payload") + b"garbage", "deflate", MIB)


@pytest.mark.parametrize("compress", [zlib.compress, raw_deflate], ids=["zlib", "raw"])
def test_deflate_refuses_a_second_stream(compress: Compress) -> None:
    with pytest.raises(CorruptBody, match="follow the end"):
        decompress(compress(b"one") + compress(b"two"), "deflate", MIB)


@pytest.mark.parametrize("compress", [zlib.compress, raw_deflate], ids=["zlib", "raw"])
def test_deflate_truncated_and_bombs(compress: Compress) -> None:
    with pytest.raises(CorruptBody, match="truncated"):
        decompress(compress(b"cut short" * 50)[:-3], "deflate", MIB)
    with pytest.raises(BodyTooLarge):
        decompress(compress(b"\x00" * (16 * MIB)), "deflate", MIB)


def test_a_raw_stream_is_told_from_zlib_by_the_whole_header_not_one_nibble() -> None:
    # A raw stream opening with a non-final stored block: its first byte is 0x08, the zlib
    # method nibble, but the two bytes fail zlib's header check (they do not divide by 31).
    stored = b"\x08" + (5).to_bytes(2, "little") + (~5 & 0xFFFF).to_bytes(2, "little") + b"hello"
    final = b"\x01\x00\x00\xff\xff"  # an empty final stored block
    assert decompress(stored + final, "deflate", MIB) == b"hello"


def test_gzip_data_sent_as_deflate_is_refused_not_guessed() -> None:
    with pytest.raises(CorruptBody):
        decompress(gzip.compress(b"x"), "deflate", MIB)


class _CountingInflater:
    """zlib's decompressobj, counting the input bytes handed to it."""

    fed = 0
    original = zlib.decompressobj

    def __init__(self, wbits: int) -> None:
        self._inflater = _CountingInflater.original(wbits)

    def decompress(self, data: memoryview, max_length: int) -> bytes:
        _CountingInflater.fed += len(data)
        return self._inflater.decompress(data, max_length)

    def __getattr__(self, name: str) -> object:
        return getattr(self._inflater, name)


def test_many_tiny_members_cost_work_in_proportion_to_the_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each member must not hand the whole rest of the body to zlib again (which copies it
    # into unused_data): 4 MiB of empty members would then take minutes.
    monkeypatch.setattr(zlib, "decompressobj", _CountingInflater)
    members = 50_000
    body = gzip.compress(b"", mtime=0) * members
    _CountingInflater.fed = 0
    assert decompress(body, "gzip", MIB) == b""
    assert _CountingInflater.fed <= len(body) + members * decompress_module.FIRST_PIECE
