"""The LCEL chain: condense the follow-up → retrieve → answer.

Condensing and the conversation's focus are ``qa/conversation.py``'s; the
chain only wires the steps, so LangChain's tracing and callbacks see each one.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from langchain_core.runnables import Runnable, RunnableConfig

from qa.conversation import Message, condense, conversation_focus
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


Condenser = Callable[[str, Sequence[Message]], str]
Retrieve = Callable[[str, int | None, Sequence[str], Filters], Retrieval]


def build_chain(
    retrieve: Retrieve, answer: Callable[[Retrieval], Answer], condenser: Condenser = condense
) -> Runnable:
    """``{"question", "history", "k", "filters"}`` → ``Answer``, as LangChain runnables.

    ``condenser`` makes the follow-up standalone: the rules of
    ``qa/conversation.py`` by default, a model's rewrite (checked against them)
    when one is configured. ``retrieve`` also gets the sentences the previous
    answer quoted (the conversation's focus) when the question leans on it."""

    def _condense(inputs: dict[str, Any]) -> dict[str, Any]:
        history = inputs.get("history") or []
        return {
            **inputs,
            "standalone": condenser(inputs["question"], history),
            "focus": conversation_focus(inputs["question"], history),
        }

    def _retrieve(inputs: dict[str, Any]) -> Retrieval:
        return retrieve(
            inputs["standalone"],
            inputs.get("k"),
            inputs["focus"],
            inputs.get("filters", NO_FILTERS),
        )

    return Step("condense", _condense) | Step("retrieve", _retrieve) | Step("answer", answer)
