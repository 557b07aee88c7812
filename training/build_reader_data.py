"""Training examples for the reader model, built from SQuAD 1.1 train.

One example is what the reader sees when serving: a question and one chunk
of an article, cut by the project's own sentence splitter and chunker
(``qa.chunking``, at the index's 200 word pieces), with every sentence
labelled "holds the answer" or not, and the answer's character span when
the chunk holds it. Two kinds:

- positive: the chunk of the question's paragraph that holds the answer; its
  other sentences are the on-topic sentences that do not answer;
- retrieved negative: the best-ranked chunk (BM25 with the project's
  analyzer, over every chunk of the training paragraphs) that does not hold
  the answer text: mostly another paragraph of the same article, the near
  miss the reader must learn to score low;
- answer-removed negative: the positive chunk with its answer sentences cut
  out: the same story, the same names, every word of the question, and no
  answer. This is the question a reader must refuse, written about the
  passage it reads (what SQuAD 2.0's unanswerables are, without a writer);

and two changes to positives that take away what SQuAD lets a model lean on
(its questions were written looking at the paragraph, so the answer
sentence is nearly always the one that shares most of their words):

- a spliced distractor: in about half the positives, the sentence of the
  retrieved negative that shares most of the question's words is inserted
  at a random sentence boundary, labelled "does not answer": a topic
  sentence that repeats the question but does not give what it asks;
- dropped question words: in about a third of the examples, one or two of
  the question's content words that the passage repeats are removed, so
  the question no longer copies the passage (a crude paraphrase).

Articles are split for validation by article. The 10 articles that
``train-v2.0-first10.json`` shares are left out of training altogether: the
refusal threshold is fitted on their unanswerable questions.

    python training/build_reader_data.py --out build/reader-data
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.analysis import shared_analyzer  # noqa: E402
from qa.chunking import make_chunks  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "squad-train"
CHUNK_TOKENS = 200  # qa.assistant.CHUNK_TOKENS
VALIDATION_ARTICLES = 12


def _tokenizer_counter():
    from tokenizers import Tokenizer

    from qa.crossencoder import packaged_model_dir

    tokenizer = Tokenizer.from_file(str(packaged_model_dir() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def count(texts):
        return [len(e.ids) for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    return count


def _chunks(article_id: str, text: str, count) -> list[dict]:
    out = []
    for chunk in make_chunks(article_id, text, count, CHUNK_TOKENS):
        out.append(
            {
                "start": chunk.start,
                "end": chunk.end,
                "sentences": [(s - chunk.start, e - chunk.start) for s, e in chunk.sentences],
            }
        )
    return out


def _example(question, title, paragraph, chunk, answer):
    text = paragraph[chunk["start"] : chunk["end"]]
    labels, span = [0] * len(chunk["sentences"]), None
    if answer is not None:
        a_start = answer[0] - chunk["start"]
        a_end = answer[1] - chunk["start"]
        if 0 <= a_start and a_end <= len(text):
            span = (a_start, a_end)
            labels = [int(s < a_end and a_start < e) for s, e in chunk["sentences"]]
    return {
        "question": question,
        "title": title,
        "text": text,
        "sentences": chunk["sentences"],
        "labels": labels,
        "answer": span,
    }


def _removed(example: dict) -> dict | None:
    """The example with its answer sentences cut out, or None if nothing would be left."""
    kept = [
        example["text"][s:e]
        for (s, e), label in zip(example["sentences"], example["labels"])
        if not label
    ]
    if not kept:
        return None
    return _joined(example, kept, [0] * len(kept), None)


def _joined(example: dict, parts: list[str], labels: list[int], answer) -> dict:
    text, sentences = "", []
    for part in parts:
        if text:
            text += " "
        sentences.append((len(text), len(text) + len(part)))
        text += part
    return {**example, "text": text, "sentences": sentences, "labels": labels, "answer": answer}


def _spliced(example: dict, distractor: str, rng: random.Random) -> dict:
    """The positive with ``distractor`` inserted at a random sentence boundary."""
    where = rng.randrange(len(example["sentences"]) + 1)
    parts = [example["text"][s:e] for s, e in example["sentences"]]
    labels = list(example["labels"])
    parts.insert(where, distractor)
    labels.insert(where, 0)
    out = _joined(example, parts, labels, None)
    a_start, a_end = example["answer"]
    holder = next(i for i, (s, e) in enumerate(example["sentences"]) if s <= a_start < e)
    shift = out["sentences"][holder + (holder >= where)][0] - example["sentences"][holder][0]
    out["answer"] = (a_start + shift, a_end + shift)
    return out


def _best_overlap(question_terms: set[str], example: dict, analyzer) -> str | None:
    """The sentence of ``example`` sharing most of the question's terms (at least two)."""
    best, best_shared = None, 1
    for s, e in example["sentences"]:
        sentence = example["text"][s:e]
        shared = len(question_terms & set(analyzer.terms(sentence)))
        if shared > best_shared and len(sentence.split()) <= 40:
            best, best_shared = sentence, shared
    return best


WH_WORDS = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "many", "much"}


def _drop_words(question: str, passage: str, analyzer, rng: random.Random) -> str:
    """``question`` without one or two of its content words that the passage repeats."""
    passage_terms = set(analyzer.terms(passage))
    words = question.split()
    candidates = [
        i
        for i, w in enumerate(words)
        if i > 0
        and w.lower().strip("?,.'\"") not in WH_WORDS
        and len(w) > 3
        and set(analyzer.terms(w)) & passage_terms
    ]
    if len(words) < 6 or not candidates:
        return question
    drop = set(rng.sample(candidates, min(len(candidates), rng.choice((1, 2)))))
    return " ".join(w for i, w in enumerate(words) if i not in drop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, default=DATA / "train-v1.1.json")
    parser.add_argument("--held-out", type=Path, default=DATA / "train-v2.0-first10.json")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "reader-data")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--splice-share", type=float, default=0.5)
    parser.add_argument("--drop-share", type=float, default=0.3)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    count = _tokenizer_counter()
    held_out = {a["title"] for a in json.loads(args.held_out.read_text())["data"]}
    articles = [a for a in json.loads(args.train.read_text())["data"] if a["title"] not in held_out]
    rng.shuffle(articles)
    validation = {a["title"] for a in articles[:VALIDATION_ARTICLES]}

    # every chunk of every paragraph: (article index, paragraph index, chunk)
    paragraphs: list[tuple[int, str, str, list[dict]]] = []
    for a_i, article in enumerate(articles):
        title = article["title"].replace("_", " ")
        for p in article["paragraphs"]:
            paragraphs.append((a_i, title, p["context"], _chunks(f"{a_i}", p["context"], count)))
    flat = [(p_i, c_i) for p_i, p in enumerate(paragraphs) for c_i in range(len(p[3]))]
    print(f"{len(articles)} articles, {len(paragraphs)} paragraphs, {len(flat)} chunks", flush=True)

    import bm25s

    analyzer = shared_analyzer()
    corpus = [
        analyzer.terms(f"{paragraphs[p][1]}\n{paragraphs[p][2][c['start'] : c['end']]}")
        for p, c in ((p, paragraphs[p][3][c]) for p, c in flat)
    ]
    bm25 = bm25s.BM25()
    bm25.index(bm25s.tokenization.Tokenized(*_vocab_ids(corpus)), show_progress=False)

    args.out.mkdir(parents=True, exist_ok=True)
    files = {s: (args.out / f"{s}.jsonl").open("w") for s in ("train", "validation")}
    written = {"train": 0, "validation": 0, "retrieved": 0, "removed": 0, "spliced": 0}
    qa_items = []
    p_i = 0
    for article in articles:
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                qa_items.append((p_i, qa))
            p_i += 1
    queries = [analyzer.terms(qa["question"]) for _, qa in qa_items]
    vocab = bm25.vocab_dict
    tokenized = [[vocab[t] for t in q if t in vocab] or [0] for q in queries]
    hits, _ = bm25.retrieve(tokenized, k=8, show_progress=False, n_threads=2)
    for (p_i, qa), terms, ranked in zip(qa_items, queries, hits):
        a_i, title, context, chunks = paragraphs[p_i]
        split = "validation" if articles[a_i]["title"] in validation else "train"
        answer = qa["answers"][0]
        span = (answer["answer_start"], answer["answer_start"] + len(answer["text"]))
        holding = [c for c in chunks if c["start"] <= span[0] and span[1] <= c["end"]]
        if not holding:
            continue  # the answer crosses a chunk boundary
        example = _example(qa["question"], title, context, holding[0], span)
        if not any(example["labels"]):
            continue
        negative = None
        for hit in ranked:
            hp, hc = flat[int(hit)]
            _, n_title, n_context, n_chunks = paragraphs[hp]
            chunk = n_chunks[hc]
            body = n_context[chunk["start"] : chunk["end"]]
            if (hp, hc) == (p_i, chunks.index(holding[0])) or answer[
                "text"
            ].lower() in body.lower():
                continue
            negative = _example(qa["question"], n_title, n_context, chunk, None)
            break
        removed = _removed(example)
        if removed and answer["text"].lower() in removed["text"].lower():
            removed = None  # the answer is said again in another sentence
        if split == "train":
            distractor = negative and _best_overlap(set(terms), negative, analyzer)
            if distractor and rng.random() < args.splice_share:
                example = _spliced(example, distractor, rng)
                written["spliced"] += 1
        for kind, row in (("positive", example), ("retrieved", negative), ("removed", removed)):
            if row is None:
                continue
            if split == "train" and rng.random() < args.drop_share:
                row = {**row, "question": _drop_words(row["question"], row["text"], analyzer, rng)}
            written[split if kind == "positive" else kind] += 1
            files[split].write(json.dumps({**row, "kind": kind}) + "\n")
    for f in files.values():
        f.close()
    print(json.dumps(written), flush=True)


def _vocab_ids(corpus: list[list[str]]) -> tuple[list[list[int]], dict[str, int]]:
    vocab: dict[str, int] = {"": 0}
    ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in corpus]
    return ids, vocab


if __name__ == "__main__":
    np.random.seed(0)
    main()
