"""The articles as Model Context Protocol tools: ``qa mcp`` (stdio) and ``/mcp`` (HTTP).

An AI assistant that speaks MCP (a desktop assistant, an IDE, an agent) gets
five read-only tools, built with the official ``mcp`` SDK on top of the
``Assistant``, nothing below it:

- ``ask``: a cited answer (text, whether the articles say it, the quotes with
  their article, title, link and character offsets);
- ``search``: the best passages for a query, scored;
- ``list_articles``: a page of the index, filtered like ``qa list``;
- ``get_article``: one article's metadata and text;
- ``list_collections``: the collections of articles the caller may read.

Each of the first four reads one collection, its ``collection`` argument (the
server's own, ``QA_COLLECTION``, when not given). Who may read which is
``qa.access``'s to say, as for the REST API: over HTTP the caller is the HTTP
request's (its bearer token, or the user a trusted proxy names), so a tool
asked for a collection that is not theirs is a tool error worded the same
whether or not a private collection of that name exists, with nothing of it.
Over stdio the caller is the local user, who may open the index anyway, and
reads every collection.

None of the tools writes, so none needs a token for the public collections
(as ``/api/ask`` and ``/api/search`` do not). Inputs are checked by the
Assistant exactly as for the other entry points; a bad one comes back as a
tool error whose text says what to fix. Over HTTP the tools are served at
``/mcp`` beside the REST API (streamable HTTP, stateless: any app process can
answer any request); the SDK runs each call on a worker thread, never on the
server's event loop.
"""

from __future__ import annotations

import functools
import inspect
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, Callable, Iterator

# Imported here, not in build_mcp: the SDK finds a tool's context parameter by its
# annotation, which it reads against this module's names.
from mcp.server.mcpserver import Context, MCPServer
from pydantic import BeforeValidator, Field

from qa import __version__
from qa.access import ADMINISTRATOR, Gate, Scope, readable
from qa.collections import MAX_NAME_CHARS
from qa.errors import QAError

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from qa.assistant import Assistant
    from qa.config import Settings

INSTRUCTIONS = (
    "Answers questions about the news articles in this index. Use `ask` for a question: "
    "its answer quotes the articles, and when `grounded` is false the articles do not say "
    "(do not answer from elsewhere). Use `search` to see passages, `list_articles` to "
    "browse, `get_article` to read one in full. The articles are kept in collections: "
    "each of those tools reads one, its `collection` argument (the server's own when not "
    "given); `list_collections` lists the ones you may read."
)
MAX_ARTICLE_CHARS = 200_000  # one article's text in a tool result
# A count is a JSON integer: "4" and true are refused, not read as 4 and 1 (pydantic's
# lax mode would coerce both), so the type is checked before any coercion.
StrictCount = Annotated[int, BeforeValidator(lambda v: _json_integer(v)), Field(strict=True)]
Collection = Annotated[
    str,
    Field(
        max_length=MAX_NAME_CHARS,
        description="The collection of articles to read (list_collections lists yours).",
    ),
]


def build_mcp(assistant: Assistant, gate: Gate | None = None) -> MCPServer:
    """The MCP server over ``assistant``: its five tools.

    ``gate`` resolves an HTTP caller (the server passes the one its REST API uses).
    Without one, a call with no HTTP request (stdio, or a client in process) is the
    local user and reads everything, and an HTTP call is still resolved, by a gate
    from ``assistant``'s settings: never more access than those settings give."""
    server: MCPServer = MCPServer(
        name="article-qa", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )

    @functools.cache
    def access() -> Gate:
        return gate or Gate(assistant.settings)

    def caller(ctx: Context) -> Scope:
        """Who calls: the HTTP request's caller, or over stdio the local user."""
        request = ctx.request_context.request
        if request is None and gate is None:
            return ADMINISTRATOR
        client = getattr(request, "client", None)
        headers = getattr(request, "headers", None) or {}
        return access().scope(headers, client.host if client else None)

    def reader(ctx: Context, collection: str) -> Assistant:
        """``assistant`` in ``collection`` when the caller may read it (a tool error
        otherwise, the same for a private collection and for none at all)."""
        with _user_errors():
            scope = caller(ctx)
            if scope is ADMINISTRATOR:  # reads all: an unknown name may be said to be unknown
                return assistant.using(collection)
            return access().reader(assistant, scope, collection)

    def tool(function: Callable[..., Any]) -> Callable[..., Any]:
        """Register with the docstring dedented: it is what the client's model reads."""
        return server.tool(description=inspect.cleandoc(function.__doc__ or ""))(function)

    own = assistant.collection  # each tool's default collection, shown in its schema

    @tool
    def ask(
        question: str,
        source: str = "",
        category: str = "",
        since: str = "",
        until: str = "",
        collection: Collection = own,
        *,
        ctx: Context,  # given by the SDK: the caller's request
    ) -> dict[str, Any]:
        """Answer a question from the articles, with the quoted passages it rests on.

        Optional filters: source and category (exact, any case), since/until
        (YYYY-MM-DD, the published date). `grounded` false means the articles
        don't say.
        """
        filters = _filters(source, category, since, until)
        view = reader(ctx, collection)
        with _user_errors():
            answer = view.ask(question, filters=filters or None)
        data = answer.to_dict()
        return {key: data[key] for key in ("text", "grounded", "confidence", "citations", "short")}

    @tool
    def search(
        query: str,
        k: StrictCount = 4,
        collection: Collection = own,
        *,
        ctx: Context,
    ) -> list[dict[str, Any]]:
        """The k (1-50) passages that best match the query, best first, with their scores."""
        view = reader(ctx, collection)
        with _user_errors():
            return [passage.to_dict() for passage in view.search(query, k)]

    @tool
    def list_articles(
        query: str = "",
        source: str = "",
        category: str = "",
        since: str = "",
        until: str = "",
        offset: StrictCount = 0,
        limit: StrictCount = 50,
        collection: Collection = own,
        *,
        ctx: Context,
    ) -> dict[str, Any]:
        """A page of the indexed articles, newest first: words of the title or id,
        source, category, a published-date range; `total` counts every match."""
        view = reader(ctx, collection)
        with _user_errors():
            page = view.articles(
                offset, limit, query, source, category, since or None, until or None
            )
        return page.to_dict()

    @tool
    def get_article(
        article_id: str,
        collection: Collection = own,
        *,
        ctx: Context,
    ) -> dict[str, Any]:
        """One article: its title, source, link, date, author, category and full text."""
        view = reader(ctx, collection)
        with _user_errors():
            info, text = view.article_text(article_id)
        cut = len(text) > MAX_ARTICLE_CHARS
        return {**info.to_dict(), "text": text[:MAX_ARTICLE_CHARS], "truncated": cut}

    @tool
    def list_collections(ctx: Context) -> dict[str, Any]:
        """The collections of articles you may read: each one's name, and whether it is
        private (readable only by those it is shared with)."""
        with _user_errors():
            mine = readable(caller(ctx), assistant.collections())
        return {"collections": [c.to_dict() for c in mine]}

    return server


def _json_integer(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a JSON integer")
    return value


def http_routes(server: MCPServer, settings: Settings) -> tuple[list[BaseRoute], Any]:
    """The ``/mcp`` route for the app, and the session manager its lifespan must run.

    On a loopback host the SDK's DNS-rebinding protection stays on (only
    localhost Host headers and origins); otherwise the allowed origins are the
    server's ``QA_ALLOWED_ORIGINS``, as for the REST API.
    """
    from mcp.server.transport_security import TransportSecuritySettings

    loopback = settings.host in ("127.0.0.1", "localhost", "::1")
    security = (
        None
        if loopback
        else TransportSecuritySettings(
            enable_dns_rebinding_protection=bool(settings.allowed_origins),
            allowed_hosts=["*"],
            allowed_origins=list(settings.allowed_origins),
        )
    )
    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
        transport_security=security,
        host=settings.host,
        max_request_body_size=settings.max_request_bytes,
    )
    return list(app.routes), server.session_manager


@contextmanager
def _user_errors() -> Iterator[None]:
    """A bad input's message reaches the client (the SDK hides other exceptions' text)."""
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        yield
    except QAError as exc:
        raise ToolError(str(exc)) from None


def _filters(source: str, category: str, since: str, until: str) -> dict[str, str]:
    given = {"source": source, "category": category, "since": since, "until": until}
    return {name: value for name, value in given.items() if value}
