"""`logsieve tail`: follow the live stream in a terminal, over the page's websocket and contract.

Frames are `logsieve.v1.StreamMessage` in proto3 JSON, as the page gets them. On a dropped
connection it reconnects with backoff and resumes from its last cursor, like the page.
Log text is attacker text: control characters (ANSI escapes included) are shown escaped.
A body the stream cut ends with a marker saying how long it is.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from google.protobuf import json_format
from logsieve.v1 import entry_pb2, stream_pb2

from gateway import severity
from gateway.text import printable

COLOURS = {"TRACE": "2", "DEBUG": "2", "INFO": "34", "WARN": "33", "ERROR": "31", "FATAL": "41;97"}
MAX_BACKOFF_S = 10.0


@dataclass(frozen=True, slots=True)
class TailFilter:
    severity_at_least: str | None = None
    service: str | None = None
    grep: str | None = None

    def subscribe(self, after: int) -> dict[str, str]:
        """The Subscribe frame: the server filters, so hidden entries never cross the wire."""
        frame = {"after": str(after), "minSeverity": self.severity_at_least or ""}
        return frame | {"service": self.service or "", "text": self.grep or ""}

    def keeps(self, entry: entry_pb2.Entry) -> bool:
        floor = severity.RANK[self.severity_at_least] if self.severity_at_least else 0
        return (
            severity.RANK.get(entry.severity, 0) >= floor
            and (self.service is None or entry.service == self.service)
            and (self.grep is None or self.grep.lower() in entry.body.lower())
        )


def render(entry: entry_pb2.Entry, colour: bool) -> str:
    seen = datetime.fromtimestamp(entry.first_seen_unix_nano / 1e9, UTC).strftime("%H:%M:%S")
    level = f"{entry.severity:<5}"
    if colour:
        level = f"\x1b[{COLOURS.get(entry.severity, '0')}m{level}\x1b[0m"
    count = f"(x{entry.count}) " if entry.count > 1 else ""
    line = f"{seen} {level} {printable(entry.service) or '-'} {count}{printable(entry.body)}"
    return line + shortened_marker(entry)


def shortened_marker(entry: entry_pb2.Entry) -> str:
    """What the stream left out of a shortened entry (the page loads it on expand)."""
    if not entry.shortened:
        return ""
    said = [f"{entry.body_length} characters in all"] if entry.body_length else []
    said += ["attributes left out"] if entry.attributes_elided else []
    return f" [… shortened: {', '.join(said)}]"


Connect = Callable[[str], Any]  # url -> a websocket with send(str), recv() -> str, close()


def follow(
    url: str,
    keep: TailFilter,
    out: TextIO,
    *,
    connect: Connect,
    colour: bool = False,
    stop: threading.Event | None = None,
    max_entries: int | None = None,
    notices: TextIO | None = None,
) -> int:
    """Print entries from the stream at `url` until `stop` is set or max_entries were printed;
    the server's notices (entries missed, a fresh backfill) go to `notices`."""
    stop = stop or threading.Event()
    cursor, printed, failures = 0, 0, 0
    while not stop.is_set() and (max_entries is None or printed < max_entries):
        try:
            socket = connect(url)
        except OSError:
            failures += 1
            stop.wait(min(MAX_BACKOFF_S, 0.5 * 2**failures))
            continue
        failures = 0
        try:
            socket.send(json.dumps(keep.subscribe(cursor)))
            while not stop.is_set() and (max_entries is None or printed < max_entries):
                message = json_format.Parse(socket.recv(), stream_pb2.StreamMessage())
                cursor = max(cursor, message.cursor)
                if message.HasField("notice") and notices is not None:
                    print(f"-- {printable(message.notice.text)}", file=notices, flush=True)
                for entry in message.entries.entries if message.HasField("entries") else ():
                    if keep.keeps(entry) and (max_entries is None or printed < max_entries):
                        print(render(entry, colour), file=out, flush=True)
                        printed += 1
        except Exception:  # a closed or broken socket: reconnect and resume from the cursor
            stop.wait(0.5)
        finally:
            socket.close()
    return printed
