"""`pip install .` gives a wheel whose `logsieve` command works outside the repository: under
the Apache-2.0 licence, with the browser script the client package holds, the batch stage's
modules compiled (and run so, with nothing of mypy installed), and without PostgreSQL's driver
unless the `postgres` extra is asked for (and then a clear line)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from gateway.pipeline import native
from tests.installs import environment_without, run_in

REPO = Path(__file__).resolve().parents[2]
BROWSER_SCRIPT = REPO / "client" / "logsieve_client" / "browser" / "logsieve-client.js"
PG_URL = "postgresql+psycopg://logsieve@127.0.0.1:1/logsieve"  # never reached: no driver


def run(
    *command: str | Path, cwd: Path, check: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    return run_in(outside_the_repository(), *command, cwd=cwd, check=check, **env)


def outside_the_repository() -> dict[str, str]:
    """This environment, less what would make the repository or the dev venv importable."""
    return environment_without("PYTHONPATH", "VIRTUAL_ENV", "LOGSIEVE_")


def clean_copy(target: Path) -> Path:
    """The repository's files as a clone has them (tracked, and new ones that are not ignored):
    a build/ left by an earlier build would put its stale files in the wheel."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def build_wheel(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    source = clean_copy(tmp_path / "source")
    # The project's own build backend, without fetching a fresh copy of it for the build.
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "-w", dist, source, cwd=tmp_path)  # fmt: skip
    (wheel,) = dist.glob("logsieve-*.whl")
    return wheel


def check_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        for packaged in (
            "gateway/config/default.yaml",
            "viewer/static/js/rows.js",
            "viewer/templates/logs.html",
            "logsieve/v1/stream_pb2.py",
        ):
            assert packaged in names
        # The one browser script, the client package's, copied in at build time.
        assert archive.read("viewer/browser_client/logsieve-client.js") == (
            BROWSER_SCRIPT.read_bytes()
        )
        assert "viewer/static/logsieve-client.js" not in names
        assert not any(name.startswith(("gateway/client", "logsieve_client")) for name in names)
        # The compiled modules beside their sources, and the library they share at the top.
        for module in native.COMPILED:
            path = module.replace(".", "/")
            assert f"{path}.py" in names
            assert any(name.startswith(f"{path}.") and name.endswith(".so") for name in names)
        assert any(name.startswith(f"{native.GROUP}__mypyc.") for name in names)
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
        (licence,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert archive.read(licence) == (REPO / "LICENSE").read_bytes()
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Requires-Python"] == ">=3.11"
    assert "Programming Language :: Python :: 3.11" in metadata.get_all("Classifier")
    requires = metadata.get_all("Requires-Dist")
    (psycopg,) = [r for r in requires if r.startswith("psycopg")]
    assert 'extra == "postgres"' in psycopg  # SQLite users do not get it
    assert not [r for r in requires if r.startswith("opentelemetry-sdk")]  # the client's


@pytest.mark.slow
@pytest.mark.timeout(600)  # builds a wheel and installs it, dependencies compiled included
def test_the_wheel_installed_in_a_fresh_environment_runs_the_command(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    check_contents(wheel)

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

    # The viewer serves the wheel's copy of the browser script, not the repository's.
    python = env_dir / "bin" / "python"
    served = run(python, "-c", "from viewer.client_script import script_path\n"
                 "print(script_path())", cwd=elsewhere).stdout.strip()  # fmt: skip
    assert Path(served).is_relative_to(env_dir)
    assert Path(served).read_bytes() == BROWSER_SCRIPT.read_bytes()

    # Compiled, and needing nothing of the compiler to run: mypy is a build requirement only.
    probe = (
        "import sys\nfrom gateway.pipeline import native\n"
        "print(native.runs_compiled(), [m for m in sys.modules if m.startswith(('mypy', 'librt'))])"
    )
    assert run(python, "-c", probe, cwd=elsewhere).stdout.strip() == "True []"

    # No psycopg without the extra: a PostgreSQL URL says what to install, in one line.
    started = run(logsieve, "run", "--config", "gateway.yaml", cwd=elsewhere, check=False,
                  LOGSIEVE_STORAGE_URL=PG_URL)  # fmt: skip
    assert started.returncode == 1
    assert "Traceback" not in started.stderr, started.stderr
    (said,) = [line for line in started.stderr.splitlines() if "storage.url" in line]
    assert "psycopg" in said and "pip install 'logsieve[postgres]'" in said
    migrated = run(logsieve, "migrate", "--config", "gateway.yaml", cwd=elsewhere, check=False,
                   LOGSIEVE_STORAGE_URL=PG_URL)  # fmt: skip
    assert migrated.returncode == 1 and "Traceback" not in migrated.stderr, migrated.stderr
    assert "pip install 'logsieve[postgres]'" in migrated.stderr


def test_the_client_package_carries_the_same_licence() -> None:
    # client/ is built on its own (pip install ./client), so it holds a copy of the text.
    assert (REPO / "client" / "LICENSE").read_bytes() == (REPO / "LICENSE").read_bytes()
