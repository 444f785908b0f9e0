"""The container's health check: GET /readyz on the gateway's telemetry endpoint.

Slim images have no curl, so the image's own Python asks. The port comes from
LOGSIEVE_METRICS, the variable the image's config listens on (default 0.0.0.0:8890);
a wildcard host is asked on loopback. Exit 0 when /readyz answers 200, 1 otherwise (with
the reason on stdout, which `docker inspect` keeps).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_ENDPOINT = "0.0.0.0:8890"  # telemetry.metrics.endpoint's default in deploy/logsieve.yaml
WILDCARDS = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]", "": "127.0.0.1"}


def readyz_url(endpoint: str) -> str:
    """The /readyz URL for a telemetry endpoint written as in the config (host:port)."""
    host, _, port = endpoint.rpartition(":")
    return f"http://{WILDCARDS.get(host, host)}:{port}/readyz"


def main() -> int:
    url = readyz_url(os.environ.get("LOGSIEVE_METRICS") or DEFAULT_ENDPOINT)
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            print(f"{url}: {response.status}")
            return 0
    except urllib.error.HTTPError as exc:  # 503: not ready; the body says why
        print(f"{url}: {exc.code} {exc.read(500).decode(errors='replace')}")
    except OSError as exc:
        print(f"{url}: {exc}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
