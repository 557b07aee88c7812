"""The values the index takes and gives: what an article is in the index, what a
write carries, what a write changed, and what the index holds.

They sit apart from the store so that the record layout (``qa.index.records``)
and whatever only passes them around need not import the store itself, and
the store's layout can change (a server-mode one beside the embedded one)
without moving them. ``qa.index.store`` re-exports them, where their users
import them from. The types their fields name are imported for the checker
only: importing this module loads no model code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from qa.collections import DEFAULT

if TYPE_CHECKING:
    from qa.index.articles import Article
    from qa.index.chunking import Chunk
    from qa.index.embeddings import PassageVectors


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
    """What the index holds (``ArticleStore.stats``), and what ``Assistant.stats`` adds."""

    articles: int
    chunks: int
    sentences: int
    embedding_model: str
    location: str
    revision: int
    collection: str = ""  # set by Assistant.stats(): the collection counted
    llm: str = ""  # set by Assistant.stats(): the configured model and whether it answers
    llm_answers: bool | None = None
