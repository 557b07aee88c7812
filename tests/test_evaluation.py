"""The evaluation harness: exact metrics on hand-made outcomes, then a tiny real run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.evaluation import EvalQuestion, Outcome, contains_any, evaluate, score
from tests.conftest import ROOT, SEEDS

SEED_QUESTIONS = ROOT / "tests" / "data" / "seed_questions.jsonl"
# Measured on seeds/ with the default reader: 16 of 16 answerable questions hit, 6 of 6
# unanswerable refused. The floors leave room for one or two misses, no more.
SEED_ANSWER_HIT_FLOOR = 0.85
SEED_REFUSAL_FLOOR = 0.66


def _outcome(articles, answer="", quotes=(), grounded=True, confidence=0.9, ms=10.0):
    return Outcome(
        list(articles),
        [f"text of {a}" for a in articles],
        answer,
        list(quotes),
        grounded,
        confidence,
        ms,
    )


def test_scores_are_exact_on_known_outcomes():
    questions = [
        EvalQuestion("q1", ("Paris",), True, "a"),
        EvalQuestion("q2", ("1066",), True, "b"),
        EvalQuestion("q3", ("Rome",), True, "c"),
        EvalQuestion("q4", (), False, "a"),
        EvalQuestion("q5", (), False, "b"),
    ]
    outcomes = [
        _outcome(["a", "x"], "It is Paris. [1]", ["It is Paris."], ms=10),
        _outcome(["x", "y", "z", "w", "v", "b"], "In 1066 [1]", ["Long ago"], ms=20),
        _outcome(["x"], "No idea", [], grounded=False, confidence=0.1, ms=30),
        _outcome(["a"], "refused", [], grounded=False, confidence=0.2, ms=40),
        _outcome(["b"], "answered", ["q"], grounded=True, confidence=0.8, ms=50),
    ]
    report = score("test", questions, outcomes, refuses=True)
    assert report.recall == {
        1: pytest.approx(1 / 3),
        5: pytest.approx(1 / 3),
        10: pytest.approx(2 / 3),
    }
    assert report.mrr == pytest.approx((1 + 1 / 6) / 3)
    assert report.answer_hit_rate == pytest.approx(2 / 3)
    assert report.citation_hit_rate == pytest.approx(1 / 3)
    assert report.refusal_recall == pytest.approx(1 / 2)
    assert report.false_refusal_rate == pytest.approx(1 / 3)
    assert report.p50_ms == 30
    # refusing below 0.5 refuses q4 (0.2) but not q5 (0.8), and answerable q3 (0.1)
    at = {round(t, 2): (r, f) for t, r, f in report.tradeoff}
    assert at[0.5] == (pytest.approx(0.5), pytest.approx(1 / 3))


def test_answer_matching_is_squad_style():
    assert contains_any("It was the Normans, in Normandy.", ["the Normans"])
    assert contains_any("Costs rose to £15.8m last year", ["£15.8m"])
    assert not contains_any("Normandy", ["Norman"])


@pytest.mark.slow
def test_tiny_squad_run_gets_the_known_numbers(tmp_path):
    squad = {
        "data": [
            {
                "title": "Ferries",
                "paragraphs": [
                    {
                        "context": "The ferry strike in Calais ended on Tuesday after the unions "
                        "accepted a 4% pay rise.",
                        "qas": [
                            {
                                "question": "Why did the ferry strike in Calais end?",
                                "is_impossible": False,
                                "answers": [{"text": "the unions accepted a 4% pay rise"}],
                            },
                            {
                                "question": "What is the capital of Australia?",
                                "is_impossible": True,
                                "answers": [],
                            },
                        ],
                    }
                ],
            },
            {
                "title": "Volcanoes",
                "paragraphs": [
                    {
                        "context": "Mount Etna erupted on Sunday, sending ash over Catania "
                        "airport, which closed for six hours.",
                        "qas": [
                            {
                                "question": "How long was Catania airport closed?",
                                "is_impossible": False,
                                "answers": [{"text": "six hours"}],
                            }
                        ],
                    }
                ],
            },
        ]
    }
    dataset = tmp_path / "tiny-squad.json"
    dataset.write_text(json.dumps(squad))
    reports, text = evaluate(
        dataset,
        None,
        None,
        7,
        tmp_path / "out",
        baseline=False,
        progress=False,
        workdir=tmp_path / "work",
    )
    ours = reports[0]
    assert (ours.answerable, ours.unanswerable) == (2, 1)
    assert ours.recall[1] == 1.0 and ours.mrr == 1.0
    assert ours.answer_hit_rate == 1.0 and ours.citation_hit_rate == 1.0
    assert ours.refusal_recall == 1.0 and ours.false_refusal_rate == 0.0
    assert "Article QA" in text
    assert (tmp_path / "out" / "tiny-squad.json").exists()
    assert (tmp_path / "out" / "tiny-squad.png").stat().st_size > 1000


def _evaluate_over_seeds(dataset, tmp_path):
    """Our rows only (no stock pipeline), seeds/ as the corpus."""
    return evaluate(
        dataset,
        [str(SEEDS)],
        None,
        7,
        tmp_path / "out",
        baseline=False,
        progress=False,
        workdir=tmp_path / "work",
    )


@pytest.mark.slow
def test_seed_questions_stay_above_the_measured_floor(tmp_path):
    reports, text = _evaluate_over_seeds(SEED_QUESTIONS, tmp_path)
    ours = reports[0]
    assert ours.answerable >= 15 and ours.unanswerable >= 5
    assert ours.answer_hit_rate >= SEED_ANSWER_HIT_FLOOR, text
    assert ours.refusal_recall >= SEED_REFUSAL_FLOOR, text


@pytest.mark.slow
def test_question_kinds_get_rows_and_conversations_are_asked_turn_by_turn(tmp_path):
    rows = [
        {
            "question": "Who is in charge of border security in the UK?",
            "expect_any": ["Martin Hewitt"],
            "kind": "who",
        },
        {
            "question": "Why did they back away?",
            "kind": "followup",
            "history_questions": ["What did France promise in July?"],
            "expect_any": ["political turmoil"],
        },
        {
            "question": "What is the capital of Australia?",
            "answerable": False,
            "kind": "unanswerable",
        },
    ]
    dataset = tmp_path / "kinds.jsonl"
    dataset.write_text("\n".join(json.dumps(r) for r in rows))
    reports, text = _evaluate_over_seeds(dataset, tmp_path)
    by_name = {r.system.strip(): r for r in reports}
    assert set(by_name) == {
        "Article QA (default)",
        "Article QA (default) · who",
        "Article QA (default) · followup",
        "Article QA (default) · unanswerable",
    }, text
    assert by_name["Article QA (default) · followup"].answer_hit_rate == 1.0, text
    assert by_name["Article QA (default)"].refusal_recall == 1.0, text


def test_the_default_data_paths_are_beside_the_checkout_and_in_it():
    """`qa eval` with no dataset reads ../shared beside the checkout, and a JSONL
    dataset's default corpus is the checkout's seeds/ (both were one folder off
    once the harness became a package, and `qa eval` said "no dataset")."""
    from qa.evaluation import CHECKOUT, DEFAULT_DATASET

    root = Path(__file__).resolve().parent.parent
    assert CHECKOUT == root and (CHECKOUT / "seeds").is_dir()
    assert DEFAULT_DATASET == root.parent / "shared" / "data" / "squad" / "dev-v2.0.json"
