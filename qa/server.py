"""FastAPI: the REST API, the web component script, and the chat UI mounted at ``/``.

Every bad request gets a 4xx JSON body ``{"error": "..."}``; writes need
``Authorization: Bearer $QA_API_TOKEN`` and are refused when no token is
configured. CORS is granted only to ``QA_ALLOWED_ORIGINS``, on the parent
app, so it covers the Gradio sub-app, its assets and ``/gradio.js`` alike.
"""

from __future__ import annotations

import hmac
import json
import os
from pathlib import Path
from typing import Literal

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from fastapi import Depends, FastAPI, Query, Request  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from fastapi.middleware.cors import CORSMiddleware  # noqa: E402
from fastapi.responses import FileResponse, JSONResponse  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402
from starlette.exceptions import HTTPException as StarletteHTTPException  # noqa: E402

from qa import __version__  # noqa: E402
from qa.assistant import MAX_K, Assistant  # noqa: E402
from qa.errors import QAError  # noqa: E402


class Message(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class AskRequest(BaseModel):
    question: str = Field(description="The question, at most QA_MAX_QUESTION_CHARS characters.")
    history: list[Message] = Field(default_factory=list,
                                   description="Earlier messages, oldest first.")
    k: int | None = Field(default=None, ge=1, le=MAX_K, description="Passages to read.")


class ArticleIn(BaseModel):
    id: str | None = None
    title: str | None = None
    text: str
    source: str | None = None
    url: str | None = None
    published: str | None = None


class ArticlesRequest(BaseModel):
    articles: list[ArticleIn] = Field(min_length=1)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def create_app(assistant: Assistant) -> FastAPI:
    """The whole server: REST endpoints, ``/gradio.js`` and the chat at ``/``."""
    import gradio as gr

    from qa.ui import CSS, JS, build_ui

    settings = assistant.settings
    app = FastAPI(title="Article QA", version=__version__,
                  description="Cited answers to questions about news articles.")
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.allowed_origins),
                       allow_methods=["GET", "POST"], allow_headers=["*"],
                       allow_credentials=False)
    _error_handlers(app)

    def require_token(request: Request) -> None:
        if not settings.api_token:
            raise ApiError(403, "writes are disabled: the server has no QA_API_TOKEN configured")
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {settings.api_token}".encode()):
            raise ApiError(401, "missing or wrong bearer token")

    @app.post("/api/ask", summary="Answer a question with citations")
    def ask(body: AskRequest) -> dict:
        history = [m.model_dump() for m in body.history]
        return assistant.ask(body.question, history=history, k=body.k).to_dict()

    @app.get("/api/search", summary="Scored passages for a query")
    def search(q: str = Query(description="the query"),
               k: int = Query(default=settings.top_k, ge=1, le=MAX_K)) -> dict:
        return {"query": q, "passages": [p.to_dict() for p in assistant.search(q, k=k)]}

    @app.post("/api/articles", summary="Add or update articles (bearer token)",
              dependencies=[Depends(require_token)])
    async def add_articles(request: Request) -> dict:
        uploads = await _read_uploads(request, settings.max_upload_bytes)
        report = assistant.add_documents(uploads)
        return report.to_dict()

    @app.get("/api/stats", summary="What the index holds")
    def stats() -> dict:
        return assistant.stats().__dict__

    @app.get("/healthz", summary="Liveness")
    def healthz() -> dict:
        return {"status": "ok"}

    frontend = Path(gr.__file__).parent / "templates" / "frontend"

    @app.get("/gradio.js", include_in_schema=False)
    def gradio_js() -> FileResponse:
        return FileResponse(frontend / "gradio.js", media_type="text/javascript")

    demo = build_ui(assistant)
    demo.queue(default_concurrency_limit=4)
    return gr.mount_gradio_app(app, demo, path="/", footer_links=[], css=CSS, js=JS,
                               theme=gr.themes.Soft(), show_error=True,
                               max_file_size=settings.max_upload_bytes, ssr_mode=False,
                               server_name=settings.host, server_port=settings.port)


async def _read_uploads(request: Request, limit: int) -> list[tuple[str, bytes]]:
    """Multipart ``files`` or a JSON ``{"articles": [...]}`` body, within ``limit``."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"upload too large ({int(declared):,} bytes; the limit is {limit:,})")
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        form = await request.form()
        files = [f for f in form.getlist("files") if hasattr(f, "read")]
        if not files:
            raise ApiError(400, "send the articles as multipart field 'files'")
        uploads = [(f.filename or "upload.txt", await f.read()) for f in files]
    elif kind.startswith("application/json"):
        try:
            body = ArticlesRequest.model_validate_json(await request.body())
        except ValueError as exc:
            raise ApiError(422, f"invalid articles JSON: {_first_error(exc)}") from None
        records = [a.model_dump(exclude_none=True) for a in body.articles]
        uploads = [("api-articles.json", json.dumps(records).encode())]
    else:
        raise ApiError(415, "send multipart/form-data files or application/json articles")
    if sum(len(data) for _, data in uploads) > limit:
        raise ApiError(413, f"upload too large; the limit is {limit:,} bytes")
    return uploads


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", lambda: [])()
    if not errors:
        return str(exc)
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QAError)
    async def qa_error(request: Request, exc: QAError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _first_error(exc), "detail": exc.errors()}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)


def serve(index_dir: str | Path | None = None, host: str | None = None,
          port: int | None = None, seed_dir: Path | None = None) -> None:
    """Open the index (indexing ``seed_dir`` if it is empty) and serve until stopped."""
    import uvicorn

    assistant = Assistant(index_dir=index_dir, host=host, port=port)
    if seed_dir and assistant.stats().chunks == 0:
        print(f"Indexing {seed_dir} …")
        print(assistant.ingest([seed_dir], show_progress=True).summary())
    app = create_app(assistant)
    settings = assistant.settings
    print(f"Article QA on http://{settings.host}:{settings.port}  (API docs at /docs)")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
