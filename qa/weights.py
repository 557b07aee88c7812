"""Every scoring number of retrieval and the reader, in one place, with where it came from.

The reader's weights and its refusal thresholds are fitted together by
``python benchmarks/fit_reader.py --write``, which writes them to
``qa/models/reader_weights.json`` (loaded here as ``READER_WEIGHTS``): change
a feature and re-run the fit, never edit one number alone (a threshold is
only valid on the scale its weights define, which is why they are fitted and
stored together and carry one ``version``). Every name in that file must be
a ``qa.answer.features.Feature``: loading fails on one that is not.

Retrieval's numbers (``RETRIEVAL_WEIGHTS``) come first: they decide which
passages the reader sees, so the reader is fitted on passages retrieved with
them; after changing one, re-run ``qa eval`` (recall@k) and then the fit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from qa.answer.features import Feature

READER_WEIGHTS_FILE = Path(__file__).resolve().parent / "models" / "reader_weights.json"


@dataclass(frozen=True)
class RetrievalWeights:
    """How hybrid retrieval scores a passage (``qa/answer/retrieval.py``), each with its origin."""

    # BM25, scaled to 0..1 by the question's best BM25 score, added to cosine similarity.
    # Chosen on a SQuAD dev sample: 0.3 gave recall@1 0.845, reciprocal-rank fusion 0.775,
    # dense alone 0.667 (2026-11-26, the README of commit 0b4be13, "Quality").
    bm25: float = 0.3
    # Final score = passage_share × passage cosine + (1 - passage_share) × best sentence
    # cosine: a passage whose one sentence answers beats one vaguely about the topic.
    # An even split, set by hand. benchmarks/retrieval_weights.py on the BBC dev set's 95
    # answerable single questions: R@1 0.789 at 0.3, 0.5 and 0.7, 0.768 at 1.0 (passage
    # only); R@4 0.979 / 0.968 / 0.947 / 0.947. 0.3 finds one more question: not changed.
    passage_share: float = 0.5
    # A passage holding the whole name a question gives ("Martin Hewitt") outranks every
    # one holding part of it: 1.0 is above the spread of the other scores. With 0.3,
    # five Lleyton Hewitt chunks still outranked the Martin Hewitt one.
    name_boost: float = 1.0
    # A passage that mentions the month or year asked about ("in July" finds "last July"):
    # a tie-breaker, small against the spread of similarities (~0.1-0.3 between ranks).
    time_boost: float = 0.05
    # A follow-up's candidates from the article the previous answer quoted: about a third
    # of the spread of the other scores, so a follow-up that changes the subject can still
    # leave it. Raised from 0 it took the dev set's follow-ups from 10 to 12 of 22.
    focus_boost: float = 0.2
    # Candidates read in full (text, metadata, vectors) and re-scored: each costs part of
    # a Chroma fetch. Same script: R@1 0.779 / 0.789 / 0.789 and R@4 0.947 / 0.968 / 0.958
    # for 4 / 8 / 16.
    shortlist: int = 8
    # The chunks around the top passage in its article, read too (all of a typical news
    # article, about three): the answering sentence often sits in another chunk of it and
    # need not repeat the question's words ("That culminated last July... The focus then
    # was on plans to intercept the taxi boats").
    siblings: int = 3


RETRIEVAL_WEIGHTS = RetrievalWeights()


# The reader's reading, the answer's shape and the verifier: numbers set by hand or by
# a fit other than the reader's, each with where it came from.

# A second sentence joins the answer when it is at least this share as likely as the
# best (set by hand: a close runner-up often holds the rest of the answer).
RUNNER_UP_SHARE = 0.5
# Sentences a why/how answer reads on past one that states no cause (set by hand).
MAX_CAUSE_STEPS = 2
# The trained reader's span head: above this probability its phrase is shown as the
# short answer (set by hand, not fitted; docs/reader.md).
SHORT_MIN_PROBABILITY = 0.3
# The verifier of generated answers, fitted by benchmarks/fit_verifier.py on 300 + 292
# BBC sentence pairs (docs/generated-answers.md): with the name and number check, these
# keep 100% of shortened restatements and 2.4% of same-topic sentences from other articles.
MIN_SIMILARITY = 0.5
MIN_COVERAGE = 0.7


def _named(weights: Mapping[str, float]) -> dict[Feature, float]:
    """The weights keyed by ``Feature``; a name that is not one is an error."""
    unknown = sorted(set(weights) - set(Feature))
    if unknown:
        raise ValueError(f"weights for features the reader does not compute: {unknown}")
    return {Feature(name): float(w) for name, w in weights.items()}


@dataclass(frozen=True)
class LogisticModel:
    """P(sentence holds the answer) = sigmoid(bias + Σ weight × feature)."""

    weights: Mapping[Feature, float]
    bias: float
    threshold: float = 0.0  # answerable models: refuse below this probability

    def probability(self, features: Mapping[Feature, float]) -> float:
        z = self.bias + sum(w * features[name] for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


@dataclass(frozen=True)
class RankingModel:
    """Which of a question's sentences answers: a softmax over the set of Σ weight × feature.

    Fitted listwise (the answering sentences' share of the softmax is what is
    maximised), because choosing is a comparison within one question: scores
    only need to order a question's own sentences, not mean the same across
    questions.
    """

    weights: Mapping[Feature, float]

    def shares(self, features: Sequence[Mapping[Feature, float]]) -> list[float]:
        scores = [sum(w * f[name] for name, w in self.weights.items()) for f in features]
        top = max(scores, default=0.0)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps) or 1.0
        return [e / total for e in exps]


@dataclass(frozen=True)
class FeatureWeights:
    """The hand-made reader's models (reader "fast"; its evidence also feeds the default's choice)."""

    fast: RankingModel  # which sentence answers, from cheap evidence
    fast_answerable: LogisticModel  # does the chosen sentence answer at all
    version: str = ""
    fitted_on: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FeatureWeights":
        """The weights as ``to_dict`` (and the fit) writes them."""

        def ranking(key: str) -> RankingModel:
            return RankingModel(_named(data[key]["weights"]))

        def logistic(key: str) -> LogisticModel:
            part = data[key]
            return LogisticModel(_named(part["weights"]), part["bias"], part["threshold"])

        return cls(
            fast=ranking("fast"),
            fast_answerable=logistic("fast_answerable"),
            version=data.get("version", ""),
            fitted_on=data.get("fitted_on", ""),
            notes=tuple(data.get("notes", ())),
        )

    def to_dict(self) -> dict[str, Any]:
        def weights(model: RankingModel | LogisticModel) -> dict[str, float]:
            return {str(name): round(w, 4) for name, w in model.weights.items()}

        def logistic(model: LogisticModel) -> dict[str, Any]:
            return {
                "weights": weights(model),
                "bias": round(model.bias, 4),
                "threshold": round(model.threshold, 4),
            }

        return {
            "version": self.version,
            "fitted_on": self.fitted_on,
            "notes": list(self.notes),
            "fast": {"weights": weights(self.fast)},
            "fast_answerable": logistic(self.fast_answerable),
        }

    @classmethod
    def load(cls, path: Path = READER_WEIGHTS_FILE) -> "FeatureWeights":
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


READER_WEIGHTS = FeatureWeights.load()
