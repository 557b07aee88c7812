"""The folder layout: chunk payloads in a payload store in the index folder.

Chroma keeps what it searches and filters (the chunk vector, the article's
fields); the text, offsets and sentence vectors live in ``qa.index.payloads``,
one compact row per chunk (docs/scaling.md: ≤ 8 KB a chunk with Chroma's
own bytes). Every process on the index must see the folder; with a Chroma
server that means one folder for all of them (the chroma layout lifts that).
Records from before the payload store still carry all of it in Chroma and
are read as they are (``legacy_payload``), or moved by ``move_old_records``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np

from qa.config import Settings
from qa.errors import ConfigError
from qa.index.chroma import ChunkCollection
from qa.index.layout import refuse_other
from qa.index.payloads import ChunkPayload, PayloadStore
from qa.index.records import (
    is_old_record,
    legacy_payload,
    legacy_sentence_count,
    without_old_fields,
    write_records,
)
from qa.index.values import ArticleWrite

WRITE_BATCH = 1000  # records per Chroma call (tests/test_writers.py makes it small here)


class FolderLayout:
    """Payloads in ``QA_INDEX_DIR/chunks/<collection>.sqlite3``, recorded by id in Chroma."""

    name = "folder"
    versioned_ids = False

    def __init__(self, settings: Settings, chroma: ChunkCollection, dimension: int) -> None:
        self.settings = settings
        self._chroma = chroma
        self._dimension = dimension
        self._payloads = PayloadStore(
            settings.index_dir / "chunks" / f"{settings.chroma_collection}.sqlite3"
        )
        metadata = chroma.metadata()
        self._check(metadata)
        self._checked = metadata.get("payload_store")

    @property
    def location(self) -> str:
        return self.settings.chroma_url or str(self.settings.index_dir.resolve())

    def check(self, metadata: dict[str, Any]) -> None:
        refuse_other(metadata.get("layout", ""), self.name, self.settings)
        if metadata.get("payload_store") != self._checked:
            self._check(metadata)  # a first write elsewhere may have claimed it
            self._checked = metadata.get("payload_store")

    def _check(self, metadata: dict[str, Any]) -> None:
        """Refuse a collection whose payloads live in another folder's store.

        With a Chroma server, each process's ``QA_INDEX_DIR`` must be the same
        folder: the chunk texts and sentence vectors are there, not in Chroma.
        A store left behind by a deleted collection is emptied instead.
        """
        recorded = metadata.get("payload_store")
        if recorded:
            if not self._payloads.exists() or self._payloads.store_id != recorded:
                raise ConfigError(
                    f"the collection {self.settings.chroma_collection!r} at {self.location} keeps "
                    f"its chunk texts and sentence vectors in another index folder than "
                    f"{self.settings.index_dir} (no {self._payloads.path} with store id "
                    f"{recorded}): set QA_INDEX_DIR to the folder the index was written from"
                )
        elif (
            self._payloads.exists()
            and self._payloads.count()
            and self._chroma.collection.count() == 0
        ):
            self._payloads.reset()

    def _claim(self) -> None:
        """Record this folder's payload store in the collection before its first write."""
        metadata = self._chroma.metadata()
        if metadata.get("payload_store") == self._payloads.store_id:
            return
        self._check(metadata)  # another folder may have claimed it meanwhile
        refuse_other(metadata.get("layout", ""), self.name, self.settings)
        metadata["payload_store"] = self._payloads.store_id
        metadata["layout"] = self.name
        self._chroma.save_metadata(metadata)

    # Writes ----------------------------------------------------------------------------
    def write(self, writes: Sequence[ArticleWrite]) -> None:
        """Add articles' chunks, replacing older versions of them.

        Everything is written in a few large batches: Chroma's cost is per
        call, and deleting by metadata scans the collection, so only articles
        that really replace an older version are deleted first.
        """
        self._claim()
        replaced = [w.article.id for w in writes if w.replaces]
        if replaced:
            self.delete(sorted(self._chroma.ids_where({"article_id": {"$in": replaced}})))
        records = write_records(writes)
        for i in range(0, len(records), WRITE_BATCH):
            part = records[i : i + WRITE_BATCH]
            # payloads first: a chunk Chroma can find always has one
            self._payloads.put((cid, payload) for cid, _, _, payload in part)
            self._chroma.collection.add(
                ids=[cid for cid, _, _, _ in part],
                embeddings=np.stack([vector for _, vector, _, _ in part]),
                metadatas=[meta for _, _, meta, _ in part],
            )

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._chroma.collection.delete(ids=list(ids))
            self._payloads.delete(ids)  # after Chroma: at worst a payload outlives its chunk

    def move_old_records(self, on_batch: Callable[[int, int], None] | None = None) -> int:
        """Move records of the old layout (text and packed sentence vectors in
        Chroma) into the payload store, in place: their payload is written
        first, then the record loses those fields (its document becomes empty:
        Chroma cannot drop one without deleting the record). Returns how many
        moved; ``on_batch(done, total)`` after each batch. Call under the write lock.
        """
        old = [
            chunk_id
            for ids, metas, docs in self._chroma.pages(include=["metadatas", "documents"])
            for chunk_id, meta, doc in zip(ids, metas, docs)
            if is_old_record(doc, meta)
        ]
        if old:
            self._claim()
        chunks = self._chroma.collection
        for done in range(0, len(old), WRITE_BATCH):
            batch = old[done : done + WRITE_BATCH]
            got = chunks.get(ids=batch, include=["metadatas", "documents", "embeddings"])
            self._payloads.put(
                (cid, legacy_payload(doc, meta, self._dimension))
                for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"])
            )
            chunks.update(
                ids=got["ids"],
                embeddings=got["embeddings"],  # given, so Chroma does not embed the new text
                documents=[""] * len(got["ids"]),
                metadatas=[without_old_fields(meta) for meta in got["metadatas"]],
            )
            if on_batch:
                on_batch(done + len(batch), len(old))
        return len(old)

    # Reads -----------------------------------------------------------------------------
    def payloads(self, got: dict[str, Any]) -> dict[str, ChunkPayload]:
        stored = self._payloads.get(got["ids"], self._dimension)
        documents = got.get("documents") or [None] * len(got["ids"])
        return {
            cid: stored.get(cid) or legacy_payload(doc, meta, self._dimension)
            for cid, doc, meta in zip(got["ids"], documents, got["metadatas"])
        }

    def texts(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        found = self._payloads.texts(ids)
        old = [cid for cid in ids if cid not in found]  # records from before the payload store
        if old:
            got = self._chroma.collection.get(ids=old, include=["documents", "metadatas"])
            found.update(
                (cid, ((meta or {}).get("title", ""), doc or ""))
                for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"])
            )
        return found

    def page_texts(
        self, ids: Sequence[str], metas: Sequence[dict[str, Any]], docs: Sequence[str]
    ) -> list[str]:
        texts = self._payloads.texts(ids)
        return [texts.get(cid, ("", doc or ""))[1] for cid, doc in zip(ids, docs)]

    def article_chunk_ids(self, article_id: str) -> list[str]:
        return self._payloads.article_chunk_ids(article_id)

    def sentence_counts(self, ids: Sequence[str], metas: Sequence[dict[str, Any]]) -> Iterable[int]:
        counts = self._payloads.sentence_counts(ids)
        return (
            counts[cid] if cid in counts else legacy_sentence_count(meta)
            for cid, meta in zip(ids, metas)
        )
