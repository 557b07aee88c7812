"""ASGI middleware that refuses work before it starts: body size and closed routes.

``BodyLimit`` checks ``Content-Length`` up front and counts a streamed body as
it arrives, so a 500 MB request is refused after at most ``limit`` bytes, not
read whole (it used to be: 200 OK and 2.1 GB of server memory). The overflow is
raised as an HTTP 413 so that FastAPI's body parsing lets it through as is.
``UploadGate`` closes Gradio's own anonymous file-upload route when uploads are
off: otherwise anyone reaching the port can fill the disk with temp files.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

from starlette.exceptions import HTTPException

from qa.web.api_models import error_body

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        # close: the rest of the body is never read, so the connection can't be reused
        super().__init__(
            413,
            f"request body too large; the limit is {limit:,} bytes",
            headers={"Connection": "close"},
        )


class BodyLimit:
    """At most ``limit_for(path)`` bytes of request body, declared or streamed."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _json(
                send,
                413 if declared.isdigit() else 400,
                f"request body too large; the limit is {limit:,} bytes"
                if declared.isdigit()
                else "invalid Content-Length header",
                scope.get("path", ""),
            )
            return
        received = 0
        started = False

        async def counted() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:
            if not started:
                await _json(send, 413, exc.detail, scope.get("path", ""))


class UploadGate:
    """Refuse Gradio's ``/gradio_api/upload`` routes unless uploads are enabled."""

    def __init__(self, app: ASGIApp, enabled: bool) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and not self.enabled
            and scope.get("path", "").startswith("/gradio_api/upload")
        ):
            await _json(
                send, 403, "uploads are disabled on this server (QA_ALLOW_UPLOADS)", scope["path"]
            )
            return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


async def _json(send: Send, status: int, message: str, path: str) -> None:
    body = json.dumps(error_body(path, status, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
