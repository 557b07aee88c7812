"""RSS and Atom feeds (.rss, .atom, .xml): each entry an article.

Read with ``feedparser`` (every RSS version, Atom 0.3 and 1.0, broken XML
where it can be read). An entry gives the article's title, link, published
date, author and category; its text is the entry's full content where the
feed carries it, else its summary. A summary-only entry is marked so that a
URL ingest can fetch the page it links to (``qa.index.pages``); read from a file, the
summary is what is indexed.

An entry's article id derives from its ``id``/``guid`` (else its link) and
the feed's own address, nothing else: re-reading the feed after an entry was
edited updates that one article, and an unchanged entry is skipped by its
content hash like any other article.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from qa.index.articles import (
    Article,
    Failure,
    LoadResult,
    clean_title,
    field_text,
    slugify,
)
from qa.index.formats.base import FileFormat, Source
from qa.index.formats.html import readable

MAX_ENTRIES = 2_000  # a feed is a page of recent news; more is not a feed
_DECLARES_ENTITIES = re.compile(rb"<!ENTITY", re.I)


@dataclass(frozen=True)
class FeedEntry:
    """One entry read as an article, and whether the feed gave only its summary."""

    article: Article
    summary_only: bool


def read_feed(data: bytes, source: Source, result: LoadResult) -> None:
    for entry in feed_entries(data, source, result):
        result.articles.append(entry.article)


FEED = FileFormat("RSS or Atom feed", (".rss", ".atom", ".xml"), read_feed)
FORMATS = (FEED,)


def looks_like_feed(data: bytes, content_type: str = "") -> bool:
    """Whether fetched bytes are a feed rather than a page (by type, else by their start)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind in ("application/rss+xml", "application/atom+xml", "application/feed+json"):
        return True
    if kind == "text/html" or kind == "application/xhtml+xml":
        return False
    head = data[:2048].lstrip().lower()
    return head.startswith(b"<?xml") or b"<rss" in head or b"<feed" in head


def declares_entities(data: bytes) -> bool:
    """``<!ENTITY`` in any encoding the XML parser would read the feed in: as bytes, and
    with the NULs of UTF-16 and UTF-32 taken out (feedparser hands expat those feeds
    converted to UTF-8, entities and all), and as EBCDIC when it starts like EBCDIC."""
    if _DECLARES_ENTITIES.search(data) or _DECLARES_ENTITIES.search(data.replace(b"\0", b"")):
        return True
    if data.startswith(b"\x4c\x6f\xa7\x94"):  # "<?xm" in EBCDIC
        return _DECLARES_ENTITIES.search(data.decode("cp037", "replace").encode()) is not None
    return False


def feed_entries(data: bytes, source: Source, result: LoadResult) -> list[FeedEntry]:
    """The feed's entries as articles; a bad entry is a failure, the rest are kept."""
    import feedparser

    if declares_entities(data):
        # expat would expand them up to its amplification limit (megabytes of "lol"),
        # and real feeds never declare any
        raise ValueError("feeds that declare XML entities (<!ENTITY) are refused")
    parsed = feedparser.parse(data)  # bytes: parsed as given, never fetched
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        raise ValueError(f"not an RSS or Atom feed{f' ({reason})' if reason else ''}")
    feed = parsed.get("feed", {})
    feed_title = _text(feed.get("title"))
    if len(parsed.entries) > MAX_ENTRIES:
        raise ValueError(f"{len(parsed.entries):,} entries; a feed may hold {MAX_ENTRIES:,}")
    out: list[FeedEntry] = []
    for number, entry in enumerate(parsed.entries, 1):
        name = f"{source.name} entry {number}"
        try:
            out.append(_entry(entry, feed_title, source))
        except ValueError as exc:
            result.failures.append(Failure(name, str(exc)))
    return out


def _entry(entry: Any, feed_title: str, source: Source) -> FeedEntry:
    link = field_text(entry.get("link"), "link")
    key = _text(entry.get("id")) or link
    title_html = _text(entry.get("title"))
    title = clean_title(readable(title_html)[1] or title_html)
    if not key:
        raise ValueError("no id, guid or link to know the entry by")
    content = _content(entry)
    summary = _text(entry.get("summary"))
    body = readable(content or summary)[1]
    if not body.strip():
        raise ValueError("no text (neither content nor summary)")
    tags = entry.get("tags") or []
    category = _text(tags[0].get("term")) if tags else ""
    article = Article(
        id=_entry_id(source.origin, key, link or title),
        title=title or "(untitled entry)",
        text=body,
        origin=source.origin,
        source=field_text(feed_title, "source"),
        url=link,
        published=_published(entry),
        category=field_text(category, "category"),
        author=field_text(_text(entry.get("author")), "author"),
    )
    return FeedEntry(article, summary_only=not content and bool(link))


def _content(entry: Any) -> str:
    """The entry's full text, where the feed carries one (Atom content, content:encoded)."""
    parts = entry.get("content") or []
    values = [_text(p.get("value")) for p in parts if _text(p.get("value"))]
    return max(values, key=len) if values else ""


def _published(entry: Any) -> str:
    """ISO 8601 in UTC (what the date filters read), from published, else updated."""
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            stamp = datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
            return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return field_text(_text(entry.get("published") or entry.get("updated")), "published")


def _entry_id(feed_origin: str, key: str, readable_part: str) -> str:
    """Stable per feed and entry: a slug of the link's last part, and a hash of both."""
    tail = urlsplit(readable_part).path.rstrip("/").rsplit("/", 1)[-1] or readable_part
    digest = hashlib.sha1(f"{feed_origin}\0{key}".encode("utf-8")).hexdigest()[:12]
    return f"{slugify(tail, 50)}-{digest}"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
