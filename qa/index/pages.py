"""Articles from URLs: a feed's entries, or one news page, fetched through ``qa.index.fetching``.

A URL is fetched within the fetch policy (off unless ``QA_FETCH_HOSTS`` is
set). What comes back is read as a feed when it is one (by its type, else
its first bytes), else as an HTML page. A feed entry that carries only a
summary has its page fetched too (``QA_FEED_FULL_PAGES``, on by default),
within the same policy, unless the index already holds that entry with the
same link and date: re-reading a feed fetches only the pages of new or
re-dated entries. At most ``MAX_PAGES_PER_READ`` pages are fetched per read;
the entries past that are left for the next read (a note says how many). A
page that cannot be fetched keeps the summary, with a note saying why.
Nothing here raises for one bad URL: every problem is a ``Failure`` in the
result, as for files.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePosixPath
from typing import Callable
from urllib.parse import urlsplit

from qa.index.articles import Article, LoadResult, decode, failed
from qa.index.fetching import FetchFailed, FetchPolicy, FetchRefused, fetch, normalised_url
from qa.index.formats.base import Source
from qa.index.formats.feed import FeedEntry, feed_entries, looks_like_feed
from qa.index.formats.html import page_article as html_page_article
from qa.index.formats.html import read_page

MAX_PAGES_PER_READ = 50  # entry pages fetched per read of one feed: bounds a write's time
# (article id) -> (url, published) of the indexed article, or None when not indexed
Indexed = Callable[[str], tuple[str, str] | None]
# (url, done, total) while the pages of a feed's entries are fetched
FetchProgress = Callable[[str, int, int], None]


def load_url(
    url: str,
    policy: FetchPolicy,
    full_pages: bool = True,
    indexed: Indexed | None = None,
    progress: FetchProgress | None = None,
) -> LoadResult:
    """The articles at ``url``; a refusal or failure is reported, never raised."""
    try:
        fetched = fetch(url, policy)
    except (FetchRefused, FetchFailed) as exc:
        return failed(url, str(exc))
    # ids follow the URL as one resource has it: HTTP://Host:80/feed and http://host/feed
    # are one feed, not two copies of every entry
    source = Source(url, normalised_url(url), _stem(fetched.final_url))
    result = LoadResult()
    try:
        if looks_like_feed(fetched.data, fetched.content_type):
            entries = feed_entries(fetched.data, source, result)
            result.articles += _with_pages(entries, policy, full_pages, indexed, result, progress)
        else:
            result.articles.append(page_article(fetched.data, fetched.final_url, source))
    except ValueError as exc:
        return failed(url, str(exc))
    if not result.articles and not result.failures:
        return failed(url, "no readable text")
    return result


def page_article(data: bytes, final_url: str, source: Source) -> Article:
    """One fetched news page as an article; its id follows the URL asked for, its
    source is the site's name (else its host)."""
    text, _ = decode(data)
    article = html_page_article(text, source, url=final_url)
    return replace(article, source=article.source or urlsplit(final_url).hostname or "")


def _with_pages(
    entries: list[FeedEntry],
    policy: FetchPolicy,
    full_pages: bool,
    indexed: Indexed | None,
    result: LoadResult,
    progress: FetchProgress | None,
) -> list[Article]:
    """The entries' articles, with the full page's text where the feed gave a summary."""
    wanted = sum(1 for e in entries if full_pages and e.summary_only)
    known = fetched = deferred = 0
    out: list[Article] = []
    for entry in entries:
        if not (full_pages and entry.summary_only):
            out.append(entry.article)
            continue
        article = entry.article
        if indexed is not None and indexed(article.id) == (article.url, article.published):
            known += 1  # indexed with this link and date: its page is not fetched again
            continue
        if fetched == MAX_PAGES_PER_READ:
            deferred += 1  # not indexed now, so that the next read fetches its page
            continue
        if progress:
            progress(article.url, len(out) + known, wanted)
        out.append(_full_page(article, policy, result))
        fetched += 1
    if known:
        result.notes.append(
            f"{known} feed entries already indexed with the same link and date: not fetched again"
        )
    if deferred:
        result.notes.append(
            f"{deferred} feed entries left for the next read: at most {MAX_PAGES_PER_READ} "
            "pages are fetched per read of a feed"
        )
    return out


def _full_page(article: Article, policy: FetchPolicy, result: LoadResult) -> Article:
    try:
        page = fetch(article.url, policy)
        body = read_page(decode(page.data)[0]).text
    except (FetchRefused, FetchFailed) as exc:
        result.notes.append(f"{article.url}: kept the feed's summary ({exc})")
        return article
    if len(body) <= len(article.text):
        return article  # the page says no more than the summary (a paywall, a stub)
    return replace(article, text=body)


def _stem(url: str) -> str:
    parts = urlsplit(url)
    name = PurePosixPath(parts.path).stem
    return name or parts.hostname or "page"
