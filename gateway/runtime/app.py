"""The composition root: builds every component from a Config and runs them together."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from pydantic import SecretStr

from gateway.clock import Clock, SystemClock
from gateway.config.settings import Config
from gateway.export.logflare import LogflareExporter
from gateway.export.outbox import Backoff, Exporter, ExportStage
from gateway.pipeline.batch import NS, BatchSettings, BatchStage
from gateway.pipeline.grouping import Grouping
from gateway.pipeline.learning import miner_for
from gateway.pipeline.purge import PurgeJob
from gateway.pipeline.sampling import SamplingPolicy
from gateway.receivers.admission import Admission
from gateway.receivers.grpc import OtlpGrpcReceiver
from gateway.receivers.http import OtlpHttpReceiver
from gateway.receivers.ingest import Ingest
from gateway.runtime.heap import freeze_long_lived
from gateway.runtime.locking import exclusive_lock
from gateway.runtime.roles import Roles, single_process
from gateway.runtime.scheduler import Periodic
from gateway.runtime.supervisor import Children, IngestChild
from gateway.store import Store, sqlite_file
from gateway.telemetry.metrics import Metrics
from gateway.telemetry.server import TelemetryServer
from viewer.app import ViewerSettings, create_app
from viewer.feed import LiveFeed
from viewer.server import ViewerServer

log = logging.getLogger("logsieve")
EXPORT_RETRY_TICK = 1.0  # seconds between looks at the outbox while Logflare is failing
# The viewer's own database pool, apart from the receivers': the feed's poll and a few pages
# connecting at once; a burst of pages waits this long for a connection, then is told to retry.
VIEWER_POOL_SIZE, VIEWER_POOL_TIMEOUT_S = 4, 3.0


@dataclass(frozen=True, slots=True)
class Overrides:
    """What tests and tools may replace: the clock, the exporter, the viewer's poll period.

    With run_jobs=False the timers never start, and the caller drives the stages itself.
    """

    clock: Clock | None = None
    exporter: Exporter | None = None
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
        )
        self.policy = SamplingPolicy.from_config(config.batch.sampling)
        self.metrics = Metrics()
        self.exporter = overrides.exporter or self._logflare(config, overrides.config_warnings)
        self.batch = BatchStage(
            self.store,
            self.policy,
            self._batch_settings(config),
            encode=self.exporter.encode if self.exporter is not None else None,
            miner=miner_for(config.batch),
            metrics=self.metrics,
        )
        self.admission = Admission(
            self.store,
            config.queue,
            self.clock,
            protect_head=config.batch.max_batch_records,
        )
        # One enqueue path for both receivers; each counts under its own name.
        self.ingest = Ingest(
            self.store,
            self.clock,
            admission=self.admission,
            max_record_bytes=config.queue.max_record_bytes,
            metrics=self.metrics,
        )
        self.receiver = OtlpGrpcReceiver(self.ingest, config.receivers.otlp.grpc)
        http = config.receivers.otlp.http
        self.http_receiver = (
            OtlpHttpReceiver(self.ingest, http, self.clock) if http.enabled else None
        )
        self.export_stage = (
            ExportStage(
                self.store,
                self.exporter,
                batch_events=config.exporters.logflare.max_batch_events,
                lease_s=3 * config.exporters.logflare.timeout,  # one request and its timeout
                backoff=Backoff(
                    initial=config.exporters.logflare.retry_initial,
                    maximum=config.exporters.logflare.retry_max,
                    misconfigured=config.exporters.logflare.retry_max,
                ),
                metrics=self.metrics,
            )
            if self.exporter
            else None
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
        self.viewer_store = self._viewer_store(config) if viewing else self.store
        self.feed = self._feed(config, overrides.viewer_poll_interval) if viewing else None
        self.viewer = self._viewer(config, self.feed) if self.feed else None
        self._export_job = (
            Periodic("export", EXPORT_RETRY_TICK, self.export_stage.run_once, self.clock)
            if self.export_stage
            else None
        )
        self._jobs = self._periodic_jobs(config) if overrides.run_jobs else []
        self._stopped = threading.Event()
        self.telemetry = self._telemetry(config)
        self._lock_file: IO[bytes] | None = None

    def _logflare(self, config: Config, warn: bool) -> Exporter | None:
        logflare = config.exporters.logflare
        if not logflare.enabled:
            if warn and self.roles.owns_batches:
                log.warning("Logflare exporter is off: no source and api_key configured")
            return None
        return LogflareExporter(logflare)

    def _batch_settings(self, config: Config) -> BatchSettings:
        return BatchSettings(
            max_batch_records=config.batch.max_batch_records,
            grouping=Grouping.from_config(config.batch.dedupe),
            top_values=config.batch.patterns.top_values,
            max_patterns=config.batch.patterns.max_patterns,
            ttl_ns=int(config.recent.ttl * NS),
            lease_ns=int(config.batch.lease * NS),
            max_outbox_events=config.exporters.logflare.max_outbox_events,
        )

    def _viewer_store(self, config: Config) -> Store:
        """A Store of the viewer's own (engine, small pool), so that pages never wait for or
        take the receivers' connections; an in-memory SQLite database can only be shared."""
        url = config.storage.url
        if self.store.dialect == "sqlite" and sqlite_file(url) is None:
            return self.store
        return Store(
            url,
            pool_size=VIEWER_POOL_SIZE,
            max_overflow=0,
            pool_timeout=VIEWER_POOL_TIMEOUT_S,
            sqlite_synchronous=config.storage.sqlite_synchronous,
            follower=True,  # self.store reports what happens to the file
        )

    def _feed(self, config: Config, poll_interval: float) -> LiveFeed:
        return LiveFeed(
            self.viewer_store,
            self.clock,
            poll_interval=poll_interval,
            max_buffer_bytes=config.viewer.max_buffer_kib * 1024,
            max_entry_chars=config.viewer.max_entry_kib * 1024,
            keep_newest=config.viewer.backfill,
            on_count=self.metrics.viewer_sockets.set,
        )

    def _viewer(self, config: Config, feed: LiveFeed) -> ViewerServer:
        app = create_app(self.viewer_store, self.clock, feed, self._viewer_settings(config))
        host, port = config.viewer.endpoint.rsplit(":", 1)
        return ViewerServer(app, host, int(port), max_pages=config.viewer.max_connections)

    def _viewer_settings(self, config: Config) -> ViewerSettings:
        return ViewerSettings(
            ttl_seconds=int(config.recent.ttl),
            sampling_summary=self.policy.describe(),
            backfill=config.viewer.backfill,
            max_connections=config.viewer.max_connections,
            exporter_enabled=config.exporters.logflare.enabled or self.export_stage is not None,
            auth_token=_secret(config.viewer.auth_token),
        )

    def _telemetry(self, config: Config) -> TelemetryServer | None:
        self.metrics.watch(lambda: self.store.database_gauges(self.clock.now_ns()))
        settings = config.telemetry.metrics
        return (
            TelemetryServer(self.metrics, self.readiness, settings.endpoint)
            if settings.enabled
            else None
        )

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
        return [*jobs, self._export_job] if self._export_job else jobs

    def _process(self, now: int) -> None:
        report = self.batch.run_batches(now, keep_going=lambda: not self._stopped.is_set())
        if report.claimed:
            log.info(
                "processed %d records into %d entries, kept %d",
                report.claimed,
                report.entries,
                report.kept,
            )
            if self._export_job:
                self._export_job.trigger()  # hand the new events to Logflare now

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
        if isinstance(self.exporter, LogflareExporter):
            self.exporter.shutdown()
        if self.telemetry:
            self.telemetry.shutdown()
        if self.viewer_store is not self.store:
            self.viewer_store.dispose()
        self.store.dispose()
        if self._lock_file:
            self._lock_file.close()


def _stop_all(children: Sequence[IngestChild]) -> None:
    """Stop the children together: each lets its calls in flight commit and answer."""
    stopping = [threading.Thread(target=child.shutdown) for child in children]
    for thread in stopping:
        thread.start()
    for thread in stopping:
        thread.join()


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
