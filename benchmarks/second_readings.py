"""Measure two second readings of the reader's sentences, measured and left out.

    python benchmarks/second_readings.py --index /path/to/seeds+bbc-index [--squad-questions 250]

The reader's cross-encoder (ms-marco) rates a sentence by how relevant it is to
the question, so a sentence repeating the question's names rates high whether
or not it answers. Two cheap second readings might tell the answering
sentence, or a question the articles don't answer, from that:

- **names-out reading**: the same cross-encoder reads the question without its
  names ("When did Rick Parry become Liverpool's chief executive?" → "When did
  become chief executive"), so only what is asked about them can match;
- **word alignment**: the late-interaction (ColBERT) model in the same wheel
  (answerai-colbert-small-v1, int8 ONNX) embeds every word piece; each content
  word of the question is matched to its closest word in the chosen sentence.
  A near miss ("Which hospital treated Kenteris?") and SQuAD 2.0's
  unanswerable questions usually hold one word that nothing in the sentence
  matches, so the worst-matched word should speak for a refusal.

For each question (the BBC dev and check sets' single questions over seeds/ +
all BBC articles in one index; a sample of SQuAD 2.0 dev questions, half of
them unanswerable, over their own paragraphs) the accurate reader reads the
passages as it does in ``Assistant.ask``. The choice table counts the
answerable questions whose best sentence by log(share) + weight × names-out
logit holds the answer; weight 0 is the reader as it is. The refusal table
gives refusal recall at 5% and 10% false refusals, for the reader's own
probability alone and with each reading beside it (a logistic model over the
two, cross-validated in 5 folds, so no question scores itself). Prints both,
writes JSON to benchmarks/results/second_readings.json.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATA, RESULTS, print_table, write_json  # noqa: E402

from qa.crossencoder import CrossEncoder, cross_input, packaged_model_dir  # noqa: E402

SETS = {
    "BBC dev": ROOT / "benchmarks" / "data" / "bbc_dev.jsonl",
    "BBC check": ROOT / "benchmarks" / "data" / "bbc_check.jsonl",
}
WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5)
FALSE_REFUSALS = (0.05, 0.10)
# Words that carry no content of their own: a question's alignment skips them.
_FUNCTION_WORDS = set(
    "a an the of in on at to for by with from and or is was were are be been did do does what "
    "which who whom whose when where why how much many that this it its his her their they he "
    "she has have had as about into after before over than".split()
)


class WordAligner:
    """How well each content word of a question is matched by some word of a text.

    The ColBERT model's word-piece states, compared by cosine: its trained
    128-dimension projection is not in the packaged graph, so the whole state
    is used. A word's match is the mean over its pieces of the best cosine.
    """

    def __init__(self) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        folder = packaged_model_dir().parent / "colbert"
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(256)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 2
        self._session = onnxruntime.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def _states(self, text: str):
        encoded = self._tokenizer.encode(text)
        ids = np.array([encoded.ids], dtype=np.int64)
        states = self._session.run(
            None,
            {
                "input_ids": ids,
                "attention_mask": np.ones_like(ids),
                "token_type_ids": np.zeros_like(ids),
            },
        )[0][0]
        return states / np.linalg.norm(states, axis=1, keepdims=True), encoded

    def word_matches(self, question: str, text: str) -> list[float]:
        asked, encoded = self._states(f"[unused0] {question}")
        read, _ = self._states(f"[unused1] {text}")
        best = (asked @ read[1:-1].T).max(axis=1)
        pieces: dict[int, list[int]] = {}
        for i, word in enumerate(encoded.word_ids):
            if word is not None and i > 1:
                pieces.setdefault(word, []).append(i)
        source = f"[unused0] {question}"
        matches = []
        for indexes in pieces.values():
            word = source[encoded.offsets[indexes[0]][0] : encoded.offsets[indexes[-1]][1]]
            if word.lower() not in _FUNCTION_WORDS and re.match(r"\w", word):
                matches.append(float(best[indexes].mean()))
        return matches or [1.0]


def question_sets(squad, count: int, seed: int) -> tuple[dict, list[dict]]:
    """The BBC sets' single questions, and a SQuAD sample (``squad`` from
    ``qa.evaluation.load_squad``): ``count`` answerable, ``count`` not."""
    bbc = {
        name: [
            row
            for row in (json.loads(line) for line in path.read_text().splitlines() if line.strip())
            if not row.get("history_questions")
        ]
        for name, path in SETS.items()
    }
    questions = [
        {"question": q.question, "answerable": q.answerable, "expect_any": list(q.answers)}
        for q in squad.questions
    ]
    random.Random(seed).shuffle(questions)
    answerable = [q for q in questions if q["answerable"]][:count]
    unanswerable = [q for q in questions if not q["answerable"]][:count]
    return bbc, answerable + unanswerable


def read_all(assistant, questions: list[dict], aligner: WordAligner) -> list[dict]:
    """Per question: the reader's probability, and per sentence read its share,
    label and names-out logit; the best sentence's word matches."""
    from tqdm import tqdm

    from qa.evaluation import contains_any
    from qa.filters import NO_FILTERS
    from qa.reader import detail_words

    reader = assistant.answerer.reader
    scorer = CrossEncoder()
    rows = []
    for q in tqdm(questions, file=sys.stderr):
        retrieval = assistant.retriever.search(q["question"], None, (), NO_FILTERS)
        reading = reader.read(retrieval)
        if not reading.sentences:
            rows.append({"answerable": q["answerable"], "p": 0.0, "sentences": [], "words": [1.0]})
            continue
        read = reading.sentences
        names_out = scorer.score(
            detail_words(q["question"]), [cross_input(s.passage.chunk.title, s.text) for s in read]
        )
        best = read[0]
        rows.append(
            {
                "answerable": q["answerable"],
                "p": reading.answerable,
                "sentences": [
                    {
                        "share": s.probability,
                        "names_out": float(x),
                        "label": bool(q["answerable"] and contains_any(s.text, q["expect_any"])),
                    }
                    for s, x in zip(read, names_out)
                ],
                "words": aligner.word_matches(
                    q["question"], cross_input(best.passage.chunk.title, best.text)
                ),
            }
        )
    return rows


def chosen_right(rows: list[dict], weight: float) -> int:
    right = 0
    for row in rows:
        if not row["answerable"] or not row["sentences"]:
            continue
        best = max(
            row["sentences"],
            key=lambda s: math.log(max(s["share"], 1e-12)) + weight * s["names_out"],
        )
        right += best["label"]
    return right


def refusal_recall(scores: np.ndarray, answerable: np.ndarray, most: float) -> float:
    """The most unanswerable questions refused by any threshold refusing at most
    ``most`` of the answerable ones."""
    best = 0.0
    for threshold in np.unique(scores):
        refused = scores < threshold
        if refused[answerable].mean() <= most:
            best = max(best, float(refused[~answerable].mean()))
    return best


def cross_validated(columns: list[np.ndarray], answerable: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    features = np.column_stack(columns)
    out = np.zeros(len(answerable))
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    for train, test in folds.split(features, answerable):
        model = LogisticRegression().fit(features[train], answerable[train])
        out[test] = model.decision_function(features[test])
    return out


def refusal_rows(rows: list[dict]) -> dict[str, list[float]]:
    answerable = np.array([r["answerable"] for r in rows])
    logit = np.array([math.log(max(r["p"], 1e-4) / max(1 - r["p"], 1e-4)) for r in rows])
    extra = {
        "worst-matched word": np.array([min(r["words"]) for r in rows]),
        "mean word match": np.array([float(np.mean(r["words"])) for r in rows]),
        "names-out logit": np.array(
            [r["sentences"][0]["names_out"] if r["sentences"] else -20.0 for r in rows]
        ),
    }
    out = {"reader alone": [refusal_recall(logit, answerable, m) for m in FALSE_REFUSALS]}
    for name, column in extra.items():
        scores = cross_validated([logit, column], answerable)
        out[f"+ {name}"] = [refusal_recall(scores, answerable, m) for m in FALSE_REFUSALS]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True, help="an index of seeds/ + all BBC articles")
    parser.add_argument("--squad", type=Path, default=DATA / "squad" / "dev-v2.0.json")
    parser.add_argument("--squad-questions", type=int, default=250, help="of each kind")
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()

    from qa import Assistant
    from qa.evaluation import load_squad

    work = RESULTS / "context-work"
    work.mkdir(parents=True, exist_ok=True)
    squad = load_squad(args.squad, work)
    squad_assistant = Assistant(index_dir=work / "squad-index", reader="accurate")
    squad_assistant.ingest(squad.corpus_paths, show_progress=True)
    big = Assistant(index_dir=args.index, reader="accurate")
    if big.stats().articles < 2000:
        raise SystemExit(f"{args.index} holds {big.stats().articles} articles: index seeds + BBC")
    bbc, squad_items = question_sets(squad, args.squad_questions, args.seed)
    aligner = WordAligner()
    read = {name: read_all(big, items, aligner) for name, items in bbc.items()}
    read["SQuAD"] = read_all(squad_assistant, squad_items, aligner)

    choice = {name: {w: chosen_right(rows, w) for w in WEIGHTS} for name, rows in read.items()}
    totals = {
        name: sum(1 for r in rows if r["answerable"] and any(s["label"] for s in r["sentences"]))
        for name, rows in read.items()
    }
    print_table(
        "Best sentence holds the answer, by log(share) + weight × names-out logit "
        "(answerable questions whose answer the reader read)",
        ["weight", *read],
        [[w, *(f"{choice[n][w]} / {totals[n]}" for n in read)] for w in WEIGHTS],
    )
    pooled = {"BBC dev + check": read["BBC dev"] + read["BBC check"], "SQuAD": read["SQuAD"]}
    refusal = {name: refusal_rows(rows) for name, rows in pooled.items()}
    columns = [f"{n} @{int(m * 100)}%" for n in pooled for m in FALSE_REFUSALS]
    readings = list(next(iter(refusal.values())))
    print()
    print_table(
        "Refusal recall at most 5% / 10% false refusals (5-fold cross-validated)",
        ["evidence", *columns],
        [[e, *(v for n in pooled for v in refusal[n][e])] for e in readings],
    )
    write_json(
        "second_readings.json",
        {"choice": choice, "totals": totals, "refusal": refusal, "seed": args.seed},
    )


if __name__ == "__main__":
    main()
