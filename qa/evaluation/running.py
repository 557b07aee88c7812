"""Running an evaluation: the corpus into a fresh index, each question through
``Assistant.ask`` as a user asks it, then scores, a table, JSON and a chart.

Each reader mode gets its own row. Other systems (the stock LangChain pipeline
of benchmarks/quality.py) come in as ``baselines``: functions from the same
questions to outcomes, run first in the same process, so every row of a table
is measured under the same conditions.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from qa.config import READER_ALIASES, ReaderMode
from qa.evaluation.dataset import Dataset, EvalQuestion, sample
from qa.evaluation.report import system_name, table, write_results
from qa.evaluation.scoring import Outcome, Report, score_systems

# (dataset, the sampled questions, the work folder, show progress) -> an outcome a question
Baseline = Callable[[Dataset, list[EvalQuestion], Path, bool], list[Outcome]]


def evaluate(
    dataset: Dataset,
    out: Path,
    *,
    limit: int | None = None,
    seed: int = 7,
    readers: Sequence[str] = ("default",),
    workdir: Path | None = None,
    progress: bool = True,
    baselines: Mapping[str, Baseline] | None = None,
) -> tuple[list[Report], str]:
    """Run the evaluation; write JSON and a PNG into ``out``; return reports and table.

    ``workdir`` keeps the indexes between runs (ingest is idempotent), so a big
    corpus is embedded once, not once per run; each reader mode reads the same
    index, in ``workdir/ours``.
    """
    work = Path(workdir or tempfile.mkdtemp(prefix="qa-eval-"))
    work.mkdir(parents=True, exist_ok=True)
    questions = sample(dataset.questions, limit, seed)
    outcomes: dict[str, list[Outcome]] = {}
    for name, run in (baselines or {}).items():
        outcomes[name] = run(dataset, questions, work, progress)
    for reader in readers:
        outcomes[system_name(reader)] = run_assistant(
            dataset, questions, work / "ours", progress, reader
        )
    reports = score_systems(
        questions, outcomes, refusing={system_name(reader) for reader in readers}
    )
    text = table(reports, f"{dataset.name}: {len(questions)} questions")
    thresholds = {reader: _threshold(reader) for reader in readers}
    write_results(dataset, out, reports, text, limit, seed, thresholds)
    return reports, text


def run_assistant(
    dataset: Dataset,
    questions: list[EvalQuestion],
    index_dir: Path,
    progress: bool = True,
    reader: str = "default",
) -> list[Outcome]:
    """Each question as ``qa ask`` answers it, a conversation's earlier questions first;
    the latency is the last question's ``ask`` alone, with the embedding cache cleared."""
    from qa.assistant import Assistant

    assistant = Assistant(index_dir=index_dir, reader=reader)
    report = assistant.ingest(dataset.corpus_paths, show_progress=progress)
    if report.failed:
        print(
            f"warning: {len(report.failed)} corpus files or records were skipped", file=sys.stderr
        )
    outcomes = []
    for question in progress_bar(questions, system_name(reader), progress):
        history: list[dict[str, str]] = []
        for earlier in question.history:
            history += [
                {"role": "user", "content": earlier},
                {"role": "assistant", "content": assistant.ask(earlier, history).text},
            ]
        assistant.embedder.clear_cache()
        started = time.perf_counter()
        answer = assistant.ask(question.question, history)
        latency = (time.perf_counter() - started) * 1000
        passages = assistant.search(answer.question, k=10)
        outcomes.append(
            Outcome(
                ranked_articles=unique([p.chunk.article_id for p in passages]),
                ranked_texts=[p.chunk.text for p in passages],
                answer_text=answer.text,
                quotes=[c.quote for c in answer.citations],
                grounded=answer.grounded,
                confidence=answer.confidence,
                latency_ms=latency,
                short=answer.short.text if answer.short else None,
            )
        )
    return outcomes


def unique(items: list[str]) -> list[str]:
    """The items in their first order, each once (articles ranked by their best chunk)."""
    return list(dict.fromkeys(items))


def progress_bar(items: Iterable[Any], label: str, enabled: bool) -> Iterable[Any]:
    from tqdm import tqdm

    return tqdm(
        items, desc=label, unit="q", disable=not enabled, file=sys.stderr, dynamic_ncols=True
    )


def _threshold(reader: str) -> float:
    """The refusal threshold the reader mode ships with: the dot on the chart."""
    if READER_ALIASES.get(reader, reader) == ReaderMode.DEFAULT:
        from qa.answer.trained_reader import load_calibration

        return load_calibration().threshold
    from qa.weights import READER_WEIGHTS

    return READER_WEIGHTS.fast_answerable.threshold
