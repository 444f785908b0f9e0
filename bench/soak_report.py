"""The soak's samples, its result and how they are shown: docs/soak.md's table compares the
first `window_minutes` with the last."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

FAIL_ONE_IN = 20  # the fake Logflare fails one request in this many
FOLLOWERS = 20  # live pages following the stream, one of them never reading
SAMPLE_EVERY_S = 10.0


@dataclass(slots=True)
class Sample:
    at_s: float  # since the soak began
    rss_mb: float
    latencies_s: list[float]  # ingest (Export) latencies of the calls in this sample
    lags_s: list[float]  # export lags of the probes that arrived in this sample


@dataclass(frozen=True, slots=True)
class SoakResult:
    minutes: float
    window_minutes: float
    max_rate: float
    target_rate: float
    achieved_rate: float
    acknowledged: int
    delivered: int
    events: int
    failed_requests: int
    refused_calls: int
    reader_frames: int
    reader_reconnects: int
    slow_follower_dropped: bool
    samples: list[Sample]


def _window(samples: list[Sample], first: bool, window_s: float) -> list[Sample]:
    if first:
        return [s for s in samples if s.at_s <= window_s]
    end = samples[-1].at_s
    return [s for s in samples if s.at_s > end - window_s]


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _figures(window: list[Sample]) -> dict[str, float]:
    latencies = [v for s in window for v in s.latencies_s]
    lags = [v for s in window for v in s.lags_s]
    return {
        "RSS mean (MB)": statistics.fmean(s.rss_mb for s in window),
        "RSS max (MB)": max(s.rss_mb for s in window),
        "export lag p50 (s)": _p(lags, 0.5),
        "export lag p99 (s)": _p(lags, 0.99),
        "ingest p50 (ms)": 1000 * _p(latencies, 0.5),
        "ingest p99 (ms)": 1000 * _p(latencies, 0.99),
    }


def render(result: SoakResult) -> str:
    window_s = result.window_minutes * 60
    first = _figures(_window(result.samples, True, window_s))
    last = _figures(_window(result.samples, False, window_s))
    w = f"{result.window_minutes:g} min"
    lines = [
        f"| figure | first {w} | last {w} | last / first |",
        "|---|---|---|---|",
    ]
    for name, value in first.items():
        ratio = last[name] / value if value else float("nan")
        lines.append(f"| {name} | {value:,.2f} | {last[name]:,.2f} | {ratio:.2f} |")
    lost = result.acknowledged - result.delivered
    verdict = "nothing lost" if lost == 0 else f"{lost:,} missing"
    if lost < 0:
        verdict = f"{-lost:,} extra (duplicates)"
    slow = "dropped by the gateway" if result.slow_follower_dropped else "connected at the end"
    lines += [
        "",
        f"- Ran {result.minutes:g} minutes. Maximum ingest measured first: "
        f"{result.max_rate:,.0f} records/s; target half of it: {result.target_rate:,.0f}/s; "
        f"achieved {result.achieved_rate:,.0f}/s.",
        f"- Acknowledged {result.acknowledged:,} records; Logflare received "
        f"{result.events:,} events carrying {result.delivered:,} records: "
        f"{verdict}.",
        f"- The fake Logflare failed {result.failed_requests:,} requests (one in {FAIL_ONE_IN}); "
        f"calls refused by the gateway: {result.refused_calls:,}.",
        f"- {FOLLOWERS - 1} reading pages received {result.reader_frames:,} frames and "
        f"reconnected {result.reader_reconnects:,} times (resuming from their cursors); the page "
        f"that never reads was {slow}.",
    ]
    return "\n".join(lines)


def document(table: str, result: SoakResult) -> str:
    return (
        "# Soak: a real `logsieve run` for a long time under steady trouble\n\n"
        "Measured by `make soak` (`python -m bench.soak`); see bench/soak.py for the setup: "
        "the template flood at half the maximum ingest rate measured in the same run, "
        f"{FOLLOWERS} live pages following (one never reads), the fake Logflare failing one "
        f"request in {FAIL_ONE_IN}, the shipped processing interval (10 s). Samples every "
        f"{SAMPLE_EVERY_S:g} s; the RSS is the gateway's parent and children together.\n\n"
        f"{table}\n"
    )
