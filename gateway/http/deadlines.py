"""Deadlines: shut a socket down when its deadline passes, so a read blocked on it returns.

A socket timeout bounds each read, not a sequence of them: a client sending one byte a second
would never trip it. One thread per server looks at the watched sockets a few times a second.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

SCAN_SECONDS = 0.25  # how late a deadline may be noticed


class Watch:
    __slots__ = ("_owner", "at", "fired", "sock")

    def __init__(self, owner: Deadlines, sock: socket.socket, at: float) -> None:
        self._owner, self.sock, self.at = owner, sock, at
        self.fired = False

    def cancel(self) -> bool:
        """Stop watching; whether the deadline had already cut the socket."""
        return self._owner.cancel(self)


class Deadlines:
    def __init__(self) -> None:
        self._watched: set[Watch] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, sock: socket.socket, seconds: float) -> Watch:
        watch = Watch(self, sock, time.monotonic() + seconds)
        with self._lock:
            self._watched.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="deadlines", daemon=True)
                self._thread.start()
        return watch

    def cancel(self, watch: Watch) -> bool:
        with self._lock:
            self._watched.discard(watch)
            return watch.fired

    def close(self) -> None:
        self._closed.set()

    def _run(self) -> None:
        while not self._closed.wait(SCAN_SECONDS):
            now = time.monotonic()
            with self._lock:
                due = [watch for watch in self._watched if watch.at <= now]
                for watch in due:
                    self._watched.discard(watch)
                    watch.fired = True
                    cut(watch.sock)


def cut(sock: socket.socket) -> None:
    """Shut the TCP connection down (under TLS too): blocked reads and writes return at once."""
    with contextlib.suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
