"""What only an embedded Chroma (a ``PersistentClient`` on the index folder) needs.

chromadb's embedded client is not process-safe, and it keeps one system per
path and process: two processes creating one new index raced in its schema
setup, and a process reading after another one wrote holds stale segments.
The answers to both live here, apart from ``qa.index.chroma``, so a Chroma
server (which serialises its own work and has no per-process cache) needs
none of this, and a server-mode layout can be a file of its own beside this
one.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


def persistent_client(index_dir: Path, chroma_settings: Any) -> Any:
    """The embedded client on ``index_dir/chroma`` (chromadb shares one per path)."""
    import chromadb

    index_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(index_dir / "chroma"), settings=chroma_settings)


@contextmanager
def one_opener(index_dir: Path) -> Iterator[None]:
    """One process at a time opens (and so perhaps creates) the index in ``index_dir``."""
    import fcntl

    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / "open.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class LocalClients:
    """Per local index path: the revision this process's shared Chroma client
    reflects, and a generation that moves each time the path is reopened."""

    NONE = -1

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[int, int]] = {}  # path -> (revision, generation)

    def current(self, path: str, revision: int) -> int:
        """The generation of the client to use for ``path`` at ``revision``; a
        revision this process's client has not seen reopens the path first."""
        with self._lock:
            seen = self._seen.get(path)
            if seen is None:
                self._seen[path] = (revision, 0)
                return 0
            if seen[0] != revision:
                forget_shared_system(path)
                self._seen[path] = (revision, seen[1] + 1)
            return self._seen[path][1]

    def wrote(self, path: str, revision: int) -> None:
        """This process wrote ``revision`` through its client: nothing to reopen."""
        with self._lock:
            seen = self._seen.get(path, (revision, 0))
            self._seen[path] = (revision, seen[1])


# One for the process, as chromadb's systems are: every store on a path follows it.
LOCAL_CLIENTS = LocalClients()


def forget_shared_system(path: str) -> None:
    """Make chromadb open ``path`` anew: it keeps one system per path for the
    process. Clients already holding the old one keep it until they let go."""
    from chromadb.api.client import SharedSystemClient

    for key in [k for k in SharedSystemClient._identifier_to_system if k == path]:
        SharedSystemClient._identifier_to_system.pop(key, None)
        SharedSystemClient._identifier_to_refcount.pop(key, None)
