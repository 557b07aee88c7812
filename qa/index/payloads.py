"""Chunk payloads: each chunk's text, sentence spans and sentence vectors, stored once.

Chroma keeps every metadata string twice (its metadata table and an index
over the values) and every document three times over plus a trigram
full-text index. This project never filters on a chunk's text or its
sentence vectors and never queries Chroma's full text, yet they were most of
the index's bytes (docs/scaling.md, "Where the bytes go"). So Chroma keeps
what it searches and filters (the chunk vector, the article's fields) and
the rest lives here: one SQLite file per collection in the index folder,
beside the lexical index and the write lock, one row per chunk with the text
zlib-compressed and the sentence vectors as raw int8.

SQLite in WAL mode lets every app process on the folder read while the one
writer (under the index's write lock) commits; each thread gets its own
connection. A store has an id, recorded in the Chroma collection's metadata
on its first write, so a process pointed at the same collection from
another folder is told where the payloads are instead of answering without
text.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from qa.index.chunking import Span

# Big pages: a row (about 3 KB) never spills into a mostly empty overflow page.
_PAGE_SIZE = 32768
_WAL_PAGES = 128
_BATCH = 500  # ids per IN (...) query, under SQLite's variable limit


@dataclass(frozen=True)
class ChunkPayload:
    """What a citation and the reader need of a chunk beyond its vector and article."""

    text: str
    article_id: str
    title: str
    start: int
    end: int
    index: int
    sentences: tuple[Span, ...]
    lead: Span | None
    lead_text: str
    embed_key: str
    pages: tuple[int, ...] = ()
    sentence_vectors: np.ndarray | None = field(default=None, compare=False, repr=False)


class PayloadStore:
    """The payload rows of one collection, in ``path`` (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def exists(self) -> bool:
        return self.path.exists()

    @property
    def store_id(self) -> str:
        """A random id made when the file was created: which store a collection uses."""
        row = self._db().execute("SELECT value FROM about WHERE key = 'store_id'").fetchone()
        return str(row[0])

    def reset(self) -> None:
        """Forget every row and take a new id (the collection it served is gone)."""
        with self._write() as db:
            db.execute("DELETE FROM payloads")
            db.execute("UPDATE about SET value = ? WHERE key = 'store_id'", (uuid.uuid4().hex,))

    def put(self, rows: Iterable[tuple[str, ChunkPayload]]) -> None:
        """Write (or overwrite) the payloads of these chunk ids, in one transaction."""
        encoded = [_encode(chunk_id, payload) for chunk_id, payload in rows]
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO payloads"
                " (id, article_id, title, sentences, text, fields, vectors)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                encoded,
            )

    def delete(self, ids: Sequence[str]) -> None:
        with self._write() as db:
            for part in _batches(ids):
                db.execute(f"DELETE FROM payloads WHERE id IN ({_marks(part)})", part)

    def get(self, ids: Sequence[str], dimension: int) -> dict[str, ChunkPayload]:
        """The payloads of those ids that have one, with their sentence vectors."""
        found: dict[str, ChunkPayload] = {}
        for part in _batches(ids):
            query = (
                "SELECT id, article_id, title, text, fields, vectors FROM payloads"
                f" WHERE id IN ({_marks(part)})"
            )
            for chunk_id, article_id, title, text, fields, vectors in self._db().execute(
                query, part
            ):
                found[chunk_id] = _decode(article_id, title, text, fields, vectors, dimension)
        return found

    def texts(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """(title, text) of those ids that have a payload (no JSON, no vectors)."""
        found: dict[str, tuple[str, str]] = {}
        for part in _batches(ids):
            query = f"SELECT id, title, text FROM payloads WHERE id IN ({_marks(part)})"
            found.update(
                (chunk_id, (title, _unzip(text)))
                for chunk_id, title, text in self._db().execute(query, part)
            )
        return found

    def article_chunk_ids(self, article_id: str) -> list[str]:
        """The ids of an article's chunks (by an index: Chroma's metadata filter
        took 49 ms for this at 300k chunks)."""
        query = "SELECT id FROM payloads WHERE article_id = ?"
        return [row[0] for row in self._db().execute(query, (article_id,))]

    def sentence_counts(self, ids: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for part in _batches(ids):
            query = f"SELECT id, sentences FROM payloads WHERE id IN ({_marks(part)})"
            found.update(self._db().execute(query, part).fetchall())
        return found

    def count(self) -> int:
        return int(self._db().execute("SELECT count(*) FROM payloads").fetchone()[0])

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # Connections ---------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = _open(self.path)
        return db

    def _write(self) -> "_Transaction":
        return _Transaction(self._db())


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on an error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")


def _open(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=60, isolation_level=None)
    db.execute(f"PRAGMA page_size = {_PAGE_SIZE}")  # only takes on a new, empty file
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    # Fold the log into the file every 4 MB and cut it back after: WAL pages
    # are 32 KB, so SQLite's default (1,000 pages) would let it reach 32 MB.
    db.execute(f"PRAGMA wal_autocheckpoint = {_WAL_PAGES}")
    db.execute(f"PRAGMA journal_size_limit = {_WAL_PAGES * _PAGE_SIZE}")
    db.execute(
        "CREATE TABLE IF NOT EXISTS payloads (id TEXT PRIMARY KEY, article_id TEXT NOT NULL,"
        " title TEXT NOT NULL, sentences INTEGER NOT NULL, text BLOB NOT NULL,"
        " fields TEXT NOT NULL, vectors BLOB NOT NULL)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS payloads_by_article ON payloads (article_id)")
    db.execute("CREATE TABLE IF NOT EXISTS about (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute(
        "INSERT OR IGNORE INTO about (key, value) VALUES ('store_id', ?)", (uuid.uuid4().hex,)
    )
    return db


def payload_fields(payload: ChunkPayload) -> dict[str, Any]:
    """A payload's offsets and small fields as JSON-ready values (no text, no vectors)."""
    return {
        "start": payload.start,
        "end": payload.end,
        "index": payload.index,
        "sentences": [offset for span in payload.sentences for offset in span],
        "lead": list(payload.lead) if payload.lead else None,
        "lead_text": payload.lead_text,
        "embed_key": payload.embed_key,
        "pages": list(payload.pages),
    }


def payload_from_fields(
    fields: dict[str, Any], article_id: str, title: str, text: str, vectors: bytes, dimension: int
) -> ChunkPayload:
    """The inverse of ``payload_fields``, given what it leaves out."""
    flat = fields["sentences"]
    return ChunkPayload(
        text=text,
        article_id=article_id,
        title=title,
        start=fields["start"],
        end=fields["end"],
        index=fields["index"],
        sentences=tuple(zip(flat[0::2], flat[1::2])),
        lead=(fields["lead"][0], fields["lead"][1]) if fields["lead"] else None,
        lead_text=fields["lead_text"],
        embed_key=fields["embed_key"],
        pages=tuple(fields["pages"]),
        sentence_vectors=dequantize(vectors, len(flat) // 2, dimension),
    )


def _encode(chunk_id: str, payload: ChunkPayload) -> tuple[str, str, str, int, bytes, str, bytes]:
    vectors = b"" if payload.sentence_vectors is None else quantize(payload.sentence_vectors)
    return (
        chunk_id,
        payload.article_id,
        payload.title,
        len(payload.sentences),
        zlib.compress(payload.text.encode("utf-8"), 6),
        json.dumps(payload_fields(payload), separators=(",", ":")),
        vectors,
    )


def _decode(
    article_id: str, title: str, text: bytes, fields_json: str, vectors: bytes, dimension: int
) -> ChunkPayload:
    return payload_from_fields(
        json.loads(fields_json), article_id, title, _unzip(text), vectors, dimension
    )


def _unzip(text: bytes) -> str:
    return zlib.decompress(text).decode("utf-8")


def quantize(vectors: np.ndarray) -> bytes:
    """Unit vectors as int8, each row scaled so its largest entry is ±127.

    A quarter of float32; rows are re-normalised on read (``dequantize``) and
    the cosine with the original stays above 0.9999, far below anything
    ranking notices (tests/test_ingest.py).
    """
    if not len(vectors):
        return b""
    peaks = np.abs(vectors).max(axis=1, keepdims=True)
    scaled = (
        np.divide(vectors, peaks, out=np.zeros_like(vectors, dtype=np.float32), where=peaks > 0)
        * 127
    )
    return np.rint(scaled).astype(np.int8).tobytes()


def dequantize(packed: bytes, rows: int, dimension: int) -> np.ndarray | None:
    """The inverse of ``quantize``; None when absent or not ``rows`` vectors of
    ``dimension`` (written by something else)."""
    if not packed or rows == 0:
        return None
    flat = np.frombuffer(packed, dtype=np.int8).astype(np.float32)
    if flat.size != rows * dimension:
        return None
    matrix = flat.reshape(rows, dimension)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def _batches(ids: Sequence[str]) -> Iterable[list[str]]:
    ids = list(ids)
    for i in range(0, len(ids), _BATCH):
        yield ids[i : i + _BATCH]


def _marks(part: Sequence[str]) -> str:
    return ",".join("?" * len(part))
