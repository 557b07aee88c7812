"""Server mode: app hosts that share nothing but a `chroma run` server.

Two `python app.py` processes with different ``QA_INDEX_DIR`` folders stand for
two machines (``host-a``, ``host-b``); both have ``QA_CHROMA_URL``, so the index
is made in the chroma layout (``qa.index.chroma_layout``): every chunk's payload
is in Chroma, each host's lexical index is a cache built from Chroma and kept
current from the change log (``qa.index.log_follower``), and writers on the two
hosts share no lock (versioned chunk ids, upserts, newest version kept).

The promise tested: a write returned by one host is answered by the other within
``VISIBLE_WITHIN`` seconds, lexical index included; a host whose folder is lost
rebuilds from Chroma alone; concurrent and conflicting writers leave one copy of
each article, the same on every host; a writer killed mid-write leaves hosts that
agree, and a re-run completes its articles.

The hosts run with a prelude (``HOST_PRELUDE``) that makes each Chroma upsert
small (3 records, so a write is several batches that can interleave with another
host's), journals every upserted record's version and ``written_at`` stamp (the
conflict test reads which write was stamped last, even for a version that was
deleted afterwards), and pauses after each upsert when the test asks it to.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

import chromadb
import httpx
import pytest

from qa.index.chroma_layout import payload_text
from tests.chroma_helpers import module_chroma_url  # noqa: F401
from tests.server_helpers import running_app
from tests.test_writers import _Lines

pytestmark = pytest.mark.slow  # a `chroma run` server, two app processes, CLI writers

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
VISIBLE_WITHIN = 5.0  # seconds after a write's response: what the feature promises
COLLECTION = "articles"  # the default QA_CHROMA_COLLECTION

# Run in each app host before the app: small upserts, each journalled (article id,
# content hash, written_at of every record) and followed by a pause the test can set;
# every full build of the host's lexical index noted in a file of its own.
HOST_PRELUDE = """
import json, time
from pathlib import Path
from chromadb.api.models.Collection import Collection
import qa.index.chroma_layout
qa.index.chroma_layout.WRITE_BATCH = 3
_plain_upsert = Collection.upsert
def _journalled_upsert(self, *args, **kwargs):
    _plain_upsert(self, *args, **kwargs)
    with open({journal!r}, "a") as journal:
        for meta in kwargs.get("metadatas") or []:
            fields = [meta.get("article_id"), meta.get("content_hash"), meta.get("written_at")]
            journal.write(json.dumps(fields) + "\\n")
    pause = Path({pause!r})
    if pause.exists():
        time.sleep(float(pause.read_text() or 0))
Collection.upsert = _journalled_upsert
import qa.index.tantivy_lexical as _lexical
_plain_build = _lexical.TantivyLexicalIndex.build
def _noted_build(self, chunks, revision):
    with open({builds!r}, "a") as noted:
        noted.write("full build\\n")
    _plain_build(self, chunks, revision)
_lexical.TantivyLexicalIndex.build = _noted_build
"""

# `qa ingest` with upserts of 3 records; each change-log record (written before its
# batch) and each upsert announced on stderr, the upserts followed by a pause: a kill
# after the first "chroma batch written" lands inside the first article's write, after
# that batch and its record, before the next record; a kill after the first "change
# logged", between a record and its upsert.
SLOW_INGEST = (
    "import sys, time\n"
    "import qa.index.chroma_layout as layout\n"
    "from chromadb.api.models.Collection import Collection\n"
    "from qa.index.change_log import ChangeLog\n"
    "layout.WRITE_BATCH = 3\n"
    "plain = Collection.upsert\n"
    "def upsert(self, *args, **kwargs):\n"
    "    plain(self, *args, **kwargs)\n"
    "    print('chroma batch written', file=sys.stderr, flush=True)\n"
    "    time.sleep(1.0)\n"
    "Collection.upsert = upsert\n"
    "plain_append = ChangeLog.append\n"
    "def append(self, *args, **kwargs):\n"
    "    plain_append(self, *args, **kwargs)\n"
    "    print('change logged', file=sys.stderr, flush=True)\n"
    "    time.sleep(1.0)\n"
    "ChangeLog.append = append\n"
    "from qa.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


# Hosts -----------------------------------------------------------------------------------
class Host:
    """One app process standing for one machine: its own index folder, the shared Chroma."""

    def __init__(self, name: str, root: Path, chroma_url: str) -> None:
        self.name = name
        self.folder = root / name
        self.journal = root / f"{name}.journal"
        self.pause_file = root / f"{name}.pause"
        self.builds_file = root / f"{name}.builds"
        self.chroma_url = chroma_url
        self.url = ""
        self._stack: ExitStack | None = None

    def start(self) -> None:
        stack = ExitStack()
        prelude = HOST_PRELUDE.format(
            journal=str(self.journal), pause=str(self.pause_file), builds=str(self.builds_file)
        )
        self.url = stack.enter_context(
            running_app(
                self.folder,
                prelude=prelude,
                QA_CHROMA_URL=self.chroma_url,
                QA_API_TOKEN=TOKEN,
            )
        )
        self._stack = stack
        search(self, "warm up")  # the first search builds the lexical cache and starts following

    def stop(self) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None

    def full_builds(self) -> int:
        """How many times this host built its lexical index from scratch."""
        return len(self.builds_file.read_text().splitlines()) if self.builds_file.exists() else 0

    def pause_after_upserts(self, seconds: float) -> None:
        self.pause_file.write_text(str(seconds))

    def journalled(self, article_id: str) -> list[tuple[str, int]]:
        """(content hash, written_at) of every record of the article this host upserted."""
        if not self.journal.exists():
            return []
        rows = [json.loads(line) for line in self.journal.read_text().splitlines()]
        return [(content_hash, stamp) for aid, content_hash, stamp in rows if aid == article_id]


class Hosts:
    def __init__(self, a: Host, b: Host, chroma_url: str) -> None:
        self.a, self.b, self.chroma_url = a, b, chroma_url


@pytest.fixture(scope="module")
def hosts(module_chroma_url, tmp_path_factory):  # noqa: F811
    root = tmp_path_factory.mktemp("hosts")
    a = Host("host-a", root, module_chroma_url)
    b = Host("host-b", root, module_chroma_url)
    try:
        with ThreadPoolExecutor(2) as starting:  # models load in both at once
            for started in [starting.submit(a.start), starting.submit(b.start)]:
                started.result()
        yield Hosts(a, b, module_chroma_url)
    finally:
        a.stop()
        b.stop()


@pytest.fixture(autouse=True)
def _no_pauses(request):
    """Every test starts and ends with hosts that do not pause after their upserts."""
    if "hosts" not in request.fixturenames:
        yield
        return
    both = request.getfixturevalue("hosts")
    for host in (both.a, both.b):
        host.pause_file.unlink(missing_ok=True)
    yield
    for host in (both.a, both.b):
        host.pause_file.unlink(missing_ok=True)


# The REST API ----------------------------------------------------------------------------
def post_articles(host: Host, articles: list[dict]) -> float:
    """Write through ``host``; the moment its response arrived (time.monotonic)."""
    written = httpx.post(
        f"{host.url}/api/articles", headers=AUTH, json={"articles": articles}, timeout=600
    )
    returned_at = time.monotonic()
    assert written.status_code == 200, written.text
    report = written.json()
    assert not report["failed"], report
    return returned_at


def delete_article(host: Host, article_id: str) -> float:
    deleted = httpx.delete(f"{host.url}/api/articles/{article_id}", headers=AUTH, timeout=600)
    returned_at = time.monotonic()
    assert deleted.status_code == 200, deleted.text
    return returned_at


def search(host: Host, query: str, k: int = 4) -> list[dict]:
    found = httpx.get(f"{host.url}/api/search", params={"q": query, "k": k}, timeout=120)
    assert found.status_code == 200, found.text
    return found.json()["passages"]


def ask(host: Host, question: str) -> dict:
    answer = httpx.post(f"{host.url}/api/ask", json={"question": question}, timeout=120)
    assert answer.status_code == 200, answer.text
    return answer.json()


def stats(host: Host) -> dict:
    got = httpx.get(f"{host.url}/api/stats", timeout=60)
    assert got.status_code == 200, got.text
    return got.json()


def counts(host: Host) -> tuple[int, int, int]:
    """(articles, chunks, sentences) as the host's /api/stats reports them."""
    got = stats(host)
    return got["articles"], got["chunks"], got["sentences"]


def listed(host: Host, title_word: str) -> set[str]:
    """The ids /api/articles lists for a word of their titles."""
    got = httpx.get(f"{host.url}/api/articles", params={"q": title_word, "limit": 500}, timeout=60)
    assert got.status_code == 200, got.text
    return {a["id"] for a in got.json()["articles"]}


def article(host: Host, article_id: str) -> dict | None:
    got = httpx.get(f"{host.url}/api/articles/{article_id}", timeout=60)
    if got.status_code == 404:
        return None
    assert got.status_code == 200, got.text
    return got.json()


def lexical_hits(passages: list[dict], article_id: str) -> list[dict]:
    """The passages of the article that the lexical index found (a dense hit has 0)."""
    return [p for p in passages if p["article_id"] == article_id and p["lexical"] > 0]


def seen_within(
    fetch: Callable[[], Any],
    done: Callable[[Any], bool],
    since: float,
    what: str,
    seconds: float = VISIBLE_WITHIN,
) -> Any:
    """``fetch()`` until ``done`` holds of it; only a fetch started within ``seconds``
    of ``since`` (a write's response) counts, so a late success still fails."""
    deadline = since + seconds
    value: Any = None
    while time.monotonic() <= deadline:  # the moment a fetch is asked
        value = fetch()
        if done(value):
            return value
        time.sleep(0.1)
    shown = str(value)
    pytest.fail(f"{what}: not within {seconds} s of the write's response (last: {shown[:800]})")


# Chroma itself ---------------------------------------------------------------------------
def chroma_records(chroma_url: str, article_ids: list[str]) -> dict[str, list[dict]]:
    """Every chunk record's metadata in Chroma, by article id (read by a client of our own)."""
    address = urlparse(chroma_url)
    client = chromadb.HttpClient(host=address.hostname, port=address.port)
    got = client.get_collection(COLLECTION).get(
        where={"article_id": {"$in": list(article_ids)}}, include=["metadatas"]
    )
    by_article: dict[str, list[dict]] = defaultdict(list)
    for chunk_id, meta in zip(got["ids"], got["metadatas"]):
        by_article[meta["article_id"]].append({**meta, "id": chunk_id})
    return by_article


def complete_once(records: list[dict]) -> bool:
    """One version of the article, with every chunk it was written with, once."""
    hashes = {r["content_hash"] for r in records}
    ids = [r["id"] for r in records]
    return (
        len(hashes) == 1
        and len(ids) == len(set(ids))
        and all(int(r["chunk_count"]) == len(records) for r in records)
    )


# Articles --------------------------------------------------------------------------------
VOCABULARY = [
    f"{a}{b}"
    for a in ("har", "fer", "por", "tra", "mar", "gal", "ven", "sol")
    for b in ("bour", "ry", "t", "in", "ket", "lery", "ue", "ar", "ace", "ion")
]


def filler(words: int, seed: int) -> str:
    """Made-up sentences, distinct per seed (so no two articles share vectors)."""
    rng = random.Random(seed)
    return " ".join(
        " ".join(rng.choice(VOCABULARY) for _ in range(12)).capitalize() + "."
        for _ in range(max(1, words // 12))
    )


def story(article_id: str, title: str, lead: str, words: int = 0, seed: int = 0) -> dict:
    text = lead if not words else f"{lead} {filler(words, seed)}"
    return {"id": article_id, "title": title, "text": text}


# 1 ---------------------------------------------------------------------------------------
def test_a_write_through_one_host_is_answered_by_the_other_within_5_s(hosts):
    """Both ways (A writes, B answers; B writes, A answers), each within 5 s of the
    write's response: a question is answered with a citation of the new article, and
    a query of nothing but the article's made-up word finds it through the reading
    host's lexical index (its passage's lexical score is above 0: a dense hit has 0)."""
    cases = [
        (
            hosts.a,
            hosts.b,
            story(
                "zorblatt-lighthouse",
                "Zorblatt lighthouse repainted",
                "The Zorblatt lighthouse at Kestrel Point was repainted green in March, "
                "the harbour trust said. Work on the lamp room will follow in the autumn.",
            ),
            "zorblatt",
            "What colour was the Zorblatt lighthouse repainted?",
            "green",
        ),
        (
            hosts.b,
            hosts.a,
            story(
                "quindlemoss-bridge",
                "Quindlemoss bridge reopens",
                "The Quindlemoss footbridge over the river Tarrow reopened on Friday "
                "after repairs costing 80,000 pounds, the county council said.",
            ),
            "quindlemoss",
            "How much did the Quindlemoss footbridge repairs cost?",
            "80,000",
        ),
    ]
    for writer, reader, written, rare_word, question, answer_words in cases:
        article_id = written["id"]
        assert not [p for p in search(reader, rare_word) if p["article_id"] == article_id]
        returned_at = post_articles(writer, [written])

        def answered(
            reader: Host = reader, question: str = question, rare_word: str = rare_word
        ) -> tuple[dict, list]:
            return ask(reader, question), search(reader, rare_word)

        answer, passages = seen_within(
            answered,
            lambda got, aid=article_id: (
                any(c["article_id"] == aid for c in got[0]["citations"])
                and bool(lexical_hits(got[1], aid))
            ),
            returned_at,
            f"{reader.name} answering from {writer.name}'s write of {article_id}",
        )
        assert answer_words in answer["text"], answer
        assert passages[0]["article_id"] == article_id, passages


# 2 ---------------------------------------------------------------------------------------
def test_a_delete_through_one_host_is_gone_from_the_other_within_5_s(hosts):
    """Deleted through A: within 5 s of the response B's search no longer returns the
    article (nor its made-up word), /api/articles neither lists nor shows it, B's
    /api/stats counts one article fewer, and B's lexical index no longer holds it:
    another article with the word once (a weaker lexical hit while both were there)
    is now B's best lexical hit for it (lexical scores are divided by the best hit
    the index returns, so a deleted chunk left in B's index would keep it below 1)."""
    doomed = story(
        "glimmerstaff-closure",
        "Glimmerstaff ferry withdrawn",
        "The Glimmerstaff ferry will be withdrawn from the northern route in June, "
        "the operator announced on Tuesday.",
    )
    survivor = story(
        "glimmerstaff-captain",
        "Harbour pilots retire",
        "Two harbour pilots retired on Friday, one of them a former Glimmerstaff captain.",
        words=120,
        seed=2,
    )
    returned_at = post_articles(hosts.a, [doomed, survivor])

    def lexical_scores() -> dict[str, float]:
        return {
            p["article_id"]: p["lexical"]
            for p in reversed(search(hosts.b, "glimmerstaff", k=8))  # the best passage last
            if p["lexical"] > 0
        }

    before = seen_within(
        lexical_scores,
        lambda got: set(got) == {doomed["id"], survivor["id"]},
        returned_at,
        "B finding both articles before the delete",
    )
    assert before[doomed["id"]] == 1.0 and before[survivor["id"]] < 1.0, before
    articles_before = stats(hosts.b)["articles"]
    assert doomed["id"] in listed(hosts.b, "glimmerstaff")

    returned_at = delete_article(hosts.a, doomed["id"])

    def gone() -> dict:
        return {
            "passages": [
                p["chunk_id"]
                for q in ("glimmerstaff", "Glimmerstaff ferry withdrawn northern route")
                for p in search(hosts.b, q)
                if p["article_id"] == doomed["id"]
            ],
            "lexical": lexical_scores(),
            "listed": doomed["id"] in listed(hosts.b, "glimmerstaff"),
            "shown": article(hosts.b, doomed["id"]) is not None,
            "articles": stats(hosts.b)["articles"],
        }

    seen_within(
        gone,
        lambda got: (
            not got["passages"]
            and got["lexical"] == {survivor["id"]: 1.0}
            and not got["listed"]
            and not got["shown"]
            and got["articles"] == articles_before - 1
        ),
        returned_at,
        "B forgetting the article deleted through A",
    )


# 3 ---------------------------------------------------------------------------------------
def test_a_host_restarted_without_its_folder_answers_from_chroma_alone(hosts):
    """B is stopped, its index folder deleted, and started again: it answers a question
    about an article written through A while it was up, finds the article's made-up
    word through its rebuilt lexical index, agrees with A's /api/stats, and then
    follows A's writes again (a new article answered within 5 s)."""
    before = story(
        "vextrophane-mill",
        "Vextrophane mill sold",
        "The old Vextrophane paper mill at Ashby was sold to a housing trust for "
        "2.4 million pounds, its owners confirmed.",
    )
    posted_to_a_found_by_b(hosts, before, "vextrophane", "B seeing the article before its restart")
    hosts.b.stop()
    shutil.rmtree(hosts.b.folder)
    assert not hosts.b.folder.exists()
    hosts.b.start()

    passages = search(hosts.b, "vextrophane")
    assert lexical_hits(passages, before["id"]), passages
    answer = ask(hosts.b, "Who bought the Vextrophane paper mill?")
    assert any(c["article_id"] == before["id"] for c in answer["citations"]), answer
    assert "housing trust" in answer["text"], answer
    assert counts(hosts.b) == counts(hosts.a)
    assert (hosts.b.folder / "lexical").exists()  # the cache was built again, from Chroma

    after = story(
        "brackenwold-school",
        "Brackenwold school extended",
        "Brackenwold primary school will gain four classrooms next year, the education "
        "board decided on Monday.",
    )
    posted_to_a_found_by_b(hosts, after, "brackenwold", "the restarted B following A's next write")


def posted_to_a_found_by_b(hosts, article: dict, word: str, what: str) -> None:
    """Post ``article`` to A; B's lexical index finds it by ``word`` within 5 s."""
    returned_at = post_articles(hosts.a, [article])
    seen_within(
        lambda: search(hosts.b, word),
        lambda passages: bool(lexical_hits(passages, article["id"])),
        returned_at,
        what,
    )


# 4 ---------------------------------------------------------------------------------------
def _batch(prefix: str, title_word: str, count: int) -> list[dict]:
    return [
        story(
            f"{prefix}-{n}",
            f"{title_word} bulletin {n}",
            f"Bulletin {n} of the {title_word} series.",
            words=150 + 40 * (n % 4),  # one or two chunks
            seed=1000 + n,
        )
        for n in range(count)
    ]


def test_a_host_that_was_down_catches_up_from_the_log_without_a_rebuild(hosts):
    """B is stopped with its folder kept; meanwhile A writes one article and deletes
    another that B had indexed. Started again, B reads the log from where it stopped:
    within 5 s of being up its lexical index holds the new article and not the
    deleted one, and it never built the index from scratch."""
    kept = story(
        "orvendale-ferry",
        "Orvendale ferry timetable",
        "The Orvendale ferry will sail twice a day from March, the operator said.",
    )
    posted_to_a_found_by_b(hosts, kept, "orvendale", "B seeing the article before it stops")
    builds = hosts.b.full_builds()
    hosts.b.stop()
    written = story(
        "quarnish-bridge",
        "Quarnish bridge reopens",
        "The Quarnish bridge reopened on Friday after eight months of repairs.",
    )
    post_articles(hosts.a, [written])
    delete_article(hosts.a, kept["id"])
    hosts.b.start()  # up once its first search (which reads the log) has answered
    started = time.monotonic()
    seen_within(
        lambda: (search(hosts.b, "quarnish"), search(hosts.b, "orvendale")),
        lambda found: (
            bool(lexical_hits(found[0], written["id"])) and not lexical_hits(found[1], kept["id"])
        ),
        started,
        "B, started again, following what A wrote and deleted while it was down",
    )
    assert hosts.b.full_builds() == builds


def test_two_hosts_writing_the_same_articles_at_once_leave_one_copy_of_each(hosts):
    """The same 20 articles posted to A and B at the same moment: Chroma holds each
    article's chunks once (as many records as one write alone makes of the same text,
    its chunk_count, one version), and both hosts' /api/stats and listings agree."""
    solo = _batch("solo", "Solobatch", 20)
    post_articles(hosts.a, solo)
    single = chroma_records(hosts.chroma_url, [a["id"] for a in solo])
    assert all(complete_once(single[a["id"]]) for a in solo), single

    twice = _batch("twice", "Twicebatch", 20)  # the same texts under other ids
    ready = threading.Barrier(2)

    def post_at_once(host: Host) -> float:
        ready.wait(timeout=60)
        return post_articles(host, twice)

    with ThreadPoolExecutor(2) as writers:
        returned = [
            f.result() for f in [writers.submit(post_at_once, h) for h in (hosts.a, hosts.b)]
        ]

    ids = [a["id"] for a in twice]
    records = chroma_records(hosts.chroma_url, ids)
    for n, written in enumerate(twice):
        mine = records[written["id"]]
        assert complete_once(mine), (written["id"], mine)
        assert len(mine) == len(single[solo[n]["id"]]), written["id"]

    seen_within(
        lambda: (
            counts(hosts.a),
            counts(hosts.b),
            listed(hosts.a, "twicebatch"),
            listed(hosts.b, "twicebatch"),
        ),
        lambda got: got[0] == got[1] and got[2] == got[3] == set(ids),
        max(returned),
        "both hosts agreeing on the doubly written batch",
    )
    assert stats(hosts.a)["chunks"] == stats(hosts.b)["chunks"]


# 5 ---------------------------------------------------------------------------------------
def _versions(article_id: str, words: int) -> dict[str, dict]:
    """Two versions of one article: the same text but for one word of the same length
    (so both are cut into chunks at the same places)."""
    lead = "The {} notice about the Morwenstow quay was issued by the harbour council."
    return {
        colour: story(article_id, "Morwenstow quay notice", lead.format(colour), words, seed=77)
        for colour in ("crimson", "emerald")
    }


def _expect_last_stamped(
    hosts: Hosts, article_id: str, versions: dict[str, dict]
) -> tuple[str, str]:
    """Chroma holds one version of the article, complete: the one whose write was
    stamped last (equal stamps: the higher content hash), read from both hosts'
    journals of what they upserted. Returns the winning and the losing marker word."""
    records = chroma_records(hosts.chroma_url, [article_id])[article_id]
    assert complete_once(records), records
    stamped = hosts.a.journalled(article_id) + hosts.b.journalled(article_id)
    assert len({h for h, _ in stamped}) == 2, f"both versions were written: {stamped}"
    last_hash = max(stamped, key=lambda hs: (hs[1], hs[0]))[0]
    assert {r["content_hash"] for r in records} == {last_hash}
    assert {int(r["written_at"]) for r in records} == {max(s for _, s in stamped)}
    texts = " ".join(payload_text(r["payload"]) for r in records)
    (winner,) = [colour for colour in versions if colour in texts]
    (loser,) = [colour for colour in versions if colour != winner]
    return winner, loser


def _both_hosts_show(hosts: Hosts, article_id: str, winner: str, loser: str, since: float) -> None:
    """Within 5 s of ``since``, A and B return the same passages of the article, all
    chunks of the version in Chroma (its marker word, never the other's)."""
    kept = {r["id"] for r in chroma_records(hosts.chroma_url, [article_id])[article_id]}

    def shown() -> list[list[tuple[str, str]]]:
        return [
            sorted(
                (p["chunk_id"], p["text"])
                for p in search(host, f"{winner} {loser} Morwenstow quay notice", k=8)
                if p["article_id"] == article_id
            )
            for host in (hosts.a, hosts.b)
        ]

    seen_within(
        shown,
        lambda got: (
            got[0] == got[1]
            and all(
                passages
                and {cid for cid, _ in passages} <= kept
                and any(winner in text for _, text in passages)
                and not any(loser in text for _, text in passages)
                for passages in got
            )
        ),
        since,
        f"both hosts showing only the {winner} version of {article_id}",
    )


def test_conflicting_writes_end_with_the_last_stamped_version_on_every_host(hosts):
    """Last writer wins. The same article id with different text written through A
    and B at once ends with exactly one version in Chroma (one content_hash, every
    chunk once), the same on both hosts (search on each returns that text, never the
    other's, within 5 s of the later response), and that version is the one whose
    write was stamped last (``written_at``, from the hosts' journals of their
    upserts; the loser's records were deleted).

    Twice: posted at the same moment; and overlapping so that the write stamped last
    finishes first (A pauses after each upsert, B is posted once A's first batch is
    in): A's later batches then land after B's, and the version stamped last must
    still win, complete."""
    # at the same moment
    versions = _versions("morwenstow-1", words=450)
    ready = threading.Barrier(2)

    def post_at_once(host: Host, written: dict) -> float:
        ready.wait(timeout=60)
        return post_articles(host, [written])

    with ThreadPoolExecutor(2) as writers:
        futures = [
            writers.submit(post_at_once, hosts.a, versions["crimson"]),
            writers.submit(post_at_once, hosts.b, versions["emerald"]),
        ]
        returned = max(f.result() for f in futures)
    winner, loser = _expect_last_stamped(hosts, "morwenstow-1", versions)
    _both_hosts_show(hosts, "morwenstow-1", winner, loser, returned)

    # the write stamped last finishes first
    versions = _versions("morwenstow-2", words=450)
    hosts.a.pause_after_upserts(1.5)
    with ThreadPoolExecutor(2) as writers:
        slow = writers.submit(post_articles, hosts.a, [versions["crimson"]])
        deadline = time.monotonic() + 120
        while not hosts.a.journalled("morwenstow-2"):
            assert time.monotonic() < deadline and not slow.done(), "A's write never began"
            time.sleep(0.05)
        fast = writers.submit(post_articles, hosts.b, [versions["emerald"]])
        fast_returned = fast.result()
        assert not slow.done(), "A's write ended before B's: they did not overlap"
        returned = max(slow.result(), fast_returned)
    hosts.a.pause_after_upserts(0)
    winner, loser = _expect_last_stamped(hosts, "morwenstow-2", versions)
    assert winner == "emerald", "B's write was stamped after A's"
    _both_hosts_show(hosts, "morwenstow-2", winner, loser, returned)


# 6 ---------------------------------------------------------------------------------------
KILLED_WORDS = ["quarrimond", "belvasque", "tornwhistle", "sablemire", "oxcrandle"]


def _ingest_killed_after(line: str, corpus: Path, env: dict[str, str]) -> float:
    """`qa ingest` (slowed by SLOW_INGEST) killed with SIGKILL at the first stderr line
    holding ``line``; the moment it was dead."""
    writer = subprocess.Popen(
        [sys.executable, "-c", SLOW_INGEST, "ingest", str(corpus)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _Lines(writer).wait_for(line, timeout=300)
        writer.send_signal(signal.SIGKILL)
        assert writer.wait(timeout=60) == -signal.SIGKILL, "the writer had already finished"
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(timeout=60)
    return time.monotonic()


def _hosts_agree(
    hosts: Hosts, query: str, since: float, lexical: set[str] | None = None
) -> list[tuple]:
    """Within 5 s of ``since``: A's and B's /api/stats (articles, chunks) are equal,
    and so are the chunk ids the same search returns on each, and which of them
    their lexical indexes found (``lexical``, when given). Returns each host's
    (counts, chunk ids, lexical ids)."""

    def views() -> list[tuple]:
        views = []
        for host in (hosts.a, hosts.b):
            passages = search(host, query, k=8)
            views.append(
                (
                    counts(host)[:2],
                    sorted(p["chunk_id"] for p in passages),
                    sorted(p["chunk_id"] for p in passages if p["lexical"] > 0),
                )
            )
        return views

    return seen_within(
        views,
        lambda got: got[0] == got[1] and (lexical is None or set(got[0][2]) == lexical),
        since,
        "A and B agreeing" + (f" on lexical hits {sorted(lexical)}" if lexical else ""),
    )


def test_a_writer_killed_mid_write_leaves_hosts_that_agree_and_a_rerun_completes(hosts, tmp_path):
    """`qa ingest` on a third host (host-c) is killed with SIGKILL inside its first
    article's write (of 4 or more chunks), twice: after its first upsert of 3 chunks
    (its record was written before it, and nothing after it tells the hosts the
    chunks have landed); then (a second run) between a record and its upsert.
    Each time, within 5 s A and B report the same /api/stats and the same search
    returns the same chunk ids on both, and both lexical indexes hold the chunks
    that are in Chroma. A plain re-run then completes every article: within 5 s
    of its exit both hosts show each one with all its chunks, one version, found by
    its made-up word through their lexical indexes."""
    corpus = tmp_path / "incoming"
    corpus.mkdir()
    bulletins = [
        story(
            f"killed-{word}",
            f"{word.capitalize()} report",
            f"The {word.capitalize()} report was published by the regional office.",
            words=700,  # 4 or more chunks
            seed=500 + n,
        )
        for n, word in enumerate(KILLED_WORDS)
    ]
    (corpus / "bulletins.jsonl").write_text("\n".join(json.dumps(b) for b in bulletins))
    ids = [b["id"] for b in bulletins]
    first = ids[0]
    env = {
        **os.environ,
        "QA_CHROMA_URL": hosts.chroma_url,
        "QA_INDEX_DIR": str(tmp_path / "host-c"),
    }

    # killed after its first batch is in Chroma: its record came first, and the hosts
    # that read it before the batch landed look again until it settles
    killed_at = _ingest_killed_after("chroma batch written", corpus, env)
    half = chroma_records(hosts.chroma_url, ids)
    assert list(half) == [first] and len(half[first]) == 3, half
    assert int(half[first][0]["chunk_count"]) > 3
    in_chroma = {r["id"] for r in half[first]}
    agreed = _hosts_agree(hosts, KILLED_WORDS[0], killed_at, lexical=in_chroma)
    assert set(agreed[0][1]) >= in_chroma, agreed  # the vectors find them on both hosts

    # killed between a record and its upsert: the hosts agree on what is in Chroma
    killed_at = _ingest_killed_after("change logged", corpus, env)
    half = chroma_records(hosts.chroma_url, ids)
    assert list(half) == [first] and {r["id"] for r in half[first]} == in_chroma, half
    _hosts_agree(hosts, KILLED_WORDS[0], killed_at, lexical=in_chroma)

    rerun = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ingest", str(corpus)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    returned_at = time.monotonic()
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    records = chroma_records(hosts.chroma_url, ids)
    assert sorted(records) == sorted(ids)
    assert all(complete_once(records[i]) for i in ids), records

    def shown() -> list[tuple]:
        return [
            (
                host.name,
                article_id,
                (article(host, article_id) or {}).get("chunks"),
                bool(lexical_hits(search(host, word), article_id)),
            )
            for host in (hosts.a, hosts.b)
            for article_id, word in zip(ids, KILLED_WORDS)
        ]

    seen_within(
        shown,
        lambda got: all(chunks == len(records[aid]) and lexical for _, aid, chunks, lexical in got),
        returned_at,
        "both hosts showing every re-run article complete",
    )
