"""The stock LangChain tutorial pipeline, kept only as a yardstick for the benchmarks.

RecursiveCharacterTextSplitter(1000, 200) + HuggingFaceEmbeddings with the
same model + Chroma ``similarity_search`` (k=4). The benchmarks run it beside
our pipeline in the same process and on the same data, so the two rows of
every table are measured under the same conditions. It needs the ``bench``
extra; a user's ``qa eval`` never runs it.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from qa.config import DEFAULT_MODEL
from qa.errors import QAError
from qa.evaluation import Dataset, EvalQuestion, Outcome, progress_bar, unique
from qa.index.articles import Article
from qa.index.embeddings import resolve_model
from qa.index.formats import load_file
from qa.offline import go_offline

COMPLETE_MARKER = "stock-complete"
NAME = "stock LangChain"  # its row in the quality tables


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


def run_stock(
    dataset: Dataset, questions: list[EvalQuestion], workdir: Path, progress: bool = True
) -> list[Outcome]:
    """The tutorial pipeline as a ``qa.evaluation.evaluate`` baseline, its index in
    ``workdir/stock``: its top passage stands as its answer; it never refuses."""
    articles: list[Article] = []
    for path in dataset.corpus_paths:
        files = (
            sorted(p for p in Path(path).rglob("*") if p.is_file())
            if Path(path).is_dir()
            else [Path(path)]
        )
        for file in files:
            articles += load_file(file, 10**9).articles
    index_dir = workdir / "stock"
    if index_dir.exists() and not (index_dir / COMPLETE_MARKER).exists():
        shutil.rmtree(index_dir)  # an interrupted build: never measure a partial index
    stock = StockPipeline(persist_dir=index_dir)
    if not stock.complete:
        stock.add(articles)
        stock.mark_complete()
    outcomes = []
    for question in progress_bar(questions, NAME, progress):
        hits = stock.search(question.question, k=10)
        started = time.perf_counter()
        stock.search(question.question, k=4)
        latency = (time.perf_counter() - started) * 1000
        top = hits[0].text if hits else ""
        outcomes.append(
            Outcome(
                unique([h.article_id for h in hits]),
                [h.text for h in hits],
                top,
                [top],
                True,
                1.0,
                latency,
            )
        )
    return outcomes
