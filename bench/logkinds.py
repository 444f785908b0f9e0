"""The variables of the labelled-log generator: one writer per kind, each a function of a
seeded random.Random. TYPED kinds have a shape a mask can recognise (a number, an address, a
timestamp, a prefixed id); UNTYPED ones are words only structure can tell apart (a user name,
a host, a path, a table from a set; MULTI_TOKEN ones span a varying number of tokens: an error
text, a browser's user agent, a quoted search)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench import logvocab as vocab

Writer = Callable[[random.Random], str]
_EPOCH = datetime(2024, 5, 1, tzinfo=UTC)
_POD_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet Kubernetes uses for name suffixes


def _moment(rng: random.Random) -> datetime:
    return _EPOCH + timedelta(seconds=rng.uniform(0, 30 * 86_400))


def _int(rng: random.Random) -> str:
    return str(int(10 ** rng.uniform(0, 7)))  # spread over magnitudes, as counts and ids are


def _float(rng: random.Random) -> str:
    return f"{10 ** rng.uniform(-2, 4):.3f}"


def _hexid(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


def _ip4(rng: random.Random) -> str:
    first = rng.choice((10, 172, 192, 100, 34, 52, 203, 185))
    return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _port(rng: random.Random) -> str:
    return str(rng.randrange(1024, 65536))


def _ip6(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "fe80::" + ":".join(f"{rng.getrandbits(16):x}" for _ in range(4))
    return "2001:db8:" + ":".join(f"{rng.getrandbits(16):x}" for _ in range(6))


def _duration(rng: random.Random) -> str:
    unit = rng.choice(("ms", "ms", "s", "µs", "us", "m"))
    if unit in ("ms", "us", "µs"):
        return f"{rng.randrange(1, 5000)}{unit}" if rng.random() < 0.5 else f"{_float(rng)}{unit}"
    if unit == "m":
        return f"{rng.randrange(1, 59)}m{rng.randrange(60)}s"
    return f"{rng.uniform(0.001, 120):.3f}s"


def _size(rng: random.Random) -> str:
    unit = rng.choice(("B", "KB", "MB", "GB", "KiB", "MiB", "GiB"))
    return (
        f"{rng.randrange(1, 4096)}{unit}" if unit == "B" else f"{rng.uniform(0.1, 999):.1f}{unit}"
    )


def _cluster_stamp(rng: random.Random) -> str:
    return f"{1_714_000_000_000 + rng.randrange(10**9)}_{rng.randrange(1, 9999):04d}"


def _pod_suffix(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_POD_CHARS) for _ in range(length))


def _host(rng: random.Random) -> str:
    role, env = rng.choice(vocab.HOST_ROLES), rng.choice(vocab.HOST_ENVS)
    if rng.random() < 0.5:
        return f"{role}-{env}-{rng.randrange(1, 40):02d}"
    return f"{role}{rng.randrange(1, 20)}.{env}.{rng.choice(vocab.DOMAINS)}"


def _path(rng: random.Random) -> str:
    parts = [rng.choice(vocab.PATH_ROOTS)]
    parts += [rng.choice(vocab.PATH_PARTS) for _ in range(rng.randrange(0, 3))]
    stem = rng.choice(vocab.FILE_STEMS)
    number = f"-{rng.randrange(100000):05d}" if rng.random() < 0.5 else ""
    return "/".join(parts) + f"/{stem}{number}{rng.choice(vocab.FILE_EXTS)}"


def _route(rng: random.Random) -> str:
    resource = rng.choice(vocab.RESOURCES)
    shape = rng.randrange(4)
    if shape == 0:
        return f"/api/v{rng.randrange(1, 3)}/{resource}/{rng.randrange(1, 10**6)}"
    if shape == 1:
        return f"/api/v1/{resource}?page={rng.randrange(1, 50)}&limit=50"
    if shape == 2:
        return f"/static/js/{resource}.{rng.getrandbits(32):08x}.js"
    return rng.choice(("/healthz", "/readyz", "/metrics", "/", "/login", "/favicon.ico"))


def _pod(rng: random.Random) -> str:
    return f"{rng.choice(vocab.CONTAINERS)}-{_pod_suffix(rng, 10)}-{_pod_suffix(rng, 5)}"


def _node(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"ip-10-0-{rng.randrange(256)}-{rng.randrange(256)}.ec2.internal"
    return f"gke-prod-pool-{rng.randrange(1, 4)}-{rng.getrandbits(32):08x}-{_pod_suffix(rng, 4)}"


def _image(rng: random.Random) -> str:
    name = rng.choice(vocab.CONTAINERS)
    tag = f"{rng.randrange(1, 4)}.{rng.randrange(30)}.{rng.randrange(10)}"
    return f"registry.example.com/shop/{name}:{tag}"


def _search(rng: random.Random) -> str:
    words = [rng.choice(vocab.SEARCH_WORDS) for _ in range(rng.randrange(1, 5))]
    return '"' + " ".join(words) + '"'


def _choice(words: tuple[str, ...]) -> Writer:
    return lambda rng: rng.choice(words)


TYPED_WRITERS: dict[str, Writer] = {
    "int": _int,
    "small": lambda rng: str(rng.randrange(16)),
    "port": _port,
    "pid": lambda rng: str(rng.randrange(100, 4_000_000)),
    "status": lambda rng: str(rng.choice(vocab.STATUS)),
    "float": _float,
    "pct": lambda rng: f"{rng.uniform(0, 100):.1f}%",
    "hex": lambda rng: f"0x{rng.getrandbits(rng.choice((16, 32, 48))):x}",
    "hexid": _hexid,
    "sha": lambda rng: f"{rng.getrandbits(160):040x}",
    "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    "ip4": _ip4,
    "ip4port": lambda rng: f"{_ip4(rng)}:{_port(rng)}",
    "ip6": _ip6,
    "ip6port": lambda rng: f"[{_ip6(rng)}]:{_port(rng)}",
    "mac": lambda rng: ":".join(f"{rng.getrandbits(8):02x}" for _ in range(6)),
    "iso": lambda rng: _moment(rng).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    "date": lambda rng: _moment(rng).strftime("%Y-%m-%d"),
    "hms": lambda rng: _moment(rng).strftime("%H:%M:%S"),
    "hms_ms": lambda rng: _moment(rng).strftime("%H:%M:%S.") + f"{rng.randrange(1000):03d}",
    "hms_comma": lambda rng: _moment(rng).strftime("%H:%M:%S,") + f"{rng.randrange(1000):03d}",
    "hms_us": lambda rng: _moment(rng).strftime("%H:%M:%S.%f"),
    "mmdd": lambda rng: _moment(rng).strftime("%m%d"),
    "clf": lambda rng: _moment(rng).strftime("%d/%b/%Y:%H:%M:%S"),
    "uptime": lambda rng: f"{rng.uniform(1, 900_000):.6f}",
    "dur": _duration,
    "size": _size,
    "blk": lambda rng: f"blk_{rng.choice(('-', ''))}{rng.getrandbits(63)}",
    "userid": lambda rng: f"user:{rng.randrange(1, 10**6)}",
    "reqid": lambda rng: f"req-{rng.getrandbits(32):08x}",
    "rdd": lambda rng: f"rdd_{rng.randrange(1, 400)}_{rng.randrange(200)}",
    "jobid": lambda rng: f"job_{_cluster_stamp(rng)}",
    "appid": lambda rng: f"application_{_cluster_stamp(rng)}",
    "appattempt": lambda rng: f"appattempt_{_cluster_stamp(rng)}_{rng.randrange(1, 4):06d}",
    "taskid": lambda rng: (
        f"task_{_cluster_stamp(rng)}_{rng.choice('mr')}_{rng.randrange(10**6):06d}"
    ),
    "attempt": lambda rng: (
        f"attempt_{_cluster_stamp(rng)}_{rng.choice('mr')}_{rng.randrange(10**6):06d}"
        f"_{rng.randrange(4)}"
    ),
    "yarncontainer": lambda rng: f"container_{_cluster_stamp(rng)}_01_{rng.randrange(10**6):06d}",
}
UNTYPED_WRITERS: dict[str, Writer] = {
    "user": _choice(vocab.USERS),
    "host": _host,
    "path": _path,
    "route": _route,
    "table": _choice(vocab.TABLES),
    "topic": _choice(vocab.TOPICS),
    "queue": _choice(vocab.QUEUES),
    "ns": _choice(vocab.NAMESPACES),
    "cname": _choice(vocab.CONTAINERS),
    "pod": _pod,
    "rs": lambda rng: f"{rng.choice(vocab.CONTAINERS)}-{_pod_suffix(rng, 10)}",
    "node": _node,
    "image": _image,
    "dev": _choice(vocab.DEVICES),
    "iface": _choice(vocab.INTERFACES),
    "unit": _choice(vocab.UNITS),
    "proc": _choice(vocab.PROCESSES),
    "db": _choice(vocab.DATABASES),
    "method": _choice(vocab.METHODS),
    "agent": _choice(vocab.AGENTS),
    "month": _choice(vocab.MONTHS),
    "thread": lambda rng: f"pool-{rng.randrange(1, 9)}-thread-{rng.randrange(1, 65)}",
    # several tokens, how many varying from line to line
    "errtext": _choice(vocab.ERROR_TEXTS),
    "browser": _choice(vocab.BROWSER_AGENTS),
    "search": _search,
}
KINDS: dict[str, Writer] = {**TYPED_WRITERS, **UNTYPED_WRITERS}
TYPED = frozenset(TYPED_WRITERS)
UNTYPED = frozenset(UNTYPED_WRITERS)
MULTI_TOKEN = frozenset(("errtext", "browser", "search"))
