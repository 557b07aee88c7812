"""Fit the trained reader's calibration and refusal threshold (qa/models/reader/calibration.json).

    python benchmarks/fit_trained_reader.py --bbc-index /tmp/bbc-work/ours [--write]

The reader's answer probability is a logistic model of the best sentence's
logit and of the hand-made evidence of what the question asks for
(``WEIGHED``: the share of the question's details its passage holds, its
names and numbers missing from the passage, the kind of answer missing from
the sentence). Every ``QUESTION_EVIDENCE`` feature is recorded, and the fit
with all of them printed too: the vector similarities among them refuse short
questions ("Who is Martin Hewitt?" is far from any passage's vector, answered
or not), so they are left out. It is fitted (logistic regression) on
questions the model never trained on, labelled 1 when the reader's answer
holds an expected answer and 0 otherwise (wrong, or unanswerable), and
printed beside the logit alone:

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
import random
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import BBC, DATA, RESULTS  # noqa: E402
from _squad import load_squad  # noqa: E402

from qa.answer.answer_model import MODEL_DIR  # noqa: E402
from qa.answer.features import QUESTION_EVIDENCE, Feature  # noqa: E402
from qa.evaluation import EvalQuestion, contains_any, load_question_file  # noqa: E402
from qa.weights import LogisticModel  # noqa: E402

FIRST10 = DATA / "squad-train" / "train-v2.0-first10.json"
DEV = ROOT / "benchmarks" / "data" / "bbc_dev.jsonl"
MAX_FALSE_REFUSALS = {"bbc": 0.05, "squad": 0.10, "written": 0.05}
READINGS = RESULTS / "trained_reader_readings.json"


FEATURES = (Feature.ANSWER, *QUESTION_EVIDENCE)  # recorded
WEIGHED = (Feature.ANSWER, Feature.DETAIL_COVERAGE, Feature.TYPE_MISSING, Feature.KEYS_MISSING)


class Recording:
    """The reader, keeping its last reading: the fit needs the best sentence's features."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.last: Any = None

    @property
    def threshold(self) -> float:
        return 0.0  # never refuse: every question's best sentence is recorded

    def read(self, retrieval: Any) -> Any:
        self.last = self.reader.read(retrieval)
        return self.last


def read_all(questions: list[EvalQuestion], corpus: list[Path], index: Path) -> list[dict]:
    """Each question through ``Assistant.ask``; the features of the sentence it quoted first."""
    from qa.assistant import Assistant

    assistant = Assistant(index_dir=index, reader="default")
    assistant.ingest(corpus, show_progress=True)
    recording = Recording(assistant.answerer.reader)  # type: ignore[attr-defined]
    assistant.answerer.reader = recording  # type: ignore[attr-defined]
    rows = []
    for number, q in enumerate(questions, start=1):
        history: list[dict[str, str]] = []
        for earlier in q.history:
            history += [
                {"role": "user", "content": earlier},
                {"role": "assistant", "content": assistant.ask(earlier, history).text},
            ]
        recording.last = None
        answer = assistant.ask(q.question, history)
        best = recording.last.sentences[0].features if recording.last.sentences else {}
        rows.append(
            {
                "question": q.question,
                "answerable": q.answerable,
                "kind": q.kind,
                "features": {f.value: float(best.get(f, 0.0)) for f in FEATURES},
                "hit": bool(q.answerable and contains_any(answer.text, q.answers)),
            }
        )
        if number % 50 == 0:
            print(f"  {number}/{len(questions)}", flush=True)
    return rows


def probabilities(rows: list[dict], model: LogisticModel) -> list[float]:
    return [model.probability({Feature(k): v for k, v in r["features"].items()}) for r in rows]


def highest_threshold(groups: dict[str, list[dict]], model: LogisticModel) -> float:
    """The highest threshold whose false refusals stay within each group's limit."""
    best = 0.0
    for step in range(1, 100):
        t = step / 100
        ok = True
        for name, rows in groups.items():
            answerable = [r for r in rows if r["answerable"]]
            refused = sum(p < t for p in probabilities(answerable, model))
            ok &= refused / max(len(answerable), 1) <= MAX_FALSE_REFUSALS[name]
        if ok:
            best = t
    return best


def report(name: str, rows: list[dict], model: LogisticModel) -> str:
    t = model.threshold
    prob = probabilities(rows, model)
    ans = [(r, p) for r, p in zip(rows, prob) if r["answerable"]]
    una = [(r, p) for r, p in zip(rows, prob) if not r["answerable"]]
    hit = sum(r["hit"] and p >= t for r, p in ans) / max(len(ans), 1)
    refused = sum(p < t for _, p in una) / max(len(una), 1)
    false = sum(p < t for _, p in ans) / max(len(ans), 1)
    return f"| {name} | {len(ans)} | {len(una)} | {hit:.3f} | {refused:.3f} | {false:.3f} |"


def fit(groups: dict[str, list[dict]], features: tuple[Feature, ...]) -> LogisticModel:
    """Weighted logistic regression, each source weighing the same; then the threshold."""
    from sklearn.linear_model import LogisticRegression

    xs, ys, ws = [], [], []
    for rows in groups.values():
        for r in rows:
            xs.append([r["features"][f.value] for f in features])
            ys.append(1.0 if r["hit"] else 0.0)
            ws.append(1.0 / len(rows))
    x, y = np.array(xs), np.array(ys)
    w = np.array(ws) * len(xs) / len(groups)  # SQuAD's 648 questions would drown BBC's 139
    model = LogisticRegression(C=100.0, max_iter=1000).fit(x, y, sample_weight=w)
    weights = {f: round(float(c), 4) for f, c in zip(features, model.coef_[0])}
    fitted = LogisticModel(weights, round(float(model.intercept_[0]), 4))
    return replace(fitted, threshold=highest_threshold(groups, fitted))


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

    models = {
        "the logit alone": fit(groups, (Feature.ANSWER,)),
        "with all the evidence": fit(groups, FEATURES),
        "with what the question asks for (written)": fit(groups, WEIGHED),
    }
    for title, model in models.items():
        print(f"{title}: {dict((f.value, w) for f, w in model.weights.items())}")
        print(f"bias {model.bias} threshold {model.threshold:.2f}")
        print("| fitting set | answerable | unanswerable | answer hit | refused | false refusals |")
        print("|---|---|---|---|---|---|")
        for name, rows in groups.items():
            print(report(name, rows, model))
    if args.write:
        chosen = models["with what the question asks for (written)"]
        sources = {
            "squad": "SQuAD 2.0 train first10",
            "bbc": "benchmarks/data/bbc_dev.jsonl",
            "written": "training/data held-out split (written-dev-questions)",
        }
        (MODEL_DIR / "calibration.json").write_text(
            json.dumps(
                {
                    "weights": {f.value: w for f, w in chosen.weights.items()},
                    "bias": chosen.bias,
                    "threshold": chosen.threshold,
                    "fitted_by": "benchmarks/fit_trained_reader.py",
                    "fitted_on": "; ".join(sources[name] for name in groups),
                },
                indent=2,
            )
            + "\n"
        )
        print(f"wrote {MODEL_DIR / 'calibration.json'}")


if __name__ == "__main__":
    main()
