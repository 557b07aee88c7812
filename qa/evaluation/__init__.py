"""``qa eval``: a user's own questions over their own articles, measured.

- ``dataset``: the question file (JSONL, one question a line) and its corpus.
- ``running``: the corpus into a fresh index, each question through ``Assistant.ask``.
- ``scoring``: recall@k, MRR, answer and citation hits, refusals, false refusals,
  latency, and the refusal trade-off with its calibrated threshold.
- ``report``: the table, and JSON and a PNG chart in the results folder.

A development tool beside the product: only ``qa eval``, the benchmarks and the
tests import this subpackage, never the Assistant or a front end; the chart
needs matplotlib (the ``bench`` extra). SQuAD and the stock LangChain pipeline
are the benchmarks' (benchmarks/quality.py), not a user's.
"""

from __future__ import annotations

from qa.evaluation.dataset import QUESTION_LINE, Dataset, EvalQuestion, load_question_file, sample
from qa.evaluation.report import chart, result_paths, system_name, table
from qa.evaluation.running import Baseline, evaluate, progress_bar, run_assistant, unique
from qa.evaluation.scoring import (
    MAX_FALSE_REFUSALS,
    RECALL_KS,
    Outcome,
    Report,
    contains_any,
    normalise,
    score,
    score_systems,
    token_f1,
)

__all__ = [
    "MAX_FALSE_REFUSALS",
    "QUESTION_LINE",
    "RECALL_KS",
    "Baseline",
    "Dataset",
    "EvalQuestion",
    "Outcome",
    "Report",
    "chart",
    "contains_any",
    "evaluate",
    "load_question_file",
    "normalise",
    "progress_bar",
    "result_paths",
    "run_assistant",
    "sample",
    "score",
    "score_systems",
    "system_name",
    "table",
    "token_f1",
    "unique",
]
