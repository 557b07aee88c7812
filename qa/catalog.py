"""What is indexed, as people browse it: pages of articles, newest first, with filters.

The index's manifest (one entry per article, read from Chroma's metadata) is
the source; ``page`` only orders, filters and slices it, so it is cheap to call
again for the next page of the same listing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable

from qa.store import ArticleEntry

MAX_PAGE = 500  # articles in one page
MAX_FILTER_CHARS = 200


@dataclass(frozen=True)
class ArticleInfo:
    """One indexed article as a listing shows it."""

    id: str
    title: str
    source: str
    url: str
    published: str
    chunks: int
    origin: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ArticlePage:
    """One page of a listing: ``total`` matched the filters, ``offset`` is where this
    page starts; the next page starts at ``offset + len(articles)`` while below ``total``."""

    articles: list[ArticleInfo]
    total: int
    offset: int
    limit: int

    def to_dict(self) -> dict:
        return {
            "articles": [a.to_dict() for a in self.articles],
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
        }


def page(
    entries: Iterable[ArticleEntry],
    offset: int = 0,
    limit: int = 50,
    query: str = "",
    source: str = "",
) -> ArticlePage:
    """Articles whose title or id holds ``query`` and whose source is ``source`` (both
    case-insensitive, empty matches all), newest published first, then by title."""
    words = query.casefold().split()
    wanted_source = source.casefold().strip()
    matched = [
        e
        for e in entries
        if all(w in f"{e.title} {e.article_id}".casefold() for w in words)
        and (not wanted_source or e.source.casefold() == wanted_source)
    ]
    matched.sort(key=lambda e: e.title.casefold())
    matched.sort(key=lambda e: e.published, reverse=True)  # ISO dates sort as text
    chosen = matched[offset : offset + limit]
    return ArticlePage([describe(e) for e in chosen], len(matched), offset, limit)


def describe(entry: ArticleEntry) -> ArticleInfo:
    return ArticleInfo(
        entry.article_id,
        entry.title,
        entry.source,
        entry.url,
        entry.published,
        len(entry.chunk_ids),
        entry.origin,
    )
