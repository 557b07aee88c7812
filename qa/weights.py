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
    fast=RankingModel(weights={"dense": 13.5126, "passage": 3.4192, "coverage": 5.5074, "context_coverage": 4.5936, "novelty": 1.3927, "first_rank": 0.1746, "lead": -0.9471, "time": 5.3394, "name_answer": 3.2049, "number_answer": 2.6975, "reason_answer": 0.1918, "other_names": 0.1142, "short": 1.333}),
    full=RankingModel(weights={"cross": 0.4792, "dense": 1.6701, "passage": 6.4895, "coverage": 1.5762, "name_answer": 2.6089, "number_answer": 1.7554, "reason_answer": -0.9061, "lead": -0.9437, "time": 2.9429}),
    fast_answerable=LogisticModel(bias=-3.9384, threshold=0.2517, weights={"choice": 2.8037, "context_coverage": 0.709, "coverage": -1.082, "dense": 2.0217, "passage": 1.6392}),
    full_answerable=LogisticModel(bias=-2.4578, threshold=0.1348, weights={"best_cross": -0.667, "choice": 1.8052, "context_coverage": -0.1611, "coverage": -1.8059, "cross": 0.9205, "dense": 0.1314, "passage": 2.242}),
)
# fmt: on
