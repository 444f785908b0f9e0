"""The composition root: builds every component from a Config and runs them together."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, TypeVar

from gateway.clock import Clock, SystemClock
from gateway.config.settings import Config
from gateway.export.outbox import Exporter, ExportStage
from gateway.http import access_log
from gateway.pipeline.purge import PurgeJob
from gateway.pipeline.sampling import SamplingPolicy
from gateway.runtime.exporting import (
    export_stages,
    exporters_for,
    outbound,
    say_what_is_off,
    shutdown_all,
)
from gateway.runtime.heap import freeze_long_lived
from gateway.runtime.locking import exclusive_lock
from gateway.runtime.roles import Roles, single_process
from gateway.runtime.scheduler import Periodic
from gateway.runtime.supervisor import Children, IngestChild
from gateway.runtime.viewing import live_feed, viewer_server, viewer_settings, viewer_store
from gateway.store import Store
from gateway.telemetry.metrics import Metrics

# Each part's modules are imported where the part is built, only in the process that runs it
# (roles): a batch child loads no gRPC server, Flask or viewer; a viewer child no miner, gRPC
# or HTTP client; the receivers no viewer and no exporter. A child started as a fresh
# interpreter (a restart, LOGSIEVE_FORK_CHILDREN=0) holds only those; one forked at the start
# shares the parent's copy of its modules instead (gateway/runtime/prefork.py).
if TYPE_CHECKING:
    from gateway.pipeline.batch import BatchSettings, BatchStage
    from gateway.receivers.grpc import OtlpGrpcReceiver
    from gateway.receivers.http import OtlpHttpReceiver
    from gateway.receivers.ingest import Ingest
    from gateway.telemetry.server import TelemetryServer
    from viewer.feed import LiveFeed
    from viewer.server import ViewerServer

log = logging.getLogger("logsieve")
EXPORT_RETRY_TICK = 1.0  # seconds between looks at its outbox while an exporter is failing


@dataclass(frozen=True, slots=True)
class Overrides:
    """What tests and tools may replace: the clock, the exporters (by name, in place of the
    configured ones), the viewer's poll period.

    With run_jobs=False the timers never start, and the caller drives the stages itself.
    """

    clock: Clock | None = None
    exporters: Mapping[str, Exporter] | None = None
    viewer_poll_interval: float = 0.25
    run_jobs: bool = True
    config_warnings: bool = True  # off in a child process: its parent gave them


class Gateway:
    """The parts `roles` puts in this process, and the `children` it keeps (`logsieve run`
    decides both: gateway/runtime/roles.py); by default every configured part, here."""

    def __init__(
        self,
        config: Config,
        overrides: Overrides = Overrides(),
        roles: Roles | None = None,
        children: Children | None = None,
    ) -> None:
        self.config = config
        self.roles = roles or single_process(config)
        self.children = children or Children()  # batch stage, viewer, more gRPC receivers
        self.clock = overrides.clock or SystemClock()
        self.store = Store(
            config.storage.url,
            sqlite_synchronous=config.storage.sqlite_synchronous,
            follower=not overrides.config_warnings,  # a child: its parent reports the file
            schema=config.storage.db_schema,
        )
        self.policy = SamplingPolicy.from_config(config.batch.sampling)
        access_log.enable(config.telemetry.logs.access)
        # The exporters' names, configured or put in their place: their series on /metrics
        # start at 0 wherever /metrics is served, their clients exist where the stages run.
        names = (
            overrides.exporters if overrides.exporters is not None else config.exporters.enabled()
        )
        self.exporter_names = tuple(names)
        if overrides.exporters is None and overrides.config_warnings and self.roles.owns_batches:
            say_what_is_off(config.exporters)
        self.exporters = self._exporters(config, overrides) if self.roles.batch else {}
        self.metrics = Metrics(storage_url=config.storage.url, exporters=self.exporter_names)
        self._batch = self._batch_stage(config) if self.roles.batch else None
        self._ingest: Ingest | None = None
        self._receiver: OtlpGrpcReceiver | None = None
        self.http_receiver: OtlpHttpReceiver | None = None
        if self.roles.ingest:
            self._build_receivers(config)
        # One stage per exporter, each on its own timer thread: a slow backend holds up no other.
        self.export_stages: dict[str, ExportStage] = (
            export_stages(config, self.exporters, self.store, self.metrics)
            if self.roles.batch
            else {}
        )
        self.purge = PurgeJob(
            self.store,
            chunk_rows=config.recent.purge_chunk_rows,
            max_patterns=(
                config.batch.patterns.max_patterns if config.batch.dedupe.uses_patterns() else None
            ),
            metrics=self.metrics,
        )
        # Built only when the viewer runs here: the viewer binds its port when it is made.
        viewing = self.roles.viewer
        self.viewer_store = viewer_store(config, self.store) if viewing else self.store
        self.feed = (
            live_feed(
                config,
                self.viewer_store,
                self.clock,
                overrides.viewer_poll_interval,
                self.metrics.viewer_sockets.set,
            )
            if viewing
            else None
        )
        self.viewer = self._viewer(config, self.feed) if self.feed else None
        self._export_jobs = [
            Periodic(f"export-{name}", EXPORT_RETRY_TICK, stage.run_once, self.clock)
            for name, stage in self.export_stages.items()
        ]
        self._jobs = self._periodic_jobs(config) if overrides.run_jobs else []
        self._stopped = threading.Event()
        self.telemetry = self._telemetry(config)
        self._lock_file: IO[bytes] | None = None

    @property
    def batch(self) -> BatchStage:
        """The batch stage; built only in the process that runs it (roles.batch)."""
        return _built(self._batch, "the batch stage")

    @property
    def ingest(self) -> Ingest:
        """The receivers' one enqueue path; built only where they run (roles.ingest)."""
        return _built(self._ingest, "the ingest path")

    @property
    def receiver(self) -> OtlpGrpcReceiver:
        """The gRPC receiver; built only where the receivers run (roles.ingest)."""
        return _built(self._receiver, "the gRPC receiver")

    def _exporters(self, config: Config, overrides: Overrides) -> dict[str, Exporter]:
        if overrides.exporters is not None:
            return dict(overrides.exporters)
        return exporters_for(config.exporters)

    def _batch_stage(self, config: Config) -> BatchStage:
        from gateway.pipeline.batch import BatchStage
        from gateway.pipeline.learning import miner_for

        return BatchStage(
            self.store,
            self.policy,
            self._batch_settings(config),
            outbound=outbound(config.exporters, self.exporters),
            miner=miner_for(config.batch),
            metrics=self.metrics,
        )

    def _build_receivers(self, config: Config) -> None:
        """Both receivers on one enqueue path, each counting under its own name."""
        from gateway.receivers.admission import Admission
        from gateway.receivers.grpc import OtlpGrpcReceiver
        from gateway.receivers.http import OtlpHttpReceiver
        from gateway.receivers.ingest import Ingest

        admission = Admission(
            self.store,
            config.queue,
            self.clock,
            protect_head=config.batch.max_batch_records,
        )
        self._ingest = Ingest(
            self.store,
            self.clock,
            admission=admission,
            max_record_bytes=config.queue.max_record_bytes,
            metrics=self.metrics,
        )
        self._receiver = OtlpGrpcReceiver(self._ingest, config.receivers.otlp.grpc)
        http = config.receivers.otlp.http
        if http.enabled:
            self.http_receiver = OtlpHttpReceiver(self._ingest, http, self.clock)

    def _batch_settings(self, config: Config) -> BatchSettings:
        from gateway.pipeline.batch import NS, BatchSettings
        from gateway.pipeline.grouping import Grouping

        return BatchSettings(
            max_batch_records=config.batch.max_batch_records,
            max_batch_bodies=config.batch.max_batch_bodies,
            grouping=Grouping.from_config(config.batch.dedupe),
            top_values=config.batch.patterns.top_values,
            max_patterns=config.batch.patterns.max_patterns,
            ttl_ns=int(config.recent.ttl * NS),
            lease_ns=int(config.batch.lease * NS),
        )

    def _viewer(self, config: Config, feed: LiveFeed) -> ViewerServer:
        exporting = bool(config.exporters.enabled() or self.exporter_names)
        settings = viewer_settings(config, self.policy.describe(), exporting)
        return viewer_server(config, self.viewer_store, self.clock, feed, settings)

    def _telemetry(self, config: Config) -> TelemetryServer | None:
        self.metrics.watch(lambda: self.store.database_gauges(self.clock.now_ns()))
        self.metrics.watch_processes(self._child_pids)
        settings = config.telemetry.metrics
        if not settings.enabled:  # a child: the parent's /metrics shows its counters
            return None
        from gateway.telemetry.server import TelemetryServer  # its HTTP server

        return TelemetryServer(self.metrics, self.readiness, settings.endpoint)

    def _child_pids(self) -> dict[str, int | None]:
        """The children's pids by role, for their process metrics (role label)."""
        children = self.children
        pids: dict[str, int | None] = {}
        if children.batch:
            pids["batch"] = children.batch.pid
        if children.viewer:
            pids["viewer"] = children.viewer.pid
        for number, child in enumerate(children.ingest, 1):
            pids[f"ingest-{number}"] = child.pid
        return pids

    def readiness(self) -> dict[str, bool | str]:
        """What /readyz checks: the database takes records, receivers bound, the processing
        child runs (when there is one), not shutting down. A failed check is False, or the
        reason it failed."""
        checks: dict[str, bool | str] = {
            "database": self.store.storage_problem() or True,
            "receivers": not self.roles.ingest or self.receiver.port > 0,
            "not_shutting_down": not self._stopped.is_set(),
        }
        children = self.children
        if children.batch:
            checks["batch_child"] = children.batch.alive()
        if children.ingest:
            checks["ingest_children"] = all(child.alive() for child in children.ingest)
        if children.viewer:
            checks["viewer_child"] = children.viewer.alive()
        return checks

    def _periodic_jobs(self, config: Config) -> list[Periodic]:
        jobs = [
            Periodic("batch", config.batch.interval, self._process, self.clock),
            Periodic("purge", config.recent.purge_interval, self.purge.run_once, self.clock),
        ]
        return [*jobs, *self._export_jobs]

    def _process(self, now: int) -> None:
        report = self.batch.run_batches(now, keep_going=lambda: not self._stopped.is_set())
        if report.claimed:
            log.info(
                "processed %d records into %d entries, kept %d",
                report.claimed,
                report.entries,
                report.kept,
            )
            for job in self._export_jobs:
                job.trigger()  # hand the new events to every exporter now

    def start(self) -> None:
        if self.telemetry:  # first: a probe can tell "starting" from "dead"
            self.telemetry.start()
            log.info("metrics and health at %s (/metrics, /healthz, /readyz)", self.telemetry.url)
        self.store.create_schema()
        if self.roles.owns_batches:
            self._own_embedded_database()
        if self.roles.ingest:
            self._start_receivers()
        if self.viewer and self.feed:
            self.feed.start()
            self.viewer.start()
            log.info("viewer at %s/logs", self.viewer.url)
        if self.roles.batch:
            for job in self._jobs:
                job.start()
        if self.children.batch:  # after the schema exists: the child starts on it
            self.children.batch.start(self._lock_file)
        if self.children.viewer:  # after the schema exists, as the batch child
            self.children.viewer.start()
        freeze_long_lived()
        log.info("logsieve started: %s", ", ".join(self._parts()))

    def _start_receivers(self) -> None:
        self.receiver.start()
        if self.http_receiver:
            self.http_receiver.start()
        for receiver in self.children.ingest:  # bound now: they share the port we got
            receiver.start(argument=str(self.receiver.port))

    def _parts(self) -> list[str]:
        """What runs, for the start-up line: here, then in children."""
        parts = sorted(self.roles.components)
        parts += ["batch (child)"] if self.children.batch else []
        parts += ["viewer (child)"] if self.children.viewer else []
        if self.children.ingest:
            parts.append(f"{len(self.children.ingest) + 1} gRPC receiver processes")
        return parts

    def _own_embedded_database(self) -> None:
        """One processing component per SQLite file: lock it, then take back what a crashed
        run held (ingest and viewer components may share the file beside it)."""
        if self.store.dialect != "sqlite":
            return  # shared: other gateways' claims come back when their leases run out
        self._lock_file = exclusive_lock(self.store.path + ".lock")
        if self.children.batch:
            return  # the child takes back what a crashed run held, each time it starts
        released = self.store.release_all_claims()
        if released:
            log.info("took back %d claimed batches and events left by a previous run", released)

    def shutdown(self) -> None:
        """Stop intake first, then the stages; everything accepted is already durable."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self.roles.ingest:
            if self.http_receiver:
                self.http_receiver.shutdown()
            self.receiver.shutdown()
            _stop_all(self.children.ingest)
        for job in self._jobs:
            job.shutdown()
        if self.children.batch:
            self.children.batch.shutdown()
        if self.children.viewer:
            self.children.viewer.shutdown()
        if self.viewer:
            self.viewer.shutdown()
        if self.feed:
            self.feed.shutdown()
        shutdown_all(self.exporters)
        if self.telemetry:
            self.telemetry.shutdown()
        if self.viewer_store is not self.store:
            self.viewer_store.dispose()
        self.store.dispose()
        if self._lock_file:
            self._lock_file.close()


_Part = TypeVar("_Part")


def _built(part: _Part | None, what: str) -> _Part:
    if part is None:
        raise RuntimeError(f"{what} does not run in this process")
    return part


def _stop_all(children: Sequence[IngestChild]) -> None:
    """Stop the children together: each lets its calls in flight commit and answer."""
    stopping = [threading.Thread(target=child.shutdown) for child in children]
    for thread in stopping:
        thread.start()
    for thread in stopping:
        thread.join()
