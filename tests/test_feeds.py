"""Feeds and web pages in, fetched safely: RSS and Atom fixtures served on loopback.

The fixture server runs on 127.0.0.1, which the fetch policy refuses unless
the test lists it in ``private_hosts``: so every test here that fetches says
so explicitly, and the refusal tests prove that nothing else gets through.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from qa.index.articles import LoadResult
from qa.index.fetching import FetchFailed, FetchPolicy, FetchRefused, fetch
from qa.index.formats import load_bytes
from qa.index.formats.base import Source
from qa.index.formats.feed import feed_entries, looks_like_feed
from qa.index.pages import load_url

STORY = (
    "The harbour authority in Dunmore said on Tuesday that the new ferry terminal will "
    "open in March 2027, two years later than planned. Engineers found that the sea wall "
    "needed to be rebuilt after winter storms damaged its foundations. The cost of the "
    "project has risen to 48 million euros, the authority's chief engineer, Aoife Byrne, "
    "told the council. Local businesses had hoped the terminal would bring cruise ships "
    "to the town by next summer."
)
PAGE = f"""<!doctype html><html><head><title>Dunmore ferry terminal delayed to 2027</title></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a></nav>
<header>Dunmore Courier</header>
<article><h1>Dunmore ferry terminal delayed to 2027</h1><p>{STORY}</p></article>
<aside>Related: Council budget approved</aside><footer>Share this story</footer></body></html>"""


def rss(entries: list[dict], with_content: bool) -> bytes:
    items = []
    for e in entries:
        content = (
            f"<content:encoded><![CDATA[<p>{e['text']}</p>]]></content:encoded>"
            if with_content
            else ""
        )
        items.append(
            f"""<item><title>{e["title"]}</title><link>{e["link"]}</link>
<guid isPermaLink="false">{e["guid"]}</guid><pubDate>{e["date"]}</pubDate>
<dc:creator>{e["author"]}</dc:creator><category>{e["category"]}</category>
<description>{e["summary"]}</description>{content}</item>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Dunmore Courier</title><link>http://example.test/</link>
<description>Local news</description>{"".join(items)}</channel></rss>""".encode()


def atom(entries: list[dict], with_content: bool = True) -> bytes:
    body = "".join(
        f"""<entry><title>{e["title"]}</title><link href="{e["link"]}"/><id>{e["guid"]}</id>
<updated>{e["iso"]}</updated><author><name>{e["author"]}</name></author>
<category term="{e["category"]}"/><summary>{e["summary"]}</summary>"""
        + (
            f"""<content type="html">&lt;p&gt;{e["text"]}&lt;/p&gt;</content>"""
            if with_content
            else ""
        )
        + "</entry>"
        for e in entries
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Harbour Wire</title>
<id>urn:harbour-wire</id><updated>2026-12-01T09:00:00Z</updated>{body}</feed>""".encode()


def entries(base: str, edited: bool = False) -> list[dict]:
    return [
        {
            "title": "Dunmore ferry terminal delayed to 2027",
            "link": f"{base}/news/ferry-terminal",
            "guid": "courier-1001",
            "date": "Tue, 01 Dec 2026 09:30:00 GMT",
            "iso": "2026-12-01T09:30:00Z",
            "author": "Niamh Walsh",
            "category": "local",
            "summary": "The terminal will open two years late.",
            "text": STORY,
        },
        {
            "title": "Lifeboat crew rescues two fishermen off Hook Head",
            "link": f"{base}/news/lifeboat",
            "guid": "courier-1002",
            "date": "Wed, 02 Dec 2026 07:00:00 GMT",
            "iso": "2026-12-02T07:00:00Z",
            "author": "Tom Keane",
            "category": "local",
            "summary": "Two men were taken to hospital.",
            "text": (
                "The volunteer lifeboat crew from Fethard was called out at dawn after a small "
                "fishing boat lost power near Hook Head. "
                + (
                    "Both fishermen were treated for hypothermia in Waterford and released."
                    if edited
                    else "Both fishermen were taken to University Hospital Waterford."
                )
            ),
        },
    ]


class _Fixtures(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        self.requests.append(self.path)
        if self.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(50):
                self.wfile.write(b"<p>drip</p>")
                self.wfile.flush()
                time.sleep(0.1)
            return
        status, headers, body = self.routes.get(self.path, (404, {}, b"not here"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "X-Undeclared-Length" not in headers:  # else the body ends when the connection does
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def serving(routes: dict[str, tuple[int, dict[str, str], bytes]]):
    handler = type("Handler", (_Fixtures,), {"routes": routes, "requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.block_on_close = False  # the slow page's handler may still be dripping
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.requests
    finally:
        server.shutdown()
        server.server_close()


LOOPBACK = FetchPolicy(hosts=("127.0.0.1",), private_hosts=("127.0.0.1:*",), timeout_s=3)


def page(body: bytes, kind: str = "text/html; charset=utf-8"):
    return (200, {"Content-Type": kind}, body)


# --- fetching: each refusal, and nothing fetched when refused ---------------------------


def test_fetching_is_off_until_hosts_are_configured():
    with serving({"/": page(PAGE.encode())}) as (base, requests):
        with pytest.raises(FetchRefused, match="QA_FETCH_HOSTS"):
            fetch(base + "/", FetchPolicy())
        assert requests == []


def test_loopback_is_refused_unless_listed_as_private():
    with serving({"/": page(PAGE.encode())}) as (base, requests):
        with pytest.raises(FetchRefused, match="127.0.0.1, a private or local address"):
            fetch(base + "/", FetchPolicy(hosts=("*",)))
        assert requests == []
        assert STORY[:40] in fetch(base + "/", LOOPBACK).data.decode()
        assert requests == ["/"]


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/feed.xml",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "http://192.168.1.1/",
    ],
)
def test_private_link_local_and_mapped_addresses_are_refused_before_connecting(url):
    # 10/8 and 169.254.169.254 are never connected to: the check is on the address
    with pytest.raises(FetchRefused, match="private or local address"):
        fetch(url, FetchPolicy(hosts=("*",), timeout_s=1))


def test_a_public_name_that_resolves_to_a_private_address_is_refused():
    def resolve(host: str, port: int) -> list[str]:
        return ["10.0.0.7"]

    with pytest.raises(FetchRefused, match="news.example.com is at 10.0.0.7"):
        fetch("https://news.example.com/feed", FetchPolicy(hosts=("*",)), resolve)


def test_hosts_schemes_and_credentials_are_checked():
    policy = FetchPolicy(hosts=("*.example.com",))
    with pytest.raises(FetchRefused, match="not in QA_FETCH_HOSTS"):
        fetch("https://example.org/", policy)
    with pytest.raises(FetchRefused, match="only http and https"):
        fetch("file:///etc/passwd", FetchPolicy(hosts=("*",)))
    with pytest.raises(FetchRefused, match="user name or password"):
        fetch("https://user:secret@news.example.com/", policy)


def test_a_redirect_to_loopback_is_refused_and_not_followed():
    with serving({}) as (target, target_requests):
        redirect = (302, {"Location": target.replace("127.0.0.1", "localhost") + "/"}, b"")
        with serving({"/go": redirect}) as (base, requests):
            # any host, but only 127.0.0.1 itself may be private: "localhost" is refused
            policy = FetchPolicy(hosts=("*",), private_hosts=("127.0.0.1:*",), timeout_s=3)
            with pytest.raises(FetchRefused, match="localhost is at 127.0.0.1"):
                fetch(base + "/go", policy)
            assert requests == ["/go"]
        assert target_requests == []


def test_redirects_are_followed_within_the_limit():
    routes = {
        "/a": (301, {"Location": "/b"}, b""),
        "/b": (302, {"Location": "/c"}, b""),
        "/c": page(PAGE.encode()),
    }
    with serving(routes) as (base, requests):
        got = fetch(base + "/a", LOOPBACK)
        assert got.final_url == base + "/c" and STORY[:30] in got.data.decode()
        with pytest.raises(FetchRefused, match="more than 1 redirects"):
            fetch(base + "/a", FetchPolicy(("127.0.0.1",), ("127.0.0.1:*",), max_redirects=1))


def test_an_oversized_page_is_refused():
    with serving({"/big": page(b"x" * 200_000)}) as (base, _):
        with pytest.raises(FetchRefused, match="200,000 bytes; the limit is 100,000"):
            fetch(base + "/big", FetchPolicy(("127.0.0.1",), ("127.0.0.1:*",), max_bytes=100_000))


def test_a_page_that_does_not_declare_its_size_is_cut_off_while_it_is_read():
    undeclared = (200, {"Content-Type": "text/html", "X-Undeclared-Length": "1"}, b"x" * 200_000)
    with serving({"/big": undeclared}) as (base, _):
        with pytest.raises(FetchRefused, match="more than 100,000 bytes"):
            fetch(base + "/big", FetchPolicy(("127.0.0.1",), ("127.0.0.1:*",), max_bytes=100_000))


def test_a_slow_page_is_cut_off_at_the_time_limit():
    with serving({}) as (base, _):
        started = time.monotonic()
        with pytest.raises(FetchRefused, match="took longer than 1 s"):
            fetch(base + "/slow", FetchPolicy(("127.0.0.1",), ("127.0.0.1:*",), timeout_s=1))
        assert time.monotonic() - started < 4


def test_http_errors_and_unknown_hosts_fail_clearly():
    with serving({}) as (base, _):
        with pytest.raises(FetchFailed, match="HTTP 404"):
            fetch(base + "/missing", LOOPBACK)
    with pytest.raises(FetchFailed, match="cannot resolve"):
        fetch("http://no-such-host.invalid/", FetchPolicy(hosts=("*",), timeout_s=2))


# --- feeds ---------------------------------------------------------------------------


def test_an_rss_feed_gives_one_article_per_entry_with_its_metadata():
    result = LoadResult()
    source = Source("courier.rss", "/feeds/courier.rss", "courier")
    found = feed_entries(rss(entries("http://example.test"), True), source, result)
    assert not result.failures and len(found) == 2
    first = found[0].article
    assert first.title == "Dunmore ferry terminal delayed to 2027"
    assert first.text == STORY
    assert first.url == "http://example.test/news/ferry-terminal"
    assert first.published == "2026-12-01T09:30:00Z"
    assert (first.author, first.category, first.source) == (
        "Niamh Walsh",
        "local",
        "Dunmore Courier",
    )
    assert not found[0].summary_only
    summary_only = feed_entries(rss(entries("http://example.test"), False), source, result)
    assert summary_only[0].summary_only
    assert summary_only[0].article.text == "The terminal will open two years late."
    assert summary_only[0].article.id == first.id  # the id follows the guid, not the text


def test_an_atom_feed_reads_like_rss():
    result = load_bytes("wire.atom", atom(entries("http://example.test")), origin="/f/wire.atom")
    assert not result.failures
    assert [a.published for a in result.articles] == [
        "2026-12-01T09:30:00Z",
        "2026-12-02T07:00:00Z",
    ]
    assert result.articles[0].author == "Niamh Walsh" and result.articles[0].text == STORY
    assert result.articles[0].source == "Harbour Wire"


def test_a_summary_only_atom_feed_fetches_the_entry_pages_too():
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    with serving(routes) as (base, requests):
        routes["/wire.atom"] = page(atom(entries(base), with_content=False), "application/atom+xml")
        routes["/news/ferry-terminal"] = page(PAGE.encode())
        routes["/news/lifeboat"] = page(PAGE.replace(STORY, entries(base)[1]["text"]).encode())
        ferry, lifeboat = load_url(base + "/wire.atom", LOOPBACK).articles
        assert ferry.text == STORY and ferry.author == "Niamh Walsh"
        assert lifeboat.text == entries(base)[1]["text"]
        assert requests == ["/wire.atom", "/news/ferry-terminal", "/news/lifeboat"]


def test_a_file_that_is_not_a_feed_is_reported():
    result = load_bytes("notes.xml", b"<notes><note>hello</note></notes>", origin="/f/notes.xml")
    assert not result.articles
    assert "not an RSS or Atom feed" in result.failures[0].reason


def test_a_feed_that_declares_entities_is_refused_before_parsing(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the-secret-value")
    # five levels: expanded, &l5; would be "lol" 100,000 times (the real bombs go to 10**9)
    levels = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 6))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{levels}'
        f'<!ENTITY x SYSTEM "file://{secret}">]><rss version="2.0"><channel><title>t</title>'
        "<item><title>a</title><guid>1</guid><description>&l5; &x; end</description></item>"
        "</channel></rss>"
    ).encode()
    result = load_bytes("bomb.rss", bomb, origin="/f/bomb.rss")
    assert not result.articles
    assert result.failures[0].reason == "feeds that declare XML entities (<!ENTITY) are refused"


def test_feeds_and_pages_are_told_apart():
    assert looks_like_feed(b"", "application/rss+xml")
    assert not looks_like_feed(PAGE.encode(), "text/html")
    assert looks_like_feed(rss([], False), "text/xml")
    assert looks_like_feed(atom([]), "")


def test_a_summary_only_feed_fetches_each_entrys_page():
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    with serving(routes) as (base, requests):
        routes["/feed.rss"] = page(rss(entries(base), False), "application/rss+xml")
        routes["/news/ferry-terminal"] = page(PAGE.encode())
        result = load_url(base + "/feed.rss", LOOPBACK)
        ferry, lifeboat = result.articles
        assert ferry.text == STORY  # the page's article text: no nav, header, aside or footer
        assert lifeboat.text == "Two men were taken to hospital."  # its page is a 404
        assert any("kept the feed's summary" in n and "HTTP 404" in n for n in result.notes)
        assert requests == ["/feed.rss", "/news/ferry-terminal", "/news/lifeboat"]
        requests.clear()
        assert load_url(base + "/feed.rss", LOOPBACK, full_pages=False).articles[0].text == (
            "The terminal will open two years late."
        )
        assert requests == ["/feed.rss"]


def test_a_reread_does_not_fetch_the_pages_of_entries_already_indexed():
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    with serving(routes) as (base, requests):
        routes["/feed.rss"] = page(rss(entries(base), False), "application/rss+xml")
        routes["/news/ferry-terminal"] = page(PAGE.encode())
        first = load_url(base + "/feed.rss", LOOPBACK).articles
        stored = {a.id: (a.url, a.published) for a in first}
        ferry_id = first[0].id
        requests.clear()
        # the ferry entry is indexed with this link and date; the lifeboat one is re-dated
        stored[first[1].id] = (first[1].url, "2026-11-30T00:00:00Z")
        again = load_url(base + "/feed.rss", LOOPBACK, indexed=stored.get)
        assert [a.id for a in again.articles] == [first[1].id] and ferry_id in stored
        assert requests == ["/feed.rss", "/news/lifeboat"]
        assert any("1 feed entries already indexed" in n for n in again.notes)


def test_a_refused_url_is_reported_and_nothing_is_fetched():
    result = load_url("http://169.254.169.254/latest/", FetchPolicy(hosts=("*",)))
    assert not result.articles
    assert "private or local address" in result.failures[0].reason


# --- through the Assistant: the index, re-reads, one changed entry -------------------


@pytest.mark.slow
def test_rereading_a_feed_with_one_changed_entry_updates_exactly_that_article(tmp_path: Path):
    from qa import Assistant

    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    with serving(routes) as (base, requests):
        routes["/feed.rss"] = page(rss(entries(base), True), "application/rss+xml")
        assistant = Assistant(
            index_dir=tmp_path / "index",
            fetch_hosts=("127.0.0.1",),
            fetch_private_hosts=("127.0.0.1:*",),
        )
        first = assistant.ingest([base + "/feed.rss"])
        assert len(first.added) == 2 and not first.failed
        answer = assistant.ask("When will the Dunmore ferry terminal open?")
        assert "March 2027" in answer.citations[0].quote
        assert answer.citations[0].url == f"{base}/news/ferry-terminal"

        again = assistant.ingest([base + "/feed.rss"])
        assert len(again.unchanged) == 2 and not again.changed

        routes["/feed.rss"] = page(rss(entries(base, edited=True), True), "application/rss+xml")
        edited = assistant.ingest([base + "/feed.rss"])
        assert len(edited.updated) == 1 and len(edited.unchanged) == 1 and not edited.added
        listed = {a.title: a for a in assistant.articles().articles}
        lifeboat = listed["Lifeboat crew rescues two fishermen off Hook Head"]
        assert lifeboat.author == "Tom Keane" and lifeboat.published == "2026-12-02T07:00:00Z"
        assert "hypothermia" in assistant.article_text(lifeboat.id)[1]


@pytest.mark.slow
def test_an_assistant_without_fetch_hosts_fetches_nothing(tmp_path: Path):
    from qa import Assistant

    with serving({"/feed.rss": page(rss(entries("http://x"), True))}) as (base, requests):
        report = Assistant(index_dir=tmp_path / "index").ingest([base + "/feed.rss"])
        assert not report.added and "QA_FETCH_HOSTS" in report.failed[0].reason
        assert requests == []


@pytest.mark.slow
def test_qa_ingest_takes_a_feed_url_within_the_hosts_it_is_given(tmp_path: Path):
    import os
    import subprocess
    import sys

    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    with serving(routes) as (base, requests):
        routes["/feed.rss"] = page(rss(entries(base), True), "application/rss+xml")

        def qa_ingest(*extra: str, env: dict[str, str] | None = None):
            return subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "qa.cli",
                    "--index",
                    str(tmp_path / "index"),
                    "ingest",
                    base + "/feed.rss",
                    *extra,
                ],
                capture_output=True,
                text=True,
                timeout=300,
                env={**os.environ, **(env or {})},
            )

        off = qa_ingest()
        assert off.returncode == 1 and "QA_FETCH_HOSTS" in off.stderr and requests == []
        private = qa_ingest("--allow-host", "127.0.0.1")
        assert private.returncode == 1 and "private or local address" in private.stderr
        assert requests == []
        done = qa_ingest("--allow-host", "127.0.0.1", env={"QA_FETCH_PRIVATE_HOSTS": "127.0.0.1:*"})
        assert done.returncode == 0, done.stderr
        assert "2 added" in done.stdout and requests == ["/feed.rss"]


@pytest.mark.slow
def test_the_rest_api_fetches_feeds_only_with_the_token_and_only_urls(tmp_path: Path):
    import httpx

    from tests.server_helpers import running_app

    token = {"Authorization": "Bearer feed-token"}
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    with serving(routes) as (base, requests):
        routes["/feed.atom"] = page(atom(entries(base)), "application/atom+xml")
        with running_app(
            tmp_path / "index",
            QA_API_TOKEN="feed-token",
            QA_FETCH_HOSTS="127.0.0.1",
            QA_FETCH_PRIVATE_HOSTS="127.0.0.1:*",
        ) as app:
            fetch_url = f"{app}/api/fetch"
            body = {"urls": [base + "/feed.atom"]}
            assert httpx.post(fetch_url, json=body).status_code == 401
            assert requests == []  # an anonymous request fetches nothing
            for bad in (["/etc/passwd"], ["file:///etc/passwd"], [], ["http://x/"] * 51):
                refused = httpx.post(fetch_url, json={"urls": bad}, headers=token)
                assert refused.status_code == 422, (bad, refused.text)
            other = httpx.post(
                fetch_url, json={"urls": ["http://169.254.169.254/"]}, headers=token, timeout=30
            )
            assert other.status_code == 200 and not other.json()["added"]
            assert "not in QA_FETCH_HOSTS" in other.json()["failed"][0]["reason"]
            done = httpx.post(fetch_url, json=body, headers=token, timeout=120)
            assert done.status_code == 200, done.text
            assert len(done.json()["added"]) == 2 and requests == ["/feed.atom"]
            answer = httpx.post(
                f"{app}/api/ask",
                json={"question": "How much will the Dunmore terminal cost?"},
                timeout=60,
            ).json()
            assert "48 million euros" in answer["citations"][0]["quote"]
            schema = httpx.get(f"{app}/openapi.json").json()
            assert "/api/fetch" in schema["paths"]


def test_the_pages_fetched_per_feed_read_are_capped_and_the_rest_left_for_the_next(
    monkeypatch,
):
    import qa.index.pages

    monkeypatch.setattr(qa.index.pages, "MAX_PAGES_PER_READ", 1)
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    with serving(routes) as (base, requests):
        routes["/feed.rss"] = page(rss(entries(base), False), "application/rss+xml")
        routes["/news/ferry-terminal"] = page(PAGE.encode())
        first = load_url(base + "/feed.rss", LOOPBACK)
        assert [a.text for a in first.articles] == [STORY]
        assert requests == ["/feed.rss", "/news/ferry-terminal"]
        assert any("1 feed entries left for the next read" in n for n in first.notes)
        indexed = {a.id: (a.url, a.published) for a in first.articles}
        requests.clear()
        second = load_url(base + "/feed.rss", LOOPBACK, indexed=indexed.get)
        assert [a.title for a in second.articles] == [entries(base)[1]["title"]]
        assert requests == ["/feed.rss", "/news/lifeboat"]
