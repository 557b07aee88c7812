"""Fit the trained reader's calibration and refusal threshold (qa/models/reader/calibration.json).

    python benchmarks/fit_trained_reader.py --bbc-index /tmp/bbc-work/ours [--write]

The reader's answer probability is sigmoid(scale * logit + bias) of the best
sentence's logit. It is fitted (logistic regression) on questions the model
never trained on, labelled 1 when the reader's answer holds an expected
answer and 0 otherwise (wrong, or unanswerable):

- SQuAD 2.0 train, first 10 articles (../shared/data/squad-train/
  train-v2.0-first10.json, left out of training): up to ``--squad-answerable``
  answerable questions and all 348 unanswerable ones, over an index of its
  694 paragraphs;
- the BBC dev set (benchmarks/data/bbc_dev.jsonl) over seeds/ + all 2,225
  BBC articles, follow-ups asked after their history as a user would;
- with ``--written-dev``, the written questions' held-out split
  (``build/reader-data/written-dev-questions.jsonl``, written by
  ``training/build_written_data.py``): headline questions and near misses
  about stories the reader never trained on, over the same index.

The threshold is the highest that keeps false refusals within 5% on the BBC
dev set and 10% on SQuAD. The BBC check set and SQuAD 2.0 dev are never read
here: they are for measuring (``qa eval``). Readings are cached in
``benchmarks/results/trained_reader_readings.json`` (``--reuse``).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import BBC, DATA, RESULTS  # noqa: E402
from _squad import load_squad  # noqa: E402

from qa.answer.answer_model import MODEL_DIR  # noqa: E402
from qa.evaluation import EvalQuestion, contains_any, load_question_file  # noqa: E402

FIRST10 = DATA / "squad-train" / "train-v2.0-first10.json"
DEV = ROOT / "benchmarks" / "data" / "bbc_dev.jsonl"
MAX_FALSE_REFUSALS = {"bbc": 0.05, "squad": 0.10, "written": 0.05}
READINGS = RESULTS / "trained_reader_readings.json"


def read_all(questions: list[EvalQuestion], corpus: list[Path], index: Path) -> list[dict]:
    """Each question through ``Assistant.ask``, with an identity calibration: the logit back."""
    from qa.answer.trained_reader import Calibration
    from qa.assistant import Assistant

    assistant = Assistant(index_dir=index, reader="trained")
    assistant.ingest(corpus, show_progress=True)
    reader = assistant.answerer.reader  # type: ignore[attr-defined]
    reader.calibration = Calibration(1.0, 0.0, 0.0)  # never refuse; confidence = sigmoid(logit)
    rows = []
    for number, q in enumerate(questions, start=1):
        history: list[dict[str, str]] = []
        for earlier in q.history:
            history += [
                {"role": "user", "content": earlier},
                {"role": "assistant", "content": assistant.ask(earlier, history).text},
            ]
        answer = assistant.ask(q.question, history)
        c = min(max(answer.confidence, 1e-9), 1 - 1e-9)
        rows.append(
            {
                "question": q.question,
                "answerable": q.answerable,
                "kind": q.kind,
                "logit": math.log(c / (1 - c)),
                "hit": bool(q.answerable and contains_any(answer.text, q.answers)),
            }
        )
        if number % 50 == 0:
            print(f"  {number}/{len(questions)}", flush=True)
    return rows


def highest_threshold(groups: dict[str, list[dict]], a: float, b: float) -> float:
    """The highest threshold whose false refusals stay within each group's limit."""
    best = 0.0
    for step in range(1, 100):
        t = step / 100
        ok = True
        for name, rows in groups.items():
            answerable = [r for r in rows if r["answerable"]]
            refused = sum(1 / (1 + math.exp(-(a * r["logit"] + b))) < t for r in answerable)
            ok &= refused / max(len(answerable), 1) <= MAX_FALSE_REFUSALS[name]
        if ok:
            best = t
    return best


def report(name: str, rows: list[dict], a: float, b: float, t: float) -> str:
    prob = [1 / (1 + math.exp(-(a * r["logit"] + b))) for r in rows]
    ans = [(r, p) for r, p in zip(rows, prob) if r["answerable"]]
    una = [(r, p) for r, p in zip(rows, prob) if not r["answerable"]]
    hit = sum(r["hit"] and p >= t for r, p in ans) / max(len(ans), 1)
    refused = sum(p < t for _, p in una) / max(len(una), 1)
    false = sum(p < t for _, p in ans) / max(len(ans), 1)
    return f"| {name} | {len(ans)} | {len(una)} | {hit:.3f} | {refused:.3f} | {false:.3f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bbc-index", type=Path, required=True)
    parser.add_argument("--squad-index", type=Path, default=Path("/tmp/qa-first10"))
    parser.add_argument("--squad-answerable", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--written-dev", type=Path, help="the written held-out questions too")
    parser.add_argument("--reuse", action="store_true", help="fit on the cached readings")
    parser.add_argument("--write", action="store_true", help="write calibration.json")
    args = parser.parse_args()

    if args.reuse and READINGS.exists():
        groups = json.loads(READINGS.read_text())
    else:
        args.squad_index.mkdir(parents=True, exist_ok=True)
        squad = load_squad(FIRST10, args.squad_index)
        rng = random.Random(args.seed)
        answerable = [q for q in squad.questions if q.answerable]
        questions = rng.sample(answerable, args.squad_answerable) + [
            q for q in squad.questions if not q.answerable
        ]
        bbc = load_question_file(DEV, [ROOT / "seeds", BBC])
        groups = {
            "squad": read_all(questions, squad.corpus_paths, args.squad_index / "index"),
            "bbc": read_all(bbc.questions, bbc.corpus_paths, args.bbc_index),
        }
        if args.written_dev:
            written = load_question_file(args.written_dev, [ROOT / "seeds", BBC])
            groups["written"] = read_all(written.questions, written.corpus_paths, args.bbc_index)
        RESULTS.mkdir(parents=True, exist_ok=True)
        READINGS.write_text(json.dumps(groups))

    # equal total weight to each source: SQuAD's 648 questions would drown BBC's 139
    xs, ys, ws = [], [], []
    for rows in groups.values():
        for r in rows:
            xs.append(r["logit"])
            ys.append(1.0 if r["hit"] else 0.0)
            ws.append(1.0 / len(rows))
    x, y, w = np.array(xs), np.array(ys), np.array(ws) * len(xs) / len(groups)
    a, b = fit_weighted(x, y, w)
    t = highest_threshold(groups, a, b)
    print(f"scale {a:.4f} bias {b:.4f} threshold {t:.2f}")
    print("| fitting set | answerable | unanswerable | answer hit | refused | false refusals |")
    print("|---|---|---|---|---|---|")
    for name, rows in groups.items():
        print(report(name, rows, a, b, t))
    if args.write:
        (MODEL_DIR / "calibration.json").write_text(
            json.dumps(
                {
                    "scale": round(a, 4),
                    "bias": round(b, 4),
                    "threshold": t,
                    "fitted_by": "benchmarks/fit_trained_reader.py",
                    "fitted_on": "; ".join(
                        {
                            "squad": "SQuAD 2.0 train first10",
                            "bbc": "benchmarks/data/bbc_dev.jsonl",
                            "written": "training/data held-out split (written-dev-questions)",
                        }[name]
                        for name in groups
                    ),
                },
                indent=2,
            )
            + "\n"
        )
        print(f"wrote {MODEL_DIR / 'calibration.json'}")


def fit_weighted(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted logistic regression of y on x (scikit-learn, lightly regularised)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=100.0).fit(x.reshape(-1, 1), y, sample_weight=w)
    return float(model.coef_[0][0]), float(model.intercept_[0])


if __name__ == "__main__":
    main()
