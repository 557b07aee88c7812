"""Chunks: whole sentences, exact offsets, never past the model's input limit."""

from __future__ import annotations

import numpy as np
import pytest

from qa.index.chunking import make_chunks, split_sentences
from qa.index.embeddings import shared_embedder
from tests.conftest import seed_text


@pytest.fixture(scope="module")
def embedder():
    return shared_embedder("all-MiniLM-L6-v2")


def test_sentences_respect_abbreviations_and_initials():
    text = (
        "Mr. Smith met Dr. Jones at 3.30 p.m. on Monday. J. K. Rowling was there! "
        "Was it U.S. policy? Yes."
    )
    sentences = [text[s:e] for s, e in split_sentences(text)]
    assert sentences == [
        "Mr. Smith met Dr. Jones at 3.30 p.m. on Monday.",
        "J. K. Rowling was there!",
        "Was it U.S. policy?",
        "Yes.",
    ]


@pytest.mark.slow
def test_seed_chunks_have_exact_offsets(embedder):
    text = seed_text()
    chunks = make_chunks("seed", text, embedder.count_tokens, 200)
    assert len(chunks) > 1
    sentences = split_sentences(text)
    boundaries = {s for s, _ in sentences}, {e for _, e in sentences}
    previous_end = 0
    for chunk in chunks:
        # a chunk starts and ends where a sentence does, after the previous chunk
        assert chunk.start in boundaries[0] and chunk.end in boundaries[1]
        assert chunk.start >= previous_end
        previous_end = chunk.end
        assert max(embedder.count_tokens([chunk.text])) <= 200
        for start, end in chunk.sentences:
            assert chunk.start <= start < end <= chunk.end
    covered = [text[s:e] for c in chunks for s, e in c.sentences]
    assert " ".join(covered).split() == text.split()  # no word lost or repeated


@pytest.mark.slow
def test_no_chunk_exceeds_the_model_limit_even_for_giant_sentences(embedder):
    limit = embedder.max_tokens - 2
    runaway = " ".join(f"clause{i} and then more words follow" for i in range(300))
    giant_word = "x" * 5000
    text = f"A normal opening sentence. {runaway}. {giant_word} Then the end."
    chunks = make_chunks("long", text, embedder.count_tokens, limit)
    sizes = embedder.count_tokens([c.text for c in chunks])
    assert max(sizes) <= limit
    # counted again by the model's tokenizer with truncation explicitly off: a counter
    # that truncated would call every chunk small, and the chunks would be too long
    recount = embedder._tokenizer(
        [c.text for c in chunks], add_special_tokens=False, truncation=False
    )["input_ids"]
    assert [len(ids) for ids in recount] == sizes
    assert "".join(text[s:e] for c in chunks for s, e in c.sentences).replace(
        " ", ""
    ) == text.replace(" ", "")
    # and the model really sees all of it: nothing truncated when embedded
    vectors = embedder.encode_passages(
        [c.text for c in chunks],
        [[(s - c.start, e - c.start) for s, e in c.sentences] for c in chunks],
    )
    assert len(vectors) == len(chunks)
    assert max(sizes) + 2 <= embedder.max_tokens  # [CLS] and [SEP] fit too
    for chunk, vector in zip(chunks, vectors):  # every sentence pooled from its own tokens
        assert vector.sentences.shape[0] == len(chunk.sentences)
        assert np.all(np.linalg.norm(vector.sentences, axis=1) > 0.5)


@pytest.mark.slow
def test_pooled_passage_vector_equals_sentence_transformers(embedder):
    text = seed_text()[:900]
    spans = [(s, e) for s, e in split_sentences(text)]
    pooled = embedder.encode_passages([text], [spans])[0]
    reference = embedder.encode([text])[0]
    assert float(pooled.passage @ reference) == pytest.approx(1.0, abs=1e-5)
    assert pooled.sentences.shape == (len(spans), embedder.dimension)
