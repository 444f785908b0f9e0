"""Writing to a live page's websocket within a deadline, and closing it whatever the client does.

simple-websocket sends a frame with one blocking socket.send: a client that never reads would
hold the session's thread (and the frame) for ever, and under a socket timeout a frame could
go out in part. Here a frame goes out whole or the connection is given up after a deadline,
without changing the socket's mode (simple-websocket's reader thread blocks on it).
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from typing import Any

from simple_websocket import ConnectionClosed
from wsproto.events import CloseConnection, TextMessage
from wsproto.utilities import LocalProtocolError

SEND_TIMEOUT_SECONDS = 10.0  # a page that takes nothing for this long is given up
FAREWELL_SECONDS = 1.0  # a last Notice or close frame to a page that fell behind
CLOSE_WAIT_SECONDS = 2.0  # how long a closing socket waits for the client's close reply


class SendTimeout(OSError):
    """The client read too little for too long: the connection is given up."""


def send_text(ws: Any, text: str, timeout: float = SEND_TIMEOUT_SECONDS) -> None:
    """One text frame on `ws` (a simple_websocket Server), whole, within `timeout` seconds."""
    if not ws.connected:
        raise ConnectionClosed(ws.close_reason, ws.close_message)
    send_all(ws.sock, ws.ws.send(TextMessage(data=text)), timeout)


def send_all(sock: socket.socket, data: bytes, timeout: float) -> None:
    """Write all of `data`, waiting for room at most `timeout` seconds in all."""
    view = memoryview(data)
    deadline = time.monotonic() + timeout
    poller = select.poll()  # not select(): descriptors may pass 1024
    poller.register(sock, select.POLLOUT)
    while view:
        with contextlib.suppress(BlockingIOError, TimeoutError):  # no room in its buffer yet
            view = view[sock.send(view, socket.MSG_DONTWAIT) :]
        if not view:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise SendTimeout(f"{len(view)} bytes not taken in {timeout:.0f} s")
        poller.poll(left * 1000)


def close_with_reason(ws: Any, code: int, message: str, timeout: float = FAREWELL_SECONDS) -> None:
    """Send a close frame and let the client answer before the TCP connection goes.

    Under werkzeug, once the handler returns, flask-sock lets werkzeug write an HTTP
    response onto the same connection; a browser that reads those bytes after the close
    frame reports "Invalid frame header" and code 1006, losing the reason. So: send the
    close frame, wait for the reader thread to see the client's reply, then shut the TCP
    connection down for good, before werkzeug can write anything. A client that does not
    take the close frame within `timeout` just loses the connection.
    """
    if not ws.connected:
        return  # the client closed first
    try:
        closing = ws.ws.send(CloseConnection(code, message))
        ws.connected = False  # as simple-websocket's close(): no more sends
        send_all(ws.sock, closing, timeout)
    except (OSError, LocalProtocolError):
        pass  # gone, or not reading: nothing to wait for
    else:
        ws.thread.join(timeout=CLOSE_WAIT_SECONDS)
    abort(ws)


def abort(ws: Any) -> None:
    """End the connection now (a failed or timed-out send): nothing more is sent or read."""
    ws.connected = False
    with contextlib.suppress(OSError):
        ws.sock.shutdown(socket.SHUT_RDWR)
