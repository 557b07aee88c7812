"""Scores from outcomes: retrieval recall@k and MRR, answer and citation hits,
refusals and false refusals, latency, the refusal trade-off and its calibration.

Matching is SQuAD's: lower case, punctuation and a/an/the ignored, so an
expected string counts wherever its words appear in that order.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from typing import Collection, Mapping, Sequence

from qa.evaluation.dataset import EvalQuestion

RECALL_KS = (1, 5, 10)
CURVE_KS = tuple(range(1, 11))
# the most false refusals a calibrated threshold may cost (the line under the table)
MAX_FALSE_REFUSALS = 0.10


@dataclass(frozen=True)
class Outcome:
    """One question as one system handled it."""

    ranked_articles: list[str]
    ranked_texts: list[str]
    answer_text: str
    quotes: list[str]
    grounded: bool
    confidence: float
    latency_ms: float
    short: str | None = None  # the answer phrase the reader marked, if any


@dataclass
class Report:
    system: str
    questions: int
    answerable: int
    unanswerable: int
    recall: dict[int, float]
    mrr: float
    answer_hit_rate: float
    citation_hit_rate: float
    refusal_recall: float
    false_refusal_rate: float
    p50_ms: float
    p95_ms: float
    recall_curve: dict[int, float]
    tradeoff: list[tuple[float, float, float]]  # (threshold, refusal recall, false refusals)
    calibrated: dict[str, float]
    # the short answer against the gold answers, over the answerable questions whose first
    # quote holds one (the right sentence chosen); no short answer counts as a miss
    short_exact: float = 0.0
    short_f1: float = 0.0
    short_given: float = 0.0


def normalise(text: str) -> str:
    """Lower case, punctuation as spaces, articles dropped: SQuAD's answer matching."""
    text = re.sub(r"[^\w\s]", " ", text.lower())
    return " ".join(w for w in text.split() if w not in {"a", "an", "the"})


def contains_any(text: str, answers: Sequence[str]) -> bool:
    haystack = f" {normalise(text)} "
    return any(f" {normalise(a)} " in haystack for a in answers if normalise(a))


def retrieval_rank(question: EvalQuestion, outcome: Outcome) -> int | None:
    """1-based rank of the first relevant article, or None in the top 10."""
    if question.gold_article:
        ranked = outcome.ranked_articles
        return ranked.index(question.gold_article) + 1 if question.gold_article in ranked else None
    for rank, text in enumerate(outcome.ranked_texts, start=1):
        if contains_any(text, question.answers):
            return rank
    return None


def score_systems(
    questions: list[EvalQuestion],
    outcomes: Mapping[str, list[Outcome]],
    refusing: Collection[str],
) -> list[Report]:
    """A row per system, in the given order; when the questions have more than one
    ``kind``, a row per kind under each system's row (indented, so the chart leaves it
    out). Only the ``refusing`` systems get a refusal trade-off."""
    reports = []
    kinds = list(dict.fromkeys(q.kind for q in questions if q.kind))
    for name, results in outcomes.items():
        reports.append(score(name, questions, results, refuses=name in refusing))
        for kind in kinds if len(kinds) > 1 else []:
            subset = [(q, o) for q, o in zip(questions, results) if q.kind == kind]
            reports.append(
                score(
                    f"  {name} · {kind}",
                    [q for q, _ in subset],
                    [o for _, o in subset],
                    refuses=False,
                )
            )
    return reports


def score(
    system: str, questions: list[EvalQuestion], outcomes: list[Outcome], refuses: bool
) -> Report:
    answerable = [(q, o) for q, o in zip(questions, outcomes) if q.answerable]
    unanswerable = [(q, o) for q, o in zip(questions, outcomes) if not q.answerable]
    ranks = [retrieval_rank(q, o) for q, o in answerable]
    n = max(len(answerable), 1)
    recall_curve = {k: sum(1 for r in ranks if r and r <= k) / n for k in CURVE_KS}
    latencies = sorted(o.latency_ms for o in outcomes) or [0.0]
    tradeoff = (
        _tradeoff([o.confidence for _, o in answerable], [o.confidence for _, o in unanswerable])
        if refuses
        else []
    )
    return Report(
        system=system,
        questions=len(questions),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        recall={k: recall_curve[k] for k in RECALL_KS},
        mrr=sum(1 / r for r in ranks if r) / n,
        answer_hit_rate=sum(
            o.grounded and contains_any(o.answer_text, q.answers) for q, o in answerable
        )
        / n,
        citation_hit_rate=sum(
            any(contains_any(t, q.answers) for t in o.quotes) for q, o in answerable
        )
        / n,
        refusal_recall=(
            sum(not o.grounded for _, o in unanswerable) / len(unanswerable)
            if unanswerable
            else 0.0
        ),
        false_refusal_rate=sum(not o.grounded for _, o in answerable) / n,
        p50_ms=statistics.median(latencies),
        p95_ms=latencies[int(0.95 * (len(latencies) - 1))],
        recall_curve=recall_curve,
        tradeoff=tradeoff,
        calibrated=_calibrate(tradeoff),
        **_short_scores(answerable),
    )


def _short_scores(answerable: list[tuple[EvalQuestion, Outcome]]) -> dict[str, float]:
    """SQuAD's exact match and F1 of the short answer, where the right sentence was quoted."""
    right = [
        (q, o)
        for q, o in answerable
        if o.grounded and o.quotes and contains_any(o.quotes[0], q.answers)
    ]
    if not right:
        return {}
    n = len(right)
    return {
        "short_exact": sum(
            o.short is not None and normalise(o.short) in {normalise(a) for a in q.answers}
            for q, o in right
        )
        / n,
        "short_f1": sum(
            max(token_f1(o.short, a) for a in q.answers) if o.short else 0.0 for q, o in right
        )
        / n,
        "short_given": sum(o.short is not None for _, o in right) / n,
    }


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD's F1: the overlap of normalised words."""
    p, g = normalise(prediction).split(), normalise(gold).split()
    common = sum(min(p.count(w), g.count(w)) for w in set(p))
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def _tradeoff(
    answerable: list[float], unanswerable: list[float]
) -> list[tuple[float, float, float]]:
    """Refusal recall and false-refusal rate for each threshold on the confidence."""
    if not answerable or not unanswerable:
        return []
    points = []
    for step in range(0, 101):
        threshold = step / 100
        points.append(
            (
                threshold,
                sum(c < threshold for c in unanswerable) / len(unanswerable),
                sum(c < threshold for c in answerable) / len(answerable),
            )
        )
    return points


def _calibrate(tradeoff: list[tuple[float, float, float]]) -> dict[str, float]:
    """The threshold that refuses the most unanswerable questions while its false
    refusals stay within MAX_FALSE_REFUSALS (the lowest such threshold on a tie)."""
    allowed = [p for p in tradeoff if p[2] <= MAX_FALSE_REFUSALS]
    if not allowed:
        return {}
    threshold, recall, false = max(allowed, key=lambda p: (p[1], -p[0]))
    return {"threshold": threshold, "refusal_recall": recall, "false_refusal_rate": false}
