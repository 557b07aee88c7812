"""The LCEL chain: condense the follow-up → retrieve → answer.

Condensing needs no LLM: a follow-up such as "What has he expressed?" after
"Who is Martin Hewitt?" has its pronoun replaced by the name the earlier
question was about ("What has Martin Hewitt expressed?"); a follow-up with a
pronoun but no name to hand gets the previous question's key words appended.
That standalone question is what retrieval and answering see.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

from langchain_core.runnables import Runnable, RunnableConfig

from qa.results import Answer, Retrieval

Message = dict[str, str]
_QUESTION_WORDS = {"what", "who", "whom", "whose", "when", "where", "why", "how", "which",
                   "is", "are", "was", "were", "did", "does", "do", "has", "have", "had",
                   "can", "could", "will", "would", "should", "tell", "and", "but", "so",
                   "the", "a", "an", "in", "on", "at", "of", "i", "me", "please"}
_SUBJECT = re.compile(r"\b(he|she|they|him|them)\b", re.I)
_POSSESSIVE = re.compile(r"\b(his|her|their)\b", re.I)
_REFERENCE = re.compile(r"\b(he|she|they|him|them|his|her|hers|their|it|its|this|that|"
                        r"these|those|there|then|the same)\b", re.I)
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:of|de|la|von|van|al)?\s*[A-Z][\w'’.-]*)*")


def condense(question: str, history: Sequence[Message]) -> str:
    """A standalone version of ``question`` given the earlier messages."""
    previous = [m["content"] for m in history if m.get("role") == "user"]
    if not previous or not _REFERENCE.search(question):
        return question
    for earlier in reversed(previous[-3:]):
        name = _main_name(earlier)
        if name and name.lower() not in question.lower():
            replaced = _SUBJECT.sub(name, question, count=1)
            if replaced == question:
                replaced = _POSSESSIVE.sub(f"{name}'s", question, count=1)
            if replaced != question:
                return replaced
            return f"{question} ({name})"
    keywords = [w for w in re.findall(r"[\w'’-]+", previous[-1]) if w.lower() not in _QUESTION_WORDS]
    return f"{question} ({' '.join(keywords)})" if keywords else question


def _main_name(text: str) -> str:
    """The longest capitalised name in a question, its leading question word dropped."""
    names = []
    for match in _NAME.finditer(text):
        words = match.group().split()
        while words and words[0].lower() in _QUESTION_WORDS:
            words = words[1:]
        if words:
            names.append(" ".join(words).rstrip(".’'"))
    return max(names, key=len) if names else ""


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


def build_chain(retrieve: Callable[[str, int | None], Retrieval],
                answer: Callable[[Retrieval], Answer]) -> Runnable:
    """``{"question", "history", "k"}`` → ``Answer``, as LangChain runnables."""

    def _condense(inputs: dict[str, Any]) -> dict[str, Any]:
        return {**inputs, "standalone": condense(inputs["question"], inputs.get("history") or [])}

    def _retrieve(inputs: dict[str, Any]) -> Retrieval:
        return retrieve(inputs["standalone"], inputs.get("k"))

    return Step("condense", _condense) | Step("retrieve", _retrieve) | Step("answer", answer)
