"""The writer's lock on a store: one process at a time runs tasks into a store.

The lock is an exclusive ``flock`` on ``<store>.lock`` beside the store, which holds the pid and
command of the process holding it. The kernel releases a ``flock`` when its process ends, however
it ends, so a lock left by a killed run (its file still naming the dead pid) is free: the next run
takes it over. Within one process the lock is re-entrant (a command that holds it may call the
runner, which takes it again).
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rscbench.errors import RscbenchError

__all__ = ["StoreBusyError", "lock_path", "store_lock"]

_HELD: dict[Path, tuple[int, int]] = {}
"""Locks this process holds: resolved lock path -> (file descriptor, depth)."""


class StoreBusyError(RscbenchError):
    """Another live process holds the store's writer lock."""


def lock_path(store_path: str | os.PathLike[str]) -> Path:
    """The lock file of the store at ``store_path``: ``<store>.lock``."""
    path = Path(store_path)
    return path.with_name(path.name + ".lock")


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "another process"
    pid, _, command = text.partition(" ")
    return f"process {pid} ({command})" if pid.isdigit() else "another process"


@contextmanager
def store_lock(store_path: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the writer lock of the store at ``store_path`` for the ``with`` block; yields the lock file.

    Raises StoreBusyError at once, naming the holder's pid and command, when another live process
    holds it (two runs of one store would both run every task). The lock file stays when released.
    """
    path = lock_path(store_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = path.resolve()
    if key in _HELD:
        descriptor, depth = _HELD[key]
        _HELD[key] = (descriptor, depth + 1)
    else:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise StoreBusyError(
                f"the store {store_path} is being written by {_holder(path)}; wait for it to end, "
                "or give this run another --out"
            ) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()} {' '.join(sys.argv)[:200]}\n".encode())
        _HELD[key] = (descriptor, 1)
    try:
        yield path
    finally:
        descriptor, depth = _HELD[key]
        if depth > 1:
            _HELD[key] = (descriptor, depth - 1)
        else:
            del _HELD[key]
            os.close(descriptor)  # closing the descriptor releases the flock
