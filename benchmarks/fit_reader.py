"""Fit the fast reader's weights and refusal threshold; report them on held-out halves.

    python benchmarks/fit_reader.py --index /path/to/seeds+bbc-index [--write]

Data: SQuAD 2.0 dev (its paragraphs in an index of their own) and the BBC dev
set (benchmarks/data/bbc_dev.jsonl, asked over seeds/ + all BBC articles in
one index). Each is split in two halves by question order: the even half
fits, the odd half reports. Every sentence of the passages the reader reads
is a sample, labelled by whether it holds one of the question's expected
answers. SQuAD's questions copy their paragraph's words, the BBC ones do
not, so the two datasets get equal total weight in the fit.

Two models are fitted, in order: the choice model (which sentence, from the
cheap evidence; listwise, a softmax over each question's sentences) and the
answerable model (logistic: does the chosen sentence answer at all). Its
threshold is the highest one that keeps false refusals on the fitting half
within 5% (BBC) and 10% (SQuAD), with every question read exactly as
``Reader.read`` reads it. (Until 2026-12-08 it also fitted the "accurate"
reader's models, with the cross-encoder; the default reader's choice and
refusal are fitted by ``fit_trained_reader.py``.)

``--write`` writes the fitted weights to qa/models/reader_weights.json (what
``qa.weights.READER_WEIGHTS`` loads); without it they are only printed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import BBC, DATA, RESULTS, fit_listwise  # noqa: E402
from _squad import load_squad  # noqa: E402

from qa.answer.reader import question_evidence  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluation import contains_any  # noqa: E402
from qa.weights import (  # noqa: E402
    READER_WEIGHTS_FILE,
    FeatureWeights,
    LogisticModel,
    RankingModel,
)

DEV = ROOT / "benchmarks" / "data" / "bbc_dev.jsonl"
PASSAGES = Settings().top_k  # what the reader reads (and the top article's other chunks)
MAX_FALSE_REFUSALS = {"bbc": 0.05, "squad": 0.10}


@dataclass
class Sample:
    dataset: str  # "bbc" or "squad"
    half: str  # "fit" or "report"
    question: str
    answerable: bool
    rows: list[dict]  # per sentence: features, rank, label


def written(path: Path | None, dataset: str, half: str, limit: int, seed: int) -> list:
    """Questions in readers' words (training/build_written_data.py writes them): the
    training split's as more BBC questions to fit on, the held-out split's to report."""
    if path is None:
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if limit and len(rows) > limit:
        rows = random.Random(seed).sample(rows, limit)
    return [(dataset, half, r["question"], tuple(r["expect_any"]), r["answerable"]) for r in rows]


def questions(squad_path: Path, squad_n: int, seed: int, workdir: Path):
    dev = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
    dev = [d for d in dev if d["kind"] != "followup"]
    bbc = [
        (
            "bbc",
            "fit" if i % 2 == 0 else "report",
            d["question"],
            tuple(d["expect_any"]),
            d["answerable"],
        )
        for i, d in enumerate(dev)
    ]
    squad = load_squad(squad_path, workdir)
    rng = random.Random(seed)
    picked = []
    for answerable in (True, False):
        group = [q for q in squad.questions if q.answerable == answerable]
        picked += rng.sample(group, min(squad_n, len(group)))
    rows = [
        ("squad", "fit" if i % 2 == 0 else "report", q.question, q.answers, q.answerable)
        for i, q in enumerate(picked)
    ]
    return bbc, rows, squad


def collect(assistant, items) -> list[Sample]:
    """Every read sentence of each question, labelled."""
    from tqdm import tqdm

    samples = []
    reader = assistant.answerer.reader
    for dataset, half, question, answers, answerable in tqdm(
        items, desc=items[0][0], file=sys.stderr
    ):
        retrieval = assistant.retriever.search(question, PASSAGES)
        evidence = reader.evidence(retrieval)
        rows = [
            {
                **f,
                "rank": -1 if c.passage.sibling else c.rank,
                "text": c.text[:300],
                "label": bool(answerable and contains_any(c.text, answers)),
            }
            for c, f in evidence
        ]
        samples.append(Sample(dataset, half, question, answerable, rows))
    return samples


# The direction each piece of refusal evidence may push: more of it never makes an
# answer less likely to be there, except what is missing (the answer type, the
# question's names and numbers in the passage). Fitted freely,
# SQuAD 2.0's unanswerable questions (written to copy their paragraph's words) gave
# word coverage a negative weight, and an off-topic question's sentence sharing no
# word with it then passed the threshold ("Who won the 1998 football World Cup?" →
# "Police in Manchester arrested two men...", tests/test_refusal_stability.py).
NEVER_AGAINST_ANSWERING = ("type_missing", "keys_missing")


def logistic(
    X: list[list[float]], y: list[bool], groups: list[str], names: list[str]
) -> tuple[list[float], float]:
    """Logistic regression (L2, C=10) in which each dataset weighs the same in total and
    each weight keeps its evidence's direction: ≥ 0, or ≤ 0 for a missing answer type."""
    from scipy.optimize import minimize

    totals = {g: groups.count(g) for g in set(groups)}
    weight = np.array([len(groups) / (len(totals) * totals[g]) for g in groups])
    A, t = np.array(X, dtype=float), np.array(y, dtype=float)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        z = A @ w + b
        p = 1.0 / (1.0 + np.exp(-z))
        nll = weight @ (np.logaddexp(0.0, z) - t * z)
        g = weight * (p - t)
        return float(nll + 0.05 * w @ w), np.append(A.T @ g + 0.1 * w, g.sum())

    bounds = [(None, 0.0) if n in NEVER_AGAINST_ANSWERING else (0.0, None) for n in names]
    theta = minimize(
        loss, np.zeros(len(names) + 1), jac=True, method="L-BFGS-B", bounds=[*bounds, (None, None)]
    ).x
    return [round(float(v), 4) for v in theta[:-1]], round(float(theta[-1]), 4)


def as_model(
    names: list[str], fitted: tuple[list[float], float], cut: float = 0.0
) -> LogisticModel:
    return LogisticModel(weights=dict(zip(names, fitted[0])), bias=fitted[1], threshold=cut)


# Evidence about the passage rather than the sentence: whether to answer, not which
# sentence. Given to the fast choice model, it took a positive weight (more of the
# question's names missing, more likely chosen) and cost held-out SQuAD 0.775 → 0.770.
REFUSAL_ONLY = ("keys_missing",)


def candidates(sample: Sample) -> list[dict]:
    """The sentences the reader reads (samples made before 2026-12-08 hold the best 8
    passages; the top article's other chunks have rank -1 and are always read)."""
    return [r for r in sample.rows if r["rank"] < PASSAGES]


def ranked(rows: list[dict], model: RankingModel) -> list[tuple[float, dict]]:
    return sorted(zip(model.shares(rows), rows), key=lambda pr: -pr[0])


def read(sample: Sample, choice: RankingModel):
    """(rows best first, evidence for the answerable model) exactly as ``Reader.read``."""
    rows = candidates(sample)
    if not rows:
        return [], None
    order = ranked(rows, choice)
    return [r for _, r in order], question_evidence(order[0][1])


def fit_choice(samples: list[Sample], names: list[str]) -> RankingModel:
    """Listwise: maximise the answering sentences' softmax share, per question.

    Each dataset weighs the same in total; L2 keeps weights small.
    """
    sets = []
    for s in samples:
        if s.half != "fit" or not s.answerable:
            continue
        rows = candidates(s)
        if any(r["label"] for r in rows):
            sets.append(
                (
                    s.dataset,
                    np.array([[r[n] for n in names] for r in rows]),
                    np.array([r["label"] for r in rows]),
                )
            )
    w = fit_listwise(sets, len(names))
    return RankingModel(weights={n: round(float(v), 4) for n, v in zip(names, w)})


def fit_answerable(samples: list[Sample], choice: RankingModel) -> LogisticModel:
    X, y, groups, names = [], [], [], None
    for s in samples:
        if s.half != "fit":
            continue
        rows, evidence = read(s, choice)
        if evidence is None:
            continue
        names = names or sorted(evidence)
        X.append([evidence[n] for n in names])
        y.append(bool(s.answerable and rows[0]["label"]))
        groups.append(s.dataset)
    model = as_model(names, logistic(X, y, groups, names))
    scores: dict[str, list[float]] = {}
    for s in samples:
        if s.half == "fit" and s.answerable:
            _, evidence = read(s, choice)
            scores.setdefault(s.dataset, []).append(
                model.probability(evidence) if evidence else 0.0
            )
    cut = min(sorted(v)[int(MAX_FALSE_REFUSALS[d] * len(v))] for d, v in scores.items())
    return LogisticModel(model.weights, model.bias, round(float(cut) * 0.999, 4))


def report(samples: list[Sample], choice: RankingModel, answerable) -> dict[str, dict]:
    out = {}
    for dataset in ("bbc", "squad", "written"):
        held = [s for s in samples if s.dataset == dataset and s.half == "report"]
        if not held:
            continue
        reads = []
        for s in held:
            rows, evidence = read(s, choice)
            p = answerable.probability(evidence) if evidence else 0.0
            reads.append((s.answerable, p >= answerable.threshold, bool(rows and rows[0]["label"])))
        ans = [r for r in reads if r[0]]
        una = [r for r in reads if not r[0]]
        out[dataset] = {
            "questions": f"{len(ans)}+{len(una)}",
            "best sentence holds answer": sum(r[2] for r in ans) / max(len(ans), 1),
            "answered and right": sum(r[1] and r[2] for r in ans) / max(len(ans), 1),
            "false refusals": sum(not r[1] for r in ans) / max(len(ans), 1),
            "refusal recall": sum(not r[1] for r in una) / max(len(una), 1),
        }
    return out


def cached(path: Path, reuse: bool, make) -> list[Sample]:
    """The samples saved at ``path`` when ``reuse`` and they exist, else made and saved."""
    if reuse and path.exists():
        return [Sample(**s) for s in json.loads(path.read_text())]
    samples = make()
    path.write_text(json.dumps([s.__dict__ for s in samples]))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True, help="an index of seeds/ + all BBC articles")
    parser.add_argument("--squad", type=Path, default=DATA / "squad" / "dev-v2.0.json")
    parser.add_argument(
        "--squad-questions",
        type=int,
        default=400,
        help="answerable and as many unanswerable SQuAD questions",
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--written-train",
        type=Path,
        help="BBC questions in readers' words to fit on too (written-train-questions.jsonl)",
    )
    parser.add_argument(
        "--written-train-questions", type=int, default=600, help="at most this many of them"
    )
    parser.add_argument(
        "--written-dev",
        type=Path,
        help="the held-out split to report on (written-dev-questions.jsonl)",
    )
    parser.add_argument("--write", action="store_true", help="write qa/models/reader_weights.json")
    parser.add_argument(
        "--reuse-samples",
        action="store_true",
        help="reuse the labelled sentences of the last run with the same "
        "--squad-questions and --seed (only the fit is redone)",
    )
    args = parser.parse_args()

    from qa import Assistant

    work = RESULTS / "fit-work"
    work.mkdir(parents=True, exist_ok=True)
    bbc_items, squad_items, squad = questions(args.squad, args.squad_questions, args.seed, work)
    bbc_dev = list(bbc_items)
    bbc_items += written(args.written_train, "bbc", "fit", args.written_train_questions, args.seed)
    bbc_items += written(args.written_dev, "written", "report", 0, args.seed)
    tag = f"{args.squad_questions}-{args.seed}-{len(bbc_items)}"
    squad_dir = work / "squad-index"
    squad_index = Assistant(index_dir=squad_dir, reader="fast")
    squad_index.ingest(squad.corpus_paths, show_progress=True)
    big = Assistant(index_dir=args.index, reader="fast")
    if big.stats().articles < 2000:
        big.ingest([ROOT / "seeds", BBC], show_progress=True)
    samples = cached(
        work / f"samples-fast-v7-{tag}.json",
        args.reuse_samples,
        lambda: collect(big, bbc_items) + collect(squad_index, squad_items),
    )

    raw = [n for n in samples[0].rows[0] if n not in ("rank", "label", "text", *REFUSAL_ONLY)]
    choice = fit_choice(samples, raw)
    answerable = fit_answerable(samples, choice)
    extra = sum(1 for item in bbc_items if item[0] == "bbc" and item not in bbc_dev)
    fitted_on = (
        "even half of benchmarks/data/bbc_dev.jsonl (single questions)"
        + (f", {extra} written BBC training questions" if extra else "")
        + f" and {2 * args.squad_questions} SQuAD 2.0 dev questions (seed {args.seed})"
    )
    fitted = FeatureWeights(
        fast=choice,
        fast_answerable=answerable,
        version=f"{time.strftime('%Y-%m-%d')} fit",
        fitted_on=fitted_on,
    )
    block = json.dumps(fitted.to_dict(), indent=2) + "\n"
    print(block)
    from qa.weights import READER_WEIGHTS

    shipped = READER_WEIGHTS
    results = {
        "shipped": report(samples, shipped.fast, shipped.fast_answerable),
        "fitted": report(samples, choice, answerable),
    }
    print("\nHeld-out halves (the odd questions), as the fast reader reads them:")
    for mode, by_dataset in results.items():
        for dataset, row in by_dataset.items():
            cells = "  ".join(
                f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
            )
            print(f"  {mode:8} {dataset:5}  {cells}")
    (RESULTS / "fit_reader.json").write_text(
        json.dumps({"block": block, "held_out": results}, indent=2)
    )
    if args.write:
        READER_WEIGHTS_FILE.write_text(block)
        print(f"\nwrote {READER_WEIGHTS_FILE}")


if __name__ == "__main__":
    main()
