"""Article QA: cited answers to questions about news articles, offline.

The public API::

    from qa import Assistant
    assistant = Assistant(index_dir="index")
    assistant.ingest(["seeds"])
    answer = assistant.ask("What did France promise in July?")
"""

from qa.answering import Answerer, ExtractiveAnswerer
from qa.assistant import Assistant
from qa.config import Settings
from qa.errors import QAError
from qa.ingest import IngestReport
from qa.results import Answer, Citation, Passage, Retrieval

__all__ = ["Answer", "Answerer", "Assistant", "Citation", "ExtractiveAnswerer", "IngestReport",
           "Passage", "QAError", "Retrieval", "Settings"]
__version__ = "0.1.0"
