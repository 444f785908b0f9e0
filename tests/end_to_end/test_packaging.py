"""`pip install .` gives a wheel whose `logsieve` command works outside the repository."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, cwd=cwd, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_wheel_installed_in_a_fresh_environment_runs_the_command(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    # The project's own build backend, without fetching a fresh copy of it for the build.
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "-w", dist, REPO, cwd=tmp_path)  # fmt: skip
    (wheel,) = dist.glob("logsieve-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for packaged in (
        "gateway/config/default.yaml",
        "viewer/static/logsieve-client.js",
        "viewer/static/js/rows.js",
        "viewer/templates/logs.html",
        "logsieve/v1/stream_pb2.py",
    ):
        assert packaged in names

    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=True)
    run(env_dir / "bin" / "pip", "install", "--quiet", wheel, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"  # not the repository: nothing of it is importable here
    elsewhere.mkdir()
    logsieve = env_dir / "bin" / "logsieve"
    run(logsieve, "init-config", "gateway.yaml", cwd=elsewhere)
    checked = run(logsieve, "check-config", "gateway.yaml", cwd=elsewhere)
    assert checked.stdout.strip() == "gateway.yaml: OK"
    explained = run(logsieve, "explain", "--config", "gateway.yaml", "--severity", "INFO",
                    "--body", "GET /cart 200", cwd=elsewhere)  # fmt: skip
    assert "keep" in explained.stdout
