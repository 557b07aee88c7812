"""Measuring answer quality: retrieval recall, answer hits, refusals, latency.

Two kinds of dataset:

- SQuAD 2.0 JSON: every paragraph is indexed as an article; a question's gold
  passage is its own paragraph; ``is_impossible`` questions are unanswerable.
- JSONL of ``{"question", "expect_any": [...], "answerable"}`` over any corpus
  (``--corpus`` files or folders, default ``seeds/``); a retrieved passage or
  an answer "hits" when it contains one of the expected strings. Optional
  ``"kind"`` (who, number, why, ...) gives each kind its own row, and
  ``"history_questions"`` makes it a conversation: the earlier questions are
  asked first, each answer going into the history, and the last is judged.

Our pipeline and the stock LangChain tutorial pipeline run on the same corpus
in the same process, and the report has a row for each.

A development tool beside the product: only ``qa eval`` (and the benchmarks
and tests) import this subpackage, never the Assistant or a front end; the
stock pipeline and the charts need the ``bench`` extra.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from qa.config import ReaderMode
from qa.errors import QAError
from qa.index.articles import Article, slugify
from qa.index.formats import load_file

CHECKOUT = Path(__file__).resolve().parents[2]  # qa/evaluation/__init__.py → the checkout
DEFAULT_DATASET = CHECKOUT.parent / "shared" / "data" / "squad" / "dev-v2.0.json"
RECALL_KS = (1, 5, 10)
CURVE_KS = tuple(range(1, 11))
MAX_FALSE_REFUSALS = 0.10


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    answers: tuple[str, ...]
    answerable: bool
    gold_article: str | None = None  # known for SQuAD: the question's own paragraph
    kind: str = ""  # who, number, why, what, unanswerable, followup (JSONL datasets)
    history: tuple[str, ...] = ()  # earlier questions of a conversation, asked first


@dataclass
class Dataset:
    name: str
    questions: list[EvalQuestion]
    corpus_file: Path  # a JSONL of articles (SQuAD) or the first corpus path
    corpus_paths: list[Path] = field(default_factory=list)


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


# Datasets ---------------------------------------------------------------------------
def load_squad(path: Path, workdir: Path) -> Dataset:
    """Paragraphs become articles (written to a JSONL in ``workdir``), questions kept."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    records, questions = [], []
    for article in data:
        for number, paragraph in enumerate(article["paragraphs"]):
            article_id = f"squad-{slugify(article['title'])}-{number:03d}"
            records.append(
                {
                    "id": article_id,
                    "title": article["title"].replace("_", " "),
                    "text": paragraph["context"],
                }
            )
            for qa in paragraph["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                questions.append(
                    EvalQuestion(
                        qa["question"].strip(),
                        answers,
                        not qa.get("is_impossible", False),
                        article_id,
                    )
                )
    corpus = workdir / f"{path.stem}-paragraphs.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return Dataset(path.name, questions, corpus, [corpus])


def load_question_file(path: Path, corpus: Sequence[Path]) -> Dataset:
    """``{"question", "expect_any", "answerable"}`` lines over the given corpus."""
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
            raise QAError(f"{path} line {number}: not a question record ({exc})") from None
    if not corpus:
        raise QAError("a JSONL question file needs --corpus files or folders")
    return Dataset(path.name, questions, Path(corpus[0]), list(corpus))


def sample(questions: list[EvalQuestion], limit: int | None, seed: int) -> list[EvalQuestion]:
    """Up to ``limit`` answerable and ``limit`` unanswerable questions, reproducibly."""
    if limit is None:
        return questions
    picked = []
    for answerable in (True, False):
        group = [q for q in questions if q.answerable == answerable]
        picked += random.Random(seed).sample(group, min(limit, len(group)))
    return picked


# Scoring ----------------------------------------------------------------------------
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
    """The highest threshold whose false refusals stay within MAX_FALSE_REFUSALS."""
    allowed = [p for p in tradeoff if p[2] <= MAX_FALSE_REFUSALS]
    if not allowed:
        return {}
    threshold, recall, false = max(allowed, key=lambda p: (p[1], -p[0]))
    return {"threshold": threshold, "refusal_recall": recall, "false_refusal_rate": false}


# Systems ----------------------------------------------------------------------------
def run_ours(
    dataset: Dataset,
    questions: list[EvalQuestion],
    index_dir: Path,
    progress: bool = True,
    reader: str = "default",
) -> list[Outcome]:
    from qa.assistant import Assistant

    assistant = Assistant(index_dir=index_dir, reader=reader)
    report = assistant.ingest(dataset.corpus_paths, show_progress=progress)
    if report.failed:
        print(
            f"warning: {len(report.failed)} corpus files or records were skipped", file=sys.stderr
        )
    outcomes = []
    for question in _bar(questions, f"Article QA ({reader})", progress):
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
                ranked_articles=_unique([p.chunk.article_id for p in passages]),
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


def run_stock(
    dataset: Dataset, questions: list[EvalQuestion], index_dir: Path, progress: bool = True
) -> list[Outcome]:
    """The tutorial pipeline: its top passage stands as its answer; it never refuses."""
    from qa.evaluation.baseline import COMPLETE_MARKER, StockPipeline

    articles: list[Article] = []
    for path in dataset.corpus_paths:
        files = (
            sorted(p for p in Path(path).rglob("*") if p.is_file())
            if Path(path).is_dir()
            else [Path(path)]
        )
        for file in files:
            articles += load_file(file, 10**9).articles
    if index_dir.exists() and not (index_dir / COMPLETE_MARKER).exists():
        shutil.rmtree(index_dir)  # an interrupted build: never measure a partial index
    stock = StockPipeline(persist_dir=index_dir)
    if not stock.complete:
        stock.add(articles)
        stock.mark_complete()
    outcomes = []
    for question in _bar(questions, "stock LangChain", progress):
        hits = stock.search(question.question, k=10)
        started = time.perf_counter()
        stock.search(question.question, k=4)
        latency = (time.perf_counter() - started) * 1000
        top = hits[0].text if hits else ""
        outcomes.append(
            Outcome(
                _unique([h.article_id for h in hits]),
                [h.text for h in hits],
                top,
                [top],
                True,
                1.0,
                latency,
            )
        )
    return outcomes


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _bar(items: list, label: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        items, desc=label, unit="q", disable=not enabled, file=sys.stderr, dynamic_ncols=True
    )


# Reports ----------------------------------------------------------------------------
def table(reports: list[Report], title: str) -> str:
    header = [
        "system",
        "questions",
        "R@1",
        "R@5",
        "R@10",
        "MRR",
        "answer hit",
        "citation hit",
        "refusal recall",
        "false refusals",
        "p50 ms",
        "p95 ms",
        "short EM",
        "short F1",
    ]
    rows = [
        [
            r.system,
            f"{r.answerable}+{r.unanswerable}",
            *(f"{r.recall[k]:.3f}" for k in RECALL_KS),
            f"{r.mrr:.3f}",
            f"{r.answer_hit_rate:.3f}",
            f"{r.citation_hit_rate:.3f}",
            f"{r.refusal_recall:.3f}",
            f"{r.false_refusal_rate:.3f}",
            f"{r.p50_ms:.1f}",
            f"{r.p95_ms:.1f}",
            f"{r.short_exact:.3f}" if r.short_given else "-",
            f"{r.short_f1:.3f}" if r.short_given else "-",
        ]
        for r in reports
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    lines = [
        title,
        "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    for r in reports:
        if r.calibrated:
            c = r.calibrated
            lines.append(
                f"{r.system}: at threshold {c['threshold']:.2f} refusal recall "
                f"{c['refusal_recall']:.3f} with {c['false_refusal_rate']:.3f} false refusals "
                f"(the best within {MAX_FALSE_REFUSALS:.0%})"
            )
    return "\n".join(lines)


def chart(reports: list[Report], path: Path, thresholds: dict[str, float]) -> None:
    """Recall@k curves, and each refusing system's trade-off with a dot at its threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for r in reports:
        left.plot(list(r.recall_curve), list(r.recall_curve.values()), marker="o", label=r.system)
    left.set(title="Retrieval recall@k", xlabel="k", ylabel="recall", ylim=(0, 1.02))
    left.grid(alpha=0.3)
    left.legend()
    for r in reports:
        if r.tradeoff:
            (line,) = right.plot(
                [p[2] for p in r.tradeoff], [p[1] for p in r.tradeoff], label=r.system
            )
            threshold = thresholds.get(r.system)
            if threshold is None:
                continue
            at = min(r.tradeoff, key=lambda p: abs(p[0] - threshold))
            right.scatter(
                [at[2]],
                [at[1]],
                color=line.get_color(),
                edgecolor="black",
                zorder=3,
                label=f"its threshold, {threshold:.2f}",
            )
    right.axvline(MAX_FALSE_REFUSALS, color="grey", linestyle="--", linewidth=1)
    right.set(
        title="Refusals: unanswerable refused vs answerable refused",
        xlabel="false-refusal rate (answerable)",
        ylabel="refusal recall (unanswerable)",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    right.grid(alpha=0.3)
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate(
    dataset_path: Path,
    corpus: Sequence[str] | None,
    limit: int | None,
    seed: int,
    out: Path,
    baseline: bool,
    progress: bool = True,
    workdir: Path | None = None,
    readers: Sequence[str] = ("default",),
) -> tuple[list[Report], str]:
    """Run the evaluation; write JSON and a PNG into ``out``; return reports and table.

    ``workdir`` keeps the indexes between runs (ingest is idempotent, the stock
    index is reused), so a big corpus is embedded once, not once per run.
    """
    if not dataset_path.exists():
        hint = (
            " (the default is the project's development data beside its checkout)"
            if dataset_path == DEFAULT_DATASET
            else ""
        )
        raise QAError(
            f"no dataset at {dataset_path}{hint}: give a SQuAD 2.0 JSON file or a JSONL "
            'of {"question", "expect_any", "answerable"} lines'
        )
    work = Path(workdir or tempfile.mkdtemp(prefix="qa-eval-"))
    work.mkdir(parents=True, exist_ok=True)
    if dataset_path.suffix == ".json":
        dataset = load_squad(dataset_path, work)
    else:
        default = str(CHECKOUT / "seeds")
        dataset = load_question_file(dataset_path, [Path(c) for c in (corpus or [default])])
    questions = sample(dataset.questions, limit, seed)
    outcomes: dict[str, list[Outcome]] = {}
    if baseline:
        outcomes["stock LangChain"] = run_stock(dataset, questions, work / "stock", progress)
    for reader in readers:
        outcomes[f"Article QA ({reader})"] = run_ours(
            dataset, questions, work / "ours", progress, reader
        )
    reports = []
    kinds = list(dict.fromkeys(q.kind for q in questions if q.kind))
    for name, results in outcomes.items():
        refuses = name.startswith("Article QA")
        reports.append(score(name, questions, results, refuses=refuses))
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
    text = table(reports, f"{dataset.name}: {len(questions)} questions")
    out.mkdir(parents=True, exist_ok=True)
    stem = dataset_path.stem
    thresholds = {reader: _threshold(reader) for reader in readers}
    (out / f"{stem}.json").write_text(
        json.dumps(
            {
                "dataset": str(dataset_path),
                "limit": limit,
                "seed": seed,
                "thresholds": thresholds,
                "reports": [asdict(r) for r in reports],
                "table": text,
            },
            indent=2,
        )
    )
    chart(
        [r for r in reports if not r.system.startswith(" ")],
        out / f"{stem}.png",
        {f"Article QA ({reader})": value for reader, value in thresholds.items()},
    )
    return reports, text


def _threshold(reader: str) -> float:
    if reader == ReaderMode.TRAINED:
        from qa.answer.trained_reader import Calibration

        return Calibration.load().threshold
    from qa.weights import READER_WEIGHTS

    model = (
        READER_WEIGHTS.fast_answerable
        if reader == ReaderMode.FAST
        else READER_WEIGHTS.full_answerable
    )
    return model.threshold


def run_cli(
    dataset: Path,
    corpus: Sequence[str] | None,
    limit: int | None,
    seed: int,
    out: Path,
    baseline: bool,
    workdir: Path | None = None,
    readers: Sequence[str] = ("default",),
) -> int:
    """``qa eval``: print the table, say where the JSON and chart went."""
    _, text = evaluate(
        dataset, corpus, limit, seed, out, baseline, workdir=workdir, readers=readers
    )
    print(text)
    print(f"\nwrote {out / (dataset.stem + '.json')} and {out / (dataset.stem + '.png')}")
    return 0
