"""Every scoring number of retrieval and the reader, in one place, with where it came from.

The reader's weights and its refusal thresholds are fitted together by
``python benchmarks/fit_reader.py``, which prints this file's ``READER_WEIGHTS``
block: change a feature and re-run the fit, never edit one number alone (a
threshold is only valid on the scale its weights define, which is why they
are fitted and stored together and carry one ``version``).

Retrieval's numbers (``RETRIEVAL_WEIGHTS``) come first: they decide which
passages the reader sees, so the reader is fitted on passages retrieved with
them; after changing one, re-run ``qa eval`` (recall@k) and then the fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence


@dataclass(frozen=True)
class RetrievalWeights:
    """How hybrid retrieval scores a passage (``qa/retrieval.py``), each with its origin."""

    # BM25, scaled to 0..1 by the question's best BM25 score, added to cosine similarity.
    # Chosen on a SQuAD dev sample: 0.3 gave recall@1 0.845, reciprocal-rank fusion 0.775,
    # dense alone 0.667 (README, Quality).
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
    # Stage three (reader modes "default" and "accurate"): the cross-encoder's logit for
    # each of the best rerank_depth passages, times rerank, joins its score. On 300 SQuAD
    # dev questions (seed 7) recall@1 was 0.827 without; with depth 4 and weight 0.05 /
    # 0.1 / 0.3 / 1.0 it was 0.870 / 0.877 / 0.883 / 0.883; on the BBC dev set's 95
    # answerable single questions 0.779 without, 0.789 / 0.800 / 0.800 / 0.811. Depth 8
    # (twice the cost, ~180 ms) was no better on SQuAD and worse on BBC (0.768-0.789).
    rerank: float = 0.3
    rerank_depth: int = 4


RETRIEVAL_WEIGHTS = RetrievalWeights()


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
    version="2026-11-28 fit",
    fitted_on="even half of benchmarks/data/bbc_dev.jsonl (single questions) and of 800 SQuAD 2.0 dev questions (seed 11)",
    fast=RankingModel(weights={"dense": 12.9972, "passage": 3.3584, "coverage": 5.398, "context_coverage": 9.1765, "novelty": 1.3684, "first_rank": -0.0846, "lead": -0.6146, "time": 5.7819, "name_answer": 0.7419, "number_answer": 0.9333, "reason_answer": 0.1575, "other_names": 0.0118, "short": 1.0732, "detail_coverage": -2.9458, "type_missing": -1.6753}),
    full=RankingModel(weights={"cross": 0.4422, "dense": 3.9681, "passage": 4.0433, "coverage": 2.1455, "name_answer": 1.9558, "number_answer": 2.1209, "reason_answer": 1.308, "lead": -0.7564, "time": 3.5429}),
    fast_answerable=LogisticModel(bias=-2.6628, threshold=0.3264, weights={"context_coverage": 0.1529, "coverage": 0.6619, "dense": 3.3982, "detail_coverage": 0.4649, "keys_missing": -0.4195, "passage": 0.0, "type_missing": -1.5712}),
    full_answerable=LogisticModel(bias=-1.2821, threshold=0.2168, weights={"context_coverage": 0.0, "coverage": 0.0, "cross": 0.2823, "dense": 0.0, "detail_coverage": 0.0, "keys_missing": -0.4005, "passage": 0.4861, "type_missing": -1.658}),
)
# fmt: on
