"""One writer per index, across processes: an advisory lock file beside the index.

Two ``qa ingest`` runs on one index used to both do all the work (each saw
the articles missing and embedded them). Now the second waits for the first
and then finds everything unchanged. The lock is ``flock``-based, so the
kernel releases it when its holder dies, even by ``kill -9``; the file also
says who holds it, for the waiting side's message.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

LOCK_NAME = "write.lock"


@contextmanager
def index_write_lock(
    index_dir: Path, on_wait: Callable[[str], None] | None = None, poll_seconds: float = 0.2
) -> Iterator[None]:
    """Hold the index's write lock for the ``with`` block, waiting for it if needed.

    ``on_wait`` is called once, with who holds it, when the lock is busy.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / LOCK_NAME
    with open(path, "a+", encoding="utf-8") as handle:
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told and on_wait:
                    on_wait(_holder(path))
                    told = True
                time.sleep(poll_seconds)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(
                f"pid {os.getpid()} ({' '.join(sys.argv[:2])[:80]}), "
                f"since {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
            )
            handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip() or "another process"
    except OSError:
        return "another process"


@contextmanager
def index_write_lock_if_free(index_dir: Path) -> Iterator[bool]:
    """Hold the write lock for the block if no one holds it; yields whether it does.

    For repairs another process's writer would make unnecessary: a process that
    finds the shared lexical index behind Chroma repairs it only when no write
    is under way (a writer between its Chroma write and its lexical update
    holds the lock, and will bring it up to date itself).
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK_NAME, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
