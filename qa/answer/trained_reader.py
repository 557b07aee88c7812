"""The default and accurate reader: the trained model picks the sentence and says if any answers.

``qa.answer.answer_model`` reads the question with each retrieved passage and gives
every sentence a logit that it holds the answer. The reader here turns that
into a ``Reading``: the sentences best first, each with its share of a
softmax over them (the answerer quotes a close runner-up too), and the
probability that the best one answers at all, a logistic calibration of its
logit fitted on SQuAD 2.0 unanswerables and the BBC dev questions
(``benchmarks/fit_trained_reader.py``, values in
``qa/models/reader/calibration.json``). That probability depends on the
best sentence's own logit alone, so it does not move when unrelated articles
are added to the index. The hand-written evidence of ``qa.answer.reader`` (answer
types, names, coverage) is used by the fast reader only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa.answer.answer_model import MODEL_DIR, NO_SCORE, AnswerModel, PassageReading
from qa.answer.features import Feature
from qa.answer.reader import Reading, SentenceEvidence, _news_first, _to_read
from qa.results import Passage, Retrieval


@dataclass(frozen=True)
class Calibration:
    """P(the best sentence answers) = sigmoid(scale * logit + bias); refuse below threshold."""

    scale: float
    bias: float
    threshold: float

    def probability(self, logit: float) -> float:
        return 1.0 / (1.0 + math.exp(-(self.scale * logit + self.bias)))

    @classmethod
    def load(cls, path: Path = MODEL_DIR / "calibration.json") -> "Calibration":
        data = json.loads(path.read_text())
        return cls(float(data["scale"]), float(data["bias"]), float(data["threshold"]))


class TrainedReader:
    """Reads each passage once with the trained model; the best sentence by its logit."""

    def __init__(self, model: AnswerModel, calibration: Calibration) -> None:
        self.model = model
        self.calibration = calibration

    @property
    def threshold(self) -> float:
        """Below this ``Reading.answerable`` the articles are taken not to answer."""
        return self.calibration.threshold

    def read(self, retrieval: Retrieval) -> Reading:
        sentences, phrases = self._sentences(retrieval)
        read = sorted(sentences, key=lambda s: -s.features[Feature.ANSWER])
        if not read:
            return Reading([], 0.0)
        news = _news_first(read, retrieval.said_before)
        if news[0] is not read[0]:
            fresh = self.calibration.probability(news[0].features[Feature.ANSWER])
            if fresh >= self.threshold:
                return Reading(_with_phrase(news, phrases), fresh)
        answerable = self.calibration.probability(read[0].features[Feature.ANSWER])
        return Reading(_with_phrase(read, phrases), answerable)

    def _sentences(
        self, retrieval: Retrieval
    ) -> tuple[list[SentenceEvidence], dict[int, tuple[PassageReading, int]]]:
        """Every sentence read, and where to find its answer phrase (by ``id``)."""
        to_read = [(rank, p) for rank, p in _to_read(retrieval) if p.chunk.sentences]
        readings = self.model.read(retrieval.question, [_model_input(p) for _, p in to_read])
        logits = np.concatenate([r.logits for r in readings]) if readings else np.zeros(0)
        live = logits[logits > NO_SCORE]
        top = float(live.max()) if live.size else 0.0
        total = float(np.exp(live - top).sum()) if live.size else 1.0
        out: list[SentenceEvidence] = []
        phrases: dict[int, tuple[PassageReading, int]] = {}
        for (rank, passage), reading in zip(to_read, readings):
            chunk = passage.chunk
            for position, span in enumerate(chunk.sentences):
                logit = float(reading.logits[position])
                if logit <= NO_SCORE:
                    continue
                out.append(
                    SentenceEvidence(
                        passage,
                        rank,
                        position,
                        span,
                        chunk.sentence_text(span),
                        {Feature.ANSWER: logit},
                        math.exp(logit - top) / total,
                    )
                )
                phrases[id(out[-1])] = (reading, position)
        return out, phrases


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
