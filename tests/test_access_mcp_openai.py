"""Trying to read a private collection through ``/v1`` and ``/mcp`` without the right.

One real server (``python app.py``) over the two-collection index (tests/conftest.py):
``default`` is public (the seeds), ``legal`` private (a memo about Zorblax, whose
facts appear nowhere else). The official ``openai`` client and MCP client, and plain
HTTP where a client cannot send what an attacker would, ask as:

- outsiders: no token, the public token, a token the book does not hold, a
  client that sends the proxy's user headers itself, and one that also claims
  to be the proxy in ``X-Forwarded-For``;
- insiders: the legal token, and the trusted proxy (127.0.0.2) naming a user
  of the ``legal-team`` group.

An outsider must learn nothing of the memo: not its facts, not its title, not
whether ``legal`` exists (a refusal reads the same as for a name no collection
has). The trusted proxy is another loopback address, so one server tells the
proxy from a client that sends the same headers from 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.collections_helpers import LEGAL_QUESTION, SECRET_FACTS
from tests.server_helpers import running_app

pytestmark = pytest.mark.slow  # the real server, with the real model

PROXY = "127.0.0.2"  # QA_TRUSTED_PROXIES; clients connect from 127.0.0.1
SSO = {"X-Forwarded-User": "ann", "X-Forwarded-Groups": "legal-team"}
NOT_YOURS = "collection 'legal' is not one you may read"
NO_SUCH_MODEL = "The model '{}' does not exist or you do not have access to it."
OUTSIDE = ["article-qa", "default"]  # what /v1/models lists for an outsider
INSIDE = ["article-qa", "default", "legal"]


@dataclass(frozen=True)
class Caller:
    name: str
    token: str | None = None  # the book's token names: "public", "legal"; else as sent
    headers: dict[str, str] = field(default_factory=dict)
    address: str = "127.0.0.1"

    def sent(self, tokens: dict[str, str]) -> dict[str, str]:
        """The headers this caller sends, its token looked up in the book's."""
        if self.token is None:
            return dict(self.headers)
        return {**self.headers, "Authorization": f"Bearer {tokens.get(self.token, self.token)}"}


OUTSIDERS = [
    Caller("no token"),
    Caller("public token", "public"),
    Caller("a token not in the book", "qa_" + "x" * 43),
    Caller("proxy headers from a client", headers=SSO),
    Caller("a client claiming the proxy's address", headers={**SSO, "X-Forwarded-For": PROXY}),
]
INSIDERS = [Caller("legal token", "legal"), Caller("the trusted proxy", headers=SSO, address=PROXY)]


@pytest.fixture(scope="module")
def server(two_collections):
    with running_app(two_collections.index_dir, QA_TRUSTED_PROXIES=PROXY) as url:
        yield url


@pytest.fixture(scope="module")
def tokens(two_collections) -> dict[str, str]:
    return {"public": two_collections.public_token, "legal": two_collections.legal_token}


def _http(server: str, caller: Caller, tokens: dict[str, str]) -> httpx.Client:
    return httpx.Client(
        base_url=server,
        headers=caller.sent(tokens),
        transport=httpx.HTTPTransport(local_address=caller.address),
        timeout=120,
    )


def _leaked(text: str, written: str = "") -> list[str]:
    """The memo's facts found in ``text``, but for words the caller wrote themself."""
    return [
        f for f in SECRET_FACTS if f.lower() in text.lower() and f.lower() not in written.lower()
    ]


def _mcp(server: str, caller: Caller, tokens: dict[str, str], *calls: tuple) -> list[Any]:
    """Each (tool, arguments) called over HTTP on /mcp as ``caller``, in one session."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def session() -> list[Any]:
        http = httpx2.AsyncClient(
            headers=caller.sent(tokens),
            transport=httpx2.AsyncHTTPTransport(local_address=caller.address),
            timeout=httpx2.Timeout(30, read=300),
        )
        async with http, Client(streamable_http_client(f"{server}/mcp", http_client=http)) as mcp:
            return [await mcp.call_tool(name, arguments) for name, arguments in calls]

    return asyncio.run(session())


def _text(result: Any) -> str:
    """Everything a tool result carries, as text."""
    return json.dumps([c.model_dump() for c in result.content] + [result.structured_content])


@pytest.mark.parametrize("caller", OUTSIDERS, ids=lambda c: c.name)
def test_an_outsider_is_shown_no_private_model_and_refused_it_like_a_missing_one(
    server, tokens, caller
):
    with _http(server, caller, tokens) as http:
        listed = http.get("/v1/models")
        assert listed.status_code == 200
        assert [m["id"] for m in listed.json()["data"]] == OUTSIDE
        for stream in (False, True):
            refused = {
                model: http.post(
                    "/v1/chat/completions",
                    json={
                        "model": model,
                        "messages": [{"role": "user", "content": LEGAL_QUESTION}],
                        "stream": stream,
                    },
                )
                for model in ("legal", "no-such-collection")
            }
            for model, reply in refused.items():
                assert reply.status_code == 403, reply.text
                assert reply.json() == {  # OpenAI's shape, worded as for a missing model
                    "error": {
                        "message": NO_SUCH_MODEL.format(model),
                        "type": "permission_error",
                        "code": "forbidden",
                    }
                }
                assert _leaked(reply.text) == []


@pytest.mark.parametrize("caller", OUTSIDERS, ids=lambda c: c.name)
def test_an_outsider_gets_a_tool_error_for_every_mcp_tool_on_the_private_collection(
    server, tokens, two_collections, caller
):
    private = {"collection": "legal"}
    results = _mcp(
        server,
        caller,
        tokens,
        ("list_collections", {}),
        ("ask", {"question": LEGAL_QUESTION, **private}),
        ("search", {"query": "Zorblax merger price", **private}),
        ("list_articles", private),
        ("get_article", {"article_id": two_collections.memo_id, **private}),
        ("list_articles", {"collection": "no-such-collection"}),
    )
    listed, *refused, missing = results
    assert listed.structured_content == {"collections": [{"name": "default", "private": False}]}
    for result in refused:
        assert result.is_error
        assert len(result.content) == 1 and result.content[0].text.endswith(f": {NOT_YOURS}")
        assert _leaked(_text(result)) == []
    # a name no collection has is refused in the same words: nothing says legal exists
    assert missing.content[0].text == refused[2].content[0].text.replace(
        "legal", "no-such-collection"
    )


def test_the_public_collection_answers_nothing_from_the_private_one(server, two_collections):
    """What anyone may read (the default collection, through /v1's alias and through
    every MCP tool) holds nothing of the memo, however the question names it."""
    caller = Caller("no token")
    follow_up = [
        {"role": "user", "content": LEGAL_QUESTION},
        {"role": "assistant", "content": "The articles do not say."},
        {
            "role": "user",
            "content": "When are those Zorblax talks expected to close, and who said?",
        },
    ]
    written = " ".join(m["content"] for m in follow_up)
    with _http(server, caller, {}) as http:
        for messages in ([{"role": "user", "content": LEGAL_QUESTION}], follow_up):
            reply = http.post(
                "/v1/chat/completions", json={"model": "article-qa", "messages": messages}
            )
            assert reply.status_code == 200, reply.text
            content = reply.json()["choices"][0]["message"]["content"]  # text and sources
            assert _leaked(content, written) == [], content
        streamed = http.post(
            "/v1/chat/completions",
            json={"model": "article-qa", "messages": follow_up, "stream": True},
        )
        assert streamed.status_code == 200
        assert _leaked(streamed.text, written) == []
    memo = two_collections.memo_id
    ask, search, listed, by_id, unknown = _mcp(
        server,
        caller,
        {},
        ("ask", {"question": LEGAL_QUESTION}),
        ("search", {"query": "Zorblax merger price 41 million", "k": 10}),
        ("list_articles", {"query": "zorblax"}),
        ("get_article", {"article_id": memo}),
        ("get_article", {"article_id": "legal:no-such-memo"}),
    )
    assert not ask.is_error and ask.structured_content["citations"] == []
    assert _leaked(_text(ask), LEGAL_QUESTION) == []
    assert _leaked(_text(search), "Zorblax merger price 41 million") == []
    assert memo not in [p["article_id"] for p in search.structured_content["result"]]
    assert listed.structured_content["total"] == 0
    # the memo's id, asked in the public collection, reads as an id nobody has
    assert by_id.is_error and unknown.is_error
    assert by_id.content[0].text == unknown.content[0].text.replace("legal:no-such-memo", memo)
    assert _leaked(_text(by_id), memo) == []


@pytest.mark.parametrize("caller", INSIDERS, ids=lambda c: c.name)
def test_an_insider_reads_the_private_collection_through_v1_and_mcp(server, tokens, caller):
    from openai import OpenAI

    with _http(server, caller, tokens) as http:
        assert [m["id"] for m in http.get("/v1/models").json()["data"]] == INSIDE
        reply = http.post(
            "/v1/chat/completions",
            json={"model": "legal", "messages": [{"role": "user", "content": LEGAL_QUESTION}]},
        )
        assert reply.status_code == 200, reply.text
        content = reply.json()["choices"][0]["message"]["content"]
        assert "41 million" in content and "Merger talks with Zorblax Industries" in content
    if caller.token:  # as an OpenAI client sends it: its API key is the token
        client = OpenAI(
            base_url=f"{server}/v1", api_key=tokens[caller.token], timeout=120, max_retries=0
        )
        assert "legal" in [m.id for m in client.models.list()]
        said = client.chat.completions.create(
            model="legal", messages=[{"role": "user", "content": LEGAL_QUESTION}]
        )
        assert said.choices[0].message.content == content
    listed, ask = _mcp(
        server,
        caller,
        tokens,
        ("list_collections", {}),
        ("ask", {"question": LEGAL_QUESTION, "collection": "legal"}),
    )
    assert listed.structured_content["collections"] == [
        {"name": "default", "private": False},
        {"name": "legal", "private": True},
    ]
    assert not ask.is_error and ask.structured_content["grounded"]
    assert any("41 million" in c["quote"] for c in ask.structured_content["citations"])


def test_an_openai_client_with_the_public_key_is_refused_the_private_model(server, tokens):
    import openai

    client = openai.OpenAI(
        base_url=f"{server}/v1", api_key=tokens["public"], timeout=120, max_retries=0
    )
    assert [m.id for m in client.models.list()] == OUTSIDE
    with pytest.raises(openai.PermissionDeniedError) as refused:
        client.chat.completions.create(
            model="legal", messages=[{"role": "user", "content": LEGAL_QUESTION}]
        )
    assert str(refused.value).endswith(NO_SUCH_MODEL.format("legal"))  # what a chat UI shows


def test_the_local_mcp_user_reads_every_collection(two_collections):
    """Over stdio (here: in process, no HTTP request) the caller is the local user, who
    may open the index anyway; an unknown name is then said to be unknown."""
    from mcp import Client

    from qa import Assistant
    from qa.web.mcp_server import build_mcp

    async def calls() -> list[Any]:
        async with Client(build_mcp(Assistant(index_dir=two_collections.index_dir))) as mcp:
            return [
                await mcp.call_tool("list_collections", {}),
                await mcp.call_tool("list_articles", {"collection": "legal"}),
                await mcp.call_tool("list_articles", {"collection": "nope"}),
            ]

    listed, legal, unknown = asyncio.run(calls())
    assert [c["name"] for c in listed.structured_content["collections"]] == ["default", "legal"]
    assert [a["id"] for a in legal.structured_content["articles"]] == [two_collections.memo_id]
    assert unknown.is_error and "no collection 'nope'" in unknown.content[0].text
