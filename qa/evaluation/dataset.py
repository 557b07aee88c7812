"""The questions of an evaluation, and the articles they are asked over.

A user's dataset is a question file: JSONL, one question a line, asked over
the articles of ``--corpus`` (files or folders, any format ``qa ingest``
reads). A retrieved passage or an answer "hits" when it contains one of the
expected strings, so a question file needs no character offsets and survives
re-chunking.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from qa.errors import QAError

# What a line of a question file looks like: for `qa eval --help` and its errors.
QUESTION_LINE = '{"question": "...", "expect_any": ["...", "..."], "answerable": true}'


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    answers: tuple[str, ...]
    answerable: bool
    # the article that holds the answer, where a loader knows it (a SQuAD question's own
    # paragraph, benchmarks/_squad.py); without it, the first passage holding an answer counts
    gold_article: str | None = None
    kind: str = ""  # who, number, why, what, unanswerable, followup: a row each in the table
    history: tuple[str, ...] = ()  # earlier questions of a conversation, asked first


@dataclass
class Dataset:
    path: Path  # where the questions came from: its name titles the table, its stem the files
    questions: list[EvalQuestion]
    corpus_paths: list[Path]  # the articles to index: files or folders

    @property
    def name(self) -> str:
        return self.path.name


def load_question_file(path: Path, corpus: Sequence[str | Path]) -> Dataset:
    """``{"question", "expect_any", "answerable", "kind", "history_questions"}`` lines
    over the given corpus; only ``question`` is required (``answerable`` defaults to true)."""
    path = Path(path)
    if not path.is_file():
        raise QAError(f"no question file at {path}: give a JSONL file of {QUESTION_LINE} lines")
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(
                EvalQuestion(
                    row["question"],
                    tuple(row.get("expect_any", [])),
                    bool(row.get("answerable", True)),
                    kind=str(row.get("kind", "")),
                    history=tuple(row.get("history_questions", [])),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise QAError(
                f"{path} line {number}: not a question record ({exc}); "
                f"a line looks like {QUESTION_LINE}"
            ) from None
    if not corpus:
        raise QAError("a question file needs --corpus files or folders to ask it over")
    return Dataset(path, questions, [Path(c) for c in corpus])


def sample(questions: list[EvalQuestion], limit: int | None, seed: int) -> list[EvalQuestion]:
    """Up to ``limit`` answerable and ``limit`` unanswerable questions, reproducibly."""
    if limit is None:
        return questions
    picked = []
    for answerable in (True, False):
        group = [q for q in questions if q.answerable == answerable]
        picked += random.Random(seed).sample(group, min(limit, len(group)))
    return picked
