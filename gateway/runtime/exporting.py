"""The exporters a config turns on, and the outbox stage that drains each: built here for the
composition root (gateway/runtime/app.py)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from gateway.clock import NS_PER_SECOND
from gateway.config.budget import BudgetConfig
from gateway.config.delivery import DeliveryConfig
from gateway.config.settings import Config, ExportersConfig
from gateway.export.budget import BudgetPolicy
from gateway.export.outbox import Backoff, Exporter, ExportStage
from gateway.store import Store
from gateway.telemetry.metrics import Metrics

# The clients (httpx, grpc) and the batch stage's modules are imported where they are made:
# only the process running the batch stage needs them, and the others import this module.
if TYPE_CHECKING:
    from gateway.pipeline.batch import Outbound

log = logging.getLogger("logsieve")


def exporters_for(config: ExportersConfig) -> dict[str, Exporter]:
    """A client for every exporter the config turns on, by its key under `exporters:`."""
    made: dict[str, Exporter] = {}
    if config.logflare.enabled:
        from gateway.export.logflare import LogflareExporter

        made["logflare"] = LogflareExporter(config.logflare)
    for name, otlp in config.otlp_named().items():
        if otlp.enabled:
            from gateway.export.otlp import OtlpExporter

            made[name] = OtlpExporter(otlp)
    return made


def say_what_is_off(config: ExportersConfig) -> None:
    if not config.enabled():
        log.warning(
            "no exporter is on (exporters.logflare needs a source and api_key, exporters.otlp "
            "an endpoint): entries go to the live page only"
        )


def outbound(config: ExportersConfig, exporters: Mapping[str, Exporter]) -> list[Outbound]:
    """What the batch stage writes for each exporter: its encoder, its outbox's bound, and
    its budget's waits when it has one."""
    from gateway.pipeline.batch import Outbound
    from gateway.pipeline.holding import Holding

    settings = config.enabled()
    made = []
    for name, exporter in exporters.items():
        delivery = _delivery(settings, name)
        budget = delivery.budget
        holding = Holding(budget.waits(), budget.max_held_entries) if budget.enabled else None
        made.append(Outbound(name, exporter.encode, delivery.max_outbox_events, holding))
    return made


def export_stages(
    config: Config, exporters: Mapping[str, Exporter], store: Store, metrics: Metrics
) -> dict[str, ExportStage]:
    """One stage per exporter: its own outbox rows, backoff, lease and health."""
    settings = config.exporters.enabled()
    return {
        name: _stage(name, _delivery(settings, name), exporter, store, metrics)
        for name, exporter in exporters.items()
    }


def _delivery(settings: Mapping[str, DeliveryConfig], name: str) -> DeliveryConfig:
    """An exporter's delivery settings; an exporter a test put in place of a configured one
    that is off gets the defaults."""
    return settings.get(name) or DeliveryConfig()


def _stage(
    name: str, delivery: DeliveryConfig, exporter: Exporter, store: Store, metrics: Metrics
) -> ExportStage:
    return ExportStage(
        store,
        exporter,
        name=name,
        batch_events=delivery.max_batch_events,
        lease_s=3 * delivery.timeout,  # one request and its timeout
        backoff=Backoff(
            initial=delivery.retry_initial,
            maximum=delivery.retry_max,
            misconfigured=delivery.retry_max,
        ),
        metrics=metrics,
        budget=budget_policy(delivery.budget),
    )


def budget_policy(budget: BudgetConfig) -> BudgetPolicy | None:
    if not budget.enabled:
        return None
    return BudgetPolicy(
        ceiling=budget.events_per_second,
        burst=budget.burst,
        window_ns=int(budget.window * NS_PER_SECOND),
        always_first=budget.always_first,
    )


def shutdown_all(exporters: Mapping[str, Exporter]) -> None:
    for exporter in exporters.values():
        exporter.shutdown()
