"""The change log of a chroma-layout index: which chunks each write touched.

App hosts on one Chroma server keep caches of their own (the lexical index)
that must follow every host's writes without a rebuild. Each write appends,
just before it changes the chunks, small records naming the chunk ids it
adds or removes; a host reads the records it has not seen and re-reads those
chunks from Chroma: present ones go into its cache, missing ones out. Reading
the truth instead of replaying the record's verb makes the order of records
irrelevant, so records need no global sequence (Chroma has no atomic
counter): each is stamped with its writer's clock, and readers re-read a
window of ``WINDOW_MS`` behind the newest stamp they saw, which covers clocks
that differ between hosts and records that land late.

The log is a Chroma collection of its own (``<collection>-log``), one
record per batch of at most ``IDS_PER_RECORD`` ids, with a one-number vector
(Chroma stores nothing without one). Writers delete records older than
``QA_LOG_KEEP_SECONDS`` and note the cut in the log collection's metadata;
a host whose last read is older than the cut rebuilds its cache instead.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

IDS_PER_RECORD = 400  # chunk ids a record names (each ~40 characters)
WINDOW_MS = 120_000  # how far behind the newest stamp seen a reader looks again
_COMPACT_EVERY_MS = 60_000  # a writer cuts old records at most this often


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class LogRecord:
    """One record as a reader first sees it: its id and its writer's stamp."""

    id: str
    at: int


class ChangeLog:
    """The log beside one chunk collection. ``client`` gives the Chroma client now
    in use (an embedded one is reopened after other processes' writes)."""

    def __init__(self, client: Callable[[], Any], name: str, writer: str) -> None:
        self._client = client
        self.name = name
        self.writer = writer  # names the host in the records (for people reading them)
        self._compacted_at = 0

    def _log(self) -> Any:
        return self._client().get_or_create_collection(
            self.name, metadata={"compacted_before": 0}, embedding_function=None
        )

    def append(self, chunk_ids: Iterable[str]) -> None:
        """Record that these chunks are about to change: call *before* making the
        change, so a writer killed between the two leaves a record behind (readers
        look at a record's chunks again for a while: ``qa.index.log_follower``)."""
        ids = list(dict.fromkeys(chunk_ids))
        if not ids:
            return
        log = self._log()
        for start in range(0, len(ids), IDS_PER_RECORD):
            at = now_ms()
            part = ids[start : start + IDS_PER_RECORD]
            log.add(  # the id starts with the stamp: readers list ids only
                ids=[f"{at:015d}-{uuid.uuid4().hex[:12]}"],
                embeddings=[[0.0]],
                metadatas=[{"at": at, "writer": self.writer, "chunks": json.dumps(part)}],
            )

    def since(self, stamp: int) -> list[LogRecord]:
        """The records stamped at or after ``stamp`` (ids and stamps only: cheap)."""
        got = self._log().get(where={"at": {"$gte": int(stamp)}}, include=[])
        return [LogRecord(rid, int(rid.split("-", 1)[0])) for rid in got["ids"]]

    def chunks(self, record_ids: Sequence[str]) -> set[str]:
        """Every chunk id the records name."""
        return {cid for ids in self.chunks_by_record(record_ids).values() for cid in ids}

    def chunks_by_record(self, record_ids: Sequence[str]) -> dict[str, list[str]]:
        """The chunk ids each record names (records since compacted are left out)."""
        if not record_ids:
            return {}
        got = self._log().get(ids=list(record_ids), include=["metadatas"])
        return {
            rid: list(json.loads(meta["chunks"])) for rid, meta in zip(got["ids"], got["metadatas"])
        }

    def compacted_before(self) -> int:
        """Records stamped before this were deleted (0: none ever were)."""
        return int((self._log().metadata or {}).get("compacted_before", 0))

    def compact(self, keep_seconds: float) -> None:
        """Delete records older than ``keep_seconds`` (at most once a minute per writer)."""
        now = now_ms()
        if now - self._compacted_at < _COMPACT_EVERY_MS:
            return
        self._compacted_at = now
        cut = now - int(keep_seconds * 1000)
        log = self._log()
        old = log.get(where={"at": {"$lt": cut}}, include=[])["ids"]
        if not old:
            return
        # the cut is noted first: a reader behind it rebuilds rather than miss a record
        if cut > self.compacted_before():
            log.modify(metadata={"compacted_before": cut})
        for start in range(0, len(old), 5000):
            log.delete(ids=old[start : start + 5000])

    def drop(self) -> None:
        try:
            self._client().delete_collection(self.name)
        except Exception:  # there was none
            pass
