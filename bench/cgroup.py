"""How bench row 11e measures a gateway's memory: its own memory cgroup (v2, else v1) and the
sum of its processes' PSS, sampled while it runs."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.memory import ROLES
from bench.procs import LaunchedGateway, child_flag

MIB = 1024 * 1024
MB_PER_MIB = MIB / 1_000_000
SAMPLE_S = 0.1  # how often the PSS sum and the cgroup's working set are read
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True, slots=True)
class PssPeak:
    """The peak, over the samples, of the sum of the gateway's processes' PSS, and each role's
    PSS in that sample (receivers, batch child, viewer child)."""

    total_mib: float
    by_role: tuple[float, float, float]

    def describe(self) -> str:
        parent, child, viewer = self.by_role
        return (
            f"peak PSS sum {self.total_mib:,.0f} MiB ({self.total_mib * MB_PER_MIB:,.0f} MB: "
            f"{parent:,.0f} + {child:,.0f} + {viewer:,.0f})"
        )


@dataclass(frozen=True, slots=True)
class CgroupPeaks:
    """The gateway's own memory cgroup: its peak charge (exact, page cache included) and the
    peak of its charge without inactive file pages (sampled)."""

    version: int
    peak_mib: float
    working_mib: float

    def describe(self) -> str:
        return (
            f"cgroup v{self.version}: peak charge {self.peak_mib:,.0f} MiB "
            f"({self.peak_mib * MB_PER_MIB:,.0f} MB), peak working set {self.working_mib:,.0f} "
            f"MiB ({self.working_mib * MB_PER_MIB:,.0f} MB)"
        )


class MemoryCgroup:
    """A memory cgroup of the bench's own (/sys/fs/cgroup/logsieve-bench-PID: v2 when the
    unified hierarchy has the memory controller, else v1's memory hierarchy), or none."""

    def __init__(self, path: Path, version: int) -> None:
        self.path, self.version = path, version

    @classmethod
    def make(cls) -> MemoryCgroup | None:
        """A fresh cgroup, or None where the machine does not let the bench make one."""
        name = f"logsieve-bench-{os.getpid()}"
        controllers = CGROUP_ROOT / "cgroup.controllers"
        with contextlib.suppress(OSError):
            if "memory" in controllers.read_text().split():
                return cls._made(CGROUP_ROOT / name, 2, "memory.peak")
        if (CGROUP_ROOT / "memory" / "memory.max_usage_in_bytes").is_file():
            return cls._made(CGROUP_ROOT / "memory" / name, 1, "memory.max_usage_in_bytes")
        return None

    @classmethod
    def _made(cls, path: Path, version: int, peak_file: str) -> MemoryCgroup | None:
        try:
            if path.exists():  # left by a bench that was killed
                path.rmdir()
            path.mkdir()
        except OSError:
            return None
        made = cls(path, version)
        if not (path / peak_file).is_file():
            made.remove()
            return None
        return made

    @property
    def procs(self) -> Path:
        return self.path / "cgroup.procs"

    def peak_bytes(self) -> int:
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        return int((self.path / name).read_text())

    def working_bytes(self) -> int:
        """Its charge now, less its inactive file pages (the kernel reclaims those first)."""
        name = "memory.current" if self.version == 2 else "memory.usage_in_bytes"
        usage = int((self.path / name).read_text())
        stat = dict(line.split() for line in (self.path / "memory.stat").read_text().splitlines())
        inactive = stat.get("inactive_file" if self.version == 2 else "total_inactive_file", "0")
        return max(0, usage - int(inactive))

    def peaks(self, working_bytes: int) -> CgroupPeaks:
        return CgroupPeaks(self.version, self.peak_bytes() / MIB, working_bytes / MIB)

    def remove(self) -> None:
        """Once its processes are gone: their remaining charges go to the parent cgroup."""
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:  # a process still exiting
                time.sleep(0.1)


class ContainedGateway(LaunchedGateway):
    """LaunchedGateway started inside `cgroup`: a shell writes its own pid into the cgroup, then
    execs the gateway in its place (same pid), so every page it and its children ever touch
    is charged there."""

    def __init__(self, config: Path, cgroup: MemoryCgroup) -> None:
        enter = 'echo $$ > "$0" && exec "$@"'
        super().__init__(config, prefix=("sh", "-c", enter, str(cgroup.procs)))


class Sampler:
    """Every SAMPLE_S until stop(): the sum of the gateway's processes' PSS, and the cgroup's
    working set; keeps the peaks."""

    def __init__(self, gateway: LaunchedGateway, cgroup: MemoryCgroup | None) -> None:
        self._gateway, self._cgroup = gateway, cgroup
        self._peak = PssPeak(0.0, (0.0, 0.0, 0.0))
        self.working_bytes = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(SAMPLE_S):
            self._sample()

    def _sample(self) -> None:
        by_role = dict.fromkeys(ROLES, 0)
        for pid in self._gateway.pids():
            flag = child_flag(pid)
            by_role[flag if flag in ROLES else ""] += pss_kib(pid)
        total = sum(by_role.values()) / 1024
        if total > self._peak.total_mib:
            parent, child, viewer = (by_role[role] / 1024 for role in ROLES)
            self._peak = PssPeak(total, (parent, child, viewer))
        if self._cgroup:
            with contextlib.suppress(OSError, ValueError):
                self.working_bytes = max(self.working_bytes, self._cgroup.working_bytes())

    def stop(self) -> PssPeak:
        """Stop sampling (once one last sample is read); the peak. Idempotent."""
        if not self._done.is_set():
            self._done.set()
            self._thread.join()
            self._sample()
        return self._peak


def pss_kib(pid: int) -> int:
    """A process's proportional set size (KiB), 0 once it is gone."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in rollup.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0
