"""Narrowing questions by source, category and date: parsing, validation, and both
searches filtered inside (Chroma's where, BM25's mask)."""

from __future__ import annotations

from datetime import date

import pytest

from qa.errors import InvalidQuestion
from qa.filters import Filters, as_filters, day_number, parse_day


@pytest.mark.parametrize(
    "text, day",
    [
        ("2026-02-08", date(2026, 2, 8)),
        ("2026-02-08T09:30:00Z", date(2026, 2, 8)),
        ("8 February 2026", date(2026, 2, 8)),
        ("Feb 8, 2026", date(2026, 2, 8)),
        ("8th February 2026", date(2026, 2, 8)),
        ("08/02/2026", date(2026, 2, 8)),
        ("08.02.2026", date(2026, 2, 8)),  # dotted: day first too, as written in Europe
        ("13.02.2026", date(2026, 2, 13)),
        ("Sun, 08 Feb 2026 09:30:00 GMT", date(2026, 2, 8)),
        ("last Tuesday", None),
        ("", None),
        ("2026-13-45", None),
    ],
)
def test_published_dates_in_the_usual_news_forms(text, day):
    assert parse_day(text) == day


def test_filters_become_one_chroma_where_clause():
    assert Filters().where() is None and not Filters()
    assert Filters(source="BBC").where() == {"source": "BBC"}
    every = Filters("BBC", "sport", date(2005, 1, 1), date(2005, 1, 31)).where()
    assert every == {  # no clause is dropped when another is set
        "$and": [
            {"source": "BBC"},
            {"category": "sport"},
            {"published_day": {"$gte": day_number(date(2005, 1, 1))}},
            {"published_day": {"$lte": day_number(date(2005, 1, 31))}},
        ]
    }
    assert Filters(source="BBC", since=date(2005, 1, 1)).where() == {
        "$and": [{"source": "BBC"}, {"published_day": {"$gte": day_number(date(2005, 1, 1))}}]
    }
    both = Filters(category="sport", since=date(2005, 1, 1), until=date(2005, 1, 31)).where()
    assert both == {
        "$and": [
            {"category": "sport"},
            {"published_day": {"$gte": day_number(date(2005, 1, 1))}},
            {"published_day": {"$lte": day_number(date(2005, 1, 31))}},
        ]
    }


@pytest.mark.parametrize(
    "value, message",
    [
        ("BBC", "must be an object"),
        ({"sauce": "BBC"}, "unknown filter 'sauce'"),
        ({"since": "yesterday"}, "since must be a date"),
        ({"until": 20260101}, "until must be"),
        ({"source": "x" * 201}, "at most 200"),
        ({"category": 3}, "category must be text"),
    ],
)
def test_bad_filters_are_refused_with_what_to_fix(value, message):
    with pytest.raises(InvalidQuestion, match=message):
        as_filters(value)


def test_filters_from_plain_values():
    found = as_filters({"source": " BBC ", "since": "2026-01-01", "until": ""})
    assert found == Filters(source="BBC", since=date(2026, 1, 1))


def _write(folder, name: str, front: dict[str, str], body: str) -> None:
    lines = "".join(f"{k}: {v}\n" for k, v in front.items())
    (folder / f"{name}.md").write_text(f"---\n{lines}---\n{body}\n")


@pytest.fixture
def harbours(fresh, tmp_path):
    """Ten Dover stories from the Gazette, one from the rare Courier, all about fees."""
    folder = tmp_path / "news"
    folder.mkdir()
    for n in range(10):
        _write(
            folder,
            f"gazette-{n}",
            {
                "title": f"Dover fees story {n}",
                "source": "Gazette",
                "category": "business",
                "published": f"2025-0{n % 9 + 1}-10",
            },
            f"Dover harbour fees rose by {n + 2}% this month, the Gazette reports.",
        )
    _write(
        folder,
        "courier",
        {
            "title": "Calais harbour fees",
            "source": "Courier",
            "category": "transport",
            "published": "12 March 2026",
        },
        "Calais harbour fees were frozen for a year, the Courier reports.",
    )
    _write(
        folder,
        "undated",
        {"title": "Ostend fees", "source": "Courier", "published": "soon"},
        "Ostend harbour fees will be reviewed.",
    )
    report = fresh.ingest([folder])
    assert any("'soon' is not a date" in note for note in report.notes)
    return fresh


@pytest.mark.slow
def test_a_rare_source_still_gets_its_passages(harbours):
    """Unfiltered, the ten Gazette stories fill the top; filtered inside both
    searches, the Courier's two articles come back, and nothing else."""
    found = harbours.search("How did harbour fees change?", k=4, filters={"source": "Courier"})
    assert {p.chunk.title for p in found} == {"Calais harbour fees", "Ostend fees"}
    answer = harbours.ask("Which harbour's fees were frozen?", filters={"source": "Courier"})
    assert answer.grounded and all(c.source == "Courier" for c in answer.citations)
    assert "frozen for a year" in answer.citations[0].quote
    assert harbours.lexical.search(["fee"], 3, allowed=set()).ids == []


@pytest.mark.slow
def test_category_and_date_range_narrow_the_answer(harbours):
    march = {"since": "2026-03-01", "until": "2026-03-31"}
    found = harbours.search("harbour fees", k=4, filters=march)
    assert [p.chunk.title for p in found] == ["Calais harbour fees"]  # "soon" never matches
    sport = harbours.ask("Which harbour's fees were frozen?", filters={"category": "sport"})
    assert not sport.grounded and sport.citations == []
    assert harbours.facets() == {
        "source": ["Courier", "Gazette"],
        "category": ["business", "transport"],
    }
    listed = harbours.articles(category="TRANSPORT")
    assert [a.title for a in listed.articles] == ["Calais harbour fees"]
    assert harbours.articles().articles[0].title == "Calais harbour fees"  # newest first
    in_2026 = harbours.articles(since="2026-01-01", until="2026-12-31")
    assert [a.title for a in in_2026.articles] == ["Calais harbour fees"]  # "soon" is no date
    with pytest.raises(InvalidQuestion, match="since must be a date"):
        harbours.articles(since="2026")


@pytest.mark.slow
def test_a_month_is_read_against_each_articles_date(fresh, tmp_path):
    """The same words, "in July", are July 2025 in an article of February 2026 and
    July 2019 in one of September 2019: a question about July means the latest,
    one about July 2019 that one (the words alone cannot tell them apart)."""
    folder = tmp_path / "news"
    folder.mkdir()
    for name, published in (("recent", "2026-02-08"), ("older", "1 September 2019")):
        _write(
            folder,
            name,
            {"title": "Channel patrols", "source": "BBC", "published": published},
            "France promised in July to intercept taxi boats in the Channel.",
        )
    fresh.ingest([folder])

    def first(question: str) -> str:
        return fresh.search(question, k=2)[0].chunk.published

    assert first("What did France promise in July?") == "2026-02-08"
    assert first("What did France promise in July 2019?") == "1 September 2019"


def test_months_resolve_to_the_latest_on_or_before_the_date():
    from qa.answer.dating import date_adjustments, resolved_months

    assert resolved_months("That culminated last July. In May 2019 too.", date(2026, 2, 8)) == {
        (2025, 7),
        (2019, 5),
    }
    assert resolved_months("In July", date(2025, 7, 20)) == {(2025, 7)}
    pairs = [("last July", "2026-02-08"), ("in July", "2019-09-01"), ("in July", "")]
    assert date_adjustments(pairs, ("july",), 0.05) == [0.0, 0.05, 0.0]
    assert date_adjustments(pairs, ("july", "2019"), 0.05) == [0.05, 0.0, 0.0]
    assert date_adjustments(pairs, ("2019",), 0.05) == [0.0, 0.0, 0.0]
