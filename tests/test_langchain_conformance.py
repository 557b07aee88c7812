"""LangChain's own standard tests: the retriever (``langchain-tests``) and the
documented ``assistant.store.vectorstore`` as a LangChain ``VectorStore``."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests import RetrieversIntegrationTests

from qa.answer.retrieval import HybridRetriever
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow  # the real embedding model over seeds/


@lru_cache(maxsize=1)
def _seeded(folder: str) -> Any:
    from qa import Assistant

    assistant = Assistant(index_dir=folder)
    assistant.ingest([SEEDS])
    return assistant


@pytest.fixture(scope="module")
def seeded_dir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("conformance-index"))


class TestHybridRetrieverStandard(RetrieversIntegrationTests):
    """The retriever built from the parts of an assistant over seeds/ (3 chunks)."""

    @pytest.fixture(autouse=True)
    def _index(self, seeded_dir: str) -> None:
        self._assistant = _seeded(seeded_dir)

    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        retriever = self._assistant.retriever
        return {
            "store": retriever.store,
            "embedder": retriever.embedder,
            "lexical": retriever.lexical,
            "analyzer": retriever.analyzer,
        }

    @property
    def retriever_query_example(self) -> str:
        return "What did France promise in July?"


def test_the_store_is_a_langchain_vectorstore_over_the_same_chunks(seeded_dir: str):
    assistant = _seeded(seeded_dir)
    store = assistant.store.vectorstore
    assert isinstance(store, VectorStore)
    found = store.similarity_search("taxi boats intercepted at sea", k=2)
    assert len(found) == 2 and all(isinstance(d, Document) for d in found)
    assert "taxi boats" in found[0].page_content
    # the same chunks our own index holds, under the same ids and texts
    ours = {p.chunk.id: p.chunk.text for p in assistant.search("taxi boats", k=50)}
    assert len(ours) == assistant.stats().chunks
    assert all(d.id in ours and ours[d.id] == d.page_content for d in found)
    by_id = store.get_by_ids(list(ours))
    assert {d.id: d.page_content for d in by_id} == ours
    assert {d.metadata["title"] for d in by_id} == {
        "France backs away from Channel small-boats commitment"
    }
    # a filter is a where on the article's fields
    assert store.similarity_search("taxi boats", k=2, filter={"article_id": "nothing"}) == []
    scored = store.similarity_search_with_score("Martin Hewitt", k=1)
    assert "Hewitt" in scored[0][0].page_content
    as_retriever = store.as_retriever(search_kwargs={"k": 1})
    assert len(as_retriever.invoke("Martin Hewitt")) == 1
    relevant = store.similarity_search_with_relevance_scores("taxi boats intercepted at sea", k=1)
    assert 0 < relevant[0][1] <= 1
    with pytest.raises(NotImplementedError, match="Assistant.ingest"):
        store.add_texts(["a text without sentence vectors"])
