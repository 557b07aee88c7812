"""The chunk collection in Chroma, opened: the client, the collection and its
metadata, which records the embedding model, the payload store the chunks
belong with, the article collections' list and a revision that every write
increments.

The revision is how processes sharing one index learn of each other's
writes: derived indexes (BM25) rebuild when it moves, and an embedded client
reopens its path (``qa.index.embedded_chroma``). This module knows Chroma and
nothing of what a record holds (``qa.index.records``) or of the payload store
joined to it (``qa.index.store``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, ContextManager, Iterator
from urllib.parse import urlparse

from qa.config import Settings
from qa.errors import ConfigError
from qa.index.embedded_chroma import LOCAL_CLIENTS, LocalClients, one_opener, persistent_client

log = logging.getLogger(__name__)
PAGE = 2000  # records read per call when reading the whole collection


def make_client(settings: Settings) -> Any:
    """A Chroma client for the settings (embedded ones are shared per path)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if not settings.chroma_url:
        return persistent_client(settings.index_dir, chroma_settings)
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


def opening(settings: Settings) -> ContextManager[None]:
    """One process at a time opens (and so perhaps creates) a local index; a Chroma
    server serialises that itself."""
    if settings.chroma_url:
        return contextlib.nullcontext()
    return one_opener(settings.index_dir)


class ChunkCollection:
    """The collection ``settings.chroma_collection``, created on first open.

    ``client`` and ``collection`` change when an embedded client reopens its
    path (``follow_other_writers``): hold this object, not them.
    """

    def __init__(self, settings: Settings, metadata: dict[str, Any]) -> None:
        """Open the collection, creating it with ``metadata`` when there is none."""
        self.settings = settings
        self.name = settings.chroma_collection
        self.embedded = not settings.chroma_url
        self._path = str(settings.index_dir / "chroma")
        # two processes creating one new index at once raced in Chroma's own schema
        # setup ("table collections already exists"): creation is one at a time
        with opening(settings):
            self.client = make_client(settings)
            self.collection = self.client.get_or_create_collection(
                self.name,
                metadata=metadata,
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        self._generation = LocalClients.NONE
        # revisions from the clock (unique, rising) instead of one more: writers on
        # several hosts share no lock, and two of them must not hand out one number
        self.clock_revisions = False

    def metadata(self) -> dict[str, Any]:
        """The collection's metadata read afresh (``collection.metadata`` is the copy
        read at opening; another process may have changed it since)."""
        return dict(self.client.get_collection(self.name).metadata or {})

    def save_metadata(self, metadata: dict[str, Any]) -> None:
        self.collection.modify(metadata=metadata)

    def bump_revision(self, **recorded: Any) -> int:
        """Move the revision by one, recording ``recorded`` with it. The metadata is
        read afresh: another process may have bumped it since this one opened the
        collection (a cached copy would hand out its number again)."""
        metadata = self.metadata()
        revision = int(metadata.get("revision", 0)) + 1
        if self.clock_revisions:
            revision = max(revision, time.time_ns() // 1000)
        metadata["revision"] = revision
        metadata.update(recorded)
        self.save_metadata(metadata)
        if self.embedded:
            LOCAL_CLIENTS.wrote(self._path, revision)
        return revision

    def follow_other_writers(self, revision: int) -> bool:
        """Reopen an embedded client that does not reflect ``revision``; whether it did.

        Chroma's embedded client keeps one system per path and process, with
        cached segments: after another process's write it finds the new chunk
        ids but fails to read them ("Error finding id") and its vector search
        misses them, until the path is opened again (once for every store of
        the process, ``LOCAL_CLIENTS``).
        """
        generation = LOCAL_CLIENTS.current(self._path, revision)
        if generation == self._generation:
            return False
        self.client = make_client(self.settings)
        self.collection = self.client.get_collection(self.name, embedding_function=None)
        self._generation = generation
        return True

    def ids_where(self, where: dict[str, Any] | None) -> set[str]:
        """The ids of the records whose metadata passes ``where`` (all for None)."""
        return set(self.collection.get(where=where, include=[])["ids"])

    def pages(
        self, include: list[str], where: dict[str, Any] | None = None
    ) -> Iterator[tuple[list[str], list[dict[str, Any]], list[str]]]:
        """Every record (that passes ``where``) as (ids, metadatas, documents), ``PAGE``
        records a call."""
        offset = 0
        while True:
            page = self.collection.get(include=include, limit=PAGE, offset=offset, where=where)
            if not page["ids"]:
                return
            yield page["ids"], page.get("metadatas") or [], page.get("documents") or []
            offset += len(page["ids"])

    def drop_legacy_sentence_collection(self) -> None:
        """Indexes from before sentence vectors moved into chunk metadata had a
        second collection; its vectors are re-made when the articles are next
        ingested (the pipeline version changed), so it is only dead weight."""
        legacy = f"{self.name}-sentences"
        try:
            sample = self.client.get_collection(legacy).peek(1)
        except Exception:  # the usual case: there is none
            return
        metadatas = sample.get("metadatas") or [{}]
        if not sample["ids"] or "chunk_id" in (metadatas[0] or {}):  # ours, not a user's
            self.client.delete_collection(legacy)
            log.info("removed the legacy collection %s", legacy)
