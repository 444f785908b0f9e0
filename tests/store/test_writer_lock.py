"""SQLite's writer lock across processes (gateway/store/_writer_lock.py): while one process
holds it, no other can take it, and the next one gets it the moment it is let go."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.store import Store
from gateway.store._writer_lock import WriterLock

HOLDER = """
import sys
from gateway.store._writer_lock import WriterLock
lock = WriterLock(sys.argv[1])
with lock:
    print("held", flush=True)
    sys.stdin.readline()  # until the test says so
print("released", flush=True)
"""


def _locked_elsewhere(path: Path) -> bool:
    """Whether another open file holds the flock (tried without waiting)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_a_writer_in_another_process_holds_every_other_writer_off(tmp_path: Path) -> None:
    database = tmp_path / "q.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "held"
        assert _locked_elsewhere(Path(f"{database}-writer.lock"))
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
        with WriterLock(str(database)):  # free now: taken at once
            assert _locked_elsewhere(Path(f"{database}-writer.lock"))
    finally:
        holder.kill()
        holder.wait(10)


def test_the_store_writes_under_the_lock_file(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/q.db")
    try:
        store.create_schema()
        assert (tmp_path / "q.db-writer.lock").exists()
    finally:
        store.dispose()


def test_an_in_memory_database_has_no_lock_file(tmp_path: Path) -> None:
    lock = WriterLock(None)
    with lock:
        pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_opens_its_own_lock(tmp_path: Path) -> None:
    lock = WriterLock(str(tmp_path / "q.db"))
    read, write = os.pipe()
    with lock:  # held by the parent across the fork
        pid = os.fork()
        if pid == 0:  # an inherited open file would hold the parent's lock: not blocked
            try:
                fcntl.flock(lock._file(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.write(write, b"0")
            except BlockingIOError:
                os.write(write, b"1")
            os._exit(0)
        os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
