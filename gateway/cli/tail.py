"""`logsieve tail`: follow the live stream in a terminal, over the page's websocket and contract.

Frames are `logsieve.v1.StreamMessage` in proto3 JSON, as the page gets them. On a dropped
connection it reconnects with backoff and resumes from its last cursor, like the page.
Log text is attacker text: control characters (ANSI escapes included) are shown escaped.
A body the stream cut ends with a marker saying how long it is.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

import websocket
from google.protobuf import json_format
from logsieve.v1 import entry_pb2, stream_pb2

from gateway import severity
from gateway.cli.common import TOKEN_VARIABLE
from gateway.errors import StreamRefused
from gateway.text import printable

COLOURS = {"TRACE": "2", "DEBUG": "2", "INFO": "34", "WARN": "33", "ERROR": "31", "FATAL": "41;97"}
RETRY_INITIAL_S, MAX_BACKOFF_S = 1.0, 10.0  # between attempts at a viewer it cannot reach
RECONNECT_S = 0.5  # after a connection that was working dropped
STREAM_PATH, PAGE_PATH = "/logs/stream", "/logs"
WEBSOCKET_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
RETRYING = f"retrying every {RETRY_INITIAL_S:.0f} s, backing off to every {MAX_BACKOFF_S:.0f} s"


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
Wait = Callable[[float], object]  # sleeps this many seconds, or less when stopped


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
    wait: Wait | None = None,
) -> int:
    """Print entries from the stream at `url` until `stop` is set or max_entries were printed;
    returns how many it printed. The server's notices (entries missed, a fresh backfill) and
    the connection's (cannot reach, connected, lost) go to `notices`. `connect` raises
    OSError for a viewer it cannot reach (retried, with backoff) and StreamRefused for a URL
    that is not one (raised: the end); `wait` is how it waits between attempts (`stop.wait`;
    a test's fake)."""
    stop = stop or threading.Event()
    tail = _Tail(url, keep, out, colour, stop, max_entries, notices)
    tail.run(connect, wait or stop.wait)
    return tail.printed


@dataclass(slots=True)
class _Tail:
    url: str
    keep: TailFilter
    out: TextIO
    colour: bool
    stop: threading.Event
    max_entries: int | None
    notices: TextIO | None
    cursor: int = 0  # the last entry seen: a reconnect resumes after it
    printed: int = 0

    def run(self, connect: Connect, wait: Wait) -> None:
        backoff, connected_before = 0.0, False  # backoff 0: not failing
        while not self._finished():
            try:
                socket = connect(self.url)
            except OSError as exc:
                if not backoff:
                    self._say(f"cannot reach {self.url} ({_reason(exc)}): {RETRYING}")
                backoff = min(MAX_BACKOFF_S, 2 * backoff) if backoff else RETRY_INITIAL_S
                wait(backoff)
                continue
            self._say(f"{'reconnected' if connected_before else 'connected'} to {self.url}")
            backoff, connected_before = 0.0, True
            try:
                self._stream(socket)
            except StreamRefused:
                raise
            except Exception as exc:  # a closed or broken socket: reconnect, resume after cursor
                self._say(f"lost the connection to {self.url} ({_reason(exc)}): reconnecting")
                wait(RECONNECT_S)
            finally:
                socket.close()

    def _stream(self, socket: Any) -> None:
        """Subscribe after the cursor, then print what arrives until stopped or done."""
        socket.send(json.dumps(self.keep.subscribe(self.cursor)))
        while not self._finished():
            message = self._parsed(socket.recv())
            self.cursor = max(self.cursor, message.cursor)
            if message.HasField("notice"):
                self._say(printable(message.notice.text))
            for entry in message.entries.entries if message.HasField("entries") else ():
                if self.keep.keeps(entry) and not self._finished():
                    print(render(entry, self.colour), file=self.out, flush=True)
                    self.printed += 1

    def _parsed(self, frame: str) -> stream_pb2.StreamMessage:
        """A frame as the stream's message; anything else is another server's websocket.
        Fields a newer viewer added are skipped, not refused."""
        try:
            return json_format.Parse(frame, stream_pb2.StreamMessage(), ignore_unknown_fields=True)
        except (json_format.ParseError, TypeError):
            raise StreamRefused(
                f"not a logsieve viewer at {self.url} (its websocket sends no live stream)"
            ) from None

    def _finished(self) -> bool:
        done = self.max_entries is not None and self.printed >= self.max_entries
        return done or self.stop.is_set()

    def _say(self, text: str) -> None:
        if self.notices is not None:
            print(f"-- {text}", file=self.notices, flush=True)


def _reason(exc: BaseException) -> str:
    """An error in a few words: the system's text when there is one."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


# -- the URL and the connection --------------------------------------------------------------


def stream_url(url: str) -> str:
    """The live stream's websocket URL at the viewer `url` (http://host:port, as `run` prints
    it; the page's .../logs works too). ValueError: one line saying what is wrong with it."""
    text = url.strip()
    if "://" not in text:
        raise ValueError(f"--url {url}: no scheme: use http://{text}")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (raises ValueError for a port out of range or not a number)
    except ValueError as exc:
        raise ValueError(f"--url {url}: not a URL ({exc})") from None
    scheme = WEBSOCKET_SCHEMES.get(parts.scheme.lower())
    if scheme is None or not parts.hostname:
        raise ValueError(f"--url {url}: use http://host:port or https://host:port")
    base = parts.path.rstrip("/").removesuffix(STREAM_PATH).removesuffix(PAGE_PATH)
    return urlunsplit((scheme, parts.netloc, base + STREAM_PATH, "", ""))


class Connector:
    """Opens the stream's websocket for `follow`: a viewer it cannot reach is an OSError
    (retried), a URL that answers without a live stream is StreamRefused (the end)."""

    def __init__(self, token: str = "", timeout: float = 60.0) -> None:
        self._token, self._timeout = token, timeout
        self._headers = [f"Authorization: Bearer {token}"] if token else []
        self._reached = False  # a handshake succeeded once: a later failure is transient

    def __call__(self, url: str) -> Any:
        try:
            socket = websocket.create_connection(url, timeout=self._timeout, header=self._headers)
        except websocket.WebSocketBadStatusException as exc:
            raise self._status(url, exc.status_code) from None
        except ssl.SSLError as exc:  # an OSError, but retrying would not mend it
            raise StreamRefused(f"TLS failed at {url} ({exc.reason or exc})") from None
        except websocket.WebSocketAddressException:  # DNS may come back: retried too
            raise ConnectionError("the host name does not resolve") from None
        except websocket.WebSocketTimeoutException:
            raise ConnectionError("timed out") from None
        except websocket.WebSocketConnectionClosedException:
            if self._reached:
                raise ConnectionError("closed during the websocket handshake") from None
            raise StreamRefused(
                f"not a logsieve viewer at {url} (it closed the connection at the handshake)"
            ) from None
        except websocket.WebSocketException as exc:
            raise StreamRefused(f"not a logsieve viewer at {url} ({exc})") from None
        self._reached = True
        return socket

    def _status(self, url: str, status: int) -> Exception:
        """What a handshake answered with `status` (not 101) means."""
        if status >= 500:  # a proxy before a viewer that restarts, or a busy database
            return ConnectionError(f"HTTP {status}")
        if status == 401 and self._token:
            return StreamRefused(f"the viewer at {url} refused the token in {TOKEN_VARIABLE}")
        if status == 401:
            return StreamRefused(
                f"the viewer at {url} wants its token: export {TOKEN_VARIABLE}=<viewer.auth_token>"
            )
        if status == 429:
            return StreamRefused(f"the viewer at {url} refused: too many wrong tokens (HTTP 429)")
        return StreamRefused(f"not a logsieve viewer at {url} (HTTP {status})")
