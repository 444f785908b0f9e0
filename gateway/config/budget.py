"""An exporter's budget: how many events per second it may send, and how long an entry of
each severity band may wait for room (merging with its key's later entries meanwhile)."""

from __future__ import annotations

from pydantic import Field, field_validator

from gateway import severity
from gateway.config.types import Duration, Model

# Shipped waits: ERROR and above go at once; WARN may wait a minute; the rest five minutes.
DEFAULT_MAX_WAIT: dict[str, float] = {
    "FATAL": 0.0,
    "ERROR": 0.0,
    "WARN": 60.0,
    "INFO": 300.0,
    "DEBUG": 300.0,
    "TRACE": 300.0,
    severity.UNSPECIFIED: 300.0,
}
NEVER_HELD = frozenset({"FATAL", "ERROR"})  # whatever the config says: errors never wait


class BudgetConfig(Model):
    enabled: bool = False
    # The most events per second this exporter sends; 0: no ceiling of its own, only what
    # the backend's answers teach (429s, its remaining allowance).
    events_per_second: float = Field(default=0.0, ge=0.0, le=1_000_000.0)
    burst: int = Field(default=0, ge=0, le=10_000_000)  # 0: one second's worth
    # The longest an entry of each band may be held; bands left out keep the shipped wait.
    max_wait: dict[str, Duration] = Field(default_factory=dict)
    # Sampling, the last resort: each key's first `always_first` events in a `window` always
    # go; past them, due entries that cannot fit are sampled at the rate that fits.
    always_first: int = Field(default=1, ge=0, le=1_000_000)
    window: Duration = 3600.0
    # The most entries held at once (a flood of distinct keys holds one row each); past it a
    # new key's entry is due at once: sent if the budget has room, else sampled by band.
    max_held_entries: int = Field(default=100_000, ge=1, le=100_000_000)

    @field_validator("max_wait")
    @classmethod
    def _known_bands(cls, waits: dict[str, float]) -> dict[str, float]:
        known = set(DEFAULT_MAX_WAIT)
        for band, wait in waits.items():
            if band not in known:
                raise ValueError(f"unknown severity band {band!r}: use one of {sorted(known)}")
            if band in NEVER_HELD and wait > 0:
                raise ValueError(f"{band} is never held: its max_wait must be 0")
        return waits

    def waits(self) -> dict[str, float]:
        """Every band's longest wait in seconds (the config's over the shipped ones)."""
        return DEFAULT_MAX_WAIT | self.max_wait
