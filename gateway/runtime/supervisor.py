"""`logsieve run` on several cores: processing, and more gRPC receivers, in child processes.

Python runs one thread at a time per process, and the receivers and the batch stage both
want a core at a flood. So by default (`batch.own_process: true`) the parent runs the
receivers and the viewer and keeps one child running `components: [batch]` on the same
database, the same configuration file and the same environment. With
`receivers.otlp.grpc.processes: N`, N - 1 more children serve the gRPC port beside the parent
(SO_REUSEPORT: the kernel spreads connections over the processes):

    logsieve run ──┬─ receivers (gRPC, HTTP), /metrics /healthz /readyz
                   ├─ child: logsieve run --batch-child ── batch stage, export, purge
                   ├─ child: logsieve run --viewer-child ── the live page and its sockets
                   └─ N - 1 children: logsieve run --ingest-child PORT ── gRPC receiver

The viewer has a child of its own too (`viewer.own_process: true`): however many pages are
open and however slowly they read, their threads, buffers and database connections are not
the receivers'.

Which children run, and what stays in the parent, is decided once in gateway/runtime/roles.py;
each process's configuration is the file's, cut to its share (`config_for`).

Nothing about the guarantees changes: the child claims, leases and finishes batches exactly
as a `components: [batch]` process started by hand would, and an ingest child
acknowledges after its commit as the parent does. If a child dies it is
started again (backoff 1 s doubling to 30 s) and takes back what it held; if the parent dies,
even by SIGKILL, the kernel kills the child (PR_SET_PDEATHSIG), so no orphan keeps working.

The child's metrics reach the parent's /metrics through prometheus-client's multiprocess
mode: both processes write their counters into one temporary directory, read at scrape time.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gateway.config.receivers import ReceiversConfig
from gateway.config.settings import Config
from gateway.runtime import prefork
from gateway.runtime.locking import INHERITED_LOCK_VARIABLE
from gateway.runtime.roles import Child, Roles

log = logging.getLogger("logsieve.supervisor")
BATCH_CHILD_FLAG = "--batch-child"
INGEST_CHILD_FLAG = "--ingest-child"
VIEWER_CHILD_FLAG = "--viewer-child"
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus-client at import
METRICS_PREFIX = "logsieve-metrics-"
PARENT_VARIABLE = "LOGSIEVE_SUPERVISOR_PID"
PR_SET_PDEATHSIG = 1
RESTART_INITIAL_S, RESTART_MAX_S = 1.0, 30.0
VIEWER_NICENESS = 10
HEALTHY_RUN_S = 60.0  # a child that ran this long starts the backoff afresh when it dies
STOP_GRACE_S = 30.0  # a batch in flight finishes; past this the child is killed (leases cover it)


def config_for(config: Config, roles: Roles, parent_port: int | None = None) -> Config:
    """The configuration this process runs on: the components `roles` puts here. A child
    serves no endpoint of its own (the parent's /metrics shows its counters); an ingest
    child serves gRPC only, on `parent_port` (no HTTP receiver: its server cannot share a
    port)."""
    own = config.model_copy(update={"components": roles.components})
    if roles.started_as is None:
        return own
    own = _without_metrics_endpoint(own)
    if roles.started_as is Child.INGEST:
        assert parent_port is not None, "an ingest child is started with its parent's port"
        own = own.model_copy(update={"receivers": _grpc_only(config, parent_port)})
    return own


def _grpc_only(config: Config, port: int) -> ReceiversConfig:
    otlp = config.receivers.otlp
    host = otlp.grpc.endpoint.rsplit(":", 1)[0]
    grpc = otlp.grpc.model_copy(update={"endpoint": f"{host}:{port}"})
    http = otlp.http.model_copy(update={"enabled": False})
    return config.receivers.model_copy(
        update={"otlp": otlp.model_copy(update={"grpc": grpc, "http": http})}
    )


def _without_metrics_endpoint(config: Config) -> Config:
    metrics = config.telemetry.metrics.model_copy(update={"enabled": False})
    return config.model_copy(
        update={"telemetry": config.telemetry.model_copy(update={"metrics": metrics})}
    )


def prepare_shared_metrics() -> Path | None:
    """Turn on prometheus-client's multiprocess mode for this process and its child.

    It must happen before prometheus-client is imported; when something already imported
    it (a test running `main()` in its own process), the child keeps metrics of its own.
    """
    if "prometheus_client" in sys.modules:
        return None
    _remove_stale_metrics()
    directory = Path(tempfile.mkdtemp(prefix=f"{METRICS_PREFIX}{os.getpid()}-"))
    os.environ[METRICS_DIR_VARIABLE] = str(directory)
    return directory


def _remove_stale_metrics() -> None:
    """Directories left by gateways that were killed (SIGKILL leaves no time to clean up)."""
    for stale in Path(tempfile.gettempdir()).glob(f"{METRICS_PREFIX}*-*"):
        pid = stale.name.removeprefix(METRICS_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(stale, ignore_errors=True)


def remove_shared_metrics(directory: Path | None) -> None:
    """Remove the directory and the variable naming it: a later `main()` in the same process
    must not find a variable pointing at a deleted directory."""
    if directory is None:
        return
    shutil.rmtree(directory, ignore_errors=True)
    if os.environ.get(METRICS_DIR_VARIABLE) == str(directory):
        del os.environ[METRICS_DIR_VARIABLE]


class SupervisedChild:
    """Keeps one `logsieve run <flag> [argument]` running until shutdown()."""

    def __init__(
        self, config_path: str, flag: str, role: str, log_level: str | None = None
    ) -> None:
        self.role = role  # "batch", "viewer" or "ingest", for the logs
        self._argv = [sys.executable, "-m", "gateway", "run", "--config"]
        self._argv += [str(Path(config_path).resolve()), flag]
        self._log_level = ["--log-level", log_level] if log_level else []
        self._process: subprocess.Popen[bytes] | prefork.ForkedProcess | None = None
        self._forked: prefork.Forked | None = None  # forked early, waiting for start()
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # spawn and stop never interleave
        self._watcher = threading.Thread(target=self._watch, name=f"{role}-child", daemon=True)
        self._lock_fd: int | None = None

    def start(self, lock_file: IO[bytes] | None = None, argument: str | None = None) -> None:
        """Start the child; `lock_file`: the parent's lock on a SQLite queue, handed down
        (gateway/runtime/locking.py), so that another gateway cannot take the queue between two
        lives of the child; `argument`: the flag's value (an ingest child's port)."""
        self._lock_fd = lock_file.fileno() if lock_file else None
        self._argv += ([argument] if argument is not None else []) + self._log_level
        forked, self._forked = self._forked, None
        if forked is None:
            self._spawn()
        else:
            with self._lock:
                self._process = forked.go(self._lock_fd)
            log.info("%s runs in child process %d (forked)", self.role, forked.pid)
        self._watcher.start()

    def fork_waiting(
        self, run: Callable[[list[str]], int], others: list[prefork.Forked]
    ) -> prefork.Forked:
        """Fork the child now, to wait for start() (gateway/runtime/prefork.py); `run`
        runs `logsieve run` in it, on the arguments a fresh interpreter would be given."""
        argv = self._argv[3:] + self._log_level  # after `python -m gateway`
        self._forked = prefork.fork_waiting(f"logsieve-{self.role}", argv, run, others)
        return self._forked

    def cancel_fork(self) -> None:
        """A forked child that start() will never start: it exits."""
        forked, self._forked = self._forked, None
        if forked is not None:
            forked.cancel()

    def alive(self) -> bool:
        process = self._process
        return process is not None and process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            # PDEATHSIG fires when the thread that forked ends: the main thread the first
            # time, then the watcher thread, and both live as long as the parent runs.
            env = os.environ | {PARENT_VARIABLE: str(os.getpid())}
            fds = (self._lock_fd,) if self._lock_fd is not None else ()
            if fds:
                env[INHERITED_LOCK_VARIABLE] = str(self._lock_fd)
            # Its own process group: a Ctrl-C at the terminal reaches the parent, which then
            # stops the child in order, instead of both at once.
            self._process = subprocess.Popen(self._argv, env=env, process_group=0, pass_fds=fds)
        log.info("%s runs in child process %d", self.role, self._process.pid)

    def _watch(self) -> None:
        delay = RESTART_INITIAL_S
        while not self._stopping.is_set():
            process, began = self._process, time.monotonic()
            assert process is not None
            code = process.wait()
            _forget_live_gauges(process.pid)
            if self._stopping.is_set():
                return
            if time.monotonic() - began > HEALTHY_RUN_S:  # a crash after a good run: no
                delay = RESTART_INITIAL_S  # penalty left over from earlier ones
            log.error(
                "%s child %s; starting it again in %.0f s", self.role, _how_it_ended(code), delay
            )
            if self._stopping.wait(delay):
                return
            delay = min(RESTART_MAX_S, delay * 2)
            try:
                self._spawn()
            except OSError as exc:  # out of processes or memory: keep trying, slower
                log.error("cannot start the %s child: %s", self.role, exc)

    def shutdown(self, grace_s: float = STOP_GRACE_S) -> None:
        """Ask the child to finish its batch and stop; kill it after `grace_s`. Idempotent."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            log.warning("the %s child did not stop in %.0f s: killed", self.role, grace_s)
            process.kill()
            process.wait()


class BatchChild(SupervisedChild):
    """`logsieve run --batch-child`: the batch stage, export and purge."""

    def __init__(self, config_path: str, log_level: str | None = None) -> None:
        super().__init__(config_path, BATCH_CHILD_FLAG, "batch", log_level)


class ViewerChild(SupervisedChild):
    """`logsieve run --viewer-child`: the viewer, its live feed and its pages' sockets."""

    def __init__(self, config_path: str, log_level: str | None = None) -> None:
        super().__init__(config_path, VIEWER_CHILD_FLAG, "viewer", log_level)


class IngestChild(SupervisedChild):
    """`logsieve run --ingest-child PORT`: one more gRPC receiver on the parent's port."""

    def __init__(self, config_path: str, log_level: str | None = None) -> None:
        super().__init__(config_path, INGEST_CHILD_FLAG, "ingest", log_level)


def fork_children(children: Children, config: Config, run: Callable[[list[str]], int]) -> None:
    """Fork the batch and viewer children now, sharing this process's imports; each waits
    for its start(). Only while this process has no other thread (else they stay fresh
    interpreters, started by start())."""
    waiting = [child for child in (children.batch, children.viewer) if child]
    if not waiting or not prefork.fork_enabled() or not prefork.single_threaded():
        return
    prefork.preload(config, children.batch is not None, children.viewer is not None)
    forked: list[prefork.Forked] = []
    for child in waiting:
        forked.append(child.fork_waiting(run, forked))


@dataclass(frozen=True, slots=True)
class Children:
    """The child processes one `logsieve run` keeps (none by default)."""

    batch: BatchChild | None = None
    viewer: ViewerChild | None = None
    ingest: tuple[IngestChild, ...] = ()

    @classmethod
    def for_roles(cls, roles: Roles, config_path: str, log_level: str | None = None) -> Children:
        """The children `roles` asks for, on the same config file and log level."""
        return cls(
            batch=BatchChild(config_path, log_level) if roles.batch_child else None,
            viewer=ViewerChild(config_path, log_level) if roles.viewer_child else None,
            ingest=tuple(IngestChild(config_path, log_level) for _ in range(roles.ingest_children)),
        )

    def cancel_forks(self) -> None:
        """Children forked but never started (the gateway failed to start): they exit."""
        for child in (self.batch, self.viewer):
            if child:
                child.cancel_fork()


def yield_cpu_to_receivers() -> None:
    """In the viewer child: a lower CPU priority (nice 10), so that when the cores are
    short the receivers get them and pages wait, not the other way round."""
    os.nice(VIEWER_NICENESS)


def die_with_parent() -> None:
    """In the child, first thing: ask the kernel for SIGKILL when the parent goes away."""
    parent = int(os.environ.get(PARENT_VARIABLE, "0"))
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent and os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def _how_it_ended(code: int) -> str:
    """'exited with 3', or 'was killed by SIGBUS' for a negative return code."""
    if code >= 0:
        return f"exited with {code}"
    try:
        return f"was killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"was killed by signal {-code}"


def _forget_live_gauges(pid: int) -> None:
    """A dead child's live gauges (open viewer sockets) must not count at the next scrape."""
    if os.environ.get(METRICS_DIR_VARIABLE):
        from prometheus_client import multiprocess  # imported once the directory is set

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
