"""`qa eval`: exact metrics on hand-made outcomes, its usage, then tiny real runs."""

from __future__ import annotations

import json

import pytest

from qa.cli import main
from qa.errors import QAError
from qa.evaluation import (
    EvalQuestion,
    Outcome,
    contains_any,
    evaluate,
    load_question_file,
    score,
)
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


def test_qa_eval_needs_a_dataset_and_a_corpus_and_says_what_a_line_looks_like(capsys):
    """Without a dataset `qa eval` once read a SQuAD file from a folder beside the
    development checkout, which no user has: now it is a usage error, as is a dataset
    without the articles to ask it over, and the help shows a question line."""
    for argv, missing in ((["eval"], "DATASET"), (["eval", "questions.jsonl"], "--corpus")):
        with pytest.raises(SystemExit) as raised:
            main(argv)
        assert raised.value.code == 2
        assert f"the following arguments are required: {missing}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as raised:
        main(["eval", "--help"])
    assert raised.value.code == 0
    assert '{"question": "Who runs UK border security?", "expect_any"' in capsys.readouterr().out


def test_the_harness_names_no_development_data():
    package = ROOT / "qa" / "evaluation"
    texts = {p.name: p.read_text() for p in package.glob("*.py")}
    assert [n for n, t in texts.items() if '"shared"' in t or "shared" + "/data" in t] == []


def test_a_question_file_line_that_is_not_a_question_says_which_line(tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "Who?", "expect_any": ["Ann"]}\n\n{"expect_any": []}\n')
    with pytest.raises(QAError, match=r"q.jsonl line 3: not a question record .*a line looks"):
        load_question_file(questions, [tmp_path])
    with pytest.raises(QAError, match="no question file at"):
        load_question_file(tmp_path / "missing.jsonl", [tmp_path])


@pytest.mark.slow
def test_qa_eval_on_a_question_file_over_its_corpus_gets_the_known_numbers(tmp_path, capsys):
    corpus = tmp_path / "articles"
    corpus.mkdir()
    (corpus / "ferries.txt").write_text(
        "Calais ferry strike ends\n\nThe ferry strike in Calais ended on Tuesday after "
        "the unions accepted a 4% pay rise."
    )
    (corpus / "etna.txt").write_text(
        "Etna erupts\n\nMount Etna erupted on Sunday, sending ash over Catania airport, "
        "which closed for six hours."
    )
    rows = [
        {
            "question": "Why did the ferry strike in Calais end?",
            "expect_any": ["the unions accepted a 4% pay rise"],
        },
        {"question": "How long was Catania airport closed?", "expect_any": ["six hours"]},
        {"question": "What is the capital of Australia?", "answerable": False},
    ]
    questions = tmp_path / "mine.jsonl"
    questions.write_text("\n".join(json.dumps(r) for r in rows))
    out = tmp_path / "out"
    argv = ["eval", str(questions), "--corpus", str(corpus), "--out", str(out)]
    assert main([*argv, "--workdir", str(tmp_path / "work")]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("mine.jsonl: 3 questions\n")
    assert f"wrote {out / 'mine.json'} and {out / 'mine.png'}" in printed
    [ours] = json.loads((out / "mine.json").read_text())["reports"]
    assert ours["system"] == "Article QA (default)"
    assert (ours["answerable"], ours["unanswerable"]) == (2, 1)
    assert ours["recall"]["1"] == 1.0 and ours["mrr"] == 1.0
    assert ours["answer_hit_rate"] == 1.0 and ours["citation_hit_rate"] == 1.0
    assert ours["refusal_recall"] == 1.0 and ours["false_refusal_rate"] == 0.0
    assert "| Article QA (default) | 2+1       | 1.000 | 1.000 | 1.000 | 1.000 | 1.000" in printed
    assert (out / "mine.png").stat().st_size > 1000


def _evaluate_over_seeds(path, tmp_path):
    """The default reader's rows, seeds/ as the corpus."""
    return evaluate(
        load_question_file(path, [SEEDS]),
        tmp_path / "out",
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
