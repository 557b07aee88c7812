"""A host's lexical index following the chroma layout's change log.

In the chroma layout the lexical index is a cache of the host (its
``QA_INDEX_DIR``), not shared state: it is built from Chroma once, then kept
current from the change log (``qa.index.change_log``), whoever wrote. What
the host has read of the log (the newest stamp applied and the records seen
near it) is saved beside the index, in the same folder, after each update,
so a restarted host goes on from there and a host whose folder was deleted
rebuilds. A host that was away longer than the log is kept (its last stamp
is older than the log's cut) rebuilds too.

Only the records' chunk ids are read from the log; each chunk is then read
from Chroma: present, its text goes in; missing, it goes out. Applying a
record twice, or two records in either order, gives the same index. A
record is written before the change it names, so a record's chunks are
looked at again on each read for ``SETTLE_MS`` (``FollowState``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from qa.index.change_log import WINDOW_MS, ChangeLog, LogRecord, now_ms
from qa.index.lexical import LexicalSearch

log = logging.getLogger(__name__)
STATE_FILE = "change-log.json"
SETTLE_MS = 30_000  # how long a record's chunks are looked at again (see FollowState)


@dataclass
class FollowState:
    """How far a host has read the log.

    ``cursor``: the newest stamp read; ``seen``: records done with, within
    ``WINDOW_MS`` of it (read again, they are skipped); ``settling``: records
    read less than ``SETTLE_MS`` ago, by id, with their stamp and when they
    settle. A record is written before its change is made (a writer killed
    between the two must not leave a change no host hears of), so its chunks
    are looked at again on every read until it settles; ``indexed`` are
    those of its chunks the lexical index was given meanwhile.
    """

    cursor: int
    seen: dict[str, int] = field(default_factory=dict)
    settling: dict[str, tuple[int, int]] = field(default_factory=dict)
    indexed: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "seen": self.seen,
            "settling": {rid: list(times) for rid, times in self.settling.items()},
            "indexed": sorted(self.indexed),
        }

    @classmethod
    def from_json(cls, saved: dict[str, Any]) -> "FollowState":
        return cls(
            int(saved["cursor"]),
            {str(rid): int(at) for rid, at in saved["seen"].items()},
            {str(rid): (int(t[0]), int(t[1])) for rid, t in saved.get("settling", {}).items()},
            set(saved.get("indexed", ())),
        )

    def advanced(self, records: list[LogRecord], now: int) -> "FollowState":
        """The state once ``records`` (new ones) are read at ``now``: they settle in
        ``SETTLE_MS``; those due settle now and are remembered in ``seen``."""
        cursor = max([self.cursor, *(r.at for r in records)])
        settling = {**self.settling, **{r.id: (r.at, now + SETTLE_MS) for r in records}}
        due = {rid: at for rid, (at, until) in settling.items() if until <= now}
        seen = {**self.seen, **due}
        return FollowState(
            cursor,
            {rid: at for rid, at in seen.items() if at >= cursor - WINDOW_MS},
            {rid: times for rid, times in settling.items() if rid not in due},
            set(self.indexed),
        )


class LogFollower:
    """Brings one lexical index up to the change log. ``shared``: the index is on
    disk for every process of the folder, so the state is saved there too;
    otherwise (bm25s, in memory) the state lives as long as the process."""

    def __init__(self, change_log: ChangeLog, folder: Path, shared: bool) -> None:
        self.log = change_log
        self.state_file = folder / STATE_FILE if shared else None
        self._state: FollowState | None = None

    def catch_up(self, lexical: LexicalSearch, store: Any) -> LexicalSearch:
        """The lexical index with every logged change applied: this one updated, or a
        new one built from Chroma when it was never built or the log moved past it."""
        state = self._load()
        if state is None or lexical.revision < 0 and not lexical.load():
            return self._built(lexical, store)
        if state.cursor < self.log.compacted_before():
            log.warning("the change log was cut past this host's last read: rebuilding")
            return self._built(lexical, store)
        listed = self.log.since(state.cursor - WINDOW_MS)
        new = [r for r in listed if r.id not in state.seen and r.id not in state.settling]
        if not new and not state.settling:
            return lexical
        now = now_ms()
        after = state.advanced(new, now)
        chunks = self.log.chunks_by_record([*state.settling, *(r.id for r in new)])
        fresh = {cid for r in new for cid in chunks.get(r.id, ())}
        touched = {cid for ids in chunks.values() for cid in ids}
        present = store.existing(sorted(touched))
        add = present - state.indexed
        remove = (touched - present) & (state.indexed | fresh)
        if add or remove:
            texts = store.titled_texts(sorted(add))
            added = [(cid, title, text) for cid, (title, text) in texts.items()]
            updated = lexical.updated(added, remove, store.revision())
            if updated is None:  # an index saved without its terms
                return self._built(lexical, store)
            lexical = updated
            add = set(texts)
        still = {cid for rid in after.settling for cid in chunks.get(rid, ())}
        after.indexed = ((state.indexed | add) - remove) & still
        self._save(after)
        return lexical

    def _built(self, lexical: LexicalSearch, store: Any) -> LexicalSearch:
        # stamped before reading Chroma: what lands during the build is read after it
        state = FollowState(now_ms() - WINDOW_MS)
        fresh = lexical.fresh()
        fresh.build(store.iter_chunks(), store.revision())
        self._save(state)
        return fresh

    def _load(self) -> FollowState | None:
        if self.state_file is None:
            return self._state
        try:
            return FollowState.from_json(json.loads(self.state_file.read_text()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
            return None

    def _save(self, state: FollowState) -> None:
        self._state = state
        if self.state_file is None:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_name(f"{STATE_FILE}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(state.to_json()))
        tmp.replace(self.state_file)


def follow_in_background(owner: Any, step: Callable[[Any], None], seconds: float) -> None:
    """Call ``step(owner)`` every ``seconds`` on a daemon thread, for as long as
    ``owner`` lives (the thread holds it weakly and ends with it)."""
    ref = weakref.ref(owner)

    def loop() -> None:
        while True:
            time.sleep(seconds)
            target = ref()
            if target is None:
                return
            try:
                step(target)
            except Exception as exc:  # a server away for a moment: try again next time
                log.warning("following the change log failed: %s", exc)
            del target

    threading.Thread(target=loop, daemon=True, name="qa-change-log").start()
