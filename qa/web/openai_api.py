"""Article QA as an OpenAI-compatible "model": ``POST /v1/chat/completions``, ``GET /v1/models``.

Chat front ends (Open WebUI, LibreChat, an IDE) and the ``openai`` clients
speak this protocol; with it they ask the articles without knowing this
project's own API. The conversation's last user message is the question and the
user and assistant messages before it its history (system messages are the
front end's own instructions and are not read: the answer comes from the
articles, never from a prompt). The reply is the cited answer with its
sources listed under it; ``"stream": true`` sends it as OpenAI's
server-sent chunks, the words as a model writes them when one is configured.

Each collection of articles the caller may read is a model (``GET
/v1/models`` lists them; ``article-qa`` stays listed as the server's own
collection), so a front end's model picker is its collection picker. The
caller is who ``qa.access`` says: the client's API key is sent as
``Authorization: Bearer``, so a token of the token book picks the private
collections it names, and a trusted proxy's user headers count as for
``/api``; with no key, or one the book does not hold, only the public
collections. A model that is not one of the caller's gets OpenAI's own 403,
worded the same whether or not a private collection of that name exists.

The same limits apply as to ``/api/ask`` (the request body's size, the
question's length, the history's), checked before any work, and the work
runs on a worker thread, never the event loop.
"""

# No "from __future__ import annotations": FastAPI reads the endpoint's body type, a model
# built per settings inside add_openai_routes, from the live annotation.
import json
import time
import uuid
from typing import Annotated, Any, Iterator, Literal

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, create_model

from qa.access import Gate, Scope
from qa.assistant import Assistant
from qa.errors import Forbidden, InvalidQuestion
from qa.limits import MAX_HISTORY_MESSAGES
from qa.results import Answer
from qa.web.api_models import VISIBLE_TEXT, OpenAIErrorBody, errors

MODEL_ID = "article-qa"  # the server's own collection (QA_COLLECTION), whatever its name
UserRole = Literal["user"]
AssistantRole = Literal["assistant"]
TextKind = Literal["text"]


MAX_MODEL_CHARS = 200  # the model name is echoed into every chunk: a name, not a payload


class ContentPart(BaseModel):
    """One part of a message's content in OpenAI's list form; text parts are read."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(max_length=40)
    text: str | None = None


class OtherMessage(BaseModel):
    """A system, developer or tool message: accepted, not read."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None


def chat_request(max_question_chars: int) -> type[BaseModel]:
    """OpenAI's chat completion request, its limits those of this server's settings.

    Every rule the answer needs is in the schema (clients and Schemathesis read
    it): the question is the last user message, with a visible character and
    within the question limit; earlier user and assistant messages are its
    history. Sampling options are accepted and ignored (the answer quotes the
    articles: there is nothing to sample)."""
    text = Annotated[str, Field(min_length=1, max_length=max_question_chars, pattern=VISIBLE_TEXT)]
    text_part = create_model(
        "TextPart",
        __config__=ConfigDict(extra="ignore"),
        type=(TextKind, ...),
        text=(text, ...),
    )
    question_parts = Annotated[
        list[text_part],  # type: ignore[valid-type]
        Field(min_length=1, max_length=1, description="OpenAI's list form: one text part"),
    ]
    parts = Annotated[
        list[ContentPart],
        Field(min_length=1, max_length=64, description="OpenAI's list of content parts"),
    ]
    question = create_model(
        "UserMessage",
        __config__=ConfigDict(extra="ignore"),
        role=(UserRole, ...),
        content=(text | question_parts, ...),
    )
    said = create_model(
        "AssistantMessage",
        __config__=ConfigDict(extra="ignore"),
        role=(AssistantRole, ...),
        content=(
            Annotated[str, Field(max_length=max_question_chars * 20)] | parts | None,
            None,
        ),
    )
    message: Any = Annotated[
        question | said | OtherMessage,  # models built per settings
        Field(discriminator="role"),
    ]
    return create_model(
        "ChatCompletionRequest",
        __config__=ConfigDict(extra="ignore"),
        model=(
            str,
            Field(
                default=MODEL_ID,
                max_length=MAX_MODEL_CHARS,
                description="A collection you may read (GET /v1/models lists them); "
                f"{MODEL_ID!r} is the server's own.",
            ),
        ),
        messages=(
            list[message],
            Field(
                min_length=1,
                max_length=MAX_HISTORY_MESSAGES + 1,
                description="The conversation; the last user message is the question.",
                json_schema_extra={"contains": {"properties": {"role": {"const": "user"}}}},
            ),
        ),
        stream=(StrictBool, False),
    )


class ChatMessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChoiceOut(BaseModel):
    index: int = 0
    message: ChatMessageOut
    finish_reason: Literal["stop"] = "stop"


class UsageOut(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatCompletionOut(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChoiceOut]
    usage: UsageOut = Field(default_factory=UsageOut)


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "article-qa"


class ModelListOut(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


def add_openai_routes(app: FastAPI, assistant: Assistant, gate: Gate | None = None) -> None:
    """Mount ``/v1/models`` and ``/v1/chat/completions`` on ``app``.

    ``gate`` says who may read what (the server passes the one its ``/api`` uses);
    without one, a gate from ``assistant``'s settings: never more access than
    those settings give."""
    ChatCompletionRequest = chat_request(assistant.settings.max_question_chars)  # noqa: N806
    access = gate or Gate(assistant.settings)

    def caller(request: Request) -> Scope:
        return access.scope(request.headers, request.client.host if request.client else None)

    def reader(request: Request, model: str) -> Assistant:
        """The assistant in the collection ``model`` names, when the caller may read it;
        otherwise OpenAI's "does not exist or you do not have access" (403), the same
        for a private collection and for no collection at all."""
        name = assistant.collection if model == MODEL_ID else model
        try:
            return access.reader(assistant, caller(request), name)
        except Forbidden:
            raise Forbidden(
                f"The model {model!r} does not exist or you do not have access to it."
            ) from None

    @app.get("/v1/models", summary="The collections you may read, as models", tags=["openai"])
    def models(request: Request) -> ModelListOut:
        names = [c.name for c in access.readable(assistant, caller(request))]
        aliased = [MODEL_ID] if assistant.collection in names else []
        return ModelListOut(data=[ModelOut(id=name) for name in aliased + names])

    @app.post(
        "/v1/chat/completions",
        summary="An OpenAI-compatible chat completion: the cited answer and its sources",
        response_model=ChatCompletionOut,
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "the answer, or chunks"},
            **errors(400, 413, 422, openai=True),
            403: {
                "model": OpenAIErrorBody,
                "description": "The model is not a collection you may read (or there is "
                "no such collection: the two read the same)",
            },
        },
        tags=["openai"],
    )
    def chat_completions(request: Request, body: ChatCompletionRequest) -> Any:  # type: ignore[valid-type]
        asked: Any = body
        view = reader(request, asked.model)
        question, history = conversation(asked.messages)
        reply_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if asked.stream:  # validated before the first byte: a bad question is still a 4xx
            events = view.ask_stream(question, history=history)
            return StreamingResponse(
                _chunks(events, reply_id, created, asked.model),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        answer = view.ask(question, history=history)
        message = ChatMessageOut(content=with_sources(answer))
        return ChatCompletionOut(
            id=reply_id, created=created, model=asked.model, choices=[ChoiceOut(message=message)]
        )


def conversation(messages: list[Any]) -> tuple[str, list[dict[str, str]]]:
    """The last user message as the question; the user and assistant messages before
    it as its history (an assistant message keeps only its answer, not its sources);
    what follows the question (a client's prefill) is not read. Content given as a
    list of parts is read as its text parts joined."""
    said = [(m.role, _text(m.content)) for m in messages if m.role in ("user", "assistant")]
    asked = [i for i, (role, _) in enumerate(said) if role == "user"]
    if not asked:  # the schema's "contains", which pydantic does not check
        raise InvalidQuestion("the conversation has no user message to answer")
    last = asked[-1]
    history = [
        {"role": role, "content": text.split(SOURCES_HEADING)[0].rstrip()}
        for role, text in said[:last]
    ]
    return said[last][1], history


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "\n".join(p.text for p in content if p.type == "text" and p.text)
    return content or ""


SOURCES_HEADING = "\n\nSources:\n"


def with_sources(answer: Answer) -> str:
    """The answer, then one line per citation: its number, title, source and date,
    and the quoted words."""
    if not answer.citations:
        return answer.text
    lines = []
    for c in answer.citations:
        where = ", ".join(part for part in (c.source, c.published[:10]) if part)
        page = f", page {c.page}" if c.page else ""
        lines.append(f"[{c.number}] {c.title}{f' ({where}{page})' if where or page else ''}")
        lines.append(f"    “{c.quote}”")
    return answer.text + SOURCES_HEADING + "\n".join(lines)


def _chunks(
    events: Iterator[dict[str, Any]], reply_id: str, created: int, model: str
) -> Iterator[str]:
    """OpenAI's ``chat.completion.chunk`` events, then ``[DONE]``; iterated in a
    worker thread. A model's words stream as written; the final chunk carries the
    rest: the checked answer differs from the draft when a sentence was dropped,
    so an extractive answer (and a corrected one) arrives whole at the end."""

    def chunk(delta: dict[str, str], finish: str | None = None) -> str:
        data = {
            "id": reply_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    written = ""
    for event in events:
        if event["event"] == "token":
            written += event["text"]
            yield chunk({"content": event["text"]})
        elif event["event"] == "answer":
            final = with_sources(event["answer"])
            rest = final[len(written) :] if final.startswith(written) else "\n\n" + final
            if rest:
                yield chunk({"content": rest})
    yield chunk({}, finish="stop")
    yield "data: [DONE]\n\n"
