"""The trained reader: its model picks the sentence; with the cheap evidence, says if any answers.

``qa.answer.answer_model`` reads the question with each retrieved passage and gives
every sentence a logit that it holds the answer. The reader here turns that
into a ``Reading``: the sentences best first, each with its share of a
softmax over them (the answerer quotes a close runner-up too), and the
probability that the best one answers at all.

That probability is a logistic model (``qa/models/reader/calibration.json``,
fitted by ``benchmarks/fit_trained_reader.py`` on questions the model never
trained on) of the best sentence's logit and of the evidence about it and its
own passage that the hand-made reader computes (``QUESTION_EVIDENCE``: how
much of the question the passage covers, whether the question's names and
numbers are in it, whether the sentence holds the kind of answer asked). The
logit alone could not tell a near miss, a real story asked for a fact it
does not state, from a question it answers: the model is as sure of the
story's topic sentence either way. Nothing in it compares the sentence with
other candidates, so it does not move when unrelated articles are added.

Which sentence is the best is a choice among the sentences read: with a
``choice`` (the same file's ``"choice"``, fitted listwise by the same script
on the same held-out questions) the logit is weighed with the rest of that
evidence, every sentence's share of a softmax over the weighted sums. The
model alone still quoted a story's opening sentence for a question asked
after reading it ("Why had McLetchie's role come under scrutiny?"), or a
sentence repeating the question's words that held no name for a "who"
question; the evidence knows both. Without one, the logit alone orders them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from qa.answer.answer_model import MODEL_DIR, NO_SCORE, AnswerModel, PassageReading
from qa.answer.features import Feature
from qa.answer.reader import Reader, Reading, SentenceEvidence, _news_first, _to_read
from qa.results import Passage, Retrieval
from qa.weights import LogisticModel, RankingModel

CALIBRATION = MODEL_DIR / "calibration.json"


def load_calibration(path: Path = CALIBRATION) -> LogisticModel:
    """The refusal model as the fit wrote it: weights by feature name, bias, threshold."""
    data = json.loads(path.read_text())
    weights = {Feature(name): float(w) for name, w in data["weights"].items()}
    return LogisticModel(weights, float(data["bias"]), float(data["threshold"]))


def load_choice(path: Path = CALIBRATION) -> RankingModel | None:
    """The weights that choose among the sentences read, if the fit wrote any."""
    data = json.loads(path.read_text()).get("choice")
    if not data:
        return None
    return RankingModel({Feature(name): float(w) for name, w in data["weights"].items()})


class TrainedReader:
    """Reads each passage once with the trained model; the best sentence by the fitted choice."""

    def __init__(
        self,
        model: AnswerModel,
        calibration: LogisticModel,
        evidence: Reader | None = None,
        choice: RankingModel | None = None,
    ) -> None:
        self.model = model
        self.calibration = calibration
        self.choice = choice
        self.evidence = evidence  # computes what the calibration and choice weigh beside the logit
        weighed = set(calibration.weights) | set(choice.weights if choice else ())
        if evidence is None and weighed - {Feature.ANSWER}:
            raise ValueError("this calibration weighs the hand-made evidence: pass a Reader")

    @property
    def threshold(self) -> float:
        """Below this ``Reading.answerable`` the articles are taken not to answer."""
        return self.calibration.threshold

    def read(self, retrieval: Retrieval) -> Reading:
        sentences, phrases = self._sentences(retrieval)
        read = sorted(sentences, key=lambda s: -s.probability)
        if not read:
            return Reading([], 0.0)
        news = _news_first(read, retrieval.said_before)
        if news[0] is not read[0]:
            fresh = self.calibration.probability(news[0].features)
            if fresh >= self.threshold:
                return Reading(_with_phrase(news, phrases), fresh)
        answerable = self.calibration.probability(read[0].features)
        return Reading(_with_phrase(read, phrases), answerable)

    def _sentences(
        self, retrieval: Retrieval
    ) -> tuple[list[SentenceEvidence], dict[int, tuple[PassageReading, int]]]:
        """Every sentence read, and where to find its answer phrase (by ``id``)."""
        to_read = [(rank, p) for rank, p in _to_read(retrieval) if p.chunk.sentences]
        readings = self.model.read(retrieval.question, [_model_input(p) for _, p in to_read])
        evidence = self._evidence(retrieval)
        found: list[tuple[Passage, int, int, dict[Feature, float], PassageReading]] = []
        for (rank, passage), reading in zip(to_read, readings):
            for position in range(len(passage.chunk.sentences)):
                logit = float(reading.logits[position])
                if logit > NO_SCORE:
                    features = {**evidence.get((rank, position), {}), Feature.ANSWER: logit}
                    found.append((passage, rank, position, features, reading))
        shares = self._shares([features for *_, features, _ in found])
        out: list[SentenceEvidence] = []
        phrases: dict[int, tuple[PassageReading, int]] = {}
        for (passage, rank, position, features, reading), share in zip(found, shares):
            span = passage.chunk.sentences[position]
            text = passage.chunk.sentence_text(span)
            out.append(SentenceEvidence(passage, rank, position, span, text, features, share))
            phrases[id(out[-1])] = (reading, position)
        return out, phrases

    def _shares(self, features: list[dict[Feature, float]]) -> list[float]:
        """Each sentence's share of the softmax that chooses: the choice's, or the logit's."""
        if self.choice is not None:
            return self.choice.shares(features)
        return RankingModel({Feature.ANSWER: 1.0}).shares(features)

    def _evidence(self, retrieval: Retrieval) -> dict[tuple[int, int], dict[Feature, float]]:
        """The hand-made evidence of each sentence, by (rank, position): the choice and the
        calibration weigh it beside the logit."""
        if self.evidence is None:
            return {}
        return {
            (candidate.rank, candidate.position): features
            for candidate, features in self.evidence.evidence(retrieval)
        }


def _with_phrase(
    read: list[SentenceEvidence], phrases: dict[int, tuple[PassageReading, int]]
) -> list[SentenceEvidence]:
    """The best sentence with its answer phrase marked (only it: the span search costs)."""
    reading, position = phrases[id(read[0])]
    phrase = reading.phrase(position)
    if phrase is None:
        return read
    start = read[0].passage.chunk.start
    marked = replace(read[0], phrase=(start + phrase.start, start + phrase.end, phrase.probability))
    return [marked, *read[1:]]


def _model_input(passage: Passage) -> tuple[str, str, list[tuple[int, int]]]:
    chunk = passage.chunk
    return (
        chunk.title,
        chunk.text,
        [(s - chunk.start, e - chunk.start) for s, e in chunk.sentences],
    )
