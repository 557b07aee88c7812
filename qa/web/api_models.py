"""The REST API's request and response bodies, as pydantic models.

They exist so that ``/openapi.json`` describes every body the server sends,
errors included: a client generator (or schemathesis, in the tests) can then
rely on the schema instead of on reading the code.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    create_model,
)

from qa.limits import MAX_FILTER_CHARS, MAX_HISTORY_MESSAGES, MAX_K, MAX_URL_CHARS, MAX_URLS

Role = Literal["user", "assistant"]  # who wrote a message of the history


def _invisible_class() -> str:
    """A regex class of whitespace and format characters (zero-width spaces,
    joiners, direction marks), from the same Unicode tables ``Assistant`` uses."""
    ranges: list[list[int]] = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if char.isspace() or unicodedata.category(char) == "Cf":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])

    def escaped(code: int) -> str:
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"

    return "".join(escaped(a) if a == b else f"{escaped(a)}-{escaped(b)}" for a, b in ranges)


# "Holds at least one visible character": an empty or invisible question is refused.
VISIBLE_TEXT = f"[^{_invisible_class()}]"


def ask_request(max_question_chars: int) -> type[BaseModel]:
    """The ``/api/ask`` body, its limits those of this server's settings."""
    message = create_model(
        "Message",
        __config__=ConfigDict(extra="forbid"),
        role=(Role, ...),
        content=(str, Field(max_length=max_question_chars * 20)),
    )
    return create_model(
        "AskRequest",
        __config__=ConfigDict(extra="forbid"),
        question=(
            str,
            Field(
                min_length=1,
                max_length=max_question_chars,
                pattern=VISIBLE_TEXT,
                description="The question, with at least one visible character.",
            ),
        ),
        history=(
            list[message],  # type: ignore[valid-type]  # a model built per settings
            Field(
                default_factory=list,
                max_length=MAX_HISTORY_MESSAGES,
                description="Earlier messages, oldest first.",
            ),
        ),
        k=(
            Annotated[int | None, BeforeValidator(_json_integer)],
            Field(default=None, ge=1, le=MAX_K, description="Passages to read."),
        ),
        filters=(
            FiltersIn | None,
            Field(default=None, description="Answer from these articles only."),
        ),
        stream=(
            bool,
            Field(
                default=False,
                strict=True,
                description=(
                    "Answer as server-sent events: `token` events as the model writes, then one "
                    "`answer` event with the Answer JSON."
                ),
            ),
        ),
    )


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_text(value: Any) -> Any:
    """A date as YYYY-MM-DD text only, never a number that lax parsing reads as Unix time."""
    if value is not None and not (isinstance(value, str) and ISO_DAY.fullmatch(value)):
        raise ValueError("must be a date as YYYY-MM-DD text")
    return value


IsoDate = Annotated[date | None, BeforeValidator(_date_text)]


class FiltersIn(BaseModel):
    """Answer from these articles only; empty fields do not narrow."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(default="", max_length=MAX_FILTER_CHARS, description="exactly this source")
    category: str = Field(default="", max_length=MAX_FILTER_CHARS, description="this category")
    since: IsoDate = Field(default=None, description="published on or after (YYYY-MM-DD)")
    until: IsoDate = Field(default=None, description="published on or before (YYYY-MM-DD)")


def _json_integer(value: Any) -> Any:
    """A JSON integer (4 or 4.0), never `true` or "4", which lax parsing would take."""
    if isinstance(value, (bool, str)):
        raise ValueError("must be a whole number, not text or true/false")
    return value


class ArticleIn(BaseModel):
    id: StrictStr | StrictInt | None = None
    title: str | None = None
    text: str
    source: str | None = None
    url: str | None = None
    published: str | None = None


class ArticlesRequest(BaseModel):
    articles: list[ArticleIn] = Field(min_length=1)


class FetchRequest(BaseModel):
    urls: list[
        Annotated[
            str, StringConstraints(max_length=MAX_URL_CHARS, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://")
        ]
    ] = Field(
        min_length=1,
        max_length=MAX_URLS,
        description="RSS or Atom feeds, or news pages: http:// or https:// only, each "
        "within the server's QA_FETCH_HOSTS.",
    )


class ErrorBody(BaseModel):
    error: str = Field(description="What was wrong, in one sentence.")


class OpenAIErrorDetail(BaseModel):
    message: str = Field(description="What was wrong, in one sentence.")
    type: str = Field(description="invalid_request_error, authentication_error, ...")
    code: str | None = None


class OpenAIErrorBody(BaseModel):
    """The error shape OpenAI's clients read (``/v1`` routes): they show ``message``."""

    error: OpenAIErrorDetail


_OPENAI_ERROR_TYPES = {
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "forbidden"),
    404: ("not_found_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    413: ("invalid_request_error", "request_too_large"),
    429: ("rate_limit_error", "rate_limited"),
}


_INVALID = ("invalid_request_error", "invalid_request")


def error_body(path: str, status: int, message: str) -> dict:
    """``{"error": message}``, or OpenAI's ``{"error": {"message", "type", "code"}}`` on
    ``/v1`` so that an OpenAI client shows the reason instead of a bare status."""
    if not (path == "/v1" or path.startswith("/v1/")):
        return {"error": message}
    fallback = ("server_error", "internal_error") if status >= 500 else _INVALID
    kind, code = _OPENAI_ERROR_TYPES.get(status, fallback)
    return {"error": {"message": message, "type": kind, "code": code}}


class CitationOut(BaseModel):
    number: int
    article_id: str
    title: str
    source: str
    quote: str = Field(description="Exactly the article's text from start to end.")
    start: int
    end: int
    score: float
    url: str
    published: str
    passage: str
    passage_start: int
    page: int | None = Field(default=None, description="The page the quote starts on (PDFs).")


class DroppedOut(BaseModel):
    sentence: str
    reason: str


class ShortAnswerOut(BaseModel):
    text: str = Field(description="The answer phrase: the article's text from start to end.")
    start: int
    end: int
    citation: int = Field(description="The [n] whose quote holds the phrase.")
    probability: float


class AnswerOut(BaseModel):
    text: str
    grounded: bool = Field(description="False when the articles don't say.")
    question: str = Field(description="The standalone question that was answered.")
    confidence: float
    mode: Literal["extractive", "generated", "fallback"]
    citations: list[CitationOut]
    dropped: list[DroppedOut] = Field(description="Generated sentences the verifier removed.")
    notice: str = Field(description="Why a model's answer was not used, or was cut.")
    short: ShortAnswerOut | None = Field(
        default=None, description="The answer phrase inside the first quote, when sure of it."
    )


class PassageOut(BaseModel):
    chunk_id: str
    article_id: str
    title: str
    source: str
    url: str
    published: str
    text: str
    start: int
    end: int
    score: float
    dense: float
    lexical: float


class SearchOut(BaseModel):
    query: str
    passages: list[PassageOut]


class FailureOut(BaseModel):
    name: str
    reason: str


class IngestReportOut(BaseModel):
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    removed: list[str]
    failed: list[FailureOut]
    chunks_added: int
    chunks_embedded: int
    chunks_removed: int
    notes: list[str]
    seconds: float
    job: str | None = Field(default=None, description="The write's job id.")


class ProgressOut(BaseModel):
    done: int
    total: int
    current: str


class JobOut(BaseModel):
    id: str
    what: str
    status: Literal["queued", "running", "done", "failed"]
    submitted: float
    progress: ProgressOut
    report: IngestReportOut | None
    error: str | None


class ArticleOut(BaseModel):
    id: str
    title: str
    source: str
    url: str
    published: str
    chunks: int = Field(description="How many chunks the article was split into.")
    origin: str = Field(description="The file, upload or URL it came from.")
    category: str
    author: str = Field(default="", description="The byline, where the source gave one.")


class ArticlePageOut(BaseModel):
    articles: list[ArticleOut]
    total: int = Field(description="Articles matching the filters, over all pages.")
    offset: int
    limit: int


class StatsOut(BaseModel):
    articles: int
    chunks: int
    sentences: int
    embedding_model: str
    location: str
    revision: int
    collection: str = Field(description="The collection counted.")
    llm: str = Field(description="The configured QA_LLM, empty when answers are extractive.")
    llm_answers: bool | None = Field(description="Whether that model answers now.")


class CollectionOut(BaseModel):
    name: str
    private: bool = Field(description="Readable only with a scope that names it.")


class CollectionListOut(BaseModel):
    collections: list[CollectionOut]


class HealthOut(BaseModel):
    status: Literal["ok"]


def errors(*statuses: int, openai: bool = False) -> dict[int | str, dict]:
    """OpenAPI ``responses`` entries for these error statuses (``openai``: the shape
    the ``/v1`` routes answer errors in)."""
    described = {
        400: "Invalid input",
        401: "Missing or wrong bearer token",
        403: "Not yours: a collection you may not read or write, or writes are disabled",
        404: "Not found",
        413: "Body too large",
        415: "Unsupported content type",
        422: "Invalid body",
        429: "Too many writes waiting",
    }
    model = OpenAIErrorBody if openai else ErrorBody
    return {status: {"model": model, "description": described[status]} for status in statuses}
