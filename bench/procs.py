"""Processes for the benchmarks: real `logsieve run` gateways, and what /proc says of them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


class LaunchedGateway:
    """`python -m gateway run --config FILE`, returned once it has started; its log drained."""

    def __init__(self, config: Path, prefix: tuple[str, ...] = ()) -> None:
        """`prefix`: a command that execs the gateway's in its place (same pid)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOGFLARE_")}
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "gateway", "run", "--config", str(config)],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.address = ""  # its gRPC receiver's, when it has one
        self.telemetry_url = ""  # /metrics, /readyz, when it serves them
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if match := re.search(r"gRPC receiver listening on ([\w.:]+)", line):
                self.address = self.address or match.group(1)  # the parent's comes first
            if match := re.search(r"metrics and health at (\S+)", line):
                self.telemetry_url = match.group(1)
            if "logsieve started" in line:
                break
        else:
            raise RuntimeError(f"the gateway of {config} did not start")
        threading.Thread(target=self.process.stderr.read, daemon=True).start()

    def pids(self) -> list[int]:
        """The gateway's process and those it started (its batch child)."""
        return [self.process.pid, *children(self.process.pid)]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(120)


def pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def stat(pid: int | str, task: int | None = None) -> tuple[str, list[str]]:
    """(name, the fields after it) of /proc/PID/stat (or of one thread); ("", []) if gone."""
    path = f"/proc/{pid}/task/{task}/stat" if task else f"/proc/{pid}/stat"
    try:
        text = Path(path).read_text()
    except OSError:
        return "", []
    name, rest = text.split("(", 1)[1].rsplit(")", 1)  # the name may hold spaces
    return name, rest.split()


def cpu_s(pid: int | str, task: int | None = None) -> float:
    """CPU seconds (user + system) of a process, or of one of its threads."""
    fields = stat(pid, task)[1]
    return (int(fields[11]) + int(fields[12])) / TICKS if fields else 0.0


def cmdline(pid: int) -> str:
    """A process's command line (NUL-separated), "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def comm(pid: int) -> str:
    """A process's name (/proc/PID/comm), "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


CHILD_FLAGS = ("--batch-child", "--viewer-child", "--ingest-child")


def child_flag(pid: int) -> str:
    """The child flag a gateway's child was started for ("--batch-child"...), "" for the
    parent: from its command line, or, for a child forked from its parent (which keeps the
    parent's command line), from the name it gives itself (logsieve-batch...)."""
    line = cmdline(pid)
    for flag in CHILD_FLAGS:
        if flag in line:
            return flag
    name = comm(pid)
    for flag in CHILD_FLAGS:
        if name == "logsieve-" + flag.removeprefix("--").removesuffix("-child"):
            return flag
    return ""


def children(pid: int) -> list[int]:
    """The processes `pid` started."""
    return [p for p in pids() if (fields := stat(p)[1]) and int(fields[1]) == pid]


def status_kib(field: str, pid: int | str = "self") -> int:
    """A kB figure of /proc/PID/status (VmRSS, VmHWM...); 0 when absent."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_ticks() -> tuple[int, int] | None:
    """The machine's (busy, total) CPU time in ticks since boot; None where /proc is absent."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        # user nice system idle iowait irq softirq steal; guest time is already in user
        ticks = [int(value) for value in first[1:9]]
    except (OSError, ValueError):
        return None
    total = sum(ticks)
    return total - ticks[3] - ticks[4], total


def listening(port: int) -> int:
    """Sockets listening on TCP `port`, of any process (SO_REUSEPORT lets several)."""
    count = 0
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):  # grpc binds v4-mapped v6
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            count += int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A"
    return count
