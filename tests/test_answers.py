"""Asking: cited extractive answers, refusals, follow-ups and input validation."""

from __future__ import annotations

import pytest

from qa.chain import condense
from qa.errors import InvalidQuestion
from tests.conftest import seed_text


def test_france_question_cites_the_taxi_boat_interception(seeded):
    answer = seeded.ask("What did France promise in July?")
    assert answer.grounded
    assert answer.citations
    quotes = " ".join(c.quote for c in answer.citations)
    assert "intercept the so-called taxi boats" in quotes
    for citation in answer.citations:
        assert f"[{citation.number}]" in answer.text
        assert citation.title == "France backs away from Channel small-boats commitment"
        assert citation.source == "BBC"


def test_every_quote_is_the_article_text_at_its_offsets(seeded):
    text = seed_text()
    for question in ("What did France promise in July?", "Who is Martin Hewitt?",
                     "Why do French police rarely intervene against taxi-boats?"):
        for citation in seeded.ask(question).citations:
            assert text[citation.start:citation.end] == citation.quote
            offset = citation.passage_start
            assert text[offset:offset + len(citation.passage)] == citation.passage


@pytest.mark.parametrize("question", ["What is the capital of Australia?",
                                      "Who won the 1998 football World Cup?"])
def test_unanswerable_questions_are_not_grounded(seeded, question):
    answer = seeded.ask(question)
    assert not answer.grounded
    assert answer.citations == []
    assert "don't say" in answer.text


def test_follow_up_uses_the_conversation(seeded):
    history = [{"role": "user", "content": "Who is Martin Hewitt?"},
               {"role": "assistant", "content": seeded.ask("Who is Martin Hewitt?").text}]
    answer = seeded.ask("What has he expressed?", history=history)
    assert answer.question == "What has Martin Hewitt expressed?"
    assert any("expressed frustration at French delays" in c.quote for c in answer.citations)


def test_condense_leaves_standalone_questions_alone():
    history = [{"role": "user", "content": "Who is Martin Hewitt?"}]
    assert condense("What did France promise in July?", history) == "What did France promise in July?"
    assert condense("What is his job?", history) == "What is Martin Hewitt's job?"
    assert condense("What has he expressed?", []) == "What has he expressed?"


@pytest.mark.parametrize("question, message", [
    ("", "empty"), ("   \n\t ", "empty"), ("x" * 1001, "too long"), (None, "must be text"),
])
def test_bad_questions_get_clear_errors(seeded, question, message):
    with pytest.raises(InvalidQuestion, match=message):
        seeded.ask(question)


@pytest.mark.parametrize("history", ["not a list", [{"role": "system", "content": "x"}],
                                     [{"role": "user"}], [["user", "hi"]]])
def test_bad_history_gets_a_clear_error(seeded, history):
    with pytest.raises(InvalidQuestion, match="history"):
        seeded.ask("Who is Martin Hewitt?", history=history)


@pytest.mark.parametrize("k", [0, 51, "3", 2.5, True])
def test_bad_k_gets_a_clear_error(seeded, k):
    with pytest.raises(InvalidQuestion, match="k must be"):
        seeded.ask("Who is Martin Hewitt?", k=k)
