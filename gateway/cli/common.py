"""What every `logsieve` command shares: exit codes, the default config file, and loading a
config with its problems listed for people."""

from __future__ import annotations

import sys

from gateway.config.settings import Config, load_config
from gateway.errors import ConfigError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_CONFIG = 0, 1, 2
DEFAULT_CONFIG = "config/gateway.yaml"
TOKEN_VARIABLE = "LOGSIEVE_VIEWER_TOKEN"  # viewer.auth_token for `logsieve tail`


def load(path: str, warn: bool = True) -> Config | None:
    """The config at `path`, or None after listing its problems; `warn`: also say which old
    names it uses (a child process's parent has said so already)."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"{path}: {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None
    for note in config.deprecations if warn else ():
        print(f"{path}: warning: {note}", file=sys.stderr)
    return config
