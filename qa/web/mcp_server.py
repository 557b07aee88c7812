"""The articles as Model Context Protocol tools: ``qa mcp`` (stdio) and ``/mcp`` (HTTP).

An AI assistant that speaks MCP (a desktop assistant, an IDE, an agent) gets
four read-only tools, built with the official ``mcp`` SDK on top of the
``Assistant``, nothing below it:

- ``ask``: a cited answer (text, whether the articles say it, the quotes with
  their article, title, link and character offsets);
- ``search``: the best passages for a query, scored;
- ``list_articles``: a page of the index, filtered like ``qa list``;
- ``get_article``: one article's metadata and text.

None of them writes, so none needs the API token (as ``/api/ask`` and
``/api/search`` do not). Inputs are checked by the Assistant exactly as for
the other entry points; a bad one comes back as a tool error whose text says
what to fix. Over HTTP the tools are served at ``/mcp`` beside the REST API
(streamable HTTP, stateless: any app process can answer any request); the SDK
runs each call on a worker thread, never on the server's event loop.
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, Callable, Iterator

from pydantic import BeforeValidator, Field

from qa import __version__
from qa.errors import QAError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from starlette.routing import BaseRoute

    from qa.assistant import Assistant
    from qa.config import Settings

INSTRUCTIONS = (
    "Answers questions about the news articles in this index. Use `ask` for a question: "
    "its answer quotes the articles, and when `grounded` is false the articles do not say "
    "(do not answer from elsewhere). Use `search` to see passages, `list_articles` to "
    "browse, `get_article` to read one in full."
)
MAX_ARTICLE_CHARS = 200_000  # one article's text in a tool result
# A count is a JSON integer: "4" and true are refused, not read as 4 and 1 (pydantic's
# lax mode would coerce both), so the type is checked before any coercion.
StrictCount = Annotated[int, BeforeValidator(lambda v: _json_integer(v)), Field(strict=True)]


def build_mcp(assistant: Assistant) -> MCPServer:
    """The MCP server over ``assistant``: its four tools."""
    from mcp.server.mcpserver import MCPServer

    server: MCPServer = MCPServer(
        name="article-qa", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )

    def tool(function: Callable[..., Any]) -> Callable[..., Any]:
        """Register with the docstring dedented: it is what the client's model reads."""
        return server.tool(description=inspect.cleandoc(function.__doc__ or ""))(function)

    @tool
    def ask(
        question: str,
        source: str = "",
        category: str = "",
        since: str = "",
        until: str = "",
    ) -> dict[str, Any]:
        """Answer a question from the articles, with the quoted passages it rests on.

        Optional filters: source and category (exact, any case), since/until
        (YYYY-MM-DD, the published date). `grounded` false means the articles
        don't say.
        """
        filters = _filters(source, category, since, until)
        with _user_errors():
            answer = assistant.ask(question, filters=filters or None)
        data = answer.to_dict()
        return {key: data[key] for key in ("text", "grounded", "confidence", "citations", "short")}

    @tool
    def search(query: str, k: StrictCount = 4) -> list[dict[str, Any]]:
        """The k (1-50) passages that best match the query, best first, with their scores."""
        with _user_errors():
            return [passage.to_dict() for passage in assistant.search(query, k)]

    @tool
    def list_articles(
        query: str = "",
        source: str = "",
        category: str = "",
        since: str = "",
        until: str = "",
        offset: StrictCount = 0,
        limit: StrictCount = 50,
    ) -> dict[str, Any]:
        """A page of the indexed articles, newest first: words of the title or id,
        source, category, a published-date range; `total` counts every match."""
        with _user_errors():
            page = assistant.articles(
                offset, limit, query, source, category, since or None, until or None
            )
        return page.to_dict()

    @tool
    def get_article(article_id: str) -> dict[str, Any]:
        """One article: its title, source, link, date, author, category and full text."""
        with _user_errors():
            info, text = assistant.article_text(article_id)
        cut = len(text) > MAX_ARTICLE_CHARS
        return {**info.to_dict(), "text": text[:MAX_ARTICLE_CHARS], "truncated": cut}

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
