"""News pages read as stories: the saved-page set through the real .html loader."""

from __future__ import annotations

import pytest

from qa.index.formats import load_bytes
from tests.saved_pages import STORIES, pages, scores

PAGES = list(pages())


@pytest.mark.parametrize("name,page,story", PAGES, ids=[p[0] for p in PAGES])
def test_each_saved_page_gives_its_story_and_almost_no_chrome(name, page, story):
    (article,) = load_bytes(name, page.encode(), origin=f"/saved/{name}").articles
    recall, boilerplate = scores(article.text, story)
    assert recall >= 0.95, (name, article.text[:300])
    assert boilerplate <= 0.02, (name, article.text[:600])
    assert article.title == story.title
    assert "Share on" not in article.text and "Reply" not in article.text


def test_the_set_covers_three_layouts_and_fifteen_stories():
    assert len(PAGES) == len(STORIES) == 15
    assert {name.split("-")[0] for name, _, _ in PAGES} == {"newspaper", "blog", "wire"}


def test_a_pages_metadata_becomes_the_articles_author_date_and_source():
    name, page, story = PAGES[0]  # the newspaper layout: og:site_name, author, published time
    (article,) = load_bytes(name, page.encode(), origin="/saved/x").articles
    assert (article.author, article.published, article.source) == (
        story.author,
        story.published,
        "The Daily Courier",
    )


def test_an_author_box_is_not_taken_for_a_byline():
    name, page, story = PAGES[1]  # the blog layout: its "About ..." box is prose
    (article,) = load_bytes(name, page.encode(), origin="/saved/x").articles
    assert article.author in ("", story.author)


def test_a_fragment_without_a_story_falls_back_to_its_visible_text():
    html = b"<html><body><div>Short notice: the ferry leaves at 9.</div></body></html>"
    (article,) = load_bytes("notice.html", html, origin="/x/notice.html").articles
    assert article.text == "Short notice: the ferry leaves at 9."
