"""FastAPI: the REST API, the web component script, and the chat UI mounted at ``/``.

Every bad request gets a 4xx JSON body ``{"error": "..."}``. Every endpoint
works in one collection of articles, ``?collection=NAME`` (the server's
``QA_COLLECTION`` when not given); who may read or write it is
``qa.access``'s to say (403 otherwise, with nothing of the collection in the
body). Writes need a bearer token: ``QA_API_TOKEN`` (everything) or one of the
token book with write scope. CORS is granted only to ``QA_ALLOWED_ORIGINS``, on the parent
app, so it covers the Gradio sub-app, its assets and ``/gradio.js`` alike.
"""

import json
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, AsyncIterator, Iterator

from fastapi import Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa import __version__
from qa.access import Gate, Scope
from qa.assistant import SUPPORTED_SUFFIXES, Assistant
from qa.collections import MAX_NAME_CHARS
from qa.errors import (
    AccessRulesUnreadable,
    Forbidden,
    QAError,
    Unauthorized,
    UnknownArticle,
    UnknownCollection,
)
from qa.limits import MAX_FILTER_CHARS, MAX_K, MAX_PAGE
from qa.offline import go_offline
from qa.web.api_models import (
    VISIBLE_TEXT,
    AnswerOut,
    ArticleOut,
    ArticlePageOut,
    ArticlesRequest,
    CollectionListOut,
    FetchRequest,
    HealthOut,
    IngestReportOut,
    IsoDate,
    JobOut,
    SearchOut,
    StatsOut,
    ask_request,
    error_body,
    errors,
)
from qa.web.collection_paths import CollectionPaths
from qa.web.http_limits import BodyLimit, UploadGate
from qa.web.jobs import JobQueue, QueueFull, Work
from qa.web.mcp_server import build_mcp, http_routes
from qa.web.openai_api import add_openai_routes
from qa.web.rendering import article_page

MULTIPART_OVERHEAD = 64_000  # boundaries and part headers around the uploaded files


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` written in place (OpenAPI has no
    ``$defs`` of its own to point into)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(schema)


ARTICLES_BODY = {
    "content": {
        "application/json": {"schema": _inlined(ArticlesRequest.model_json_schema())},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["files"],
                "additionalProperties": False,
                "properties": {
                    "files": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "string", "format": "binary"},
                    }
                },
            }
        },
    },
    "required": True,
}


EVERY_METHOD = [
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "PATCH",
    "OPTIONS",
    "TRACE",
    "QUERY",
    "CONNECT",
]


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers


def create_app(assistant: Assistant, jobs: JobQueue | None = None) -> FastAPI:
    """The whole server: REST endpoints, ``/gradio.js`` and the chat at ``/``."""
    go_offline()
    import gradio as gr

    from qa.web.ui import CSS, JS, build_ui, theme

    settings = assistant.settings
    jobs = jobs or JobQueue()
    AskRequest = ask_request(settings.max_question_chars)  # noqa: N806 (a model class)
    gate = Gate(settings)  # who asks: every front checks collections through it
    mcp_routes, mcp_sessions = http_routes(build_mcp(assistant, gate), settings)
    app = FastAPI(
        title="Article QA",
        version=__version__,
        description="Cited answers to questions about news articles.",
        lifespan=lambda _app: _lifespan(mcp_sessions, settings.worker_threads),
    )
    app.router.routes.extend(mcp_routes)  # /mcp: the MCP tools (qa/web/mcp_server.py)
    app.add_middleware(UploadGate, enabled=settings.allow_uploads)
    app.add_middleware(CollectionPaths)  # /c/legal/... = /...?collection=legal
    app.add_middleware(
        BodyLimit, limit_for=_body_limits(settings.max_request_bytes, settings.max_upload_bytes)
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.allowed_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["*"],
        allow_credentials=False,
    )
    _error_handlers(app)
    chosen = Query(
        default=assistant.collection,
        max_length=MAX_NAME_CHARS,
        description="the collection of articles (GET /api/collections lists those you may read)",
    )

    def caller(request: Request) -> Scope:
        return gate.scope(request.headers, request.client.host if request.client else None)

    def reader(request: Request, collection: str = chosen) -> Assistant:
        """The assistant in the asked collection, when the caller may read it."""
        return gate.reader(assistant, caller(request), collection)

    def writer(request: Request, collection: str = chosen) -> Assistant:
        """The assistant in the asked collection, when the caller may write it."""
        scope = gate.writer_scope(request.headers, request.client.host if request.client else None)
        return gate.writer(assistant, scope, collection)

    def job_owner(request: Request) -> Scope:
        return gate.writer_scope(request.headers, request.client.host if request.client else None)

    @app.get(
        "/api/collections",
        summary="The collections you may read",
        response_model=CollectionListOut,
    )
    def collections(request: Request) -> dict:
        return {"collections": [c.to_dict() for c in gate.readable(assistant, caller(request))]}

    @app.post(
        "/api/ask",
        summary="Answer a question with citations",
        response_model=AnswerOut,
        responses={**SSE_RESPONSE, **errors(400, 403, 413, 422)},
    )
    def ask(
        body: AskRequest,  # type: ignore[valid-type]  # a model built per settings
        assistant: Assistant = Depends(reader),
    ) -> Any:
        ask: Any = body
        history = [m.model_dump() for m in ask.history]
        filters = ask.filters.model_dump() if ask.filters else None
        if ask.stream:  # checked before the first byte: a bad question is still a 4xx
            events = assistant.ask_stream(ask.question, history=history, k=ask.k, filters=filters)
            return StreamingResponse(
                _server_sent(events),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        return assistant.ask(ask.question, history=history, k=ask.k, filters=filters).to_dict()

    @app.get(
        "/api/search",
        summary="Scored passages for a query",
        response_model=SearchOut,
        responses=errors(400, 403, 422),
    )
    def search(
        q: str = Query(
            description="the query",
            min_length=1,
            pattern=VISIBLE_TEXT,
            max_length=settings.max_question_chars,
        ),
        k: int = Query(default=settings.top_k, ge=1, le=MAX_K),
        filters: dict[str, Any] = Depends(_filter_params),
        assistant: Assistant = Depends(reader),
    ) -> dict:
        found = assistant.search(q, k=k, filters=filters)
        return {"query": q, "passages": [p.to_dict() for p in found]}

    @app.post(
        "/api/articles",
        summary="Add or update articles (bearer token)",
        description='JSON `{"articles": [...]}` or multipart `files` (each named with '
        f"one of {', '.join(SUPPORTED_SUFFIXES)}; any other is reported as failed "
        "and the rest kept). The write runs as a job: with `wait=false` the answer "
        "is 202 and the job, to follow at `GET /api/jobs/{id}`.",
        response_model=IngestReportOut,
        responses={
            202: {"model": JobOut, "description": "Queued (wait=false)"},
            **errors(400, 401, 403, 413, 415, 422, 429),
        },
        openapi_extra={"requestBody": ARTICLES_BODY},
    )
    async def add_articles(
        request: Request,
        wait: bool = Query(default=True, description="wait for the write to finish"),
        assistant: Assistant = Depends(writer),
    ) -> Any:
        uploads = await _read_uploads(request, settings.max_upload_bytes)
        return await write(
            f"{len(uploads)} upload(s) via the REST API",
            lambda progress: assistant.add_documents(uploads, progress),
            wait,
            assistant.collection,
        )

    @app.post(
        "/api/fetch",
        summary="Fetch feeds and news pages and index them (bearer token)",
        description="Each URL is an RSS or Atom feed (each entry becomes an article; an "
        "entry with only a summary has its page fetched, unless the server sets "
        "QA_FEED_FULL_PAGES=false) or a news page. Only hosts in the server's "
        "QA_FETCH_HOSTS are fetched, never a private or loopback address unless listed in "
        "QA_FETCH_PRIVATE_HOSTS; a refused or failed URL is reported in `failed` and the "
        "rest kept. Re-fetching a feed updates only new or changed entries.",
        response_model=IngestReportOut,
        responses={
            202: {"model": JobOut, "description": "Queued (wait=false)"},
            **errors(400, 401, 403, 413, 422, 429),
        },
    )
    async def fetch_articles(
        body: FetchRequest,
        wait: bool = Query(default=True, description="wait for the write to finish"),
        assistant: Assistant = Depends(writer),
    ) -> Any:
        return await write(
            f"{len(body.urls)} URL(s) via the REST API",
            lambda progress: assistant.ingest_urls(body.urls, progress),
            wait,
            assistant.collection,
        )

    async def write(what: str, work: Work, wait: bool, collection: str) -> Any:
        """Queue a write; its report, or 202 and the job to follow when not waiting."""
        try:
            job = jobs.submit(what, work, collection)
        except QueueFull as exc:
            raise ApiError(429, str(exc)) from None
        if not wait:
            return JSONResponse(job.to_dict(), status_code=202)
        await jobs.wait(job)
        if job.status == "failed":
            raise ApiError(400, job.error or "the write failed")
        return {**(job.report or {}), "job": job.id}

    @app.get(
        "/api/articles",
        summary="The indexed articles, newest first, a page at a time",
        response_model=ArticlePageOut,
        responses=errors(403, 422),
    )
    def list_articles(
        limit: int = Query(default=50, ge=1, le=MAX_PAGE, description="articles per page"),
        offset: int = Query(
            default=0,
            ge=0,
            description="skip this many (the next page: "
            "offset + the articles returned, while below total)",
        ),
        q: str = Query(
            default="", max_length=MAX_FILTER_CHARS, description="words of the title or id"
        ),
        filters: dict[str, Any] = Depends(_filter_params),
        assistant: Assistant = Depends(reader),
    ) -> dict:
        return assistant.articles(offset, limit, q, **filters).to_dict()

    @app.get(
        "/api/articles/{article_id:path}",
        summary="One indexed article",
        response_model=ArticleOut,
        responses=errors(403, 404, 422),
    )
    def get_article(article_id: str, assistant: Assistant = Depends(reader)) -> dict:
        return _known(assistant, article_id).to_dict()

    @app.delete(
        "/api/articles/{article_id:path}",
        summary="Remove an article: its chunks, vectors and BM25 entries (bearer token)",
        response_model=IngestReportOut,
        responses=errors(401, 403, 404, 422, 429),
    )
    async def delete_article(article_id: str, assistant: Assistant = Depends(writer)) -> Any:
        # 404 before any write is queued; the index read runs off the event loop
        await run_in_threadpool(_known, assistant, article_id)
        try:
            job = jobs.submit(
                f"delete {article_id[:80]}",
                lambda progress: assistant.delete([article_id]),
                assistant.collection,
            )
        except QueueFull as exc:
            raise ApiError(429, str(exc)) from None
        await jobs.wait(job)
        if job.status == "failed":
            raise ApiError(400, job.error or "the delete failed")
        return {**(job.report or {}), "job": job.id}

    @app.get("/articles/{article_id:path}", include_in_schema=False)
    def article_view(
        article_id: str,
        start: int = Query(default=0, ge=0, le=100_000_000),
        end: int = Query(default=0, ge=0, le=100_000_000),
        assistant: Assistant = Depends(reader),
    ) -> HTMLResponse:
        """The whole article with the quoted words marked: where a source without a
        URL of its own links to."""
        try:
            info, text = assistant.article_text(article_id)
        except UnknownArticle as exc:
            raise ApiError(404, str(exc)) from None
        about = " · ".join(x for x in (info.source, info.published) if x)
        return HTMLResponse(article_page(info.title, about, text, start, max(start, end)))

    @app.get(
        "/api/jobs/{job_id}",
        summary="A write's progress and result (bearer token)",
        response_model=JobOut,
        responses=errors(401, 403, 404),
    )
    def job_status(job_id: str, scope: Scope = Depends(job_owner)) -> dict:
        job = jobs.get(job_id)
        if job is None or not scope.may_write(job.collection):  # another's job: not yours
            raise ApiError(404, f"no job {job_id!r} (finished jobs are kept for a while only)")
        return job.to_dict()

    @app.get(
        "/api/stats",
        summary="What the collection holds",
        response_model=StatsOut,
        responses=errors(403, 422),
    )
    def stats(assistant: Assistant = Depends(reader)) -> dict:
        return assistant.stats().__dict__

    @app.get("/healthz", summary="Liveness", response_model=HealthOut)
    async def healthz() -> dict:
        """Answered on the event loop itself: a sync endpoint would queue for the thread
        pool behind every ask in flight, and a liveness probe would restart a busy server."""
        return {"status": "ok"}

    add_openai_routes(app, assistant, gate)

    @app.api_route("/api/{path:path}", methods=EVERY_METHOD, include_in_schema=False)
    @app.api_route("/v1/{path:path}", methods=EVERY_METHOD, include_in_schema=False)
    @app.api_route("/healthz", methods=EVERY_METHOD, include_in_schema=False)
    def no_such_route(request: Request) -> None:
        """JSON 404/405 for our paths (Gradio, mounted at "/", would answer {"detail"})."""
        allowed = sorted(
            {
                m
                for route in app.routes
                if isinstance(route, APIRoute)
                and route.include_in_schema
                and route.path_regex.match(request.url.path)
                for m in route.methods or ()
            }
        )
        if allowed:
            raise ApiError(
                405,
                f"{request.method} is not allowed here; use {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        raise ApiError(404, f"no such endpoint: {request.url.path}")

    frontend = Path(gr.__file__).parent / "templates" / "frontend"

    @app.get("/gradio.js", include_in_schema=False)
    def gradio_js() -> FileResponse:
        return FileResponse(frontend / "gradio.js", media_type="text/javascript")

    demo = build_ui(assistant, jobs, gate)
    demo.queue(default_concurrency_limit=4)
    return gr.mount_gradio_app(
        app,
        demo,
        path="/",
        footer_links=[],
        css=CSS,
        js=JS,
        theme=theme(),
        show_error=True,
        max_file_size=settings.max_upload_bytes,
        ssr_mode=False,
        server_name=settings.host,
        server_port=settings.port,
    )


SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer; with `stream: true`, server-sent events instead: `token` "
        'events (`{"text"}`) as a model writes, then one `answer` event.',
        "content": {
            "text/event-stream": {
                "schema": {  # one server-sent event
                    "type": "object",
                    "required": ["event", "data"],
                    "properties": {
                        "event": {"type": "string", "enum": ["token", "sentence", "answer"]},
                        "data": {
                            "type": "string",
                            "description": "JSON: {text} for a token, "
                            "{text, kept, reason} for a sentence, the Answer last",
                        },
                    },
                }
            }
        },
    }
}


def _server_sent(events: Iterator[dict[str, Any]]) -> Iterator[str]:
    """Events as text/event-stream; iterated in a worker thread, not the event loop."""
    for event in events:
        if event["event"] == "answer":
            data = event["answer"].to_dict()
        else:
            data = {key: value for key, value in event.items() if key != "event"}
        yield f"event: {event['event']}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _body_limits(request_bytes: int, upload_bytes: int):
    """The most bytes a request to ``path`` may send: uploads get the upload limit."""

    def limit_for(path: str) -> int:
        if path == "/api/articles" or path.startswith("/gradio_api/upload"):
            return upload_bytes + MULTIPART_OVERHEAD
        return request_bytes

    return limit_for


async def _read_uploads(request: Request, limit: int) -> list[tuple[str, bytes]]:
    """Multipart ``files`` or a JSON ``{"articles": [...]}`` body, within ``limit``.

    The body's size is enforced as it streams in (``BodyLimit``); parsing JSON
    runs in a worker thread so a large body never holds up the event loop.
    """
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=100, max_fields=100)
        except StarletteHTTPException:
            raise
        except Exception as exc:
            raise ApiError(400, f"invalid multipart body: {exc}") from None
        files = [f for f in form.getlist("files") if not isinstance(f, str)]
        if not files:
            raise ApiError(400, "send the articles as multipart field 'files'")
        others = sorted({key for key in form.keys() if key != "files"})
        if others:
            raise ApiError(400, f"unexpected multipart field {others[0][:60]!r}; send only 'files'")
        uploads = [(f.filename or "upload.txt", await f.read()) for f in files]
    elif kind.startswith("application/json"):
        uploads = await run_in_threadpool(_articles_from_json, await request.body())
    else:
        raise ApiError(415, "send multipart/form-data files or application/json articles")
    if sum(len(data) for _, data in uploads) > limit:
        raise ApiError(413, f"upload too large; the limit is {limit:,} bytes")
    return uploads


def _filter_params(
    source: str = Query(default="", max_length=MAX_FILTER_CHARS, description="only this source"),
    category: str = Query(
        default="", max_length=MAX_FILTER_CHARS, description="only this category"
    ),
    since: Annotated[IsoDate, Query(description="published on or after (YYYY-MM-DD)")] = None,
    until: Annotated[IsoDate, Query(description="published on or before (YYYY-MM-DD)")] = None,
) -> dict[str, Any]:
    """The filter query parameters that /api/search and /api/articles share."""
    return {"source": source, "category": category, "since": since, "until": until}


def _known(assistant: Assistant, article_id: str) -> Any:
    """The article's listing entry; 404 when the index has no such id."""
    try:
        return assistant.article(article_id)
    except UnknownArticle as exc:
        raise ApiError(404, str(exc)) from None


def _articles_from_json(body: bytes) -> list[tuple[str, bytes]]:
    try:
        request = ArticlesRequest.model_validate_json(body)
    except ValueError as exc:
        raise ApiError(422, f"invalid articles JSON: {_first_error(exc)}") from None
    records = [a.model_dump(exclude_none=True) for a in request.articles]
    return [("api-articles.json", json.dumps(records).encode())]


def _first_error(exc: Exception) -> str:
    errors: list[dict[str, Any]] = getattr(exc, "errors", lambda: [])()
    if not errors:
        return str(exc)
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
    message = _READABLE.get(first.get("type", ""), first.get("msg"))
    return f"{where}: {message}" if where else str(message)


# pydantic's own words for these would quote the whole visible-character pattern
_READABLE = {
    "string_pattern_mismatch": "is empty (it has no visible characters)",
    "string_too_short": "is empty",
}


def _plain_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Validation errors without the offending input, which can be bytes (a text/plain
    body) and would crash the JSON response."""
    return [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]


@asynccontextmanager
async def _lifespan(mcp_sessions: Any, worker_threads: int) -> AsyncIterator[None]:
    """The MCP sessions' task group, and at most ``worker_threads`` sync endpoints (asks,
    searches, lists) running at once. Forty asks at once on two cores only share the
    cores, and every thread that holds the GIL delays the event loop, where /healthz,
    the streams and the writes' waits are answered; the rest wait their turn there."""
    import anyio.to_thread

    anyio.to_thread.current_default_thread_limiter().total_tokens = worker_threads
    async with mcp_sessions.run():
        yield


_STATUS: dict[type, int] = {
    AccessRulesUnreadable: 503,
    Unauthorized: 401,
    Forbidden: 403,
    UnknownArticle: 404,
    UnknownCollection: 404,
}


def _error_handlers(app: FastAPI) -> None:
    def body(request: Request, status: int, message: str) -> dict:
        return error_body(request.url.path, status, message)

    @app.exception_handler(QAError)
    async def qa_error(request: Request, exc: QAError) -> JSONResponse:
        status = _STATUS.get(type(exc), 400)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(body(request, status, str(exc)), status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            body(request, exc.status, str(exc)), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        content = body(request, 422, _first_error(exc))
        if isinstance(content["error"], str):
            content["detail"] = _plain_errors(exc)
        return JSONResponse(content, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            body(request, exc.status_code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )


def serve(
    index_dir: str | Path | None = None,
    host: str | None = None,
    port: int | None = None,
    seed_dir: Path | None = None,
    collection: str | None = None,
) -> None:
    """Open the index (indexing ``seed_dir`` if it is empty) and serve until stopped."""
    import uvicorn

    assistant = Assistant(index_dir=index_dir, host=host, port=port, collection=collection)
    if seed_dir and assistant.stats().chunks == 0:
        print(f"Indexing {seed_dir} …")
        print(assistant.ingest([seed_dir], show_progress=True).summary())
    app = create_app(assistant)
    settings = assistant.settings
    if settings.watch:  # kept current in the background (QA_WATCH; off by default)
        from qa.watching import Watcher, watch_in_background

        watcher = Watcher(assistant, settings.watch, settings.watch_interval, settings.watch_prune)
        watch_in_background(watcher)
        print(f"Watching {', '.join(settings.watch)}")
    print(f"Article QA on http://{settings.host}:{settings.port}  (API docs at /docs)")
    # proxy_headers off: the peer address is the socket's, never an X-Forwarded-For
    # value (QA_TRUSTED_PROXIES is checked against it: a client must not claim it)
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level="warning", proxy_headers=False
    )
