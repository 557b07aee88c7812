"""Article QA: cited answers to questions about news articles, offline.

The public API::

    from qa import Assistant
    assistant = Assistant(index_dir="index")
    assistant.ingest(["seeds"])
    answer = assistant.ask("What did France promise in July?")

Importing ``qa`` loads nothing heavy and sets no environment: each name below
is imported on first use (``qa.Assistant`` loads the engine; ``qa.Answer``
only the result types).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.answer.answering import Answerer, ExtractiveAnswerer
    from qa.assistant import Assistant
    from qa.config import Settings
    from qa.errors import QAError
    from qa.index.ingest import IngestReport
    from qa.results import Answer, Citation, Passage, Retrieval

_EXPORTS = {
    "Answer": "qa.results",
    "Answerer": "qa.answer.answering",
    "Assistant": "qa.assistant",
    "Citation": "qa.results",
    "ExtractiveAnswerer": "qa.answer.answering",
    "IngestReport": "qa.index.ingest",
    "Passage": "qa.results",
    "QAError": "qa.errors",
    "Retrieval": "qa.results",
    "Settings": "qa.config",
}
__all__ = [
    "Answer",
    "Answerer",
    "Assistant",
    "Citation",
    "ExtractiveAnswerer",
    "IngestReport",
    "Passage",
    "QAError",
    "Retrieval",
    "Settings",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'qa' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
