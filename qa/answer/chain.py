"""The LCEL chain: condense the follow-up → retrieve → answer.

Condensing and the conversation's focus are ``qa/answer/conversation.py``'s; the
chain only wires the steps, so LangChain's tracing and callbacks see each one.
It is the one path a question takes: ``invoke`` returns the ``Answer``
(``Assistant.ask``), ``stream`` yields the answerer's events as a model
writes, ending with the answer (``Assistant.ask_stream``, the chat).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

from langchain_core.runnables import Runnable, RunnableConfig

from qa.answer.answering import ChatAnswerer, Event
from qa.answer.conversation import conversation_focus
from qa.filters import NO_FILTERS, Filters
from qa.results import Answer, Retrieval


class Step(Runnable[Any, Any]):
    """One named step of the chain.

    ``RunnableLambda`` inspects its function's signature on every call, which
    costs about a millisecond a step on the ask() hot path; a step that only
    calls its function keeps the chain an ordinary LCEL ``RunnableSequence``
    (tracing, callbacks, ``|``) without that cost.
    """

    def __init__(self, name: str, fn: Callable[[Any], Any]) -> None:
        self.name = name
        self._fn = fn

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return self._call_with_config(self._fn, input, config, run_type="chain")


class AnswerStep(Runnable[Retrieval, Any]):
    """The last step: ``invoke`` gives the ``Answer``; ``stream`` (and the chain's
    ``stream``) the answerer's events, the answer last."""

    name = "answer"

    def __init__(self, answerer: ChatAnswerer) -> None:
        self.answerer = answerer

    def invoke(
        self, input: Retrieval, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Answer:
        return self._call_with_config(self.answerer.answer, input, config, run_type="chain")

    def transform(
        self, input: Iterator[Retrieval], config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Event]:
        yield from self._transform_stream_with_config(input, self._events, config, run_type="chain")

    def stream(
        self, input: Retrieval, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Event]:
        yield from self.transform(iter([input]), config)

    def _events(self, retrievals: Iterator[Retrieval]) -> Iterator[Event]:
        for retrieval in retrievals:
            yield from self.answerer.stream(retrieval)


Retrieve = Callable[[str, int | None, Sequence[str], Filters], Retrieval]


def build_chain(retrieve: Retrieve, answerer: ChatAnswerer) -> Runnable:
    """``{"question", "history", "k", "filters"}`` → ``Answer``, as LangChain runnables.

    The answerer's ``condense`` makes the follow-up standalone: the rules of
    ``qa/answer/conversation.py``, or a model's rewrite checked against them when one
    is configured. ``retrieve`` also gets the sentences the previous answer
    quoted (the conversation's focus) when the question leans on it."""

    def _condense(inputs: dict[str, Any]) -> dict[str, Any]:
        history = inputs.get("history") or []
        return {
            **inputs,
            "standalone": answerer.condense(inputs["question"], history),
            "focus": conversation_focus(inputs["question"], history),
        }

    def _retrieve(inputs: dict[str, Any]) -> Retrieval:
        return retrieve(
            inputs["standalone"],
            inputs.get("k"),
            inputs["focus"],
            inputs.get("filters", NO_FILTERS),
        )

    return Step("condense", _condense) | Step("retrieve", _retrieve) | AnswerStep(answerer)
