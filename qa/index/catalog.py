"""What is indexed, as people browse it: pages of articles, newest first, with filters.

The index's manifest (one entry per article, read from Chroma's metadata) is
the source; ``page`` only orders, filters and slices it, so it is cheap to call
again for the next page of the same listing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Iterable

from qa.filters import parse_day
from qa.index.store import ArticleEntry


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
    category: str = ""
    author: str = ""

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
    category: str = "",
    since: date | None = None,
    until: date | None = None,
) -> ArticlePage:
    """Articles whose title or id holds every word of ``query``, whose source and
    category are those given (all ignoring case; empty matches all) and, when a date
    range is given, published within it; newest published first (undated last), then
    by title."""
    words = query.casefold().split()
    wanted = {"source": source.casefold().strip(), "category": category.casefold().strip()}
    matched = [
        e
        for e in entries
        if all(w in f"{e.title} {e.article_id}".casefold() for w in words)
        and (not wanted["source"] or e.source.casefold() == wanted["source"])
        and (not wanted["category"] or e.category.casefold() == wanted["category"])
        and _within(parse_day(e.published), since, until)
    ]
    matched.sort(key=lambda e: e.title.casefold())
    matched.sort(key=lambda e: parse_day(e.published) or date.min, reverse=True)
    chosen = matched[offset : offset + limit]
    return ArticlePage([describe(e) for e in chosen], len(matched), offset, limit)


def _within(day: date | None, since: date | None, until: date | None) -> bool:
    if since is None and until is None:
        return True
    return day is not None and (since is None or day >= since) and (until is None or day <= until)


def facets(entries: Iterable[ArticleEntry]) -> dict[str, list[str]]:
    """The distinct sources and categories in the index, sorted: what a filter can pick."""
    entries = list(entries)
    return {
        "source": sorted({e.source for e in entries if e.source}, key=str.casefold),
        "category": sorted({e.category for e in entries if e.category}, key=str.casefold),
    }


def describe(entry: ArticleEntry) -> ArticleInfo:
    return ArticleInfo(
        entry.article_id,
        entry.title,
        entry.source,
        entry.url,
        entry.published,
        len(entry.chunk_ids),
        entry.origin,
        entry.category,
        entry.author,
    )
