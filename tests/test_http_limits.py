"""The HTTP limits as ASGI middleware, driven directly (fast; the real server's tests are
in test_server.py and test_hostile.py): what reaches the app, and what is answered."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from qa.web.http_limits import BodyLimit, UploadGate

LIMIT = 10


class App:
    """Reads the whole body like FastAPI does, then answers 200 with its length."""

    def __init__(self, start_first: bool = False) -> None:
        self.calls = 0
        self.start_first = start_first

    async def __call__(self, scope, receive, send) -> None:
        self.calls += 1
        if self.start_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if not self.start_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})


def call(
    middleware, path: str = "/api/ask", chunks=(b"",), headers=(), kind: str = "http"
) -> tuple[list[dict[str, Any]], int]:
    """Run one request; (the messages sent, how many body messages were received)."""
    scope = {"type": kind, "path": path, "headers": [(k, v) for k, v in headers]}
    pending = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []
    read = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        return pending.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent, read


def status_and_error(sent: list[dict[str, Any]]) -> tuple[int, str]:
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, sent
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    error = json.loads(body).get("error", "") if starts[0]["status"] != 200 else body.decode()
    return starts[0]["status"], error


def limited(app, limits: dict[str, int] | None = None) -> BodyLimit:
    return BodyLimit(app, limit_for=lambda path: (limits or {}).get(path, LIMIT))


def test_a_declared_length_over_the_limit_is_refused_before_the_app_runs():
    app = App()
    sent, read = call(limited(app), headers=[(b"content-length", b"11")])
    assert status_and_error(sent) == (413, "request body too large; the limit is 10 bytes")
    assert app.calls == 0 and read == 0
    headers = dict(sent[0]["headers"])
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"connection"] == b"close"
    assert int(headers[b"content-length"]) == len(sent[1]["body"])


def test_a_declared_length_at_the_limit_passes():
    app = App()
    sent, _ = call(limited(app), chunks=(b"x" * 10,), headers=[(b"Content-Length", b" 10 ")])
    assert status_and_error(sent) == (200, "10") and app.calls == 1


@pytest.mark.parametrize("value", [b"ten", b"-5", b"1e3", b""])
def test_an_invalid_content_length_is_a_400(value):
    app = App()
    sent, _ = call(limited(app), headers=[(b"content-length", value)])
    assert status_and_error(sent) == (400, "invalid Content-Length header") and app.calls == 0


def test_a_streamed_body_is_counted_and_cut_at_the_limit():
    app = App()
    sent, read = call(limited(app), chunks=(b"x" * 6, b"x" * 5, b"x" * 100))
    assert status_and_error(sent) == (413, "request body too large; the limit is 10 bytes")
    assert read == 2  # the third chunk was never asked for


def test_a_streamed_body_at_the_limit_passes():
    sent, _ = call(limited(App()), chunks=(b"x" * 6, b"x" * 4))
    assert status_and_error(sent) == (200, "10")


def test_an_overflow_after_the_response_started_sends_nothing_more():
    app = App(start_first=True)
    sent, _ = call(limited(app), chunks=(b"x" * 11,))
    assert [m["type"] for m in sent] == ["http.response.start"]  # no second start, no 413


def test_each_path_gets_its_own_limit():
    limits = {"/api/articles": 100}
    sent, _ = call(limited(App(), limits), path="/api/articles", chunks=(b"x" * 50,))
    assert status_and_error(sent) == (200, "50")
    sent, _ = call(limited(App(), limits), path="/api/ask", chunks=(b"x" * 50,))
    assert status_and_error(sent)[0] == 413


def test_other_scopes_pass_through_untouched():
    seen = []

    async def app(scope, receive, send) -> None:
        seen.append(scope["type"])

    call(limited(app), kind="lifespan", headers=[(b"content-length", b"999")])
    call(UploadGate(app, enabled=False), kind="websocket", path="/gradio_api/upload")
    assert seen == ["lifespan", "websocket"]


@pytest.mark.parametrize("path", ["/gradio_api/upload", "/gradio_api/upload_progress"])
def test_gradios_upload_routes_are_closed_unless_uploads_are_on(path):
    closed = App()
    sent, _ = call(UploadGate(closed, enabled=False), path=path)
    assert status_and_error(sent) == (
        403,
        "uploads are disabled on this server (QA_ALLOW_UPLOADS)",
    )
    assert closed.calls == 0
    opened = App()
    sent, _ = call(UploadGate(opened, enabled=True), path=path)
    assert status_and_error(sent)[0] == 200 and opened.calls == 1


def test_the_gate_leaves_every_other_route_alone():
    app = App()
    sent, _ = call(UploadGate(app, enabled=False), path="/api/articles")
    assert status_and_error(sent)[0] == 200 and app.calls == 1


def test_v1_paths_get_openais_error_shape_and_ours_keep_theirs():
    declared = [(b"content-length", b"11")]
    for path, chunks, headers in (
        ("/v1/chat/completions", (b"",), declared),
        ("/v1/chat/completions", (b"x" * 6, b"x" * 5), ()),
    ):
        sent, _ = call(limited(App()), path=path, chunks=chunks, headers=headers)
        body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
        assert sent[0]["status"] == 413
        assert body == {
            "error": {
                "message": "request body too large; the limit is 10 bytes",
                "type": "invalid_request_error",
                "code": "request_too_large",
            }
        }
    sent, _ = call(limited(App()), path="/api/ask", headers=declared)
    assert status_and_error(sent) == (413, "request body too large; the limit is 10 bytes")
    sent, _ = call(limited(App()), path="/v1/models", headers=[(b"content-length", b"ten")])
    assert json.loads(sent[1]["body"])["error"]["code"] == "invalid_request"


def test_other_scopes_reach_the_app_with_their_own_channels():
    got = []

    async def app(scope, receive, send) -> None:
        got.append((scope["path"], await receive(), send))

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: dict[str, Any]) -> None:
        pass

    for middleware in (limited(app), UploadGate(app, enabled=False)):
        scope = {"type": "lifespan", "path": "/gradio_api/upload", "headers": []}
        asyncio.run(middleware(scope, receive, send))
    assert got == [("/gradio_api/upload", {"type": "lifespan.startup"}, send)] * 2
