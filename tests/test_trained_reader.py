"""The trained reader: its encoding, span search and calibration on small inputs (fast),
and the shipped int8 model itself on real passages (slow)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.analysis import Analyzer
from qa.answer.answer_model import (
    MAX_TOKENS,
    MODEL_DIR,
    NO_SCORE,
    AnswerModel,
    Encoded,
    best_phrase,
    encode,
    load_tokenizer,
    sentence_logits,
)
from qa.answer.features import Feature
from qa.answer.reader import Reader
from qa.answer.trained_reader import TrainedReader, load_calibration, load_choice
from qa.index.chunking import split_sentences
from qa.results import Answer, Citation, ShortAnswer
from qa.web.rendering import answer_html
from qa.weights import LogisticModel, RankingModel
from tests.test_reader import TEXT as COURT
from tests.test_reader import _chunk, _retrieval

TEXT = (
    "Chief executive Rick Parry is the man at the helm of Liverpool. "
    "He joined the club from the Premier League in July 1998. "
    "The club is owned by Fenway Sports Group."
)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(MODEL_DIR)


def test_each_sentence_gets_exactly_its_own_word_pieces(tokenizer):
    spans = split_sentences(TEXT)
    encoded = encode(tokenizer, "When did Parry join?", "Liverpool", TEXT, spans)
    assert len(encoded.ids) == len(encoded.type_ids) == len(encoded.offsets)
    for (s, e), (a, b) in zip(spans, encoded.sentence_tokens):
        assert b > a
        pieces = tokenizer.decode(encoded.ids[a:b]).replace(" ", "")
        assert pieces == TEXT[s:e].lower().replace(" ", "")
    # the title's pieces come before the passage and belong to no sentence
    assert encoded.sentence_tokens[0][0] == encoded.passage_start
    assert encoded.ids[encoded.passage_start - 1] != tokenizer.token_to_id("[SEP]")


def test_a_sentence_cut_off_by_the_length_limit_is_marked_and_never_chosen(tokenizer):
    text = " ".join(f"Sentence number {n} says something about the weather." for n in range(60))
    spans = split_sentences(text)
    encoded = encode(tokenizer, "What about the weather?", "", text, spans)
    assert len(encoded.ids) == MAX_TOKENS
    assert encoded.sentence_tokens[-1] == (0, 0)
    logits = sentence_logits(np.zeros(len(encoded.ids)), encoded.sentence_tokens)
    assert logits[-1] == NO_SCORE and logits[0] == 0.0


def test_a_sentence_logit_is_the_mean_of_its_pieces():
    token_logits = np.array([9.0, 1.0, 3.0, -2.0, -4.0])
    assert sentence_logits(token_logits, [(1, 3), (3, 5)]).tolist() == [2.0, -3.0]


def _encoded(n: int) -> Encoded:
    return Encoded(
        ids=[0] * (n + 2),
        type_ids=[0] * (n + 2),
        offsets=[(0, 0)] + [(10 * i, 10 * i + 5) for i in range(n)] + [(0, 0)],
        sentence_tokens=[(1, 4), (4, n + 1)],
        passage_start=1,
    )


def test_the_phrase_is_searched_inside_the_sentence_only_and_never_ends_before_it_starts():
    encoded = _encoded(8)
    start = np.full(10, -5.0)
    end = np.full(10, -5.0)
    start[6], end[7] = 5.0, 5.0  # the best phrase overall: pieces 6-7, in sentence two
    end[2] = 4.0  # a likely end in sentence one before its likely start
    start[3] = 3.0
    start[1:3] = -9.0  # so ending at 2 would need an unlikely start
    two = best_phrase(start, end, encoded, 1)
    assert (two.start, two.end) == (50, 65)
    one = best_phrase(start, end, encoded, 0)
    assert one.start <= one.end and 0 <= one.start and one.end <= 25
    assert (one.start, one.end) == (20, 25)  # starts at 3 and ends there: never before it
    assert 0 < two.probability <= 1 and one.probability < two.probability


def test_calibration_is_monotone_and_loads_what_the_fit_wrote(tmp_path):
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"weights": {"answer": 0.8}, "bias": -1.0, "threshold": 0.3}))
    calibration = load_calibration(path)
    assert calibration == LogisticModel({Feature.ANSWER: 0.8}, -1.0, 0.3)
    values = [calibration.probability({Feature.ANSWER: x}) for x in (-5.0, 0.0, 1.25, 5.0)]
    assert values == sorted(values) and values[2] == pytest.approx(0.5)
    shipped = load_calibration()
    assert shipped.weights[Feature.ANSWER] > 0 and 0 < shipped.threshold < 1


def test_a_calibration_that_weighs_evidence_needs_a_reader_to_compute_it(model):
    weighs_coverage = LogisticModel({Feature.ANSWER: 0.5, Feature.COVERAGE: 2.0}, -1.0, 0.3)
    with pytest.raises(ValueError, match="pass a Reader"):
        TrainedReader(model, weighs_coverage)


class _StandInModel:
    """A stand-in for the answer model (plumbing only): fixed logits, the first sentence best."""

    class Reading:
        def __init__(self, n: int) -> None:
            self.logits = np.array([3.0, 2.0] + [-1.0] * (n - 2))

        def phrase(self, sentence: int) -> None:
            return None  # no answer phrase marked

    def read(self, question, inputs):
        return [self.Reading(len(spans)) for _, _, spans in inputs]


def test_the_choice_weighs_the_evidence_beside_the_logit_and_loads_from_the_fit(tmp_path):
    retrieval = _retrieval("Why was the tobacco case rejected?", _chunk(COURT))
    calibration = LogisticModel({Feature.ANSWER: 1.0}, 0.0, 0.1)
    by_logit = TrainedReader(_StandInModel(), calibration, Reader(Analyzer())).read(retrieval)
    assert by_logit.sentences[0].position == 0  # the model alone: the opening sentence
    path = tmp_path / "calibration.json"
    written = {"weights": {"answer": 1.0}, "bias": 0.0, "threshold": 0.1}
    path.write_text(json.dumps({**written, "choice": {"weights": {"answer": 1.0, "lead": -2.0}}}))
    choice = load_choice(path)
    assert choice == RankingModel({Feature.ANSWER: 1.0, Feature.LEAD: -2.0})
    chosen = TrainedReader(_StandInModel(), calibration, Reader(Analyzer()), choice).read(retrieval)
    assert [s.position for s in chosen.sentences[:2]] == [1, 0]
    shares = [s.probability for s in chosen.sentences]
    assert shares == sorted(shares, reverse=True) and sum(shares) == pytest.approx(1.0)
    # refused or not, from the chosen sentence's own features: 2.0 through the calibration
    assert chosen.answerable == pytest.approx(calibration.probability({Feature.ANSWER: 2.0}))
    path.write_text(json.dumps(written))
    assert load_choice(path) is None
    with pytest.raises(ValueError, match="pass a Reader"):
        TrainedReader(_StandInModel(), calibration, None, choice)
    assert load_choice() is not None  # the shipped reader chooses with the evidence


def _answer(short: ShortAnswer | None) -> Answer:
    quote = "He joined the club from the Premier League in July 1998."
    citation = Citation(1, "a", "Liverpool", "BBC", quote, 64, 64 + len(quote), 0.9)
    return Answer(f"{quote} [1]", True, [citation], "When?", 0.9, short=short)


def test_the_short_answer_is_bold_in_the_chat_and_in_the_json():
    short = ShortAnswer("July 1998", 110, 119, 1, 0.8)
    html = answer_html(_answer(short))
    assert '<strong class="qa-short">July 1998</strong>' in html
    assert _answer(short).to_dict()["short"] == {
        "text": "July 1998",
        "start": 110,
        "end": 119,
        "citation": 1,
        "probability": 0.8,
    }
    assert "<strong" not in answer_html(_answer(None))
    assert _answer(None).to_dict()["short"] is None


@pytest.fixture(scope="module")
def model():
    return AnswerModel()


@pytest.mark.slow
def test_the_real_model_prefers_the_sentence_that_answers_to_the_one_that_names(model):
    spans = split_sentences(TEXT)
    [reading] = model.read(
        "When did Rick Parry become Liverpool's chief executive?", [("Liverpool", TEXT, spans)]
    )
    assert int(np.argmax(reading.logits)) == 1
    phrase = reading.phrase(1)
    assert TEXT[phrase.start : phrase.end] == "July 1998"


@pytest.mark.slow
def test_the_real_model_scores_a_passage_alike_whatever_is_read_beside_it(model):
    spans = split_sentences(TEXT)
    other = "Bananas grow in the tropics. They are yellow when ripe."
    question = "Who owns Liverpool?"
    alone = model.read(question, [("Liverpool", TEXT, spans)])[0].logits
    beside = model.read(
        question, [("Fruit", other, split_sentences(other)), ("Liverpool", TEXT, spans)]
    )
    assert np.array_equal(alone, beside[1].logits)
    assert int(np.argmax(alone)) == 2
    assert beside[0].logits.max() < alone.max()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from qa import Assistant
    from tests.conftest import SEEDS

    assistant = Assistant(index_dir=tmp_path_factory.mktemp("trained-index"), reader="default")
    assert assistant.ingest([SEEDS]).added
    return assistant


@pytest.mark.slow
def test_the_trained_mode_answers_with_exact_quotes_and_refuses_off_topic(trained):
    from tests.conftest import seed_text

    article = seed_text()
    answer = trained.ask("Why do French police rarely intervene against taxi-boats?")
    assert answer.grounded and "too great a risk" in answer.text
    for c in answer.citations:
        assert article[c.start : c.end] == c.quote
    named = trained.ask("Who is the former Interior Minister?")
    short = named.short  # the phrase lies inside the quote it names, at its offsets
    assert short is not None and short.text == "Bruno Retailleau"
    assert article[short.start : short.end] == short.text
    quoted = named.citations[short.citation - 1]
    assert quoted.start <= short.start < short.end <= quoted.end
    refused = trained.ask("When did Rick Parry become Liverpool's chief executive?")
    assert not refused.grounded and refused.citations == []
