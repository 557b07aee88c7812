"""Narrowing a question to some articles: by source, category and publication date.

A ``Filters`` value is applied inside both searches, never to a finished top-k:
Chroma gets it as a ``where`` clause, and BM25 as a mask over the chunks that
pass (read from Chroma's metadata), so a rare source still yields k passages.

Dates: ``published`` is kept as given, and when it parses (ISO 8601 or the
usual news forms, "8 February 2026", "Feb 8, 2026", "08/02/2026" read
day-first) the day is also stored as a number (``published_day``, days since
1970-01-01), which the date range compares. An article whose date did not
parse never matches a date range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping

from qa.errors import InvalidQuestion
from qa.limits import MAX_FILTER_CHARS

_EPOCH = date(1970, 1, 1)
_FORMATS = (
    "%d %B %Y",
    "%d %b %Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%B %d %Y",
    "%b %d %Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%A %d %B %Y",
    "%a, %d %b %Y %H:%M:%S %z",
    "%a, %d %b %Y %H:%M:%S %Z",
    "%Y/%m/%d",
)


def parse_day(text: str) -> date | None:
    """The calendar day a ``published`` value names, or None when it names none."""
    value = " ".join(text.split())
    if not value or len(value) > 64:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", value)
    for pattern in _FORMATS:
        try:
            return datetime.strptime(cleaned, pattern).date()
        except ValueError:
            continue
    return None


def day_number(day: date) -> int:
    return (day - _EPOCH).days


@dataclass(frozen=True)
class Filters:
    """Which articles a question may be answered from; empty fields do not narrow."""

    source: str = ""
    category: str = ""
    since: date | None = None  # published on or after this day
    until: date | None = None  # published on or before this day
    # set by the Assistant, never by the asker: the collection the question is in
    collection: str = ""

    def __bool__(self) -> bool:
        return bool(self.source or self.category or self.since or self.until)

    def where(self) -> dict[str, Any] | None:
        """The Chroma ``where`` clause, or None when nothing is narrowed."""
        clauses: list[dict[str, Any]] = []
        if self.collection:
            clauses.append({"collection": self.collection})
        if self.source:
            clauses.append({"source": self.source})
        if self.category:
            clauses.append({"category": self.category})
        if self.since:
            clauses.append({"published_day": {"$gte": day_number(self.since)}})
        if self.until:
            clauses.append({"published_day": {"$lte": day_number(self.until)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def to_dict(self) -> dict[str, str]:
        return {
            "source": self.source,
            "category": self.category,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }


NO_FILTERS = Filters()


def as_filters(value: Filters | Mapping[str, Any] | None) -> Filters:
    """Filters from a ``Filters``, a mapping with the same keys (dates as ISO text), or
    None; anything else, an unknown key or a bad date is an ``InvalidQuestion``."""
    if value is None:
        return NO_FILTERS
    if isinstance(value, Filters):
        return value
    if not isinstance(value, Mapping):
        raise InvalidQuestion("filters must be an object with source, category, since, until")
    unknown = sorted(set(value) - {"source", "category", "since", "until"})
    if unknown:
        raise InvalidQuestion(
            f"unknown filter {str(unknown[0])[:40]!r}; use source, category, since, until"
        )
    found = Filters(
        source=_text(value.get("source"), "source"),
        category=_text(value.get("category"), "category"),
        since=_day(value.get("since"), "since"),
        until=_day(value.get("until"), "until"),
    )
    return found  # since after until is a valid, empty range: it matches nothing


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_FILTER_CHARS:
        raise InvalidQuestion(
            f"filter {name} must be text of at most {MAX_FILTER_CHARS} characters"
        )
    return value.strip()


def _day(value: Any, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) > 40:
        raise InvalidQuestion(f"filter {name} must be a date, YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidQuestion(
            f"filter {name} must be a date, YYYY-MM-DD, not {value[:40]!r}"
        ) from None
