"""Where the browser logging script is, for the route that serves it (/static/logsieve-client.js).

There is one copy of the file: the client package's (client/logsieve_client/browser/), which is
what applications install. A wheel of the gateway carries it as viewer/browser_client/ (mapped
there at build time by pyproject.toml); a clone, or an editable install of it, reads it from
client/ beside viewer/.
"""

from __future__ import annotations

from pathlib import Path

SCRIPT_NAME = "logsieve-client.js"
HERE = Path(__file__).resolve().parent
CANDIDATES = (
    HERE / "browser_client" / SCRIPT_NAME,  # an installed wheel
    HERE.parent / "client" / "logsieve_client" / "browser" / SCRIPT_NAME,  # a clone
)


def script_path() -> Path:
    """The browser script's file; FileNotFoundError names both places if it is in neither."""
    for candidate in CANDIDATES:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{SCRIPT_NAME} is in none of: {', '.join(map(str, CANDIDATES))}")
