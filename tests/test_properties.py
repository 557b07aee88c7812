"""Properties over generated input (Hypothesis): loading never raises, quotes are exact."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.index.formats import SUPPORTED_SUFFIXES, load_bytes
from tests.conftest import seed_text

ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=400)
SUFFIXES = st.sampled_from(SUPPORTED_SUFFIXES + (".exe", ""))


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=600), suffix=SUFFIXES)
def test_any_bytes_load_or_are_reported(data, suffix):
    result = load_bytes(f"file{suffix}", data, origin="upload:file")
    assert result.articles or result.failures
    for article in result.articles:
        assert article.text.strip() and len(article.title) <= 300


@settings(max_examples=300, deadline=None)
@given(title=ANY_TEXT, text=ANY_TEXT, suffix=SUFFIXES)
def test_any_unicode_text_loads_or_is_reported(title, text, suffix):
    for data in (
        f"{title}\n\n{text}".encode(),
        f"---\ntitle: {title}\n---\n{text}".encode(),
        json.dumps({"title": title, "text": text}).encode(),
    ):
        result = load_bytes(f"file{suffix}", data, origin="upload:file")
        assert result.articles or result.failures


@pytest.mark.slow
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=ANY_TEXT)
def test_any_unicode_article_ingests_or_is_reported(fresh, text):
    """Through the whole write path: chunking, the tokenizer, Chroma."""
    report = fresh.add_documents([("generated.json", json.dumps({"text": text}).encode())])
    assert len(report.added + report.unchanged + report.updated) + len(report.failed) == 1


_SEED_WORDS = sorted(set(re.findall(r"[A-Za-z]{3,}", seed_text())))


@pytest.mark.slow
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    words=st.lists(st.sampled_from(_SEED_WORDS), min_size=1, max_size=8),
    opener=st.sampled_from(["What", "Who", "Why", "When", "How many", ""]),
)
def test_every_citation_quotes_the_article_exactly(seeded, words, opener):
    _assert_quotes_exact(seeded.ask(f"{opener} {' '.join(words)}?".strip()), seed_text())


@pytest.mark.slow
def test_the_quote_check_runs_on_answers_not_only_on_refusals(seeded):
    """Generated questions may all be refused; these are answered, so the check runs."""
    for question in ("What did France promise in July?", "Who is Martin Hewitt?"):
        answer = seeded.ask(question)
        assert answer.citations, question
        _assert_quotes_exact(answer, seed_text())


def _assert_quotes_exact(answer, article: str) -> None:
    for citation in answer.citations:
        assert article[citation.start : citation.end] == citation.quote
        passage_end = citation.passage_start + len(citation.passage)
        assert article[citation.passage_start : passage_end] == citation.passage
        assert citation.passage_start <= citation.start and citation.end <= passage_end
    if answer.short:
        assert article[answer.short.start : answer.short.end] == answer.short.text
        quoted = answer.citations[answer.short.citation - 1]
        assert quoted.start <= answer.short.start < answer.short.end <= quoted.end
