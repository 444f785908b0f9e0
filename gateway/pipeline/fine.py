"""A fine entry: a batch's records of one body and band (and service, when it matters) while
dedupe counts them and grouping merges them, made into an Entry once that is done.

It is a class of this compiled module (gateway/pipeline/native.py), so the loops that run once
per record or per body read and write its fields directly; an Entry (gateway/model.py, a
Python class) is made once per entry that leaves the batch stage's grouping, not once per
distinct body that comes in.
"""

from __future__ import annotations

from typing import Final

from gateway import severity
from gateway.model import Entry, PatternRef
from gateway.otlp import Origin

# Rows hold severity numbers 0-24 (the receiver maps anything else through severity_text or
# to 0): each number's band, as severity.band names it.
BAND_NAME: Final = tuple(severity.band(number, "") for number in range(25))


class Fine:
    def __init__(
        self, row_id: int, seen_at: int, number: int, body: str, origin_id: int, origin: Origin
    ) -> None:
        self.body = body
        self.number = number
        self.severity: str = BAND_NAME[number]
        self.service: str = origin.service
        self.count = 1
        self.first_seen = seen_at
        self.last_seen = seen_at
        self.origin = origin  # its scope and resource: the first record's
        # Records per service, counted by runs of one origin (dedupe.by_keys): the runs that
        # ended, made at the first that does (most entries have one run: no dict of their
        # own), and the run being counted: its origin, service and the count when it began.
        self.ended: dict[str, int] | None = None
        self.first_id = row_id
        self.run_origin = origin_id
        self.run_service = self.service
        self.run_start = 0

    def end_run(self) -> dict[str, int]:
        """The records per service with the run being counted added (a record of its origin
        that comes after starts a run of its own)."""
        services = self.ended
        if services is None:
            services = self.ended = {}
        name = self.run_service
        services[name] = services.get(name, 0) + self.count - self.run_start
        self.run_start = self.count
        return services

    def absorb(self, other: Fine) -> None:
        """`other` (later in the batch) joins this one: exact count, time range and records
        per service; the body, ids, origin and severity number stay the first record's."""
        services = self.end_run()
        if other.ended is not None:
            for name, count in other.ended.items():
                services[name] = services.get(name, 0) + count
        name = other.run_service
        services[name] = services.get(name, 0) + other.count - other.run_start
        self.count += other.count
        self.run_start = self.count  # what `other` brought is counted
        if other.first_seen < self.first_seen:
            self.first_seen = other.first_seen
        if other.last_seen > self.last_seen:
            self.last_seen = other.last_seen

    def entry(self, pattern: PatternRef | None = None) -> Entry:
        origin = self.origin
        # Positional: matching a dozen keywords against Entry's fields takes as long as the
        # rest of the call (tests/pipeline/test_dedupe.py holds each field to its value).
        return Entry(
            self.body,
            self.number,  # severity_number
            self.severity,  # severity
            self.service,  # service
            self.count,  # count
            self.first_seen,  # first_seen
            self.last_seen,  # last_seen
            {},  # attributes: add_details() fills them once the entry is kept
            "",  # trace_id
            "",  # span_id
            origin.scope,  # scope
            1.0,  # sample_rate
            pattern,  # pattern
            self.end_run(),  # services
            0,  # services_other
            origin.resource,  # resource: shared by the origin's entries, never changed
            self.first_id,  # first_id
        )
