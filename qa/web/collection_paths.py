"""``/c/<collection>/...``: the same site with the collection in the path.

The chat reads its collection from the page's ``?collection=``, but Gradio's
web component sends the *host* page's query string, not the one in its
``src``, so a widget on the legal desk's intranet page could not pin itself
to ``legal`` that way. A path can: ``<gradio-app src=".../c/legal/">`` loads
the chat from ``/c/legal/``, and every request it makes stays under that
prefix. This middleware turns ``/c/legal/<rest>`` into ``/<rest>`` with
``collection=legal`` added to the query string (and ``/c/legal`` as the root
path, so the pages it serves link back under the prefix); the REST API works
the same way (``/c/legal/api/ask``). Choosing a collection grants nothing:
every route still checks that its caller may read it.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = re.compile(r"^/c/([a-z0-9][a-z0-9_-]{0,39})(/.*)?$")


class CollectionPaths:
    """Rewrite ``/c/<name>/<rest>`` to ``/<rest>?collection=<name>``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            found = PREFIX.match(scope.get("path", ""))
            if found:
                scope = _rewritten(scope, found.group(1), found.group(2) or "/")
        await self.app(scope, receive, send)


def _rewritten(scope: Scope, name: str, rest: str) -> Scope:
    query = [
        (k, v)
        for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)
        if k != "collection"  # the path decides: one collection per page
    ]
    prefix = f"/c/{name}"
    return {
        **scope,
        "path": rest,
        "raw_path": rest.encode("utf-8"),
        "root_path": scope.get("root_path", "") + prefix,
        "query_string": urlencode([*query, ("collection", name)]).encode("latin-1"),
    }
