"""The stock LangChain tutorial pipeline, kept only as a yardstick.

RecursiveCharacterTextSplitter(1000, 200) + HuggingFaceEmbeddings with the
same model + Chroma ``similarity_search`` (k=4). Benchmarks and ``qa eval``
run it beside our pipeline in the same process and on the same data, so the
two rows of every table are measured under the same conditions.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from qa.config import DEFAULT_MODEL
from qa.errors import QAError
from qa.index.articles import Article
from qa.index.embeddings import resolve_model
from qa.offline import go_offline

COMPLETE_MARKER = "stock-complete"


@dataclass(frozen=True)
class StockHit:
    article_id: str
    text: str


class StockPipeline:
    """Split, embed and search exactly as the LangChain RAG tutorial does."""

    def __init__(self, persist_dir: Path | None = None, model: str = DEFAULT_MODEL) -> None:
        try:
            go_offline()
            from langchain_chroma import Chroma
            from langchain_huggingface import HuggingFaceEmbeddings
            from langchain_text_splitters import RecursiveCharacterTextSplitter
        except ImportError as exc:
            raise QAError(
                'the stock pipeline needs the bench extra: pip install -e ".[bench]"'
            ) from exc
        from chromadb.config import Settings as ChromaSettings

        self._dir = persist_dir or Path(tempfile.mkdtemp(prefix="stock-chroma-"))
        self.splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        self.embeddings = HuggingFaceEmbeddings(model_name=resolve_model(model))
        self.store = Chroma(
            collection_name="stock",
            embedding_function=self.embeddings,
            persist_directory=str(self._dir),
            client_settings=ChromaSettings(anonymized_telemetry=False),
        )

    def add(self, articles: Sequence[Article], batch: int = 256) -> int:
        """Split and add articles; returns the number of chunks."""
        from langchain_core.documents import Document

        docs = self.splitter.split_documents(
            [
                Document(page_content=a.text, metadata={"article_id": a.id, "title": a.title})
                for a in articles
            ]
        )
        for i in range(0, len(docs), batch):
            self.store.add_documents(docs[i : i + batch])
        return len(docs)

    @property
    def complete(self) -> bool:
        """True when ``add`` finished here before: only a complete index is reused."""
        return (self._dir / COMPLETE_MARKER).exists()

    def mark_complete(self) -> None:
        (self._dir / COMPLETE_MARKER).write_text("added\n")

    def search(self, question: str, k: int = 4) -> list[StockHit]:
        return [
            StockHit(d.metadata["article_id"], d.page_content)
            for d in self.store.similarity_search(question, k=k)
        ]
