"""Fast unit tests on small fixtures: no model, no server, no index on disk
except BM25's own folder. Each covers one piece's rule directly, so a change
to it fails here in a second rather than in an end-to-end test minutes later."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from qa.analysis import Analyzer
from qa.answer.answering import NOT_ANSWERED, ExtractiveAnswerer
from qa.answer.reader import Reading, SentenceEvidence
from qa.answer.retrieval import HybridRetriever, first_stage, passage_score, time_cues
from qa.config import ReaderMode, Settings
from qa.errors import ConfigError
from qa.index.chunking import make_chunks, split_sentences
from qa.index.lexical import LexicalIndex
from qa.results import Passage, Retrieval, StoredChunk
from qa.weights import RETRIEVAL_WEIGHTS


# Retrieval fusion ---------------------------------------------------------------------
def test_first_stage_adds_scaled_bm25_and_bounds_bm25_only_hits_by_the_last_dense_one():
    scores = first_stage({"a": 0.8, "b": 0.5}, {"b": 1.0, "c": 0.5})
    w = RETRIEVAL_WEIGHTS.bm25
    assert scores == pytest.approx({"a": 0.8, "b": 0.5 + w, "c": 0.5 + 0.5 * w})
    assert first_stage({}, {"c": 1.0}) == pytest.approx({"c": w})


def test_passage_score_weighs_passage_and_best_sentence_and_adds_each_boost():
    w = RETRIEVAL_WEIGHTS
    base = passage_score(0.6, 0.8, 0.5)
    assert base == pytest.approx(w.passage_share * 0.6 + (1 - w.passage_share) * 0.8 + w.bm25 * 0.5)
    assert passage_score(0.6, 0.8, 0.5, time_match=True) == pytest.approx(base + w.time_boost)
    assert passage_score(0.6, 0.8, 0.5, named=True) == pytest.approx(base + w.name_boost)
    assert passage_score(0.6, 0.8, 0.5, focused=True) == pytest.approx(base + w.focus_boost)


def test_a_whole_name_outranks_any_similarity_and_focus_does_not():
    """A passage naming "Martin Hewitt" beats a perfect match naming another Hewitt;
    the conversation's focus is weaker: a new subject can still win."""
    w = RETRIEVAL_WEIGHTS
    named = passage_score(0.2, 0.2, 0.0, named=True)
    best_unnamed = passage_score(1.0, 1.0, 1.0) - w.bm25 * 1.0  # perfect cosine, no BM25
    assert named > best_unnamed
    assert passage_score(0.2, 0.2, 0.0, focused=True) < passage_score(0.6, 0.6, 0.0)


def test_time_cues_are_capitalised_months_and_years():
    assert time_cues("What did France promise in July 2024?") == ("july", "2024")
    assert time_cues("What may happen next?") == ()


# BM25: derivation, copy-on-write updates, persistence, refresh ---------------------------
CHUNKS = [
    ("a:0", "Ferries", "The ferry company raised its prices in July."),
    ("b:0", "Tennis", "Lleyton Hewitt won the match in straight sets."),
    ("c:0", "Borders", "Martin Hewitt leads the border security command."),
]


def test_bm25_finds_rare_words_and_an_update_equals_a_rebuild(tmp_path):
    index = LexicalIndex(tmp_path / "bm25", Analyzer())
    index.build(CHUNKS[:2], revision=1)
    assert index.search(Analyzer().terms("ferry prices"), 3).ids == ["a:0"]
    updated = index.updated([CHUNKS[2]], removed=["a:0"], revision=2)
    assert updated is not None and updated.revision == 2
    assert index.ids == ["a:0", "b:0"]  # the old copy is untouched: asks may still use it
    rebuilt = LexicalIndex(tmp_path / "other", Analyzer())
    rebuilt.build(CHUNKS[1:], revision=2)
    query = Analyzer().terms("Hewitt border security")
    assert updated.search(query, 3) == rebuilt.search(query, 3)
    assert updated.search(Analyzer().terms("ferry"), 3).ids == []


def test_bm25_saved_with_its_revision_loads_back(tmp_path):
    LexicalIndex(tmp_path / "bm25", Analyzer()).build(CHUNKS, revision=7)
    loaded = LexicalIndex(tmp_path / "bm25", Analyzer())
    assert loaded.load() and loaded.revision == 7
    assert loaded.search(Analyzer().terms("straight sets"), 1).ids == ["b:0"]
    (tmp_path / "bm25" / "meta.json").write_text("{not json")
    assert not LexicalIndex(tmp_path / "bm25", Analyzer()).load()


class _Store:
    """Just what ``refresh`` reads of a store: its revision and its chunks."""

    def __init__(self) -> None:
        self.rev, self.chunks = 1, list(CHUNKS[:1])
        self.chunk_reads = 0  # each BM25 build reads the chunks once

    def revision(self) -> int:
        return self.rev

    def iter_chunks(self):
        self.chunk_reads += 1
        return iter(list(self.chunks))


def test_refresh_rebuilds_bm25_in_the_background_when_another_process_writes(tmp_path):
    store = _Store()
    retriever = HybridRetriever.model_construct(
        store=store,
        embedder=None,
        lexical=LexicalIndex(tmp_path / "bm25", Analyzer()),
        analyzer=Analyzer(),
        refresh_seconds=0.0,
        _build_lock=threading.Lock(),
        _checked_at=0.0,
        _writers=0,
    )
    retriever.model_post_init(None)
    retriever.refresh()  # no index yet: built in the caller's thread
    assert retriever.lexical.revision == 1
    store.rev, store.chunks = 2, list(CHUNKS)
    old = retriever.lexical
    retriever.refresh()  # returns at once; the rebuild runs on a thread
    deadline = time.monotonic() + 10
    while retriever.lexical.revision != 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert retriever.lexical.revision == 2 and retriever.lexical is not old
    assert retriever.lexical.search(Analyzer().terms("Martin Hewitt"), 1).ids == ["c:0"]
    with retriever.writing():  # this process's own half-done write: no rebuild
        store.rev = 3
        reads = store.chunk_reads
        started = threading.active_count()
        retriever.refresh()
        # no rebuild began: no thread started, the chunks were not read
        assert threading.active_count() <= started and store.chunk_reads == reads
        assert retriever.lexical.revision == 2


# Config -------------------------------------------------------------------------------
def test_settings_parse_each_type_from_qa_variables():
    settings = Settings.from_env(
        {
            "QA_TOP_K": "6",
            "QA_ALLOW_UPLOADS": "yes",
            "QA_LLM_TIMEOUT": "2.5",
            "QA_INDEX_DIR": "/tmp/x",
            "QA_ALLOWED_ORIGINS": "https://a.example, https://b.example",
            "QA_READER": "fast",
            "QA_LEXICAL": "bm25s",
            "UNRELATED": "1",
        }
    )
    assert settings.top_k == 6 and settings.allow_uploads is True
    assert settings.llm_timeout == 2.5 and str(settings.index_dir) == "/tmp/x"
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.reader == "fast" and settings.lexical == "bm25s"
    assert Settings.from_env({}).lexical == "tantivy"  # the shared on-disk index by default
    assert Settings.from_env({}, top_k=9).top_k == 9  # overrides beat the environment


@pytest.mark.parametrize("old_name", ["trained", "accurate"])
def test_a_reader_modes_old_name_asks_for_the_default(old_name):
    """The default was named "trained" before it became the default (2026-12-07), and
    "accurate" was removed (2026-12-08): a setting or script naming either keeps working."""
    assert Settings.from_env({"QA_READER": old_name}).reader == ReaderMode.DEFAULT
    assert Settings.from_env({}, reader=old_name).reader == ReaderMode.DEFAULT  # Assistant(...)
    from qa.cli import _readers

    assert _readers(f"{old_name},fast") == ("default", "fast")  # qa eval --readers
    assert _readers(f"default,{old_name}") == ("default",)  # each mode runs once


@pytest.mark.parametrize(
    "env, message",
    [
        ({"QA_TOP_K": "four"}, "QA_TOP_K='four' is not valid"),
        ({"QA_TOP_K": "0"}, "QA_TOP_K must be at least 1"),
        ({"QA_PORT": "70000"}, "QA_PORT must be between"),
        ({"QA_READER": "magic"}, "QA_READER must be one of"),
        ({"QA_LEXICAL": "lucene"}, "QA_LEXICAL must be one of tantivy, bm25s, not 'lucene'"),
        ({"QA_MIN_EVIDENCE": "1.5"}, "QA_MIN_EVIDENCE must be"),
        ({"QA_ALLOW_UPLOADS": "perhaps"}, "QA_ALLOW_UPLOADS"),
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


# Chunk packing ------------------------------------------------------------------------
def _words(texts):
    return [len(t.split()) for t in texts]


def test_chunks_pack_whole_sentences_up_to_the_limit_in_order():
    text = " ".join(f"Sentence number {i} has exactly seven words." for i in range(10))
    chunks = make_chunks("doc", text, _words, 20)
    assert [len(c.sentences) for c in chunks] == [2, 2, 2, 2, 2]  # 7 + 7 fit, a third does not
    previous_end = 0
    for chunk in chunks:
        assert chunk.start == chunk.sentences[0][0] and chunk.end == chunk.sentences[-1][1]
        assert chunk.start >= previous_end  # in order, no overlap
        previous_end = chunk.end
        assert _words([chunk.text])[0] <= 20


def test_a_sentence_over_the_limit_is_cut_and_nothing_is_lost():
    text = "Short one. " + " ".join(["word"] * 50) + ". Last one."
    chunks = make_chunks("doc", text, _words, 20)
    assert max(_words([c.text for c in chunks])) <= 20
    pieces = [text[s:e] for c in chunks for s, e in c.sentences]
    assert " ".join(pieces).split() == text.split()


# The answerer's selection -------------------------------------------------------------
ARTICLE = (
    "Leaders met in Paris. That culminated last July with a summit. "
    "The focus then was on intercepting taxi boats. Prices rose in May."
)


def _chunk_with(chunk_id: str, text: str) -> StoredChunk:
    return StoredChunk(chunk_id, chunk_id, "Title", "", "", "", text, 0, len(text), (), "", None)


def _chunk() -> StoredChunk:
    spans = tuple(split_sentences(ARTICLE))
    return StoredChunk(
        "seed:0", "seed", "Summit", "BBC", "", "", ARTICLE, 0, len(ARTICLE), spans, "", None
    )


class _FixedReader:
    """Reads nothing: gives the answerer a reading chosen by the test."""

    threshold = 0.3

    def __init__(self, probabilities: list[float], answerable: float) -> None:
        self.probabilities, self.answerable = probabilities, answerable

    def read(self, retrieval: Retrieval) -> Reading:
        passage = retrieval.passages[0]
        chunk = passage.chunk
        sentences = [
            SentenceEvidence(passage, 0, i, span, chunk.sentence_text(span), {}, p)
            for i, (span, p) in enumerate(zip(chunk.sentences, self.probabilities))
        ]
        return Reading(sorted(sentences, key=lambda s: -s.probability), self.answerable)


def _retrieval(question: str) -> Retrieval:
    chunk = _chunk()
    return Retrieval(
        question, np.zeros(3), [], time_cues(question), [Passage(chunk, 1.0, 0.5, 0.0)]
    )


def test_the_answerer_refuses_below_the_readers_threshold():
    answer = ExtractiveAnswerer(_FixedReader([0.1, 0.7, 0.1, 0.1], 0.2)).answer(
        _retrieval("What happened?")
    )
    assert not answer.grounded and answer.text == NOT_ANSWERED and answer.citations == []


def test_the_best_sentence_brings_what_it_leans_on_and_what_continues_it():
    """ "That culminated last July" needs the sentence before; asked about July, the
    next one ("The focus then was...") continues it."""
    answer = ExtractiveAnswerer(_FixedReader([0.05, 0.85, 0.05, 0.05], 0.9)).answer(
        _retrieval("What was agreed in July?")
    )
    assert answer.grounded and len(answer.citations) == 1
    quote = answer.citations[0].quote
    assert quote == ARTICLE[: ARTICLE.index(" Prices")]
    assert ARTICLE[answer.citations[0].start : answer.citations[0].end] == quote


def test_a_runner_up_joins_only_when_at_least_half_as_likely():
    far = ExtractiveAnswerer(_FixedReader([0.2, 0.0, 0.0, 0.8], 0.9)).answer(
        _retrieval("When did prices rise?")
    )
    assert [c.quote for c in far.citations] == ["Prices rose in May."]
    near = ExtractiveAnswerer(_FixedReader([0.45, 0.0, 0.0, 0.55], 0.9)).answer(
        _retrieval("When did prices rise?")
    )
    assert [c.quote for c in near.citations] == ["Leaders met in Paris.", "Prices rose in May."]


# Conversation exports -------------------------------------------------------------------
def test_a_conversation_exports_as_markdown_with_its_quotes_and_as_json():
    import json

    from qa.web.rendering import transcript_json, transcript_markdown

    citation = {
        "number": 1,
        "title": "Ferry *strike* ends",
        "source": "Gazette",
        "published": "2026-02-08",
        "page": 2,
        "url": "https://news.example/ferry",
        "quote": "The strike\nended on Tuesday.",
    }
    turns = [
        {
            "question": "When did the strike end?",
            "answer": {"text": "The strike ended on Tuesday. [1]", "citations": [citation]},
        }
    ]
    markdown = transcript_markdown(turns)
    assert "## When did the strike end?" in markdown
    assert "The strike ended on Tuesday. \\[1\\]" in markdown
    assert (
        "[1] Ferry \\*strike\\* ends (Gazette, 2026-02-08, page 2) <https://news.example/ferry>"
    ) in markdown
    assert "> The strike ended on Tuesday." in markdown
    assert json.loads(transcript_json(turns)) == {"conversation": turns}


def test_a_watcher_refuses_a_missing_folder_or_nothing_to_watch(tmp_path):
    from qa.errors import InvalidQuestion
    from qa.watching import Watcher

    with pytest.raises(InvalidQuestion, match="cannot watch .*gone: no such file or directory"):
        Watcher(None, [tmp_path, tmp_path / "gone"])  # type: ignore[arg-type]
    with pytest.raises(InvalidQuestion, match="at least one"):
        Watcher(None, [])  # type: ignore[arg-type]
    Watcher(None, [tmp_path, "https://feeds.example.com/world.rss"])  # type: ignore[arg-type]


def test_v1_history_keeps_each_answer_without_its_sources_block():
    """An earlier reply's "Sources:" list (titles and quotes) must not reach the
    follow-up rules as if the assistant had said it."""
    from types import SimpleNamespace

    from qa.web.openai_api import SOURCES_HEADING, conversation

    said = "Martin Hewitt leads the police chiefs. [1]"
    reply = said + SOURCES_HEADING + "[1] Police chiefs (BBC)\n    “Martin Hewitt, who chairs”"
    messages = [
        SimpleNamespace(role="system", content="Be brief."),
        SimpleNamespace(role="user", content="Who is Martin Hewitt?"),
        SimpleNamespace(role="assistant", content=reply),
        SimpleNamespace(
            role="user", content=[SimpleNamespace(type="text", text="What did he say?")]
        ),
    ]
    question, history = conversation(messages)
    assert question == "What did he say?"
    assert history == [
        {"role": "user", "content": "Who is Martin Hewitt?"},
        {"role": "assistant", "content": said},
    ]
