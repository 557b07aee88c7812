"""The index's facade: ``ArticleStore`` joins the chunk collection in Chroma with
the payload store for every read and write. The rest of the package reaches
Chroma and the payloads only through it.

What Chroma and the payload store each keep of a chunk is the record layout
(``qa.index.records``). The per-article manifest used for idempotent ingest
is read back from chunk metadata, and the lexical index is rebuilt from
chunk texts, so Chroma plus the index folder are the whole state: several
processes share them (a Chroma server and one folder). The collection
metadata records the embedding model, the payload store it belongs with, and
a revision number that every write increments (``qa.index.chroma``).

The layout is cut by what each part holds, so each can change alone (a
server-mode layout can be a file of its own beside the embedded one):

- ``qa.index.values``: the values the store takes and gives (``ArticleEntry``,
  ``ArticleWrite``, ``ChunkChanges``, ``IndexStats``);
- ``qa.index.records``: what a record holds, in Chroma and in the payload store;
- ``qa.index.chroma``: the client, the collection, its metadata and revision;
- ``qa.index.embedded_chroma``: what only an embedded client needs (one opener
  at a time, reopening after other processes' writes);
- ``qa.index.payloads``: the payload store;
- this module: the join, and the checks that the two halves belong together.

The values and ``pack_vectors`` / ``unpack_vectors`` are re-exported here,
where their users import them. ``qa.index.vectorstore`` reads the store
through a protocol of its own and never imports this module; this module
imports it only when the LangChain adapter is first asked for, so there is
no import circle and importing the store loads no LangChain vector store.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from qa.collections import DEFAULT, CollectionInfo, parse_registry, registry_text
from qa.config import Settings
from qa.errors import IndexModelMismatch
from qa.index.change_log import ChangeLog
from qa.index.chroma import ChunkCollection
from qa.index.embeddings import Embedder, PassageVectors
from qa.index.folder_layout import WRITE_BATCH
from qa.index.layout import RecordLayout, layout_for_new_index, open_layout
from qa.index.records import manifest_entries, pack_vectors, stored_chunk, unpack_vectors
from qa.index.values import ArticleEntry, ArticleWrite, ChunkChanges, IndexStats
from qa.results import SentenceKey, StoredChunk

if TYPE_CHECKING:
    from qa.index.vectorstore import ArticleVectorStore

__all__ = [
    "ArticleEntry",
    "ArticleStore",
    "ArticleWrite",
    "ChunkChanges",
    "IndexStats",
    "pack_vectors",
    "unpack_vectors",
]

_ID_SETS = 16  # id sets remembered per revision (one per collection asked)


class ArticleStore:
    """Chunk vectors in Chroma, their payloads beside it, and the reads retrieval needs."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self.location = settings.chroma_url or str(settings.index_dir.resolve())
        self._chroma = ChunkCollection(
            settings,
            metadata={
                "embedding_model": embedder.name,
                "dimension": embedder.dimension,
                "revision": 0,
                "layout": layout_for_new_index(settings).value,  # set when created, atomically
            },
        )
        self._check_model()
        self._layout: RecordLayout = open_layout(settings, self._chroma, embedder.dimension)
        self._chroma.clock_revisions = self._layout.versioned_ids
        self._chroma.drop_legacy_sentence_collection()
        self._vectorstore: ArticleVectorStore | None = None  # made on first use
        self._id_sets: dict[tuple[int, str], frozenset[str]] = {}
        self.follow_other_writers()  # a client this process opened earlier may be stale

    @property
    def _client(self) -> Any:
        """The Chroma client now in use (it changes when the path is reopened)."""
        return self._chroma.client

    @property
    def _chunks(self) -> Any:
        """The Chroma collection now in use (it changes when the path is reopened)."""
        return self._chroma.collection

    @property
    def _payloads(self) -> Any:
        """The folder layout's payload store (for checks: the store itself reads
        payloads through its layout)."""
        return self._layout._payloads  # type: ignore[attr-defined]

    @property
    def layout(self) -> str:
        """Where chunk payloads live: "folder" or "chroma" (``qa.index.layout``)."""
        return self._layout.name

    @property
    def versioned_ids(self) -> bool:
        """Whether chunk ids carry their article's version (the chroma layout's writers)."""
        return self._layout.versioned_ids

    @property
    def change_log(self) -> ChangeLog | None:
        """The chroma layout's change log, which a host's caches follow; None otherwise."""
        return getattr(self._layout, "log", None)

    def _check_model(self) -> None:
        built_with = (self._chunks.metadata or {}).get("embedding_model")
        if built_with and built_with != self.embedder.name:
            raise IndexModelMismatch(
                f"the index at {self.location} was built with embedding model {built_with!r}, "
                f"not {self.embedder.name!r}: set QA_EMBEDDING_MODEL={built_with} or use "
                "another QA_INDEX_DIR / QA_CHROMA_COLLECTION (or delete the index to rebuild it)"
            )

    # Writes -------------------------------------------------------------------------
    def write_articles(self, writes: Sequence[ArticleWrite]) -> None:
        """Add articles' chunks and sentences, replacing older versions of them
        (each layout says how: ``qa.index.folder_layout``, ``qa.index.chroma_layout``)."""
        self._layout.write(writes)

    def move_old_records(self, on_batch: Callable[[int, int], None] | None = None) -> int:
        """Move records of the old layout (text and sentence vectors in Chroma) into
        the payload store; how many moved. Call under the write lock."""
        return self._layout.move_old_records(on_batch)

    def remove_articles(self, article_ids: Sequence[str]) -> None:
        if article_ids:
            ids = self._chroma.ids_where({"article_id": {"$in": list(article_ids)}})
            self._layout.delete(sorted(ids))

    def bump_revision(self) -> int:
        """Mark the index as changed, so derived indexes know to rebuild; the new
        revision. The model is recorded with it (``ChunkCollection.bump_revision``)."""
        return self._chroma.bump_revision(
            embedding_model=self.embedder.name, dimension=self.embedder.dimension
        )

    # Reads --------------------------------------------------------------------------
    def revision(self) -> int:
        """The index's revision; when another process has written since this
        process last looked, its writes are followed first (``follow_other_writers``)."""
        revision = self._read_revision()
        self.follow_other_writers(revision)
        return revision

    def follow_other_writers(self, revision: int | None = None) -> None:
        """See what other processes wrote to a local index: when the revision has
        moved past what this process's client reflects, the path is reopened
        (``ChunkCollection.follow_other_writers`` says why; a ``chroma run``
        server needs none of this). Writers call this under the write lock
        before writing.
        """
        if self.settings.chroma_url:
            return
        revision = self._read_revision() if revision is None else revision
        if self._chroma.follow_other_writers(revision):
            self._vectorstore = None

    def _read_revision(self) -> int:
        metadata = self._chroma.metadata()
        self._layout.check(metadata)
        return int(metadata.get("revision", 0))

    def manifest(self, article_ids: Sequence[str] | None = None) -> dict[str, ArticleEntry]:
        """Articles in the index with their content hash and chunk ids: all of them,
        or only those of ``article_ids`` (a small write need not read the whole index).

        An article with fewer chunks than it was written with (a writer killed
        between two batches) gets no hash, so the next ingest rewrites it.
        """
        where = None if article_ids is None else {"article_id": {"$in": list(article_ids)}}
        if where is not None and not article_ids:
            return {}
        return manifest_entries(
            (chunk_id, meta)
            for ids, metas, _ in self._chroma.pages(include=["metadatas"], where=where)
            for chunk_id, meta in zip(ids, metas)
        )

    def iter_chunks(self) -> Iterator[tuple[str, str, str]]:
        """(chunk id, article title, chunk text) for every chunk, page by page."""
        for ids, metas, docs in self._chroma.pages(include=["metadatas", "documents"]):
            texts = self._layout.page_texts(ids, metas, docs)
            for chunk_id, meta, text in zip(ids, metas, texts):
                yield chunk_id, meta.get("title", ""), text

    def nearest(
        self, query_vector: np.ndarray, n: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """Ids and cosine similarities of the ``n`` nearest chunks.

        Asks Chroma for ids and distances only: fetching documents and metadata
        for every candidate costs more than the search itself, and only the
        few that survive fusion are read (``chunks``).
        """
        if n < 1:
            return []
        found = self._chunks.query(
            query_embeddings=[query_vector], n_results=n, include=["distances"], where=where
        )
        return [(cid, 1.0 - float(d)) for cid, d in zip(found["ids"][0], found["distances"][0])]

    def count(self) -> int:
        """How many chunks the index holds (cheap: ``stats`` reads every record)."""
        return int(self._chunks.count())

    def ids_where(self, where: dict[str, Any] | None) -> set[str]:
        """The ids of the chunks whose metadata passes ``where``, or of all chunks
        for None (ids only: cheap)."""
        return self._chroma.ids_where(where)

    def ids_in(self, where: dict[str, Any], revision: int) -> frozenset[str]:
        """``ids_where`` remembered for the index's ``revision``: a collection's chunk
        ids are read once per write, not once per question."""
        key = (revision, json.dumps(where, sort_keys=True))
        found = self._id_sets.get(key)
        if found is None:
            found = frozenset(self.ids_where(where))
            self._id_sets = {k: v for k, v in self._id_sets.items() if k[0] == revision}
            if len(self._id_sets) >= _ID_SETS:
                self._id_sets.pop(next(iter(self._id_sets)))
            self._id_sets[key] = found
        return found

    # Collections --------------------------------------------------------------------
    def collections(self) -> dict[str, CollectionInfo]:
        """The index's collections, read afresh (another process may have made one)."""
        return parse_registry(self._chroma.metadata().get("collections"))

    def save_collections(self, collections: dict[str, CollectionInfo]) -> None:
        """Record the collection list (the caller holds the write lock) and move the
        revision, so every process reads the new list."""
        metadata = self._chroma.metadata()
        metadata["collections"] = registry_text(collections)
        self._chroma.save_metadata(metadata)
        self.bump_revision()

    def label_unlabelled(self, collection: str = DEFAULT) -> int:
        """Give chunks written before collections existed their collection's label
        (metadata only: nothing is re-embedded); how many were labelled. Needed once,
        before a second collection makes questions name theirs in the search."""
        unlabelled: list[tuple[str, dict[str, Any]]] = []
        for ids, metas, _ in self._chroma.pages(include=["metadatas"]):
            unlabelled += [(cid, m) for cid, m in zip(ids, metas) if "collection" not in m]
        for i in range(0, len(unlabelled), WRITE_BATCH):
            part = unlabelled[i : i + WRITE_BATCH]
            self._chunks.update(
                ids=[cid for cid, _ in part],
                metadatas=[{**meta, "collection": collection} for _, meta in part],
            )
        if unlabelled:
            self.bump_revision()
        return len(unlabelled)

    @property
    def vectorstore(self) -> ArticleVectorStore:
        """The index as a LangChain ``VectorStore`` (read-only: writes go through ingest).

        Imported here, on first use: only LangChain code of the user's own asks for it.
        """
        if self._vectorstore is None:
            from qa.index.vectorstore import ArticleVectorStore

            self._vectorstore = ArticleVectorStore(self)
        return self._vectorstore

    def chunks(self, ids: Sequence[str]) -> dict[str, tuple[StoredChunk, np.ndarray]]:
        """Chunks by id, with their vectors."""
        if not ids:
            return {}
        got = self._chunks.get(ids=list(ids), include=["metadatas", "documents", "embeddings"])
        return self._read_chunks(got)

    def _read_chunks(self, got: dict[str, Any]) -> dict[str, tuple[StoredChunk, np.ndarray]]:
        """Chroma's records joined with their payloads (or, for old records, their own)."""
        payloads = self._layout.payloads(got)
        return {
            cid: (stored_chunk(cid, meta, payloads[cid]), np.asarray(vec, dtype=np.float32))
            for cid, meta, vec in zip(got["ids"], got["metadatas"], got["embeddings"])
        }

    def article_text(self, article_id: str) -> str:
        """The article's text rebuilt from its chunks at their offsets (what lies
        between two chunks is whitespace: a paragraph break when it was two or more
        characters), so offsets into it are the citations' offsets."""
        chunks = sorted(
            (c for c, _ in self.article_chunks(article_id, 10_000).values()), key=lambda c: c.start
        )
        parts: list[str] = []
        at = 0
        for chunk in chunks:
            gap = chunk.start - at
            parts.append(("\n\n" + " " * (gap - 2)) if gap >= 2 else " " * max(gap, 0))
            parts.append(chunk.text)
            at = chunk.end
        return "".join(parts)

    def article_chunks(
        self, article_id: str, limit: int
    ) -> dict[str, tuple[StoredChunk, np.ndarray]]:
        """Up to ``limit`` chunks of one article, with their vectors.

        The ids come from the payload store's index by article, then Chroma
        reads them by id: its own metadata filter took 49 ms at 300k chunks,
        by id 4. An article from before the payload store is found by the filter.
        """
        include = ["metadatas", "documents", "embeddings"]
        ids = self._layout.article_chunk_ids(article_id)
        if ids:  # any left behind by a crashed delete are not in Chroma: skipped
            got = self._chunks.get(ids=ids, include=include)
            got = {key: got[key][:limit] for key in ("ids", *include) if got.get(key) is not None}
        else:
            got = self._chunks.get(where={"article_id": article_id}, limit=limit, include=include)
        return self._read_chunks(got)

    def texts(self, ids: Sequence[str]) -> dict[str, str]:
        """Chunk texts by id, titles first: cheap (no metadata, no vectors)."""
        if not ids:
            return {}
        return {cid: f"{title}\n{text}" for cid, (title, text) in self._layout.texts(ids).items()}

    def existing(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` the index holds (ids only: cheap)."""
        found: set[str] = set()
        for start in range(0, len(ids), 1000):
            part = list(ids[start : start + 1000])
            found.update(self._chunks.get(ids=part, include=[])["ids"])
        return found

    def titled_texts(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """(title, text) of those chunks that exist, by id."""
        return self._layout.texts(ids) if ids else {}

    def stored_vectors(self, ids: Sequence[str]) -> dict[str, PassageVectors]:
        """The vectors of stored chunks by their embed key, for reuse by identical text."""
        return {
            chunk.embed_key: PassageVectors(vector, chunk.sentence_vectors)
            for chunk, vector in self.chunks(ids).values()
            if chunk.embed_key and chunk.sentence_vectors is not None
        }

    @staticmethod
    def sentence_vectors(chunks: Sequence[StoredChunk]) -> dict[SentenceKey, np.ndarray]:
        """Context-aware sentence vectors of the given chunks, keyed by article span."""
        found: dict[SentenceKey, np.ndarray] = {}
        for chunk in chunks:
            if chunk.sentence_vectors is not None:
                found.update(zip(chunk.sentence_keys(), chunk.sentence_vectors))
        return found

    def stats(self, where: dict[str, Any] | None = None) -> IndexStats:
        """Counts of what the index holds (of what passes ``where``, when given)."""
        articles: set[str] = set()
        chunks = sentences = 0
        for ids, metas, _ in self._chroma.pages(include=["metadatas"], where=where):
            chunks += len(metas)
            articles.update(meta["article_id"] for meta in metas)
            sentences += sum(self._layout.sentence_counts(ids, metas))
        return IndexStats(
            articles=len(articles),
            chunks=chunks,
            sentences=sentences,
            embedding_model=self.embedder.name,
            location=self.location,
            revision=self.revision(),
        )
