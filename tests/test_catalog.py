"""Seeing and removing what is indexed: Python, CLI and the listing's rules."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from qa.errors import InvalidQuestion, UnknownArticle
from qa.index.catalog import page
from qa.index.store import ArticleEntry


def _entry(aid: str, title: str, published: str = "", source: str = "BBC") -> ArticleEntry:
    return ArticleEntry(aid, "h", f"/data/{aid}.txt", title, (f"{aid}:0",), source, "", published)


ENTRIES = [
    _entry("a", "Ferry strike ends", "2025-03-02"),
    _entry("b", "Harbour reopens", "2025-04-01", "Reuters"),
    _entry("c", "Ferry prices rise", ""),
    _entry("d", "Channel crossings", "2024-12-30"),
]


def test_a_page_is_newest_first_filtered_and_sliced():
    first = page(ENTRIES, 0, 2)
    assert [a.id for a in first.articles] == ["b", "a"] and first.total == 4
    assert [a.id for a in page(ENTRIES, 2, 2).articles] == ["d", "c"]  # undated last
    assert [a.id for a in page(ENTRIES, 0, 10, query="FERRY").articles] == ["a", "c"]
    only = page(ENTRIES, 0, 10, source="reuters")
    assert [a.id for a in only.articles] == ["b"] and only.total == 1
    assert page(ENTRIES, 0, 10, query="ferry harbour").total == 0  # every word must match


def _article(folder, name: str, title: str, body: str) -> None:
    (folder / f"{name}.txt").write_text(f"{title}\n\n{body}\n")


@pytest.mark.slow
def test_delete_removes_an_article_and_leaves_the_rest(fresh, tmp_path):
    folder = tmp_path / "news"
    folder.mkdir()
    _article(
        folder,
        "ferry",
        "Ferry strike ends",
        "The Calais ferry strike ended after a 4% pay rise was agreed by the unions on Tuesday.",
    )
    _article(
        folder,
        "harbour",
        "Harbour reopens",
        "Dover harbour reopened on Monday after storm repairs costing £2m were finished.",
    )
    fresh.ingest([folder])
    listing = fresh.articles()
    assert listing.total == 2 and {a.title for a in listing.articles} == {
        "Ferry strike ends",
        "Harbour reopens",
    }
    ferry = next(a for a in listing.articles if a.title == "Ferry strike ends")
    assert fresh.ask("Why did the ferry strike end?").grounded
    report = fresh.delete([ferry.id])
    assert report.removed == [ferry.id] and report.chunks_removed == ferry.chunks
    assert [a.title for a in fresh.articles().articles] == ["Harbour reopens"]
    assert not fresh.ask("Why did the ferry strike end?").grounded  # nothing left to say it
    assert fresh.lexical.search(fresh.retriever.analyzer.terms("ferry strike"), 5).ids == []
    assert "£2m" in fresh.ask("How much did the harbour repairs cost?").text  # untouched
    with pytest.raises(UnknownArticle, match="no article with id"):
        fresh.delete([ferry.id])
    with pytest.raises(UnknownArticle):  # one unknown id: nothing at all is deleted
        fresh.delete([fresh.articles().articles[0].id, "nope"])
    assert fresh.articles().total == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "ids, message",
    [
        ("a-string", "as a list"),
        ([], "from 1"),
        ([""], "1 to 241"),
        ([3], "1 to 241"),
        (["x" * 242], "1 to 241"),  # 200 for the id, 40 and ":" for another collection's name
    ],
)
def test_bad_ids_and_listing_arguments_get_clear_errors(seeded, ids, message):
    with pytest.raises(InvalidQuestion, match=message):
        seeded.delete(ids)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": "2"}, "offset"),
        ({"query": "x" * 201}, "query"),
    ],
)
def test_bad_listing_arguments(seeded, kwargs, message):
    with pytest.raises(InvalidQuestion, match=message):
        seeded.articles(**kwargs)


@pytest.mark.slow
def test_cli_lists_and_deletes(tmp_path):
    index = tmp_path / "index"
    folder = tmp_path / "news"
    folder.mkdir()
    _article(folder, "ferry", "Ferry strike ends", "The Calais ferry strike ended on Tuesday.")

    def qa(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "qa.cli", "--index", str(index), *args],
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert qa("ingest", str(folder)).returncode == 0
    listed = qa("list", "--json")
    assert listed.returncode == 0, listed.stderr
    (article,) = json.loads(listed.stdout)["articles"]
    assert article["title"] == "Ferry strike ends"
    assert "1-1 of 1 articles" in qa("list").stderr
    unknown = qa("delete", "no-such-id")
    assert unknown.returncode != 0 and "no article with id 'no-such-id'" in unknown.stderr
    assert qa("delete", article["id"]).stdout.startswith("removed 1 article(s)")
    assert json.loads(qa("list", "--json").stdout)["total"] == 0
