"""The index as a LangChain ``VectorStore``, for LangChain code of your own.

Read-only over ``ArticleStore``: dense search by the chunk vectors, each hit
a ``Document`` with the chunk's text and its article's fields. Chroma holds
the vectors but not the texts (``qa.index.payloads``), so
``langchain_chroma.Chroma`` over the collection would return empty pages.
Writes go through ``Assistant.ingest``: a chunk needs its sentence vectors,
offsets and article fields, which plain ``add_texts`` cannot give.

It reads the store through ``ChunkSource``, the three things it uses, and
never imports ``qa.index.store``: the store makes this adapter on first use
(importing this module then), so the two modules do not import each other.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from qa.results import StoredChunk

_READ_ONLY = "the index is written through Assistant.ingest (chunking, sentence vectors)"


class ChunkSource(Protocol):
    """What the adapter reads of the index (``qa.index.store.ArticleStore`` is one)."""

    @property
    def embedder(self) -> Embeddings: ...

    def nearest(
        self, query_vector: np.ndarray, n: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]: ...

    def chunks(self, ids: Sequence[str]) -> dict[str, tuple[StoredChunk, np.ndarray]]: ...


class ArticleVectorStore(VectorStore):
    """Chunks by cosine similarity; ``filter`` is a Chroma ``where`` on article fields."""

    def __init__(self, store: ChunkSource) -> None:
        self._store = store

    @property
    def embeddings(self) -> Embeddings:
        return self._store.embedder

    def similarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Documents with their cosine distance (lower is closer, as Chroma's)."""
        vector = self._store.embedder.embed_query(query)
        return self.similarity_search_by_vector_with_score(vector, k, filter)

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, filter: dict[str, Any] | None = None, **_: Any
    ) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_by_vector_with_score(embedding, k, filter)]

    def similarity_search_by_vector_with_score(
        self, embedding: Sequence[float], k: int = 4, filter: dict[str, Any] | None = None
    ) -> list[tuple[Document, float]]:
        hits = self._store.nearest(np.asarray(embedding, dtype=np.float32), k, where=filter)
        chunks = self._store.chunks([chunk_id for chunk_id, _ in hits])
        return [
            (_document(chunks[chunk_id][0]), 1.0 - similarity)
            for chunk_id, similarity in hits
            if chunk_id in chunks
        ]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        return self._cosine_relevance_score_fn

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        chunks = self._store.chunks(list(ids))
        return [_document(chunks[chunk_id][0]) for chunk_id in ids if chunk_id in chunks]

    def add_texts(self, texts: Any, metadatas: Any = None, **kwargs: Any) -> list[str]:
        raise NotImplementedError(_READ_ONLY)

    def delete(self, ids: Any = None, **kwargs: Any) -> bool | None:
        raise NotImplementedError(_READ_ONLY)

    @classmethod
    def from_texts(cls, texts: Any, embedding: Any, metadatas: Any = None, **kwargs: Any) -> Any:
        raise NotImplementedError(_READ_ONLY)


def _document(chunk: StoredChunk) -> Document:
    metadata = {
        "article_id": chunk.article_id,
        "title": chunk.title,
        "start": chunk.start,
        "end": chunk.end,
        **{key: value for key in ("source", "url", "published") if (value := getattr(chunk, key))},
    }
    return Document(id=chunk.id, page_content=chunk.text, metadata=metadata)
