"""The hand-written training questions (training/data/*.jsonl) and what they are checked against.

One module so that the checker, the batch maker and the trainer agree on
where an answer lives (a BBC article's ``text`` field, or a SQuAD
paragraph's ``context``), which articles are off limits, which articles
form the held-out split that chooses a checkpoint, and what "the question
repeats the answer sentence's words" means.

Every row: ``id``, ``question``, ``article`` (a BBC id, ``squad:<title>#<n>``
for SQuAD 1.1 train's n-th paragraph of that title, or null for an
off-topic question), ``answer`` (verbatim, "" when unanswerable),
``answer_start`` (offset into that text, -1 when unanswerable),
``answerable`` and ``kind``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.analysis import shared_analyzer  # noqa: E402
from qa.index.chunking import split_sentences  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
BBC = SHARED / "bbc-news" / "bbc-news.jsonl"
RESERVED = SHARED / "bbc-news" / "reserved-for-evaluation.txt"
SHARED_WRITTEN = SHARED / "bbc-news" / "written-headline-questions.jsonl"
SQUAD_TRAIN = SHARED / "squad-train" / "train-v1.1.json"
SQUAD_CALIBRATION = SHARED / "squad-train" / "train-v2.0-first10.json"
DATA = ROOT / "training" / "data"
# Our own evaluation sets: their articles are never trained on.
OWN_EVAL_SETS = (
    ROOT / "benchmarks/data/bbc_dev.jsonl",
    ROOT / "benchmarks/data/bbc_check.jsonl",
    ROOT / "benchmarks/data/bbc_check_written.jsonl",
)
DEV_SHARE = 8  # one BBC article in eight (by hash) is the held-out split


@dataclass(frozen=True)
class Sources:
    """The texts questions point into, and the articles none may use."""

    bbc: dict[str, dict]
    squad: dict[str, str]  # paragraph id -> context
    forbidden: dict[str, str]  # BBC id -> why it is off limits


def squad_paragraph_id(title: str, index: int) -> str:
    return f"squad:{title}#{index}"


@lru_cache(maxsize=1)
def load_sources(bbc: Path = BBC, squad: Path = SQUAD_TRAIN) -> Sources:
    articles = {a["id"]: a for a in map(json.loads, bbc.open(encoding="utf-8"))}
    paragraphs: dict[str, str] = {}
    for article in json.loads(squad.read_text(encoding="utf-8"))["data"]:
        for i, p in enumerate(article["paragraphs"]):
            paragraphs[squad_paragraph_id(article["title"], i)] = p["context"]
    forbidden = {i: "reserved for evaluation" for i in RESERVED.read_text().split()}
    for path in OWN_EVAL_SETS:
        for row in map(json.loads, path.open(encoding="utf-8")):
            if row.get("article"):
                forbidden.setdefault(row["article"], f"in {path.name}")
    # the corpus holds the same story under two ids 137 times: a twin of an article
    # kept out is kept out too, or its text would be trained on all the same
    by_text: dict[str, list[str]] = {}
    for article_id, article in articles.items():
        by_text.setdefault(" ".join(article["text"].split()), []).append(article_id)
    for twins in by_text.values():
        kept_out = [t for t in twins if t in forbidden and not forbidden[t].startswith("the same")]
        for twin in twins:
            if kept_out and twin not in forbidden:
                forbidden[twin] = f"the same text as {kept_out[0]} ({forbidden[kept_out[0]]})"
    return Sources(articles, paragraphs, forbidden)


def text_of(sources: Sources, article: str | None) -> str | None:
    if article is None:
        return None
    if article.startswith("squad:"):
        return sources.squad.get(article)
    found = sources.bbc.get(article)
    return found["text"] if found else None


def is_dev_article(article: str | None) -> bool:
    """The held-out split, by article, so no story is in both."""
    if not article or article.startswith("squad:"):
        return False
    return int(hashlib.sha1(article.encode()).hexdigest(), 16) % DEV_SHARE == 0


def read_rows(paths: Iterable[Path]) -> list[dict]:
    rows = []
    for path in paths:
        for n, line in enumerate(path.open(encoding="utf-8"), 1):
            if line.strip():
                row = json.loads(line)
                row["_where"] = f"{path.name}:{n}"
                rows.append(row)
    return rows


def shared_written(sources: Sources, path: Path = SHARED_WRITTEN) -> list[dict]:
    """The 409 questions of ../shared in this module's row form (offset: first occurrence
    after the story's first two sentences, else the first anywhere)."""
    rows = []
    for row in map(json.loads, path.open(encoding="utf-8")):
        text = sources.bbc[row["article"]]["text"]
        spans = split_sentences(text)
        after = spans[2][0] if len(spans) > 2 else 0
        start = text.find(row["answer"], after)
        if start < 0:
            start = text.find(row["answer"])
        if start < 0:
            continue
        rows.append({**row, "answer_start": start, "answerable": True})
    return rows


def answer_sentence_index(text: str, start: int) -> int:
    spans = split_sentences(text)
    for i, (s, e) in enumerate(spans):
        if s <= start < e:
            return i
    return -1


def repeats_answer_sentence(question: str, text: str, start: int) -> bool:
    """True when the answer sentence shares the most content words with the question
    (ties included): the overlap a reader trained on SQuAD learns to follow."""
    terms = shared_analyzer().terms
    asked = set(terms(question))
    spans = split_sentences(text)
    target = answer_sentence_index(text, start)
    overlaps = [len(asked & set(terms(text[s:e]))) for s, e in spans]
    return target >= 0 and overlaps[target] > 0 and overlaps[target] == max(overlaps)
