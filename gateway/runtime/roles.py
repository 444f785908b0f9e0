"""Which parts of the gateway run in this process, and which child processes it keeps.

`logsieve run` decides it once, from the configuration and the child flag it was started
with (gateway/runtime/supervisor.py), and everything else asks the answer: the configuration
each process runs on, what the Gateway starts, what /readyz checks.

A process started without a child flag splits its components when it can:

- the batch stage goes to a child (`--batch-child`) when `batch.own_process` is on and
  ingest runs here too: the receivers and the batch stage each want a core at a flood;
- the viewer goes to a child (`--viewer-child`) when `viewer.own_process` is on and
  something else runs here to keep it apart from;
- `receivers.otlp.grpc.processes: N` adds N - 1 children (`--ingest-child PORT`) serving
  the gRPC port beside this one.

None of that on an in-memory SQLite database, which no other process can open: there
everything configured runs in one process. A child runs its one part and keeps no children.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gateway.config.settings import Config


class Child(enum.Enum):
    """The part a child process was started for, by its flag."""

    BATCH = "batch"  # --batch-child
    VIEWER = "viewer"  # --viewer-child
    INGEST = "ingest"  # --ingest-child PORT


@dataclass(frozen=True, slots=True)
class Roles:
    """What runs in this process (ingest, batch, viewer) and the children it supervises."""

    ingest: bool
    batch: bool
    viewer: bool
    batch_child: bool = False
    viewer_child: bool = False
    ingest_children: int = 0  # gRPC receivers beside ours, on our port
    started_as: Child | None = None  # set in a child: the flag it was started with

    @property
    def components(self) -> tuple[str, ...]:
        """The components that run here, by their config names."""
        here = {"ingest": self.ingest, "batch": self.batch, "viewer": self.viewer}
        return tuple(name for name, runs in here.items() if runs)

    @property
    def supervises(self) -> bool:
        """Whether this process keeps any child running."""
        return self.batch_child or self.viewer_child or self.ingest_children > 0

    @property
    def owns_batches(self) -> bool:
        """Whether the batch stage runs here or in our child: the queue's owner, once."""
        return self.batch or self.batch_child


def decide_roles(config: Config, started_as: Child | None = None) -> Roles:
    """This process's roles: a child's one part, else `config.components` split as the
    module's docstring says."""
    if started_as is not None:
        return _child(started_as)
    if not _shareable(config):
        return single_process(config)
    parts = set(config.components)
    batch_child = config.batch.own_process and {"ingest", "batch"} <= parts
    viewer_child = config.viewer.own_process and "viewer" in parts and len(parts) > 1
    ingesting = "ingest" in parts
    return Roles(
        ingest=ingesting,
        batch="batch" in parts and not batch_child,
        viewer="viewer" in parts and not viewer_child,
        batch_child=batch_child,
        viewer_child=viewer_child,
        ingest_children=config.receivers.otlp.grpc.processes - 1 if ingesting else 0,
    )


def single_process(config: Config) -> Roles:
    """Every configured component here, no children: an in-memory database, or a Gateway
    built directly (tests, benchmarks)."""
    parts = set(config.components)
    return Roles(ingest="ingest" in parts, batch="batch" in parts, viewer="viewer" in parts)


def _child(started_as: Child) -> Roles:
    return Roles(
        ingest=started_as is Child.INGEST,
        batch=started_as is Child.BATCH,
        viewer=started_as is Child.VIEWER,
        started_as=started_as,
    )


def _shareable(config: Config) -> bool:
    """A database other processes can open: not an in-memory SQLite."""
    from gateway.store import sqlite_file  # not at import: the CLI's other commands skip it

    url = config.storage.url
    return not (url.startswith("sqlite") and sqlite_file(url) is None)
