"""Collections and who may read them, through the REST API of the real server.

An index with a public ``default`` (the seed article) and a private ``legal`` (a
memo about "Zorblax"; tests/collections_helpers.py). Every test without the legal
scope tries to get something of the memo out — by asking for it, searching,
listing, opening it by id, following up on a history that names it, counting it —
and checks that no word of it comes back. The same calls with the scope answer.
"""

from __future__ import annotations

import json
import shutil

import httpx
import pytest

from tests.collections_helpers import LEGAL_QUESTION, PUBLIC_QUESTION, SECRET_FACTS
from tests.server_helpers import running_app

pytestmark = pytest.mark.slow  # the real HTTP server

ADMIN = "admin-token-for-access-tests"
PROXY_USER = {"X-Forwarded-User": "ann", "X-Forwarded-Groups": "legal-team"}
HISTORY = [  # the caller's own words about the legal story, then a follow-up
    {"role": "user", "content": "What is happening with the Zorblax Industries talks?"},
    {"role": "assistant", "content": "Talks are expected to close in March."},
]


def leaked(response: httpx.Response, own_words: str = "") -> list[str]:
    """The memo's facts in a response, beyond what the caller sent themself."""
    text = response.text
    return [fact for fact in SECRET_FACTS if fact in text and fact not in own_words]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def site(two_collections, tmp_path_factory):
    """The server over a copy of the two-collection index (some tests write), trusting
    a proxy at an address no test connects from."""
    index = tmp_path_factory.mktemp("access") / "index"
    shutil.copytree(two_collections.index_dir, index)
    with running_app(index, QA_API_TOKEN=ADMIN, QA_TRUSTED_PROXIES="10.9.9.9") as url:
        yield url, two_collections


@pytest.fixture(params=["anonymous", "public token", "bogus token", "proxy headers"])
def outsider(request, two_collections) -> dict[str, str]:
    """Callers without the legal scope (the proxy's headers come from an untrusted
    address: they must count for nothing)."""
    return {
        "anonymous": {},
        "public token": bearer(two_collections.public_token),
        "bogus token": bearer("qa_not-a-token-of-the-book"),
        "proxy headers": PROXY_USER,
    }[request.param]


def test_an_outsider_is_refused_the_private_collection_everywhere(site, outsider):
    url, index = site
    legal = {"collection": "legal"}
    calls = [
        httpx.post(
            f"{url}/api/ask",
            params=legal,
            json={"question": LEGAL_QUESTION},
            headers=outsider,
            timeout=60,
        ),
        httpx.get(f"{url}/api/search", params={**legal, "q": "Zorblax merger"}, headers=outsider),
        httpx.get(f"{url}/api/articles", params=legal, headers=outsider),
        httpx.get(f"{url}/api/articles/{index.memo_id}", params=legal, headers=outsider),
        httpx.get(f"{url}/articles/{index.memo_id}", params=legal, headers=outsider),
        httpx.get(f"{url}/api/stats", params=legal, headers=outsider),
    ]
    for reply in calls:
        assert reply.status_code == 403, (reply.request.url, reply.text)
        assert reply.json()["error"] == "collection 'legal' is not one you may read"
        assert not leaked(reply)
    listed = httpx.get(f"{url}/api/collections", headers=outsider).json()
    assert listed == {"collections": [{"name": "default", "private": False}]}


def test_an_unknown_collection_reads_like_a_private_one(site):
    """403 with the same words: the answer says nothing of which names exist."""
    url, _ = site
    for name in ("legal", "no-such-collection"):
        reply = httpx.get(f"{url}/api/stats", params={"collection": name})
        assert reply.status_code == 403
        assert reply.json()["error"] == f"collection {name!r} is not one you may read"


def test_nothing_of_the_private_collection_reaches_the_public_one(site, outsider):
    url, index = site
    ask = httpx.post(
        f"{url}/api/ask", json={"question": LEGAL_QUESTION}, headers=outsider, timeout=60
    )
    assert ask.status_code == 200
    assert ask.json()["grounded"] is False and not leaked(ask, LEGAL_QUESTION)
    follow_up = httpx.post(
        f"{url}/api/ask",
        json={"question": "What price was proposed?", "history": HISTORY},
        headers=outsider,
        timeout=60,
    )
    assert follow_up.status_code == 200
    answer = follow_up.json()
    assert not leaked(follow_up, json.dumps(HISTORY)), answer
    assert all(c["article_id"] != index.memo_id for c in answer["citations"])
    search = httpx.get(f"{url}/api/search", params={"q": "Zorblax merger price"}, headers=outsider)
    assert search.status_code == 200 and not leaked(search, "Zorblax merger price")
    assert all(p["article_id"] != index.memo_id for p in search.json()["passages"])
    listing = httpx.get(f"{url}/api/articles", params={"q": "zorblax"}, headers=outsider)
    assert listing.json()["total"] == 0 and not leaked(listing)
    everything = httpx.get(f"{url}/api/articles", headers=outsider)
    assert everything.json()["total"] == 1 and not leaked(everything)
    by_id = httpx.get(f"{url}/api/articles/{index.memo_id}", headers=outsider)
    assert by_id.status_code == 404 and not leaked(by_id)
    page = httpx.get(f"{url}/articles/{index.memo_id}", headers=outsider)
    assert page.status_code == 404 and not leaked(page)
    stats = httpx.get(f"{url}/api/stats", headers=outsider).json()
    assert (stats["articles"], stats["chunks"], stats["collection"]) == (1, 3, "default")


def test_the_legal_scope_reads_the_private_collection(site):
    url, index = site
    legal = {"collection": "legal"}
    for token in (index.legal_token, index.legal_writer, ADMIN):
        ask = httpx.post(
            f"{url}/api/ask",
            params=legal,
            json={"question": LEGAL_QUESTION},
            headers=bearer(token),
            timeout=60,
        )
        assert ask.status_code == 200
        answer = ask.json()
        assert answer["grounded"] and "41 million" in answer["text"], answer
        assert answer["citations"][0]["article_id"] == index.memo_id
    headers = bearer(index.legal_token)
    listing = httpx.get(f"{url}/api/articles", params=legal, headers=headers).json()
    assert [a["id"] for a in listing["articles"]] == [index.memo_id]
    one = httpx.get(f"{url}/api/articles/{index.memo_id}", params=legal, headers=headers)
    assert one.json()["title"] == "Merger talks with Zorblax Industries"
    stats = httpx.get(f"{url}/api/stats", params=legal, headers=headers).json()
    assert (stats["articles"], stats["collection"]) == (1, "legal")
    names = httpx.get(f"{url}/api/collections", headers=headers).json()["collections"]
    assert [c["name"] for c in names] == ["default", "legal"]
    public = httpx.post(  # a private scope still reads the public collection
        f"{url}/api/ask", json={"question": PUBLIC_QUESTION}, headers=headers, timeout=60
    )
    assert public.json()["grounded"] and not leaked(public)


def test_writes_need_write_scope_for_that_collection(site):
    url, index = site
    article = {"articles": [{"title": "Board minutes", "text": "The board met on Tuesday. " * 5}]}
    legal = {"collection": "legal"}
    anonymous = httpx.post(f"{url}/api/articles", params=legal, json=article)
    assert anonymous.status_code == 401
    for token in (index.public_token, index.legal_token):  # readers, not writers
        refused = httpx.post(
            f"{url}/api/articles", params=legal, json=article, headers=bearer(token)
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "collection 'legal' is not one you may write to"
    not_there = httpx.post(  # the legal writer may not write to the public collection
        f"{url}/api/articles", json=article, headers=bearer(index.legal_writer)
    )
    assert not_there.status_code == 403
    queued = httpx.post(
        f"{url}/api/articles",
        params={**legal, "wait": "false"},
        json=article,
        headers=bearer(index.legal_writer),
    )
    assert queued.status_code == 202
    job = queued.json()["id"]
    assert httpx.get(f"{url}/api/jobs/{job}", headers=bearer(ADMIN)).status_code == 200
    # only the collection's writers follow its job (its report names its articles)
    other = httpx.get(f"{url}/api/jobs/{job}", headers=bearer(index.public_token))
    assert other.status_code == 404
    for _ in range(120):
        done = httpx.get(f"{url}/api/jobs/{job}", headers=bearer(index.legal_writer)).json()
        if done["status"] in ("done", "failed"):
            break
        import time

        time.sleep(0.5)
    assert done["status"] == "done", done
    (added,) = done["report"]["added"]
    assert added.startswith("legal:")
    public = httpx.get(f"{url}/api/articles", params={"q": "board minutes"}).json()
    assert public["total"] == 0
    mine = httpx.get(
        f"{url}/api/articles",
        params={**legal, "q": "board minutes"},
        headers=bearer(index.legal_writer),
    ).json()
    assert [a["id"] for a in mine["articles"]] == [added]
    removed = httpx.delete(
        f"{url}/api/articles/{added}", params=legal, headers=bearer(index.legal_writer)
    )
    assert removed.status_code == 200 and removed.json()["removed"] == [added]


def test_a_trusted_proxy_names_the_user_and_their_groups(two_collections):
    """From a listed proxy address, the user's groups open what the group map says;
    without the group, or without the proxy, nothing more than anonymous."""
    with running_app(two_collections.index_dir, QA_TRUSTED_PROXIES="127.0.0.1") as url:
        legal = {"collection": "legal"}
        member = httpx.get(f"{url}/api/stats", params=legal, headers=PROXY_USER)
        assert member.status_code == 200 and member.json()["articles"] == 1
        other = {"X-Forwarded-User": "bob", "X-Forwarded-Groups": "newsroom"}
        refused = httpx.get(f"{url}/api/stats", params=legal, headers=other)
        assert refused.status_code == 403 and not leaked(refused)
        named = httpx.get(f"{url}/api/collections", headers=PROXY_USER).json()
        assert [c["name"] for c in named["collections"]] == ["default", "legal"]
