"""py-spy profiles of the server process during an ingest window, summarised per record.

Two samplers run side by side (both --nonblocking, so they do not slow the server):
  gil     only the thread holding the GIL: where the server's Python CPU goes (the GIL is
          what serialises this server, so this is the budget that limits records/s);
  active  every thread py-spy does not judge idle: adds time outside the GIL (SQLite in the
          driver) but also some waits in C (gRPC completion queue, SQLite's busy handler),
          so read it as wall time per thread, not CPU.
Samples are grouped by the deepest gateway/ frame, shown with its source line.
"""

from __future__ import annotations

import linecache
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RATE_HZ = 100
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]*)(?::(?P<line>\d+))?\)$")


@dataclass(frozen=True, slots=True)
class Sampler:
    kind: str  # "gil" or "active"
    raw_path: Path
    process: subprocess.Popen[bytes]


def start(out_dir: Path, name: str, duration_s: float) -> list[Sampler]:
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        print("  (py-spy not installed: .venv/bin/pip install py-spy; no profile)", file=sys.stderr)
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    samplers = []
    for kind in ("gil", "active"):
        raw = out_dir / f"profile-{name}-{kind}.txt"
        command = [str(spy), "record", "--pid", str(os.getpid()), "--nonblocking"]
        command += ["--duration", str(max(1, int(duration_s))), "--rate", str(RATE_HZ)]
        command += ["--format", "raw", "-o", str(raw)]
        if kind == "gil":
            command.append("--gil")
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        samplers.append(Sampler(kind, raw, process))
    return samplers


def finish(samplers: list[Sampler]) -> list[str]:
    """Wait for the samplers; returns problems, if any."""
    problems = []
    for sampler in samplers:
        _, err = sampler.process.communicate(timeout=120)
        if sampler.process.returncode != 0 or not sampler.raw_path.exists():
            problems.append(f"py-spy {sampler.kind}: {err.decode(errors='replace').strip()[-200:]}")
    return problems


def _frames(stack: str) -> list[tuple[str, str, int]]:
    frames = []
    for text in stack.split(";"):
        match = _FRAME.match(text)
        if match:
            frames.append((match["func"], match["file"], int(match["line"] or 0)))
        else:
            frames.append((text, "", 0))
    return frames


def _label(func: str, file: str, line: int) -> str:
    source = linecache.getline(str(ROOT / file), line).strip() if line else ""
    short = file.rsplit("/", 1)[-1]
    return f"{func} ({short}:{line}) `{source[:70]}`" if source else f"{func} ({short}:{line})"


def _classify(stack: str) -> tuple[str, str]:
    """(group, location): location is the deepest gateway/ frame, with its source text."""
    frames = _frames(stack)
    ours = [f for f in frames if f[1].startswith("gateway/")]
    funcs = {f[0] for f in frames}
    if "OtlpGrpcReceiver.export" in funcs:
        group = "receiver (export handler)"
    elif any(f.startswith("BatchStage.") for f in funcs):
        group = "batch stage (run_batches thread)"
    elif any("grpc" in f[1] for f in frames):
        group = "gRPC server machinery (Python side, outside export)"
    else:
        group = "other (idle loops, bench)"
    location = _label(*ours[-1]) if ours else _label(*frames[-1]) if frames else "?"
    return group, location


def summarise(raw: Path, kind: str, records: int, window_s: float, top: int = 14) -> str:
    """A markdown summary: samples per group and per deepest gateway line, as µs/record."""
    groups: Counter[str] = Counter()
    locations: Counter[tuple[str, str]] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        group, location = _classify(stack)
        groups[group] += int(count)
        locations[(group, location)] += int(count)
    total = sum(groups.values())

    def us_per_record(samples: int) -> str:
        return f"{samples / RATE_HZ / records * 1e6:.2f}" if records else "n/a"

    expected = RATE_HZ * window_s
    lines = [
        f"### py-spy `{kind}` profile ({raw.name})",
        "",
        f"{total} samples at {RATE_HZ} Hz over {window_s:.0f} s "
        f"({total / expected:.2f} {'of the GIL held' if kind == 'gil' else 'threads not idle'} "
        f"on average); {records:,} records accepted in the window. "
        "µs/record = sample time / records accepted"
        + (" (GIL-holding time)." if kind == "gil" else " (thread wall time, not CPU)."),
        "",
        "| Group | Samples | Share | µs/record |",
        "|---|---:|---:|---:|",
    ]
    for group, samples in groups.most_common():
        lines.append(f"| {group} | {samples} | {samples / total:.0%} | {us_per_record(samples)} |")
    lines += [
        "",
        "| Deepest gateway frame (or leaf) | Group | Share | µs/record |",
        "|---|---|---:|---:|",
    ]
    for (group, location), samples in locations.most_common(top):
        share = f"{samples / total:.1%}"
        lines.append(
            f"| {location} | {group.split(' (')[0]} | {share} | {us_per_record(samples)} |"
        )
    return "\n".join(lines) + "\n"
