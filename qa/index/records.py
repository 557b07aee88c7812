"""The record layout: what Chroma keeps of each chunk, what the payload store
keeps, and how the two are read back as one ``StoredChunk``.

One collection holds one record per chunk: its vector and the article's
fields that filters and the manifest read (article id, title, content hash,
chunk count, origin, source, url, date, category, author, collection).
What only a citation or the reader needs (the chunk's text, offsets,
sentence spans and the sentences' context-aware vectors) is read with the
chunk, never searched or filtered, so it lives in ``qa.index.payloads``,
stored once and compact, instead of in Chroma's metadata and full-text
tables, which store it two to three times. Records from before the payload
store carry all of it in Chroma and are still read (``legacy_payload``).

Pure functions of values, with no client: the layout is the same whether
Chroma is embedded or a server, and a test can check it without either.
"""

from __future__ import annotations

import base64
from typing import Any, Iterable, Sequence

import numpy as np

from qa.collections import DEFAULT
from qa.filters import day_number, parse_day
from qa.index.articles import Article
from qa.index.chunking import Chunk
from qa.index.payloads import ChunkPayload, dequantize, quantize
from qa.index.values import ArticleEntry, ArticleWrite
from qa.results import StoredChunk

# What a record of the old layout held in Chroma that the payload store now holds.
OLD_FIELDS = (
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


def article_metadata(article: Article, content_hash: str, chunk_count: int) -> dict[str, Any]:
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


def chunk_payload(
    article: Article, chunk: Chunk, embed_key: str, sentence_vectors: np.ndarray
) -> ChunkPayload:
    """What the payload store keeps of a chunk: all a citation or the reader needs."""
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


def write_records(
    writes: Sequence[ArticleWrite],
) -> list[tuple[str, np.ndarray, dict[str, Any], ChunkPayload]]:
    """(chunk id, vector, Chroma metadata, payload) of every chunk the writes carry."""
    records = []
    for write in writes:
        metadata = article_metadata(write.article, write.content_hash, len(write.chunks))
        for chunk, vector, key in zip(write.chunks, write.vectors, write.embed_keys):
            payload = chunk_payload(write.article, chunk, key, vector.sentences)
            records.append((chunk.id, vector.passage, metadata, payload))
    return records


def stored_chunk(chunk_id: str, meta: dict[str, Any], payload: ChunkPayload) -> StoredChunk:
    """A chunk as read back: its record's article fields joined with its payload."""
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


def manifest_entries(records: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, ArticleEntry]:
    """Articles from their chunks' ``(id, metadata)`` records, in order of first sight.

    Every chunk of an article carries the article's fields, so the first one
    read speaks for all. An article with fewer chunks than it was written with
    (a writer killed between two batches) gets no hash, so the next ingest
    rewrites it.
    """
    first: dict[str, dict[str, Any]] = {}
    chunk_ids: dict[str, list[str]] = {}
    for chunk_id, meta in records:
        first.setdefault(meta["article_id"], meta)
        chunk_ids.setdefault(meta["article_id"], []).append(chunk_id)
    return {aid: _entry(aid, meta, chunk_ids[aid]) for aid, meta in first.items()}


def _entry(article_id: str, meta: dict[str, Any], chunk_ids: list[str]) -> ArticleEntry:
    count = meta.get("chunk_count")
    complete = count is None or int(count) == len(chunk_ids)
    return ArticleEntry(
        article_id,
        meta.get("content_hash", "") if complete else "",
        meta.get("origin", ""),
        meta.get("title", ""),
        tuple(chunk_ids),
        meta.get("source", ""),
        meta.get("url", ""),
        meta.get("published", ""),
        meta.get("category", ""),
        meta.get("author", ""),
        meta.get("collection", DEFAULT),
    )


# Records of the old layout ------------------------------------------------------------
def is_old_record(document: str | None, meta: dict[str, Any]) -> bool:
    """Whether a record still holds its text or sentence vectors in Chroma."""
    return bool(document) or "sentence_vectors" in meta


def legacy_payload(text: str | None, meta: dict[str, Any], dimension: int) -> ChunkPayload:
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


def legacy_sentence_count(meta: dict[str, Any]) -> int:
    """How many sentences an old record holds (its spans are flat start, end pairs)."""
    return len(meta.get("sentences") or []) // 2


def without_old_fields(meta: dict[str, Any]) -> dict[str, Any]:
    """An update that removes what the payload store now holds (None deletes a
    key in Chroma) and the empty strings old records stored."""
    gone = {key: None for key, value in meta.items() if key in OLD_FIELDS or value == ""}
    return gone or {"article_id": meta["article_id"]}  # Chroma refuses an empty update


def pack_vectors(vectors: np.ndarray) -> str:
    """Sentence vectors as records before the payload store held them: base64
    of ``quantize``'s int8 in a metadata string (kept to read and test those)."""
    return base64.b64encode(quantize(vectors)).decode("ascii")


def unpack_vectors(packed: str, rows: int, dimension: int) -> np.ndarray | None:
    """The inverse of ``pack_vectors``; None when absent or not ``rows`` vectors
    of ``dimension`` (a record written by something else)."""
    return dequantize(base64.b64decode(packed), rows, dimension) if packed else None
