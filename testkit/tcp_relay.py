"""A TCP relay on loopback that can reset every connection through it on demand.

grpcio's server gives a handler no socket to close, so the fake OTLP backend puts this relay
in front of its gRPC port: a reset then really is a TCP RST on the client's connection, as a
crashed backend or a load balancer dropping it would send. It also counts the bytes clients
send, so a test can see that gRPC compression really shrank a request on the wire.

One thread moves every byte (a selector): a socket is only ever closed by that thread, never
while another thread sits in a recv on it (Linux would then hold the RST back until the recv
returned).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading

CHUNK = 64 * 1024
LINGER_ZERO = struct.pack("ii", 1, 0)  # close() then sends RST instead of FIN


class TcpRelay:
    def __init__(self, target_port: int) -> None:
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self._wake_read, self._wake_write = socket.socketpair()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, "accept")
        self._selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        self._peers: dict[socket.socket, tuple[socket.socket, bool]] = {}  # -> (peer, client)
        self._lock = threading.Lock()
        self._bytes_in = 0
        self._resets: list[threading.Event] = []
        self._closing = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        port: int = self._listener.getsockname()[1]
        return port

    @property
    def bytes_in(self) -> int:
        """Bytes every client has sent so far (TLS records and HTTP/2 frames included)."""
        with self._lock:
            return self._bytes_in

    def reset_all(self, timeout: float = 10.0) -> None:
        """Send an RST on every client connection open now; returns once they are sent."""
        done = threading.Event()
        with self._lock:
            self._resets.append(done)
        self._wake_write.send(b"r")
        done.wait(timeout)

    def close(self) -> None:
        self._closing = True
        self.reset_all()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._closing:
            for key, _ in self._selector.select():
                if key.data == "accept":
                    self._accept()
                elif key.data == "wake":
                    self._wake_read.recv(CHUNK)
                    self._reset()
                else:
                    self._move(key.fileobj)  # type: ignore[arg-type]
        self._selector.close()
        for sock in (self._listener, self._wake_read, self._wake_write):
            sock.close()

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
            upstream = socket.create_connection(self._target)
        except OSError:
            return
        for sock in (client, upstream):
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ, "move")
        self._peers[client] = (upstream, True)
        self._peers[upstream] = (client, False)

    def _move(self, source: socket.socket) -> None:
        if source not in self._peers:
            return  # dropped with its peer earlier in the same round
        peer, from_client = self._peers[source]
        try:
            data = source.recv(CHUNK)
            if data:
                peer.setblocking(True)  # loopback: the other side reads as fast
                peer.sendall(data)
                peer.setblocking(False)
        except OSError:
            data = b""
        if not data:
            self._drop(source, peer, reset=False)
        elif from_client:
            with self._lock:
                self._bytes_in += len(data)

    def _reset(self) -> None:
        clients = [sock for sock, (_, from_client) in self._peers.items() if from_client]
        for client in clients:
            self._drop(client, self._peers[client][0], reset=True)
        with self._lock:
            done, self._resets = self._resets, []
        for event in done:
            event.set()

    def _drop(self, one: socket.socket, other: socket.socket, reset: bool) -> None:
        for sock in (one, other):
            if sock not in self._peers:
                continue
            del self._peers[sock]
            self._selector.unregister(sock)
            with contextlib.suppress(OSError):
                if reset:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_ZERO)
                sock.close()
