"""Every fitted number of the reader, in one place, with where it came from.

The reader's weights and its refusal thresholds are fitted together by
``python benchmarks/fit_reader.py``, which prints this file's ``READER_WEIGHTS``
block: change a feature and re-run the fit, never edit one number alone (a
threshold is only valid on the scale its weights define, which is why they
are fitted and stored together and carry one ``version``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence


@dataclass(frozen=True)
class LogisticModel:
    """P(sentence holds the answer) = sigmoid(bias + Σ weight × feature)."""

    weights: Mapping[str, float]
    bias: float
    threshold: float = 0.0  # answerable models: refuse below this probability

    def probability(self, features: Mapping[str, float]) -> float:
        z = self.bias + sum(w * features.get(name, 0.0) for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


@dataclass(frozen=True)
class RankingModel:
    """Which of a question's sentences answers: a softmax over the set of Σ weight × feature.

    Fitted listwise (the answering sentences' share of the softmax is what is
    maximised), because choosing is a comparison within one question: scores
    only need to order a question's own sentences, not mean the same across
    questions.
    """

    weights: Mapping[str, float]

    def shares(self, features: Sequence[Mapping[str, float]]) -> list[float]:
        scores = [sum(w * f.get(name, 0.0) for name, w in self.weights.items()) for f in features]
        top = max(scores, default=0.0)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps) or 1.0
        return [e / total for e in exps]


@dataclass(frozen=True)
class FeatureWeights:
    fast: RankingModel  # which sentence answers, from cheap evidence (reader "fast")
    full: RankingModel  # the same with the cross-encoder (readers "default", "accurate")
    fast_answerable: LogisticModel  # does the chosen sentence answer at all (reader "fast")
    full_answerable: LogisticModel  # the same with the cross-encoder's evidence
    version: str = ""
    fitted_on: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


# fmt: off
READER_WEIGHTS = FeatureWeights(
    version="2026-11-27 fit",
    fitted_on="even half of benchmarks/data/bbc_dev.jsonl (single questions) and of 600 SQuAD 2.0 dev questions (seed 11)",
    fast=RankingModel(weights={"dense": 13.7366, "passage": 5.2157, "coverage": 5.3665, "context_coverage": 4.9942, "novelty": 1.2253, "first_rank": 0.1363, "lead": -0.9223, "time": 5.3841, "name_answer": 3.2331, "number_answer": 2.7201, "reason_answer": 0.5062, "other_names": 0.1747, "short": 1.401}),
    full=RankingModel(weights={"cross": 0.4888, "dense": 1.8071, "passage": 6.5295, "coverage": 1.4209, "name_answer": 2.5991, "number_answer": 1.9904, "reason_answer": -0.4713, "lead": -0.9264, "time": 2.9878}),
    fast_answerable=LogisticModel(bias=-3.3834, threshold=0.2923, weights={"context_coverage": 1.716, "coverage": 0.037, "dense": 3.5177, "passage": -0.122}),
    full_answerable=LogisticModel(bias=-1.0245, threshold=0.2, weights={"context_coverage": 0.3836, "coverage": -1.9151, "cross": 0.3366, "dense": 0.2804, "passage": 0.4814}),
)
# fmt: on
