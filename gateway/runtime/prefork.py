"""Children forked from the parent before it starts anything: they share its imported modules.

A child started as a fresh interpreter imports its libraries again (pydantic, SQLAlchemy,
Flask, the miner...): tens of MB of private memory per child, the same in each process. A
child made by os.fork() from a parent that has already imported them shares those pages with
it (copy-on-write) for as long as nobody writes them; gc.freeze() first keeps the collector
from writing into every object's header, which would copy most of them.

Forking is only safe while the parent is one thread and holds no connection: so `logsieve
run` forks its batch and viewer children first thing, before the Gateway is built (no engine,
no server, no thread), and each waits on a socket for its start. SupervisedChild.start() sends
it (with the SQLite lock's descriptor, SCM_RIGHTS) once the schema exists, as it would start a
fresh interpreter then. The child then runs `logsieve run --config FILE --batch-child` in
place (the CLI's main, as a fresh one would) and leaves with os._exit: it never returns into
the parent's frames. A child that dies is started again as a fresh interpreter (the parent
has threads by then); gRPC ingest children are never forked (gRPC's core keeps threads and
state a fork would inherit). LOGSIEVE_FORK_CHILDREN=0 turns forking off.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.config.settings import Config

log = logging.getLogger("logsieve.supervisor")
FORK_VARIABLE = "LOGSIEVE_FORK_CHILDREN"  # "0": fresh interpreters, as before
PR_SET_NAME = 15
GO = b"go"
# What each child imports to build its part (tests/runtime/test_role_imports.py says which
# libraries each role holds): imported once here, shared by every forked child.
BATCH_MODULES = (
    "gateway.runtime.app",
    "gateway.pipeline.batch",
    "gateway.pipeline.learning",
    "gateway.pipeline.grouping",
    "gateway.pipeline.holding",
    "gateway.pipeline.purge",
)
VIEWER_MODULES = ("gateway.runtime.app", "viewer.app", "viewer.feed", "viewer.server")
LOGFLARE_MODULES = ("gateway.export.logflare",)  # httpx; the OTLP exporter's gRPC is not


def fork_enabled() -> bool:
    return os.environ.get(FORK_VARIABLE, "1") != "0" and sys.platform == "linux"


def single_threaded() -> bool:
    """No other thread, Python's or a library's: a fork copies only the calling one, and a
    lock another thread held stays held in the child forever."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def preload(config: Config, batch: bool, viewer: bool) -> None:
    """Import what the children will run, the database's dialect too, then freeze the heap."""
    from sqlalchemy.engine import make_url

    names = (BATCH_MODULES if batch else ()) + (VIEWER_MODULES if viewer else ())
    if batch and config.exporters.logflare.enabled:
        names += LOGFLARE_MODULES
    for name in dict.fromkeys(names):
        importlib.import_module(name)
    make_url(config.storage.url).get_dialect()  # imports the driver; connects nothing
    gc.collect()
    gc.freeze()


@dataclass(slots=True)
class Forked:
    """A child forked and waiting for its start: its pid and the parent's end of its socket."""

    pid: int
    gate: socket.socket

    def go(self, lock_fd: int | None) -> ForkedProcess:
        """Start it (handing it the lock's descriptor, when there is one); its handle."""
        socket.send_fds(self.gate, [GO], [lock_fd] if lock_fd is not None else [])
        self.gate.close()
        return ForkedProcess(self.pid)

    def cancel(self) -> None:
        """It will never be started: it sees the socket close and exits; reaped here."""
        self.gate.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def fork_waiting(
    name: str, argv: Sequence[str], run: Callable[[list[str]], int], others: Sequence[Forked]
) -> Forked:
    """Fork a child that waits for go(), then runs `run(argv)` (the CLI's main) and exits.
    `name`: its /proc/PID/comm (a forked child keeps its parent's command line);
    `others`: children forked before it, whose sockets it must not keep open."""
    parent = os.getpid()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
        stream.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        ours.close()
        for other in others:
            other.gate.close()
        _child(parent, name, theirs, list(argv), run)
    theirs.close()
    with contextlib.suppress(OSError):  # the child did it too; whichever comes first
        os.setpgid(pid, 0)
    return Forked(pid, ours)


def _child(
    parent: int, name: str, gate: socket.socket, argv: list[str], run: Callable[[list[str]], int]
) -> None:
    code = 1
    try:
        # Its own process group, as Popen(process_group=0) gave: Ctrl-C reaches the parent,
        # which stops the children in order.
        os.setpgid(0, 0)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the parent
        if os.getppid() != parent:
            os._exit(1)
        message, fds, _flags, _address = socket.recv_fds(gate, 16, 1)
        gate.close()
        if message != GO:  # the parent closed it: never started
            os._exit(0)
        from gateway.runtime.locking import INHERITED_LOCK_VARIABLE
        from gateway.runtime.supervisor import PARENT_VARIABLE

        os.environ[PARENT_VARIABLE] = str(parent)
        if fds:
            os.environ[INHERITED_LOCK_VARIABLE] = str(fds[0])
        code = run(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


class ForkedProcess:
    """What SupervisedChild needs of a Popen, for a child made by os.fork()."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._waitpid_lock = threading.Lock()  # one thread reaps; poll() never blocks

    def poll(self) -> int | None:
        if self.returncode is None and self._waitpid_lock.acquire(blocking=False):
            try:
                self._reap(os.WNOHANG)
            finally:
                self._waitpid_lock.release()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if timeout is None:
            with self._waitpid_lock:
                self._reap(0)
            assert self.returncode is not None
            return self.returncode
        deadline, delay = time.monotonic() + timeout, 0.0005
        while self.poll() is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(f"forked child {self.pid}", timeout)
            time.sleep(min(delay, left, 0.05))
            delay *= 2
        assert self.returncode is not None
        return self.returncode

    def _reap(self, options: int) -> None:
        if self.returncode is not None:
            return
        try:
            pid, status = os.waitpid(self.pid, options)
        except ChildProcessError:  # reaped elsewhere: its code is lost
            self.returncode = 255
            return
        if pid == self.pid:
            self.returncode = os.waitstatus_to_exitcode(status)

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
