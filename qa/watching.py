"""Keeping the index current: folders watched for changes, feeds re-read on an interval.

``qa watch`` runs a ``Watcher`` in the foreground; the server runs the same
one on a background thread when ``QA_WATCH`` names what to watch (off by
default). Every change goes through ``Assistant.ingest``, so it is as safe
as an ingest: one writer at a time across processes, unchanged articles
skipped by hash, and a watcher killed at any moment (even ``kill -9``) leaves
an index the next run completes.

- **Folders and files** are watched with ``watchfiles`` (inotify, debounced):
  a new or changed file of a supported type is ingested alone; with
  ``prune``, a deleted file's articles are removed (and, as with
  ``qa ingest --prune``, any article whose file is gone).
- **Feeds and pages** (URLs) are re-read every ``interval`` seconds; a feed
  re-read adds new entries and updates changed ones only (``qa.index.pages``).

A first pass at start ingests everything named, so what changed while the
watcher was stopped is caught up.

A changed file is read once it has been quiet (same size and modification
time) for ``QUIET_S``: a file written in steps is indexed whole, not as the
prefix that was there at the first event. A file that then grows past the
size limit has its stale articles removed (``Ingestor``). A change reached
through a symbolic link that leads out of the watched folder is ignored, as
``qa ingest`` skips such links, unless ``QA_FOLLOW_OUTSIDE_LINKS`` is on.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from qa.assistant import SUPPORTED_SUFFIXES, is_url
from qa.errors import InvalidQuestion

if TYPE_CHECKING:
    from qa.assistant import Assistant, IngestReport

Log = Callable[[str], None]
DEBOUNCE_MS = 800  # changes arriving closer than this are one batch (an editor's save)
TICK_MS = 1_000  # how often the loop wakes to check the feeds' clock and the stop flag
QUIET_S = 2.0  # a changed file is read once its size and time have not moved for this long


@dataclass
class Watcher:
    """What to watch, and how; ``run`` until ``stop`` is set."""

    assistant: Assistant
    targets: Sequence[str | Path]
    interval: float = 900.0  # seconds between feed re-reads
    prune: bool = False
    log: Log = print
    errors: Log = print
    batches: int = field(default=0, init=False)  # writes done, for tests and status
    # changed files waiting to be quiet: path -> (size, mtime, when that was first seen)
    _pending: dict[Path, tuple[int, int, float]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        """Refuse what cannot be watched before anything starts (watchfiles would raise
        a bare FileNotFoundError from inside the loop)."""
        if not self.targets:
            raise InvalidQuestion("give at least one folder, file or feed URL to watch")
        missing = [str(p) for p in self.folders if not p.exists()]
        if missing:
            raise InvalidQuestion(f"cannot watch {missing[0]}: no such file or directory")

    @property
    def folders(self) -> list[Path]:
        return [Path(t) for t in self.targets if not (isinstance(t, str) and is_url(t))]

    @property
    def urls(self) -> list[str]:
        return [t for t in self.targets if isinstance(t, str) and is_url(t)]

    def run(self, stop: threading.Event) -> None:
        """The first pass, then changes as they come, until ``stop`` is set.

        The folders are watched only once the first pass is done, so what changes
        in between would be missed (a busy machine made that seconds, and a file
        saved then was never indexed): the files as they were before the first
        pass are remembered, and once the watch is on, any that differ now (new,
        changed or gone) are taken as changes.
        """
        before: dict[Path, tuple[int, int]] | None = self._files()
        self._write("start", lambda: self.assistant.ingest(list(self.targets), prune=self.prune))
        next_read = time.monotonic() + self.interval
        for changes in self._changes(stop):
            if before is not None:  # the watch is on now: what changed since the start
                changes = changes | self._changed_since(before)
                before = None
            if changes:
                self._apply(changes)
            self._ingest_quiet_files()
            if self.urls and time.monotonic() >= next_read:
                self._write("feeds", lambda: self.assistant.ingest(self.urls))
                next_read = time.monotonic() + self.interval

    def _changes(self, stop: threading.Event) -> Iterable[set[tuple[str, Path]]]:
        """Batches of (what happened, file); an empty batch every tick."""
        if not self.folders:
            while not stop.wait(TICK_MS / 1000):
                yield set()
            return
        import watchfiles

        for batch in watchfiles.watch(
            *self.folders,
            watch_filter=_supported,
            debounce=DEBOUNCE_MS,
            stop_event=stop,
            rust_timeout=TICK_MS,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            yield {(change.name, Path(path)) for change, path in batch}

    def _files(self) -> dict[Path, tuple[int, int]]:
        """Every watchable file of the watched folders, with its size and time."""
        found: dict[Path, tuple[int, int]] = {}
        for target in self.folders:
            paths = [target] if target.is_file() else target.rglob("*")
            for path in paths:
                if path.is_file() and _supported(None, str(path)):
                    found[path] = _signature(path)
        return found

    def _changed_since(self, before: dict[Path, tuple[int, int]]) -> set[tuple[str, Path]]:
        now = self._files()
        changed = {("modified", p) for p, signature in now.items() if before.get(p) != signature}
        return changed | {("deleted", p) for p in before if p not in now}

    def _apply(self, changes: set[tuple[str, Path]]) -> None:
        paths = {path for _, path in changes}
        gone = sorted(path for path in paths if not path.exists())
        for path in sorted(paths - set(gone)):
            if not path.is_file():
                continue
            if not self._inside(path):
                self.log(f"watch: skipped {path}: a link to {path.resolve()} outside the folder")
                continue
            self._pending[path] = (*_signature(path), time.monotonic())
        if gone and self.prune:
            self._write(f"{len(gone)} deleted file(s)", self.assistant.remove_missing)

    def _ingest_quiet_files(self) -> None:
        """Ingest the pending files whose size and time stayed put for ``QUIET_S``."""
        now, quiet = time.monotonic(), []
        for path, (size, mtime, since) in list(self._pending.items()):
            current = _signature(path)
            if current != (size, mtime):
                self._pending[path] = (*current, now)  # still being written
            elif now - since >= QUIET_S:
                quiet.append(path)
        for path in quiet:
            del self._pending[path]
        quiet = [p for p in quiet if p.is_file()]
        if quiet:
            self._write(f"{len(quiet)} changed file(s)", lambda: self.assistant.ingest(quiet))

    def _inside(self, path: Path) -> bool:
        """Whether the file, links followed, is one a watched target names."""
        if self.assistant.settings.follow_outside_links:
            return True
        real = path.resolve()
        for target in self.folders:
            root = target.resolve()
            if real == root or (target.is_dir() and real.is_relative_to(root)):
                return True
        return False

    def _write(self, what: str, work: Callable[[], IngestReport]) -> None:
        """One write, logged; a failure is logged and the watcher goes on."""
        try:
            report = work()
        except Exception as exc:  # noqa: BLE001 (a watcher must outlive one bad write)
            self.errors(f"watch: {what}: {type(exc).__name__}: {exc}")
            return
        self.batches += 1
        for failure in report.failed:
            self.errors(f"watch: skipped {failure.name}: {failure.reason}")
        for note in report.notes:
            self.log(f"watch: {note}")
        if report.changed or what == "start":
            self.log(f"watch: {what}: {report.summary()}")


def _signature(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (-1, -1)
    return (stat.st_size, stat.st_mtime_ns)


def _supported(change: object, path: str) -> bool:
    name = Path(path).name
    return not name.startswith(".") and Path(path).suffix.lower() in SUPPORTED_SUFFIXES


def watch_in_background(watcher: Watcher) -> tuple[threading.Thread, threading.Event]:
    """The watcher on a daemon thread (the server's), and the event that stops it."""
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), name="qa-watch", daemon=True)
    thread.start()
    return thread, stop
