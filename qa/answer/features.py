"""The names of the reader's evidence, declared once.

The reader (``qa/answer/reader.py``) computes a value for each ``Feature`` of every
sentence it reads; the fitted weights (``qa/weights.py``, fitted by
``benchmarks/fit_reader.py``) name the features they weigh. Both use these
members, so a renamed or dropped feature is an error the type checker and
``FeatureWeights.load`` report, never a weight silently multiplied by 0.
"""

from __future__ import annotations

from enum import StrEnum


class Feature(StrEnum):
    """One piece of evidence that a sentence answers the question."""

    DENSE = "dense"  # cosine of the sentence's vector and the question's
    PASSAGE = "passage"  # cosine of its whole passage and the question
    COVERAGE = "coverage"  # share of the question's own terms in the sentence
    CONTEXT_COVERAGE = "context_coverage"  # the same over the passage and its title
    NOVELTY = "novelty"  # share of the sentence's terms the question does not use
    FIRST_RANK = "first_rank"  # 1 when its passage was retrieved first
    LEAD = "lead"  # 1 for an article's first sentence
    TIME = "time"  # 1 when it mentions the month or year asked about
    NAME_ANSWER = "name_answer"  # a who/which question, and a name the question lacks
    NUMBER_ANSWER = "number_answer"  # a how-many/when question, and a new number or date
    REASON_ANSWER = "reason_answer"  # a why/how question, and a stated cause
    OTHER_NAMES = "other_names"  # another kind of question, and a new name
    SHORT = "short"  # 1 for a sentence of under five terms
    DETAIL_COVERAGE = "detail_coverage"  # share of the question's details in the passage
    KEYS_MISSING = "keys_missing"  # the question's key names the passage does not hold
    TYPE_MISSING = "type_missing"  # asks for a name or number; the sentence has none new
    YEAR_MISSING = "year_missing"  # 1 when the question names a year its passage never does
    ANSWER = "answer"  # the trained reader model's logit (the default reader)


# What says the chosen sentence answers at all: it and its own passage, nothing that
# compares it with the other candidates (qa.answer.reader.question_evidence says why).
QUESTION_EVIDENCE = (
    Feature.DENSE,
    Feature.COVERAGE,
    Feature.PASSAGE,
    Feature.CONTEXT_COVERAGE,
    Feature.DETAIL_COVERAGE,
    Feature.TYPE_MISSING,
    Feature.KEYS_MISSING,
    Feature.YEAR_MISSING,
)
