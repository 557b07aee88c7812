"""Months in articles, read against each article's own date.

"Last July" in an article published on 8 February 2026 is July 2025; "in
July" in one from September 2019 is July 2019. A question about "July"
(no year) means the most recent July the articles speak of; one about "July
2019" means that one. Retrieval uses this to spread its time boost: see
``date_adjustments``. Articles without a readable ``published`` date keep the
plain rule (a passage naming the month gets the boost).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Sequence

from qa.analysis import MONTHS
from qa.filters import parse_day

_MONTH_NUMBER = {name: n for n, name in enumerate(MONTHS, start=1)}
_MENTION = re.compile(r"\b(" + "|".join(m.capitalize() for m in MONTHS) + r")\b(?:\s+(\d{4}))?")


def asked_month(cues: Sequence[str]) -> tuple[int | None, int | None]:
    """(month, year) from a question's time cues; either may be None."""
    month = next((_MONTH_NUMBER[c] for c in cues if c in _MONTH_NUMBER), None)
    year = next((int(c) for c in cues if c.isdigit()), None)
    return month, year


def resolved_months(text: str, published: date) -> set[tuple[int, int]]:
    """Every month the text names, as (year, month): its own year when written
    ("July 2025"), else the latest such month on or before the publication date."""
    found = set()
    for match in _MENTION.finditer(text):
        month = _MONTH_NUMBER[match.group(1).lower()]
        if match.group(2):
            found.add((int(match.group(2)), month))
        else:
            year = published.year if month <= published.month else published.year - 1
            found.add((year, month))
    return found


def date_adjustments(
    passages: Sequence[tuple[str, str]], cues: Sequence[str], boost: float
) -> list[float]:
    """How much to take off each passage's time boost, given (text, published) pairs.

    With a year asked, a dated passage whose month resolves to another year loses
    its boost; without one, so do dated passages whose month resolves to an older
    one than the latest among them. Undated passages: 0 (they keep the plain rule).
    """
    month, year = asked_month(cues)
    if month is None:
        return [0.0] * len(passages)
    resolved: list[set[tuple[int, int]] | None] = []
    for text, published in passages:
        day = parse_day(published) if published else None
        months = resolved_months(text, day) if day else None
        resolved.append({m for m in months if m[1] == month} if months is not None else None)
    if year is not None:
        return [boost if r is not None and r and (year, month) not in r else 0.0 for r in resolved]
    latest = max((max(r) for r in resolved if r), default=None)
    return [boost if r and latest not in r else 0.0 for r in resolved]
