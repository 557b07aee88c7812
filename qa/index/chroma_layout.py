"""The chroma layout: everything an app host needs to answer is in Chroma.

Each chunk's record carries its payload (text, offsets, sentence spans and
int8 sentence vectors) in one compact metadata string, ``payload``: zlib'd
JSON and the vectors, base64, never filtered on. No document is stored, so
Chroma builds no full-text index of it. Every write appends the chunk ids it
touched to the change log (``qa.index.change_log``), from which each host's
caches follow (``qa.index.log_follower``). So a host needs no folder but
its caches: delete it and it rebuilds them from Chroma alone.

Writers on several hosts share no lock. What keeps them from losing or
doubling a chunk:

- chunk ids carry the article's version (its content hash), and chunks are
  upserted: two hosts writing the same article end with one copy of it;
- nothing is deleted before a write; after its upserts a writer keeps, of
  every article it wrote, only the newest version (the highest ``written_at``
  stamp; equal stamps: the higher content hash) and deletes the rest. Both
  writers of a conflicting pair run that after their own upserts, so the last
  to finish sees both versions: the version stamped last wins, on every host.
"""

from __future__ import annotations

import base64
import json
import socket
import zlib
from collections import defaultdict
from typing import Any, Iterable, Sequence

import numpy as np

from qa.config import Settings
from qa.index.change_log import ChangeLog, now_ms
from qa.index.chroma import ChunkCollection
from qa.index.layout import refuse_other
from qa.index.payloads import ChunkPayload, payload_fields, payload_from_fields, quantize
from qa.index.records import legacy_payload, legacy_sentence_count, write_records
from qa.index.values import ArticleWrite

WRITE_BATCH = 500  # records per upsert (a payload is a few KB of metadata)


class ChromaLayout:
    """Payloads in the chunk records themselves, and a change log beside them."""

    name = "chroma"
    versioned_ids = True

    def __init__(self, settings: Settings, chroma: ChunkCollection, dimension: int) -> None:
        self.settings = settings
        self._chroma = chroma
        self._dimension = dimension
        self.log = ChangeLog(lambda: chroma.client, f"{chroma.name}-log", socket.gethostname())

    def check(self, metadata: dict[str, Any]) -> None:
        refuse_other(metadata.get("layout", ""), self.name, self.settings)

    # Writes ----------------------------------------------------------------------------
    def write(self, writes: Sequence[ArticleWrite]) -> None:
        stamp = now_ms()
        records = write_records(writes)
        chunks = self._chroma.collection
        for i in range(0, len(records), WRITE_BATCH):
            part = records[i : i + WRITE_BATCH]
            ids = [cid for cid, _, _, _ in part]
            self.log.append(ids)  # first: a writer killed mid-call still leaves its record
            chunks.upsert(
                ids=ids,
                embeddings=np.stack([vector for _, vector, _, _ in part]),
                metadatas=[
                    {
                        **meta,
                        "payload": encode_payload(payload),
                        "sentence_count": len(payload.sentences),
                        "written_at": stamp,
                    }
                    for _, _, meta, payload in part
                ],
            )
        self._keep_newest([w.article.id for w in writes])
        self.log.compact(self.settings.log_keep_seconds)

    def _keep_newest(self, article_ids: Sequence[str]) -> None:
        """Delete every version but the newest of these articles (see the module)."""
        versions: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        stamps: dict[tuple[str, str], int] = {}
        for start in range(0, len(article_ids), 500):
            where = {"article_id": {"$in": list(article_ids[start : start + 500])}}
            for ids, metas, _ in self._chroma.pages(include=["metadatas"], where=where):
                for cid, meta in zip(ids, metas):
                    version = (meta["article_id"], str(meta.get("content_hash", "")))
                    versions[version[0]][version[1]].append(cid)
                    stamps[version] = max(stamps.get(version, 0), int(meta.get("written_at", 0)))
        stale: list[str] = []
        for article_id, by_hash in versions.items():
            newest = max(by_hash, key=lambda h: (stamps[(article_id, h)], h))
            stale += [cid for h, ids in by_hash.items() if h != newest for cid in ids]
        self.delete(stale)

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self.log.append(ids)  # first, as for writes
            self._chroma.collection.delete(ids=list(ids))

    def move_old_records(self, on_batch: Any = None) -> int:
        return 0  # records of the old layout carry their payload in Chroma already

    # Reads -----------------------------------------------------------------------------
    def payloads(self, got: dict[str, Any]) -> dict[str, ChunkPayload]:
        documents = got.get("documents") or [None] * len(got["ids"])
        return {
            cid: self._payload(meta, doc)
            for cid, doc, meta in zip(got["ids"], documents, got["metadatas"])
        }

    def _payload(self, meta: dict[str, Any], document: str | None) -> ChunkPayload:
        packed = meta.get("payload")
        if not packed:
            return legacy_payload(document, meta, self._dimension)
        return decode_payload(packed, meta, self._dimension)

    def texts(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        if not ids:
            return {}
        got = self._chroma.collection.get(ids=list(ids), include=["metadatas", "documents"])
        texts = self.page_texts(got["ids"], got["metadatas"], got["documents"] or [])
        return {
            cid: (meta.get("title", ""), text)
            for cid, meta, text in zip(got["ids"], got["metadatas"], texts)
        }

    def page_texts(
        self, ids: Sequence[str], metas: Sequence[dict[str, Any]], docs: Sequence[str]
    ) -> list[str]:
        docs = list(docs) or [""] * len(ids)
        return [
            payload_text(meta["payload"]) if meta.get("payload") else (doc or "")
            for meta, doc in zip(metas, docs)
        ]

    def article_chunk_ids(self, article_id: str) -> list[str]:
        return []  # Chroma's own filter by article

    def sentence_counts(self, ids: Sequence[str], metas: Sequence[dict[str, Any]]) -> Iterable[int]:
        return (
            int(meta["sentence_count"]) if "sentence_count" in meta else legacy_sentence_count(meta)
            for meta in metas
        )


# The payload string ----------------------------------------------------------------------
def encode_payload(payload: ChunkPayload) -> str:
    """``<base64 zlib JSON of the text and offsets>.<base64 int8 sentence vectors>``."""
    fields = {"text": payload.text, **payload_fields(payload)}
    body = zlib.compress(json.dumps(fields, separators=(",", ":")).encode("utf-8"), 6)
    vectors = b"" if payload.sentence_vectors is None else quantize(payload.sentence_vectors)
    return f"{base64.b64encode(body).decode('ascii')}.{base64.b64encode(vectors).decode('ascii')}"


def _fields(packed: str) -> dict[str, Any]:
    body = packed.split(".", 1)[0]
    fields: dict[str, Any] = json.loads(zlib.decompress(base64.b64decode(body)))
    return fields


def payload_text(packed: str) -> str:
    return str(_fields(packed)["text"])


def decode_payload(packed: str, meta: dict[str, Any], dimension: int) -> ChunkPayload:
    fields = _fields(packed)
    vectors = base64.b64decode(packed.split(".", 1)[1]) if "." in packed else b""
    return payload_from_fields(
        fields, meta["article_id"], meta.get("title", ""), fields["text"], vectors, dimension
    )
