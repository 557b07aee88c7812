"""The chat and the embedded widget pinned to a collection, in a real browser.

The intranet's legal page embeds ``<gradio-app src=".../c/legal/">``. A reader
the single sign-on proxy puts in ``legal-team`` sees the legal collection's
name, size and examples and gets its answers; anyone else sees the chat say
the collection is not theirs, and nothing of it, even when they type the
question. Headless Chromium from Debian; the proxy's headers are set on every
request the browser makes (as the proxy would add them).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.collections_helpers import LEGAL_QUESTION, SECRET_FACTS
from tests.server_helpers import running_app, static_server
from tests.test_browser import browser  # noqa: F401  (the shared Chromium fixture)

pytestmark = pytest.mark.slow  # a real server and headless Chromium

MEMBER = {"X-Forwarded-User": "ann", "X-Forwarded-Groups": "legal-team"}
OUTSIDER = {"X-Forwarded-User": "bob", "X-Forwarded-Groups": "newsroom"}
REFUSED = "collection 'legal' is not one you may read"


@pytest.fixture(scope="module")
def intranet(two_collections, tmp_path_factory):
    pages = tmp_path_factory.mktemp("intranet-pages")
    with static_server(pages) as intranet_url:
        with running_app(
            two_collections.index_dir,
            QA_ALLOWED_ORIGINS=intranet_url,
            QA_TRUSTED_PROXIES="127.0.0.1",  # the tests' browser stands behind the "proxy"
        ) as app_url:
            (pages / "legal.html").write_text(
                f'<!doctype html><html lang="en"><head><title>Legal team</title>'
                f'<script type="module" src="{app_url}/gradio.js"></script></head><body>'
                f'<gradio-app src="{app_url}/c/legal/"></gradio-app></body></html>'
            )
            yield intranet_url, app_url


def _page(browser, headers):  # noqa: F811
    context = browser.new_context(
        extra_http_headers=headers, viewport={"width": 1280, "height": 900}
    )
    return context, context.new_page()


def test_the_legal_widget_answers_a_member_of_the_legal_team(intranet, browser):  # noqa: F811
    intranet_url, _ = intranet
    context, page = _page(browser, MEMBER)
    page.goto(f"{intranet_url}/legal.html")
    chat = page.locator("#qa-chat")
    expect(chat.locator(".placeholder p").first).to_have_text(
        "legal · 1 article, 1 passage", timeout=60_000
    )
    examples = chat.locator("button.example")
    expect(examples.first).to_be_in_viewport(timeout=60_000)
    box = page.get_by_placeholder("Ask about the articles…")
    box.fill(LEGAL_QUESTION)
    box.press("Enter")
    page.locator(".qa-source").first.wait_for(timeout=60_000)
    assert "41 million" in page.locator(".qa-answer").first.inner_text()
    page.get_by_role("button", name="Index").click()  # its panel lists legal's articles
    expect(page.locator("#qa-articles")).to_contain_text("Zorblax", timeout=30_000)
    expect(page.locator("#qa-article-count")).to_contain_text("1 article")
    context.close()


@pytest.mark.parametrize("headers", [{}, OUTSIDER], ids=["no user", "another group"])
def test_the_legal_widget_gives_an_outsider_nothing(intranet, browser, headers):  # noqa: F811
    intranet_url, app_url = intranet
    context, page = _page(browser, headers)
    for url in (f"{intranet_url}/legal.html", f"{app_url}/?collection=legal"):
        page.goto(url)
        chat = page.locator("#qa-chat")
        expect(chat).to_contain_text(REFUSED, timeout=60_000)
        page.get_by_role("button", name="Index").click()  # the panel says so too
        expect(page.locator("#qa-article-count")).to_contain_text(REFUSED, timeout=30_000)
        box = page.get_by_placeholder("Ask about the articles…")
        box.fill(LEGAL_QUESTION)
        box.press("Enter")
        expect(chat.locator(".message-row").last).to_contain_text(REFUSED, timeout=60_000)
        # the whole page, hidden panels too (the index list, the filters' choices)
        shown = page.content().replace(LEGAL_QUESTION, "")
        assert [fact for fact in SECRET_FACTS if fact in shown] == []
    context.close()
