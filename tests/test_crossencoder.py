"""The cross-encoder's two readings: the relevance logit and the answer probe."""

from __future__ import annotations

import numpy as np
import pytest

from qa.probe_weights import ANSWER_PROBE
from qa.weights import AnswerProbe


def test_the_probe_adds_its_bias_the_weighted_logit_and_the_weighted_mean_state():
    probe = AnswerProbe(layer=9, bias=0.5, logit_weight=2.0, weights=(1.0, -1.0))
    logits = np.array([1.0, -1.0], dtype=np.float32)
    means = np.array([[0.25, 0.5], [1.0, 0.0]], dtype=np.float32)
    assert probe.score(logits, means) == pytest.approx([0.5 + 2.0 - 0.25, 0.5 - 2.0 + 1.0])
    assert probe.score(np.zeros(0), np.zeros((0, 0))).shape == (0,)


def test_the_shipped_probe_was_fitted_and_says_on_what():
    assert len(ANSWER_PROBE.weights) == 384  # MiniLM-L-12's hidden size
    assert any(ANSWER_PROBE.weights) and ANSWER_PROBE.fitted_on
    assert 0 <= ANSWER_PROBE.layer < 12


@pytest.fixture(scope="module")
def model():
    from qa.crossencoder import shared_cross_encoder

    return shared_cross_encoder()


@pytest.mark.slow
def test_a_reading_does_not_depend_on_what_it_is_batched_with(model):
    question = "Why did the court reject the tobacco case?"
    alone = model.read(question, ["Tobacco companies welcomed the ruling."])
    batched = model.read(
        question,
        ["Tobacco companies welcomed the ruling.", "Much longer, about the weather. " * 30],
    )
    # Padded to the long text's 160 tokens. Padding is left out of the mean (with it
    # the reading was -3.75); what remains is the int8 model's quantisation, whose
    # scale is set per batch (-3.30 alone, -3.25 beside the long text).
    assert alone[0] == pytest.approx(batched[0], abs=0.15)
    assert model.read(question, []).shape == (0,)


@pytest.mark.slow
def test_the_relevance_logit_is_the_models_own_output(model):
    question = "Who is in charge of border security in the UK?"
    texts = ["Martin Hewitt is in charge of UK border security.", "The weather was mild."]
    logits, means = model.states(question, texts)
    assert model.score(question, texts) == pytest.approx(logits)
    assert means.shape == (2, 384)
    assert logits[0] > logits[1]


@pytest.mark.slow
@pytest.mark.parametrize(
    "title, question, topic, answer",
    [
        (
            "Court rejects tobacco case",
            "Why did the court reject the tobacco case?",
            "The court rejected the government's $280bn tobacco case on Friday.",
            "The judges found that the case could not be brought under anti-racketeering laws.",
        ),
        (
            "France backs away from Channel small-boats commitment",
            "What is partly to blame for France backing away from its commitment?",
            "France is backing away from a recent commitment to intervene more forcefully at "
            "sea to stop small boats from crossing the English Channel.",
            "There is evidence that France's current political turmoil is partly to blame, but "
            "other factors are also at play.",
        ),
        (
            "Hantuchova loses in Dubai final",
            "Who beat her in the final?",
            "Daniela Hantuchova lost the Dubai Open final on Saturday.",
            "The Slovak was beaten 6-4 6-3 by Lindsay Davenport, who won her third title.",
        ),
    ],
)
def test_the_probe_reads_the_answering_sentence_above_the_topic_sentence(
    model, title, question, topic, answer
):
    from qa.crossencoder import cross_input

    topic_reading, answer_reading = model.read(
        question, [cross_input(title, topic), cross_input(title, answer)]
    )
    assert answer_reading > topic_reading
