"""The MCP server, driven by the official SDK's own client over both transports.

stdio: ``qa mcp`` launched as a subprocess, as an AI assistant launches it.
HTTP: ``/mcp`` on the real server (``python app.py``). Both over the seeds.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest

from tests.server_helpers import running_app

pytestmark = pytest.mark.slow  # a subprocess or the real server, with the real model

TOOLS = {"ask", "search", "list_articles", "get_article", "list_collections"}
QUESTION = "What did France promise in July?"


async def _session(target: Any) -> dict[str, Any]:
    """One client session: what each tool gives for the seed question, and for bad input."""
    from mcp import Client

    async with Client(target) as client:
        tools = (await client.list_tools()).tools
        answer = await client.call_tool("ask", {"question": QUESTION})
        kept = await client.call_tool("ask", {"question": QUESTION, "source": "bbc"})
        other_desk = await client.call_tool("ask", {"question": QUESTION, "source": "Reuters"})
        too_early = await client.call_tool("ask", {"question": QUESTION, "until": "1990-01-01"})
        empty = await client.call_tool("ask", {"question": "   "})
        found = await client.call_tool("search", {"query": "taxi boats", "k": 2})
        listed = await client.call_tool("list_articles", {"limit": 5})
        article_id = listed.structured_content["articles"][0]["id"]
        article = await client.call_tool("get_article", {"article_id": article_id})
        unknown = await client.call_tool("get_article", {"article_id": "no-such-article"})
        collections = await client.call_tool("list_collections", {})
        return {
            "tools": {t.name: t for t in tools},
            "answer": answer,
            "kept": kept,
            "other_desk": other_desk,
            "too_early": too_early,
            "empty": empty,
            "found": found,
            "listed": listed,
            "article": article,
            "unknown": unknown,
            "collections": collections,
        }


def _check(got: dict[str, Any], expected: dict[str, Any]) -> None:
    """``expected``: the same question's answer through the Python or REST API."""
    assert set(got["tools"]) == TOOLS
    assert "question" in got["tools"]["ask"].input_schema["properties"]
    for name in TOOLS - {"list_collections"}:  # each reads one collection, the server's by default
        assert got["tools"][name].input_schema["properties"]["collection"]["default"] == "default"
    assert got["collections"].structured_content == {
        "collections": [{"name": "default", "private": False}]
    }
    described = got["tools"]["ask"].description
    assert described.startswith("Answer a question") and "\n    " not in described
    answer = got["answer"]
    assert not answer.is_error
    data = answer.structured_content
    assert data["grounded"] and data["citations"]
    quote = data["citations"][0]["quote"]
    assert "Retailleau" in quote or "taxi boats" in quote, quote

    def cited(answer: dict[str, Any]) -> list[tuple]:
        return [(c["article_id"], c["start"], c["end"], c["quote"]) for c in answer["citations"]]

    assert cited(data) == cited(expected) and data["text"] == expected["text"]
    # the filters reach the search: the seed's source keeps the answer, another source
    # and a date range before the seed leave nothing to quote
    assert cited(got["kept"].structured_content) == cited(expected)
    for narrowed in (got["other_desk"], got["too_early"]):
        assert not narrowed.is_error
        assert narrowed.structured_content["citations"] == []
        assert not narrowed.structured_content["grounded"]
    # the text content carries the same JSON, for clients that read only text
    assert json.loads(answer.content[0].text)["citations"][0]["quote"] == quote
    assert got["empty"].is_error and "empty" in got["empty"].content[0].text
    passages = got["found"].structured_content["result"]
    assert len(passages) == 2 and all("taxi" in p["text"].lower() for p in passages[:1])
    listed = got["listed"].structured_content
    assert listed["total"] >= 1 and listed["articles"][0]["title"]
    article = got["article"].structured_content
    assert article["text"] and not article["truncated"]
    assert got["unknown"].is_error and "no-such-article" in got["unknown"].content[0].text


def test_qa_mcp_over_stdio(seeded):
    from mcp.client.stdio import StdioServerParameters

    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "qa.cli", "--index", str(seeded.settings.index_dir), "mcp"],
    )
    _check(asyncio.run(_session(server)), seeded.ask(QUESTION).to_dict())


def test_mcp_over_http_on_the_app(tmp_path):
    import httpx

    with running_app(tmp_path / "index") as url:  # app.py indexes seeds/ into it
        expected = httpx.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=120).json()
        _check(asyncio.run(_session(f"{url}/mcp")), expected)


def test_mcp_counts_must_be_json_integers(seeded):
    from mcp import Client

    from qa.web.mcp_server import build_mcp

    async def calls() -> dict[str, Any]:
        async with Client(build_mcp(seeded)) as client:
            return {
                repr(k): await client.call_tool("search", {"query": "taxi boats", "k": k})
                for k in ("4", True, 4.5, 2)
            } | {"limit": await client.call_tool("list_articles", {"limit": "5"})}

    got = asyncio.run(calls())
    for refused in ("'4'", "True", "4.5", "limit"):
        assert got[refused].is_error and "must be a JSON integer" in got[refused].content[0].text
    assert len(got["2"].structured_content["result"]) == 2


def test_qa_mcp_refuses_an_index_folder_that_does_not_exist(tmp_path):
    import subprocess

    typo = tmp_path / "indx"
    done = subprocess.run(
        [sys.executable, "-m", "qa.cli", "--index", str(typo), "mcp"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2 and f"no index at {typo}" in done.stderr
    assert not typo.exists()
