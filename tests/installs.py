"""Commands run the way a user runs them, in an environment of their own (the tests that
install the packages into fresh venvs)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def environment_without(*prefixes: str) -> dict[str, str]:
    """This process's environment less the variables starting with any of `prefixes`."""
    return {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}


def run_in(
    environment: dict[str, str], *command: str | Path, cwd: Path, check: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    """`command` in `environment` (plus `env`); by default it must succeed."""
    result = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
        env={**environment, **env},
    )
    assert result.returncode == 0 or not check, result.stdout + result.stderr
    return result
