"""The index: a Chroma collection beside a payload store; the only module that talks to Chroma.

One collection, ``<name>``, holds one record per chunk: its vector and the
article's fields that filters and the manifest read (article id, title,
content hash, chunk count, origin, source, url, date, category, author).
What only a citation or the reader needs (the chunk's text, offsets,
sentence spans and the sentences' context-aware vectors) is read with the
chunk, never searched or filtered, so it lives in ``qa.index.payloads``,
stored once and compact, instead of in Chroma's metadata and full-text
tables, which store it two to three times. Records from before the payload
store carry all of it in Chroma and are still read (``_legacy_payload``).

The per-article manifest used for idempotent ingest is read back from chunk
metadata, and the lexical index is rebuilt from chunk texts, so Chroma plus
the index folder are the whole state: several processes share them (a
Chroma server and one folder). The collection metadata records the embedding
model, the payload store it belongs with, and a revision number that every
write increments.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence
from urllib.parse import urlparse

import numpy as np

from qa.index.articles import Article
from qa.index.chunking import Chunk
from qa.collections import DEFAULT, CollectionInfo, parse_registry, registry_text
from qa.config import Settings
from qa.index.embeddings import Embedder, PassageVectors
from qa.index.payloads import ChunkPayload, PayloadStore, dequantize, quantize
from qa.errors import ConfigError, IndexModelMismatch
from qa.filters import day_number, parse_day
from qa.results import SentenceKey, StoredChunk

log = logging.getLogger(__name__)
_PAGE = 2000
_WRITE_BATCH = 1000
_ID_SETS = 16  # id sets remembered per revision (one per collection asked)


@dataclass(frozen=True)
class ArticleEntry:
    """What the index knows of one article: enough to decide whether to re-embed it."""

    article_id: str
    content_hash: str
    origin: str
    title: str
    chunk_ids: tuple[str, ...]
    source: str = ""
    url: str = ""
    published: str = ""
    category: str = ""
    author: str = ""
    collection: str = DEFAULT  # chunks written before collections existed are default's


@dataclass(frozen=True)
class ArticleWrite:
    """One article to write: its chunks, their vectors, and the hash of what was embedded."""

    article: Article
    chunks: Sequence[Chunk]
    vectors: Sequence[PassageVectors]
    embed_keys: Sequence[str]  # what each chunk's vectors were computed from
    content_hash: str
    replaces: bool  # an older version is in the index and must go first


@dataclass
class ChunkChanges:
    """The chunks a write added and removed, so BM25 can follow without a rebuild.

    ``before`` is the index revision the write started from; ``exact`` is False
    when a failed write may have removed chunks that are not listed.
    """

    before: int = -1
    added: list[tuple[str, str, str]] = field(default_factory=list)  # (id, title, text)
    removed: list[str] = field(default_factory=list)
    exact: bool = True


@dataclass(frozen=True)
class IndexStats:
    articles: int
    chunks: int
    sentences: int
    embedding_model: str
    location: str
    revision: int
    collection: str = ""  # set by Assistant.stats(): the collection counted
    llm: str = ""  # set by Assistant.stats(): the configured model and whether it answers
    llm_answers: bool | None = None


class ArticleStore:
    """Chunk vectors in Chroma, their payloads beside it, and the reads retrieval needs."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self.location = settings.chroma_url or str(settings.index_dir.resolve())
        self._path = str(settings.index_dir / "chroma")
        metadata = {
            "embedding_model": embedder.name,
            "dimension": embedder.dimension,
            "revision": 0,
        }
        # two processes creating one new index at once raced in Chroma's own schema
        # setup ("table collections already exists"): creation is one at a time
        with _opening(settings):
            self._client = _make_client(settings)
            self._chunks = self._client.get_or_create_collection(
                settings.chroma_collection,
                metadata=metadata,
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        self._check_model()
        self._payloads = PayloadStore(
            settings.index_dir / "chunks" / f"{settings.chroma_collection}.sqlite3"
        )
        self._check_payloads(self._chunks.metadata or {})
        self._drop_legacy_sentence_collection()
        self._payloads_checked = (self._chunks.metadata or {}).get("payload_store")
        self._vectorstore: Any = None  # qa.index.vectorstore.ArticleVectorStore, on first use
        self._generation = _LocalClients.NONE
        self._id_sets: dict[tuple[int, str], frozenset[str]] = {}
        self.follow_other_writers()  # a client this process opened earlier may be stale

    def _check_model(self) -> None:
        built_with = (self._chunks.metadata or {}).get("embedding_model")
        if built_with and built_with != self.embedder.name:
            raise IndexModelMismatch(
                f"the index at {self.location} was built with embedding model {built_with!r}, "
                f"not {self.embedder.name!r}: set QA_EMBEDDING_MODEL={built_with} or use "
                "another QA_INDEX_DIR / QA_CHROMA_COLLECTION (or delete the index to rebuild it)"
            )

    def _check_payloads(self, metadata: dict[str, Any]) -> None:
        """Refuse a collection whose payloads live in another folder's store.

        With a Chroma server, each process's ``QA_INDEX_DIR`` must be the same
        folder: the chunk texts and sentence vectors are there, not in Chroma.
        A store left behind by a deleted collection is emptied instead.
        """
        recorded = metadata.get("payload_store")
        if recorded:
            if not self._payloads.exists() or self._payloads.store_id != recorded:
                raise ConfigError(
                    f"the collection {self.settings.chroma_collection!r} at {self.location} keeps its "
                    f"chunk texts and sentence vectors in another index folder than "
                    f"{self.settings.index_dir} (no {self._payloads.path} with store id "
                    f"{recorded}): set QA_INDEX_DIR to the folder the index was written from"
                )
        elif self._payloads.exists() and self._payloads.count() and self._chunks.count() == 0:
            self._payloads.reset()

    def _claim_payload_store(self) -> None:
        """Record this folder's payload store in the collection before its first write."""
        metadata = dict(self._client.get_collection(self.settings.chroma_collection).metadata or {})
        if metadata.get("payload_store") == self._payloads.store_id:
            return
        self._check_payloads(metadata)  # another folder may have claimed it meanwhile
        metadata["payload_store"] = self._payloads.store_id
        self._chunks.modify(metadata=metadata)

    def _drop_legacy_sentence_collection(self) -> None:
        """Indexes from before sentence vectors moved into chunk metadata had a
        second collection; its vectors are re-made when the articles are next
        ingested (the pipeline version changed), so it is only dead weight."""
        legacy = f"{self.settings.chroma_collection}-sentences"
        try:
            sample = self._client.get_collection(legacy).peek(1)
        except Exception:  # the usual case: there is none
            return
        metadatas = sample.get("metadatas") or [{}]
        if not sample["ids"] or "chunk_id" in (metadatas[0] or {}):  # ours, not a user's
            self._client.delete_collection(legacy)
            log.info("removed the legacy collection %s", legacy)

    # Writes -------------------------------------------------------------------------
    def write_articles(self, writes: Sequence[ArticleWrite]) -> None:
        """Add articles' chunks and sentences, replacing older versions of them.

        Everything is written in a few large batches: Chroma's cost is per
        call, and deleting by metadata scans the collection, so only articles
        that really replace an older version are deleted first.
        """
        self._claim_payload_store()
        self._delete_where_article([w.article.id for w in writes if w.replaces])
        ids, vectors, metadatas, payloads = [], [], [], []
        for write in writes:
            metadata = _article_metadata(write.article, write.content_hash, len(write.chunks))
            for chunk, vector, key in zip(write.chunks, write.vectors, write.embed_keys):
                ids.append(chunk.id)
                vectors.append(vector.passage)
                metadatas.append(metadata)
                payloads.append(_payload(write.article, chunk, key, vector.sentences))
        for i in range(0, len(ids), _WRITE_BATCH):
            part = slice(i, i + _WRITE_BATCH)
            # payloads first: a chunk Chroma can find always has one
            self._payloads.put(zip(ids[part], payloads[part]))
            self._chunks.add(
                ids=ids[part], embeddings=np.stack(vectors[part]), metadatas=metadatas[part]
            )

    def move_old_records(self, on_batch: Callable[[int, int], None] | None = None) -> int:
        """Move records of the old layout (text and packed sentence vectors in
        Chroma) into the payload store, in place: their payload is written
        first, then the record loses those fields (its document becomes empty:
        Chroma cannot drop one without deleting the record). Returns how many
        moved; ``on_batch(done, total)`` after each batch. Call under the write lock.
        """
        old = [
            chunk_id
            for ids, metas, docs in self._pages(include=["metadatas", "documents"])
            for chunk_id, meta, doc in zip(ids, metas, docs)
            if doc or "sentence_vectors" in meta
        ]
        if old:
            self._claim_payload_store()
        dimension = self.embedder.dimension
        for done in range(0, len(old), _WRITE_BATCH):
            batch = old[done : done + _WRITE_BATCH]
            got = self._chunks.get(ids=batch, include=["metadatas", "documents", "embeddings"])
            self._payloads.put(
                (cid, _legacy_payload(doc, meta, dimension))
                for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"])
            )
            self._chunks.update(
                ids=got["ids"],
                embeddings=got["embeddings"],  # given, so Chroma does not embed the new text
                documents=[""] * len(got["ids"]),
                metadatas=[_without_old_fields(meta) for meta in got["metadatas"]],
            )
            if on_batch:
                on_batch(done + len(batch), len(old))
        return len(old)

    def remove_articles(self, article_ids: Sequence[str]) -> None:
        self._delete_where_article(article_ids)

    def _delete_where_article(self, article_ids: Sequence[str]) -> None:
        if not article_ids:
            return
        ids = sorted(self.ids_where({"article_id": {"$in": list(article_ids)}}))
        if ids:
            self._chunks.delete(ids=ids)
            self._payloads.delete(ids)  # after Chroma: at worst a payload outlives its chunk

    def bump_revision(self) -> int:
        """Mark the index as changed, so derived indexes know to rebuild. The
        metadata is read afresh: another process may have bumped it since this
        one opened the collection (a cached copy would hand out its number again)."""
        metadata = dict(self._client.get_collection(self.settings.chroma_collection).metadata or {})
        metadata["revision"] = int(metadata.get("revision", 0)) + 1
        metadata["embedding_model"] = self.embedder.name
        metadata["dimension"] = self.embedder.dimension
        self._chunks.modify(metadata=metadata)
        if not self.settings.chroma_url:
            _LOCAL.wrote(self._path, metadata["revision"])
        return metadata["revision"]

    # Reads --------------------------------------------------------------------------
    def revision(self) -> int:
        """The index's revision; when another process has written since this
        process last looked, its writes are followed first (``follow_other_writers``)."""
        revision = self._read_revision()
        self.follow_other_writers(revision)
        return revision

    def follow_other_writers(self, revision: int | None = None) -> None:
        """See what other processes wrote to a local index.

        Chroma's embedded client keeps one system per path and process, with
        cached segments: after another process's write it finds the new chunk
        ids but fails to read them ("Error finding id") and its vector search
        misses them, until the path is opened again. So when the revision has
        moved past what this process's client reflects, the path is reopened
        (once for every store of the process; a ``chroma run`` server needs
        none of this). Writers call this under the write lock before writing.
        """
        if self.settings.chroma_url:
            return
        revision = self._read_revision() if revision is None else revision
        generation = _LOCAL.current(self._path, revision)
        if generation != self._generation:
            self._client = _make_client(self.settings)
            self._chunks = self._client.get_collection(
                self.settings.chroma_collection, embedding_function=None
            )
            self._vectorstore = None
            self._generation = generation

    def _read_revision(self) -> int:
        metadata = self._client.get_collection(self.settings.chroma_collection).metadata or {}
        if metadata.get("payload_store") != self._payloads_checked:
            self._check_payloads(metadata)  # a first write elsewhere may have claimed it
            self._payloads_checked = metadata.get("payload_store")
        return int(metadata.get("revision", 0))

    def manifest(self, article_ids: Sequence[str] | None = None) -> dict[str, ArticleEntry]:
        """Articles in the index with their content hash and chunk ids: all of them,
        or only those of ``article_ids`` (a small write need not read the whole index).

        An article with fewer chunks than it was written with (a writer killed
        between two batches) gets no hash, so the next ingest rewrites it.
        """
        found: dict[str, dict[str, Any]] = {}
        where = None if article_ids is None else {"article_id": {"$in": list(article_ids)}}
        if where is not None and not article_ids:
            return {}
        for ids, metas, _ in self._pages(include=["metadatas"], where=where):
            for chunk_id, meta in zip(ids, metas):
                entry = found.setdefault(
                    meta["article_id"],
                    {
                        "hash": meta.get("content_hash", ""),
                        "origin": meta.get("origin", ""),
                        "title": meta.get("title", ""),
                        "count": meta.get("chunk_count"),
                        "chunks": [],
                        "about": (
                            meta.get("source", ""),
                            meta.get("url", ""),
                            meta.get("published", ""),
                            meta.get("category", ""),
                            meta.get("author", ""),
                            meta.get("collection", DEFAULT),
                        ),
                    },
                )
                entry["chunks"].append(chunk_id)
        return {
            aid: ArticleEntry(
                aid,
                e["hash"] if _complete(e) else "",
                e["origin"],
                e["title"],
                tuple(e["chunks"]),
                *e["about"],
            )
            for aid, e in found.items()
        }

    def iter_chunks(self) -> Iterator[tuple[str, str, str]]:
        """(chunk id, article title, chunk text) for every chunk, page by page."""
        for ids, metas, docs in self._pages(include=["metadatas", "documents"]):
            texts = self._payloads.texts(ids)
            for chunk_id, meta, doc in zip(ids, metas, docs):
                yield chunk_id, meta.get("title", ""), texts.get(chunk_id, ("", doc or ""))[1]

    def _pages(
        self, include: list[str], where: dict[str, Any] | None = None
    ) -> Iterator[tuple[list[str], list[dict], list[str]]]:
        offset = 0
        while True:
            page = self._chunks.get(include=include, limit=_PAGE, offset=offset, where=where)
            if not page["ids"]:
                return
            yield page["ids"], page.get("metadatas") or [], page.get("documents") or []
            offset += len(page["ids"])

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
        return set(self._chunks.get(where=where, include=[])["ids"])

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
        metadata = self._client.get_collection(self.settings.chroma_collection).metadata or {}
        return parse_registry(metadata.get("collections"))

    def save_collections(self, collections: dict[str, CollectionInfo]) -> None:
        """Record the collection list (the caller holds the write lock) and move the
        revision, so every process reads the new list."""
        metadata = dict(self._client.get_collection(self.settings.chroma_collection).metadata or {})
        metadata["collections"] = registry_text(collections)
        self._chunks.modify(metadata=metadata)
        self.bump_revision()

    def label_unlabelled(self, collection: str = DEFAULT) -> int:
        """Give chunks written before collections existed their collection's label
        (metadata only: nothing is re-embedded); how many were labelled. Needed once,
        before a second collection makes questions name theirs in the search."""
        unlabelled: list[tuple[str, dict[str, Any]]] = []
        for ids, metas, _ in self._pages(include=["metadatas"]):
            unlabelled += [(cid, m) for cid, m in zip(ids, metas) if "collection" not in m]
        for i in range(0, len(unlabelled), _WRITE_BATCH):
            part = unlabelled[i : i + _WRITE_BATCH]
            self._chunks.update(
                ids=[cid for cid, _ in part],
                metadatas=[{**meta, "collection": collection} for _, meta in part],
            )
        if unlabelled:
            self.bump_revision()
        return len(unlabelled)

    @property
    def vectorstore(self):
        """The index as a LangChain ``VectorStore`` (read-only: writes go through ingest)."""
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
        dimension = self.embedder.dimension
        payloads = self._payloads.get(got["ids"], dimension)
        documents = got.get("documents") or [None] * len(got["ids"])
        found = {}
        for cid, doc, meta, vec in zip(got["ids"], documents, got["metadatas"], got["embeddings"]):
            payload = payloads.get(cid) or _legacy_payload(doc, meta, dimension)
            found[cid] = (_stored_chunk(cid, meta, payload), np.asarray(vec, dtype=np.float32))
        return found

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
        ids = self._payloads.article_chunk_ids(article_id)
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
        found = {cid: f"{title}\n{text}" for cid, (title, text) in self._payloads.texts(ids).items()}
        old = [cid for cid in ids if cid not in found]  # records from before the payload store
        if old:
            got = self._chunks.get(ids=old, include=["documents", "metadatas"])
            found.update(
                (cid, f"{(meta or {}).get('title', '')}\n{doc or ''}")
                for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"])
            )
        return found

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
        for ids, metas, _ in self._pages(include=["metadatas"], where=where):
            chunks += len(metas)
            articles.update(meta["article_id"] for meta in metas)
            counts = self._payloads.sentence_counts(ids)
            sentences += sum(
                counts[cid] if cid in counts else len(meta.get("sentences") or []) // 2
                for cid, meta in zip(ids, metas)
            )
        return IndexStats(
            articles=len(articles),
            chunks=chunks,
            sentences=sentences,
            embedding_model=self.embedder.name,
            location=self.location,
            revision=self.revision(),
        )


def _complete(entry: dict[str, Any]) -> bool:
    return entry["count"] is None or int(entry["count"]) == len(entry["chunks"])


class _LocalClients:
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
                _forget_shared_system(path)
                self._seen[path] = (revision, seen[1] + 1)
            return self._seen[path][1]

    def wrote(self, path: str, revision: int) -> None:
        """This process wrote ``revision`` through its client: nothing to reopen."""
        with self._lock:
            seen = self._seen.get(path, (revision, 0))
            self._seen[path] = (revision, seen[1])


_LOCAL = _LocalClients()


def _forget_shared_system(path: str) -> None:
    """Make chromadb open ``path`` anew: it keeps one system per path for the
    process. Clients already holding the old one keep it until they let go."""
    from chromadb.api.client import SharedSystemClient

    for key in [k for k in SharedSystemClient._identifier_to_system if k == path]:
        SharedSystemClient._identifier_to_system.pop(key, None)
        SharedSystemClient._identifier_to_refcount.pop(key, None)


@contextmanager
def _opening(settings: Settings) -> Iterator[None]:
    """One process at a time opens (and so perhaps creates) a local index; a Chroma
    server serialises that itself."""
    if settings.chroma_url:
        yield
        return
    import fcntl

    settings.index_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.index_dir / "open.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _make_client(settings: Settings) -> Any:
    """A Chroma client for the settings (embedded ones are shared per path)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if not settings.chroma_url:
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        path = str(settings.index_dir / "chroma")
        return chromadb.PersistentClient(path=path, settings=chroma_settings)
    url = urlparse(settings.chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(f"QA_CHROMA_URL={settings.chroma_url!r} must look like http://host:port")
    try:
        return chromadb.HttpClient(
            host=url.hostname,
            port=url.port or 8000,
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    except Exception as exc:
        raise ConfigError(
            f"cannot reach the Chroma server at {settings.chroma_url}: {exc}"
        ) from None


def _article_metadata(article: Article, content_hash: str, chunk_count: int) -> dict[str, Any]:
    """What Chroma keeps of each chunk: the article's fields that filters and
    the manifest read (empty ones left out: each is an indexed row)."""
    optional = {
        "source": article.source,
        "url": article.url,
        "published": article.published,
        "category": article.category,
        "author": article.author,
    }
    day = parse_day(article.published)
    return {
        "article_id": article.id,
        "title": article.title,
        "origin": article.origin,
        "content_hash": content_hash,
        "chunk_count": chunk_count,
        "collection": article.collection,
        **{key: value for key, value in optional.items() if value},
        **({"published_day": day_number(day)} if day else {}),
    }


def _payload(
    article: Article, chunk: Chunk, embed_key: str, sentence_vectors: np.ndarray
) -> ChunkPayload:
    return ChunkPayload(
        text=chunk.text,
        article_id=article.id,
        title=article.title,
        start=chunk.start,
        end=chunk.end,
        index=chunk.index,
        sentences=tuple(chunk.sentences),
        lead=chunk.lead,
        lead_text=article.text[chunk.lead[0] : chunk.lead[1]] if chunk.lead else "",
        embed_key=embed_key,
        pages=tuple(article.pages),
        sentence_vectors=sentence_vectors,
    )


def _legacy_payload(text: str | None, meta: dict[str, Any], dimension: int) -> ChunkPayload:
    """The payload of a record written before the payload store, from its own fields."""
    flat = list(meta.get("sentences") or [])
    return ChunkPayload(
        text=text or "",
        article_id=meta["article_id"],
        title=meta.get("title", ""),
        start=meta.get("start", 0),
        end=meta.get("end", 0),
        index=meta.get("index", 0),
        sentences=tuple(zip(flat[0::2], flat[1::2])),
        lead=(meta["lead_start"], meta["lead_end"]) if meta.get("lead_start", -1) >= 0 else None,
        lead_text=meta.get("lead_text", ""),
        embed_key=meta.get("embed_key", ""),
        pages=tuple(meta.get("pages") or ()),
        sentence_vectors=unpack_vectors(
            meta.get("sentence_vectors", ""), len(flat) // 2, dimension
        ),
    )


_OLD_FIELDS = (
    "sentence_vectors",
    "sentences",
    "lead_text",
    "lead_start",
    "lead_end",
    "start",
    "end",
    "index",
    "embed_key",
    "pages",
)


def _without_old_fields(meta: dict[str, Any]) -> dict[str, Any]:
    """An update that removes what the payload store now holds (None deletes a
    key in Chroma) and the empty strings old records stored."""
    gone = {key: None for key, value in meta.items() if key in _OLD_FIELDS or value == ""}
    return gone or {"article_id": meta["article_id"]}  # Chroma refuses an empty update


def _stored_chunk(chunk_id: str, meta: dict[str, Any], payload: ChunkPayload) -> StoredChunk:
    return StoredChunk(
        id=chunk_id,
        article_id=meta["article_id"],
        title=meta.get("title", ""),
        source=meta.get("source", ""),
        url=meta.get("url", ""),
        published=meta.get("published", ""),
        text=payload.text,
        start=payload.start,
        end=payload.end,
        sentences=payload.sentences,
        lead_text=payload.lead_text,
        lead=payload.lead,
        embed_key=payload.embed_key,
        sentence_vectors=payload.sentence_vectors,
        pages=payload.pages,
    )


def pack_vectors(vectors: np.ndarray) -> str:
    """Sentence vectors as records before the payload store held them: base64
    of ``quantize``'s int8 in a metadata string (kept to read and test those)."""
    return base64.b64encode(quantize(vectors)).decode("ascii")


def unpack_vectors(packed: str, rows: int, dimension: int) -> np.ndarray | None:
    """The inverse of ``pack_vectors``; None when absent or not ``rows`` vectors
    of ``dimension`` (a record written by something else)."""
    return dequantize(base64.b64decode(packed), rows, dimension) if packed else None
