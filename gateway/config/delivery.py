"""What every exporter has, whatever its wire format: how long a request may take, how it backs
off, how many events a request carries and how many may wait for it."""

from __future__ import annotations

from pydantic import Field

from gateway.config.budget import BudgetConfig
from gateway.config.types import Duration, Model


class DeliveryConfig(Model):
    timeout: Duration = 10.0
    max_batch_events: int = Field(default=500, ge=1)
    # Backoff after a failed request: doubles from retry_initial up to retry_max, with jitter.
    retry_initial: Duration = 1.0
    retry_max: Duration = 60.0
    # Past this many events waiting for this exporter, its oldest below ERROR are dropped
    # (counted); when only ERROR and above are left, the batch stage pauses until it sends some.
    max_outbox_events: int = Field(default=1_000_000, ge=1)
    # Events per second this exporter may send; entries below ERROR wait and merge for room.
    budget: BudgetConfig = Field(default_factory=BudgetConfig)

    @property
    def enabled(self) -> bool:
        raise NotImplementedError
