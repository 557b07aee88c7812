"""A real browser: the intranet page embeds the chat, asks, and sees a cited answer.

Headless Chromium from Debian (/usr/bin/chromium) driven by Playwright. Every
request the page makes is recorded; any that leaves the two local origins
(the intranet page's and the app's) fails the test.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.server_helpers import ROOT, running_app, static_server

pytestmark = pytest.mark.slow  # a real server and headless Chromium

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "tests" / "screenshots"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser")
    pages = base / "intranet"
    pages.mkdir()
    with static_server(pages) as intranet_url:
        with running_app(base / "index", QA_ALLOWED_ORIGINS=intranet_url) as app_url:
            for name in ("intranet.html", "intranet-iframe.html"):
                html = (ROOT / "examples" / name).read_text()
                (pages / name).write_text(html.replace("http://127.0.0.1:7860", app_url))
            yield intranet_url, app_url


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: install Debian's chromium (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def _record_requests(page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def _outside(urls: list[str], *origins: str) -> list[str]:
    allowed = {urlparse(o).netloc for o in origins}
    return [
        u
        for u in urls
        if urlparse(u).scheme in ("http", "https", "ws", "wss")
        and urlparse(u).netloc not in allowed
    ]


@pytest.mark.parametrize("width, height, name", [(1280, 900, "desktop"), (390, 844, "phone")])
def test_embedded_widget_answers_with_citations(served, browser, width, height, name):
    intranet_url, app_url = served
    page = browser.new_page(viewport={"width": width, "height": height})
    requests = _record_requests(page)
    page.goto(f"{intranet_url}/intranet.html")
    box = page.get_by_placeholder("Ask about the articles…")
    box.wait_for(timeout=60_000)
    box.fill("What did France promise in July?")
    box.press("Enter")
    source = page.locator(".qa-source").first
    source.wait_for(timeout=60_000)
    assert "taxi boats" in page.locator(".qa-answer").first.inner_text()
    page.locator(".qa-cite").first.click()
    page.wait_for_function("document.querySelector('.qa-source').open === true", timeout=5_000)
    assert page.locator(".qa-source mark").first.inner_text()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"intranet-{name}.png"), full_page=True)
    assert _outside(requests, intranet_url, app_url) == []
    page.close()


@pytest.mark.parametrize("width, height, name", [(1280, 900, "desktop"), (390, 844, "phone")])
def test_the_first_screen_offers_questions_from_the_collection(
    served, browser, width, height, name
):
    """Opened on a desktop or a phone, the empty chat names the collection and its size
    and offers three questions drawn from its articles, all in view without scrolling;
    clicking one asks it and gets a cited answer."""
    _, app_url = served
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(app_url)
    chat = page.locator("#qa-chat")
    examples = chat.locator("button.example")  # Gradio's examples inside the empty chat
    expect(examples).to_have_count(3, timeout=60_000)
    heading = chat.locator(".placeholder p").first
    expect(heading).to_have_text("default · 1 article, 3 passages")
    for shown in [heading, *examples.all()]:
        expect(shown).to_be_in_viewport(ratio=1)
    assert page.evaluate("window.scrollY") == 0
    questions = examples.all_inner_texts()
    assert len(set(questions)) == 3 and all(q.endswith("?") for q in questions), questions
    assert _axe_violations(page) == []  # the examples are a labelled group, not a bare list
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"first-screen-{name}.png"))
    examples.first.click()
    page.locator(".qa-source").first.wait_for(timeout=60_000)
    expect(chat.locator(".message-row.user-row")).to_have_text(questions[0])
    assert page.locator(".qa-cite").count() >= 1
    assert page.locator(".qa-answer").first.get_attribute("class") == "qa-answer"  # no refusal
    expect(page.get_by_placeholder("Ask about the articles…")).to_have_value("")
    page.close()


def test_iframe_variant_loads_the_chat(served, browser):
    intranet_url, app_url = served
    page = browser.new_page()
    requests = _record_requests(page)
    page.goto(f"{intranet_url}/intranet-iframe.html")
    frame = page.frame_locator("iframe")
    frame.get_by_placeholder("Ask about the articles…").wait_for(timeout=60_000)
    assert _outside(requests, intranet_url, app_url) == []
    page.close()


def test_html_in_questions_is_shown_as_text(served, browser):
    _, app_url = served
    page = browser.new_page()
    page.goto(app_url)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    box = page.get_by_placeholder("Ask about the articles…")
    box.wait_for(timeout=60_000)
    box.fill('<img src=x onerror="alert(1)"> <b>bold</b> taxi boats?')
    box.press("Enter")
    page.get_by_text("<b>bold</b>", exact=False).first.wait_for(timeout=60_000)
    # the answer rendered after the question: any injected element would be in the page
    page.wait_for_function("document.querySelectorAll('.qa-answer').length >= 1", timeout=60_000)
    assert dialogs == []
    assert page.locator("#qa-chat img[src='x']").count() == 0
    page.close()


def test_upload_in_the_chat_is_answerable_at_once(browser, tmp_path_factory):
    base = tmp_path_factory.mktemp("uploads")
    story = base / "ferry-strike.md"
    story.write_text(
        "---\ntitle: Ferry strike ends\nsource: Harbour Gazette\n---\n"
        "The ferry strike in Calais ended on Tuesday after the unions accepted "
        "a 4% pay rise.\n"
    )
    with running_app(base / "index", QA_ALLOW_UPLOADS="true") as app_url:
        # chat uploads on, no QA_API_TOKEN: the REST write routes stay closed (403)
        import httpx

        body = {"articles": [{"title": "T", "text": "Some text."}]}
        for reply in (
            httpx.post(f"{app_url}/api/articles", json=body, timeout=60),
            httpx.post(
                f"{app_url}/api/articles",
                json=body,
                headers={"Authorization": "Bearer anything"},
                timeout=60,
            ),
            httpx.delete(f"{app_url}/api/articles/some-id", timeout=60),
        ):
            assert reply.status_code == 403, reply.text
            assert "no QA_API_TOKEN configured" in reply.json()["error"]
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(app_url)
        page.get_by_text("Index").first.click()
        page.locator("input[type=file]").set_input_files(str(story))
        page.get_by_role("button", name="Add to index").click()
        page.get_by_text("1 added").wait_for(timeout=60_000)
        box = page.get_by_placeholder("Ask about the articles…")
        box.fill("Why did the ferry strike end?")
        box.press("Enter")
        page.locator(".qa-source").first.wait_for(timeout=60_000)
        assert "4% pay rise" in page.locator(".qa-answer").first.inner_text()
        assert "Ferry strike ends" in page.locator(".qa-source summary").first.inner_text()
        _narrow_the_search_to_one_source(page)
        _find_and_remove_in_the_index_panel(page)
        page.close()


def _narrow_the_search_to_one_source(page) -> None:
    """The filter row offers the index's own sources; narrowed to one, the answer
    comes from it alone, and a question about another source's story is refused."""
    page.get_by_text("Narrow the search").click()
    page.locator("#qa-filter-source input").click()
    page.get_by_role("option", name="Harbour Gazette").click()
    box = page.get_by_placeholder("Ask about the articles…")
    box.fill("What did France promise in July?")
    box.press("Enter")
    page.wait_for_function("document.querySelectorAll('.qa-answer').length >= 2", timeout=60_000)
    assert page.locator(".qa-answer").last.get_attribute("class").endswith("qa-refusal")
    box.fill("When did the ferry strike end?")
    box.press("Enter")
    page.wait_for_function("document.querySelectorAll('.qa-answer').length >= 3", timeout=60_000)
    expect(page.locator(".qa-answer").nth(2)).to_contain_text("Tuesday", timeout=30_000)
    summaries = page.locator(".qa-source summary").all_inner_texts()
    assert summaries and all("Harbour Gazette" in s for s in summaries[-1:])
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "filtered-answer.png"))
    page.locator("#qa-filter-source input").click()
    page.get_by_role("option", name="any").click()


def _find_and_remove_in_the_index_panel(page) -> None:
    """The index panel lists the articles, filters them, and removes one after a
    confirmation; the chat then no longer finds what it said."""
    listing = page.locator("#qa-articles")
    count = page.locator("#qa-article-count")
    count.get_by_text("2 articles", exact=True).wait_for(timeout=30_000)
    assert "Ferry strike ends" in listing.inner_text()
    assert "France backs away" in listing.inner_text()
    page.locator("#qa-article-search input, #qa-article-search textarea").fill("ferry")
    count.get_by_text("1 article matching").wait_for(timeout=30_000)
    assert "France backs away" not in listing.inner_text()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.locator("#qa-articles").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "index-panel.png"), full_page=True)
    page.locator("#qa-remove-choice input").click()
    page.get_by_role("option", name="Ferry strike ends", exact=False).click()
    page.locator("#qa-remove").click()
    page.get_by_text("from the index?").wait_for(timeout=10_000)
    page.locator("#qa-confirm").click()
    page.get_by_text("Removed").wait_for(timeout=60_000)
    count.get_by_text("0 articles matching").wait_for(timeout=30_000)
    box = page.get_by_placeholder("Ask about the articles…")
    box.fill("Why did the ferry strike end in Calais?")
    box.press("Enter")
    page.locator(".qa-refusal").last.wait_for(timeout=60_000)


AXE = ROOT / "tests" / ".axe" / "node_modules" / "axe-core" / "axe.min.js"


def _axe_violations(page, context: str = "document") -> list[str]:
    """axe-core's WCAG 2 A/AA violations on the page, one line each."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: make install-test installs it from npm")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async (context) => {
            const result = await axe.run(eval(context),
                {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]}});
            return result.violations.map(v => `${v.id}: ${v.help} (` +
                v.nodes.slice(0, 3).map(n => n.target.join(" ") + " " +
                    JSON.stringify((n.any[0] || {}).data || {})).join("; ") + ")");
        }""",
        context,
    )
    return list(found)


def ask_and_open_a_source(page) -> None:
    box = page.get_by_placeholder("Ask about the articles…")
    box.wait_for(timeout=60_000)
    box.fill("What did France promise in July?")
    box.press("Enter")
    page.locator(".qa-source").first.wait_for(timeout=60_000)
    page.locator(".qa-cite").first.click()
    page.wait_for_function("document.querySelector('.qa-source').open === true", timeout=5_000)


def _answered_with_a_source_open(served, browser, where: str):
    """A desktop page, the chat itself or the intranet page embedding it, after the
    France question with its first source open."""
    intranet_url, app_url = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app_url if where == "chat" else f"{intranet_url}/intranet.html")
    ask_and_open_a_source(page)
    return page


@pytest.mark.parametrize("where", ["chat", "widget"])
def test_no_accessibility_violations_after_an_answer(served, browser, where):
    """axe-core, WCAG 2 A/AA: the chat page, and the widget in the intranet page."""
    page = _answered_with_a_source_open(served, browser, where)
    assert _axe_violations(page) == []
    page.close()


def test_the_citation_marks_are_reachable_with_the_keyboard(served, browser):
    """From the top of the page, Tab reaches the [n] mark and Enter opens its source."""
    page = _answered_with_a_source_open(served, browser, "chat")
    page.evaluate("document.querySelector('.qa-source').open = false;document.activeElement.blur()")
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('.qa-cite')"):
            break
    else:
        pytest.fail("Tab never reached a [n] mark")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('.qa-source').open === true", timeout=5_000)
    page.close()


def test_the_widget_does_not_scroll_the_host_page(served, browser):
    """The intranet page's header stays in view while the widget loads."""
    intranet_url, _ = served
    page = browser.new_page(viewport={"width": 1280, "height": 700})
    page.goto(f"{intranet_url}/intranet.html")
    page.get_by_placeholder("Ask about the articles…").wait_for(timeout=60_000)
    # the app's own load script (qa.web.ui.JS) has run, and two frames were laid out since
    page.wait_for_function("document.documentElement.dataset.qaLoaded === 'true'", timeout=60_000)
    page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    assert page.evaluate("window.scrollY") == 0
    assert page.locator("header").bounding_box()["y"] == 0
    page.close()


def test_the_newest_answer_is_in_view_after_a_source_was_opened(served, browser):
    page = _answered_with_a_source_open(served, browser, "chat")
    for n, question in enumerate(
        ["Who is Martin Hewitt?", "Why do French police rarely intervene against taxi-boats?"],
        start=2,
    ):
        box = page.get_by_placeholder("Ask about the articles…")
        box.fill(question)
        box.press("Enter")
        page.wait_for_function(
            f"document.querySelectorAll('.qa-answer').length >= {n}", timeout=60_000
        )
        expect(page.locator(".qa-answer").nth(n - 1)).to_be_in_viewport(timeout=10_000)
    newest = page.locator(".qa-answer").last.bounding_box()
    assert newest is not None and 0 <= newest["y"] < 900 - 40, newest
    asked = page.get_by_text("Why do French police rarely intervene").last.bounding_box()
    assert asked is not None and asked["y"] >= 0, asked  # the newest question is on screen too
    page.close()


def test_the_conversation_exports_as_markdown_and_json(served, browser):
    import json

    page = _answered_with_a_source_open(served, browser, "chat")
    button = page.locator("#qa-export-md")
    page.wait_for_function("!document.querySelector('#qa-export-md').disabled", timeout=30_000)
    with page.expect_download() as markdown:
        button.click()
    text = Path(markdown.value.path()).read_text()
    assert "## What did France promise in July?" in text and "taxi boats" in text
    with page.expect_download() as data:
        page.locator("#qa-export-json").click()
    (turn,) = json.loads(Path(data.value.path()).read_text())["conversation"]
    quote = " ".join(turn["answer"]["citations"][0]["quote"].split())
    assert quote in " ".join(text.replace("\\", "").split())
    page.close()


@pytest.mark.parametrize("where", ["chat", "widget"])
def test_a_source_without_a_url_opens_the_whole_article_at_the_quote(served, browser, where):
    page = _answered_with_a_source_open(served, browser, where)
    quote = page.locator(".qa-source mark").first.inner_text()
    with page.expect_popup() as opened:
        page.locator(".qa-article-link").first.click()
    article = opened.value
    article.wait_for_load_state()
    assert article.url.startswith(f"{served[1]}/articles/")  # the app's, also when embedded
    assert (
        article.locator("h1").inner_text()
        == "France backs away from Channel small-boats commitment"
    )
    marked = article.locator("mark#quote").inner_text()
    assert " ".join(quote.split()) in " ".join(marked.split())
    assert len(article.locator(".article").inner_text()) > 2_000  # the whole article
    article.close()
    page.close()
