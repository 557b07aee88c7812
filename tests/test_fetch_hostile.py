"""Fetching against servers that fight back: bombs, drips, odd URLs and odd addresses.

Each test stands for an attack that once worked (issue 39). The fixture server is
a raw socket on loopback, so a test controls every byte and every pause; each
one is bounded in time and stops by itself.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pytest

from qa.index.fetching import FetchFailed, FetchPolicy, FetchRefused, fetch, normalised_url
from qa.index.formats import find_files, load_bytes
from qa.index.ingest import Ingestor
from qa.index.pages import load_url

Handler = Callable[[socket.socket, bytes], None]
FEED = b"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>
<title>Dunmore Courier</title><item><title>Ferry terminal delayed</title>
<link>http://example.test/ferry</link><guid>ferry-1</guid>
<description>The harbour authority said the terminal opens in March 2027.</description>
<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">
<![CDATA[<p>The harbour authority said the terminal opens in March 2027, two years late.</p>]]>
</content:encoded></item></channel></rss>"""
PAGE = (
    b"<html><head><title>Dunmore ferry terminal delayed</title></head><body><article>"
    b"<h1>Dunmore ferry terminal delayed</h1><p>The harbour authority in Dunmore said on "
    b"Tuesday that the new ferry terminal will open in March 2027, two years later than "
    b"planned, after winter storms damaged the sea wall.</p></article></body></html>"
)


@contextmanager
def raw_server(handler: Handler) -> Iterator[tuple[str, list[bytes]]]:
    """A loopback server that hands each connection's request to ``handler``."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    requests: list[bytes] = []
    stop = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            request = b""
            try:
                while b"\r\n\r\n" not in request:
                    piece = conn.recv(4096)
                    if not piece:
                        return
                    request += piece
                requests.append(request)
                handler(conn, request)
            except OSError:
                pass  # the client gave up, as it should

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", requests
    finally:
        stop.set()
        listener.close()


def respond(body: bytes, headers: dict[str, str] | None = None) -> Handler:
    def handler(conn: socket.socket, request: bytes) -> None:
        lines = [b"HTTP/1.1 200 OK", f"Content-Length: {len(body)}".encode()]
        lines += [f"{k}: {v}".encode() for k, v in (headers or {}).items()]
        conn.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)

    return handler


def loopback(**limits) -> FetchPolicy:
    return FetchPolicy(hosts=("127.0.0.1",), private_hosts=("127.0.0.1:*",), **limits)


def peak_bytes(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
    except (FetchRefused, FetchFailed):
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


# --- 1. compression bombs --------------------------------------------------------------


def test_a_gzip_bomb_is_refused_at_the_limit_without_being_decoded_whole():
    bomb = gzip.compress(bytes(200_000_000), compresslevel=9)  # 200 MB of zeros in ~200 KB
    with raw_server(respond(bomb, {"Content-Encoding": "gzip"})) as (base, _):
        with pytest.raises(FetchRefused, match="more than 1,000,000 bytes once decoded"):
            fetch(base + "/", loopback(max_bytes=1_000_000))
        peak = peak_bytes(lambda: fetch(base + "/", loopback(max_bytes=1_000_000)))
    assert peak < 6_000_000, f"the fetch held {peak:,} bytes for a 1 MB limit"


def test_a_gzip_page_within_the_limit_is_decoded():
    with raw_server(respond(gzip.compress(PAGE), {"Content-Encoding": "gzip"})) as (base, _):
        assert fetch(base + "/", loopback()).data == PAGE


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip"])
def test_brotli_zstd_and_stacked_bodies_are_neither_asked_for_nor_decoded(encoding):
    import brotli
    import zstandard

    zeros = bytes(100_000_000)
    body = {
        "br": lambda: brotli.compress(zeros, quality=5),
        "zstd": lambda: zstandard.ZstdCompressor().compress(zeros),
        "gzip, gzip": lambda: gzip.compress(gzip.compress(zeros[:10_000_000])),
    }[encoding]()
    with raw_server(respond(body, {"Content-Encoding": encoding})) as (base, requests):
        with pytest.raises(FetchFailed, match="Content-Encoding .* is not accepted"):
            fetch(base + "/", loopback(max_bytes=1_000_000))
        peak = peak_bytes(lambda: fetch(base + "/", loopback(max_bytes=1_000_000)))
    asked = requests[0].lower().split(b"accept-encoding:")[1].split(b"\r\n")[0]
    assert b"br" not in asked and b"zstd" not in asked
    assert peak < 6_000_000, f"the fetch held {peak:,} bytes for a 1 MB limit"


# --- 2. one deadline for the whole fetch ------------------------------------------------


def drip(conn: socket.socket, request: bytes) -> None:
    """The status line, then one header byte every 0.2 s for up to 8 s."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
    for _ in range(40):
        conn.sendall(b"x")
        time.sleep(0.2)


def test_a_header_dripped_a_byte_at_a_time_is_cut_at_the_fetch_deadline():
    with raw_server(drip) as (base, _):
        started = time.monotonic()
        with pytest.raises(FetchRefused, match="took longer than 1 s"):
            fetch(base + "/", loopback(timeout_s=1))
        assert time.monotonic() - started < 2.0


def test_a_slow_dns_answer_counts_against_the_deadline():
    def slow_resolver(host: str, port: int) -> list[str]:
        time.sleep(3)
        return ["93.184.216.34"]

    started = time.monotonic()
    with pytest.raises(FetchRefused, match="took longer than 1 s"):
        fetch("http://news.example.com/", FetchPolicy(hosts=("*",), timeout_s=1), slow_resolver)
    assert time.monotonic() - started < 1.5


# --- 4, 5: odd URLs ---------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://[::1/feed", "http://host:99999/", "http://[zz::1]/"])
def test_a_malformed_url_is_a_refusal_not_an_exception(url):
    with pytest.raises(FetchRefused, match="not a URL I can read|port"):
        fetch(url, FetchPolicy(hosts=("*",), timeout_s=1))
    result = load_url(url, FetchPolicy(hosts=("*",), timeout_s=1))
    assert result.failures and not result.articles


def test_a_malformed_url_beside_a_good_feed_fails_alone():
    with raw_server(respond(FEED, {"Content-Type": "application/rss+xml"})) as (base, _):
        loaded = _ingestor().load(["http://[::1/feed", base + "/feed.rss"])
    assert [f.name for f in loaded.failed] == ["http://[::1/feed"]
    assert [a.title for a in loaded.articles] == ["Ferry terminal delayed"]


def test_one_feed_spelled_two_ways_gives_the_same_entry_ids():
    with raw_server(respond(FEED, {"Content-Type": "application/rss+xml"})) as (base, _):
        port = base.rsplit(":", 1)[1]
        plain = load_url(f"http://127.0.0.1:{port}/feed.rss", loopback())
        shouted = load_url(f"HTTP://127.0.0.1:{port}/feed.rss#latest", loopback())
    assert plain.articles and [a.id for a in plain.articles] == [a.id for a in shouted.articles]
    assert normalised_url("HTTP://News.Example.com:80/feed#x") == "http://news.example.com/feed"
    assert normalised_url("https://news.example.com:8443") == "https://news.example.com:8443/"


def test_the_same_url_listed_many_times_is_fetched_once():
    with raw_server(respond(PAGE, {"Content-Type": "text/html"})) as (base, requests):
        port = base.rsplit(":", 1)[1]
        urls = [base + "/story"] * 50 + [f"HTTP://127.0.0.1:{port}/story#top"]
        loaded = _ingestor().load(urls)
    assert len(requests) == 1 and len(loaded.articles) == 1


# --- addresses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address", ["::7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "fec0::1", "2001:0:4136:e378::"]
)
def test_ipv6_forms_of_private_addresses_are_refused(address):
    # loopback in IPv4-compatible form, the metadata address through NAT64, loopback
    # through 6to4, the old site-local range, a Teredo address (judged by its client)
    def resolve(host: str, port: int) -> list[str]:
        return [address]

    with pytest.raises(FetchRefused, match="a private or local address"):
        fetch("http://news.example.com/", FetchPolicy(hosts=("*",), timeout_s=1), resolve)


def test_a_listed_private_host_is_reachable_only_on_the_ports_it_names():
    with raw_server(respond(PAGE)) as (base, requests):
        port = int(base.rsplit(":", 1)[1])
        for entry in ("127.0.0.1", f"127.0.0.1:{port + 1}"):
            policy = FetchPolicy(hosts=("127.0.0.1",), private_hosts=(entry,), timeout_s=2)
            with pytest.raises(FetchRefused, match="private or local address"):
                fetch(base + "/", policy)
        assert requests == []
        for entry in (f"127.0.0.1:{port}", "127.0.0.1:*"):
            policy = FetchPolicy(hosts=("127.0.0.1",), private_hosts=(entry,), timeout_s=2)
            assert fetch(base + "/", policy).data == PAGE


# --- 3. entities in any encoding ----------------------------------------------------------

LAUGHS = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 6))
BOMB = (
    f'<?xml version="1.0" encoding="{{}}"?><!DOCTYPE r [<!ENTITY l0 "lol">{LAUGHS}]>'
    '<rss version="2.0"><channel><title>t</title><item><title>a</title><guid>1</guid>'
    "<description>&l5; end</description></item></channel></rss>"
)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "cp037"])
def test_a_feed_declaring_entities_is_refused_in_any_encoding(codec):
    data = BOMB.format(codec.upper()).encode(codec)
    started = time.monotonic()
    result = load_bytes("bomb.rss", data, origin="/f/bomb.rss")
    assert not result.articles
    assert result.failures[0].reason == "feeds that declare XML entities (<!ENTITY) are refused"
    assert time.monotonic() - started < 1


# --- 6. links out of a folder --------------------------------------------------------------


def test_links_that_leave_a_folder_are_skipped_with_a_note(tmp_path: Path):
    private = tmp_path / "private"
    private.mkdir()
    (private / "secret.txt").write_text("Salaries: the payroll file lists every salary.")
    folder = tmp_path / "news"
    (folder / "inner").mkdir(parents=True)
    (folder / "story.txt").write_text("A story that belongs here.")
    (folder / "inner" / "other.txt").write_text("Another story inside.")
    (folder / "secret.txt").symlink_to(private / "secret.txt")
    (folder / "alias.txt").symlink_to(folder / "inner" / "other.txt")  # stays inside: read
    (folder / "elsewhere").symlink_to(private, target_is_directory=True)

    found = find_files([folder])
    assert sorted(p.name for p in found.files) == ["alias.txt", "other.txt", "story.txt"]
    assert len(found.notes) == 1 and "secret.txt: skipped, a link to" in found.notes[0]
    opted_in = find_files([folder], outside_links=True)
    assert "secret.txt" in [p.name for p in opted_in.files]


def _ingestor() -> Ingestor:
    """An ingestor whose store and model are never reached: ``load`` only reads."""
    return Ingestor(None, None, 200, 1_000_000, loopback(timeout_s=3))  # type: ignore[arg-type]
