"""Sentence-aware chunks that always fit the embedding model's input.

all-MiniLM-L6-v2 silently drops everything past 256 word pieces, so a chunk
that is too long loses text without anyone noticing. Chunks here are built
from whole sentences, measured with the model's own tokenizer, and a
sentence that alone is too long is cut at word boundaries. Every chunk and
every sentence keeps its character offsets in the article, which is what
lets a citation quote exactly ``article.text[start:end]``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import Callable, Sequence

TokenCounter = Callable[[Sequence[str]], list[int]]
Span = tuple[int, int]

# Words that end with a period without ending the sentence.
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "st",
    "jr",
    "sr",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "u.s",
    "u.k",
    "no",
    "gen",
    "col",
    "lt",
    "sgt",
    "capt",
    "rep",
    "sen",
    "gov",
    "inc",
    "ltd",
    "co",
    "corp",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "mt",
    "ft",
    "fig",
    "approx",
    "dept",
    "est",
    "rev",
    "hon",
    "p",
    "pp",
    "vol",
}
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n")
_SENTENCE_START = re.compile(r"\s*[\"'“‘(\[]?[A-Z0-9£$€]")


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one article, small enough to embed whole."""

    id: str
    article_id: str
    index: int
    text: str
    start: int
    end: int
    sentences: tuple[Span, ...]  # absolute offsets in the article, in order
    lead: Span | None  # the sentence just before the chunk, for context


def split_sentences(text: str) -> list[Span]:
    """Sentence spans over ``text``, without surrounding white space."""
    spans: list[Span] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if match.group() != "\n" and not _ends_sentence(text, match.start(), end):
            continue
        _append_trimmed(text, start, end, spans)
        start = end
    _append_trimmed(text, start, len(text), spans)
    return spans


def _ends_sentence(text: str, mark: int, end: int) -> bool:
    word = re.search(r"([\w.]+)$", text[max(0, mark - 20) : mark])
    if text[mark] == "." and word:
        token = word.group(1).lower()
        if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
            return False
    return bool(_SENTENCE_START.match(text, end))


def _append_trimmed(text: str, start: int, end: int, spans: list[Span]) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        spans.append((start + lead, start + lead + len(stripped)))


def make_chunks(
    article_id: str, text: str, count_tokens: TokenCounter, max_tokens: int
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most ``max_tokens`` word pieces."""
    sentences = _fit_sentences(text, split_sentences(text), count_tokens, max_tokens)
    if not sentences:
        return []
    sizes = count_tokens([text[s:e] for s, e in sentences])
    groups: list[list[int]] = [[]]
    used = 0
    for i, size in enumerate(sizes):
        if groups[-1] and used + size > max_tokens:
            groups.append([])
            used = 0
        groups[-1].append(i)
        used += size + 1  # a joining space can add a piece
    return [
        _chunk(
            article_id,
            text,
            n,
            [sentences[i] for i in group],
            sentences[group[0] - 1] if group[0] > 0 else None,
        )
        for n, group in enumerate(groups)
    ]


def versioned(chunk: Chunk, version: str) -> Chunk:
    """The chunk with an id that also names the article's version: two versions of
    an article never share a chunk id (the chroma layout's writers, which share no
    lock, upsert chunks and then keep the newest version)."""
    place = f"{chunk.article_id}:{chunk.index}:{chunk.start}:{chunk.end}:{version}"
    digest = hashlib.sha1(place.encode()).hexdigest()[:10]
    return replace(chunk, id=f"{chunk.article_id}:{chunk.index}:{digest}")


def _chunk(article_id: str, text: str, index: int, spans: list[Span], lead: Span | None) -> Chunk:
    start, end = spans[0][0], spans[-1][1]
    body = text[start:end]
    digest = hashlib.sha1(f"{article_id}:{index}:{start}:{end}".encode()).hexdigest()[:10]
    return Chunk(
        id=f"{article_id}:{index}:{digest}",
        article_id=article_id,
        index=index,
        text=body,
        start=start,
        end=end,
        sentences=tuple(spans),
        lead=lead,
    )


def _fit_sentences(
    text: str, spans: list[Span], count_tokens: TokenCounter, max_tokens: int
) -> list[Span]:
    """Cut any sentence longer than ``max_tokens`` at word boundaries."""
    if not spans:
        return []
    sizes = count_tokens([text[s:e] for s, e in spans])
    fitted: list[Span] = []
    for span, size in zip(spans, sizes):
        fitted.extend(
            [span] if size <= max_tokens else _cut_long(text, span, count_tokens, max_tokens)
        )
    return fitted


def _cut_long(text: str, span: Span, count_tokens: TokenCounter, max_tokens: int) -> list[Span]:
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[span[0] : span[1]])]
    words = [(span[0] + s, span[0] + e) for s, e in words]
    sizes = count_tokens([text[s:e] for s, e in words])
    pieces: list[Span] = []
    piece_start, used, prev_end = None, 0, span[0]
    for (s, e), size in zip(words, sizes):
        if size > max_tokens:  # one absurd "word": cut it by characters
            if piece_start is not None:
                pieces.append((piece_start, prev_end))
                piece_start, used = None, 0
            pieces.extend(_cut_chars(text, (s, e), count_tokens, max_tokens))
            continue
        if piece_start is not None and used + size > max_tokens:
            pieces.append((piece_start, prev_end))
            piece_start, used = None, 0
        if piece_start is None:
            piece_start = s
        used += size
        prev_end = e
    if piece_start is not None:
        pieces.append((piece_start, prev_end))
    return pieces


def _cut_chars(text: str, span: Span, count_tokens: TokenCounter, max_tokens: int) -> list[Span]:
    pieces: list[Span] = []
    start = span[0]
    while start < span[1]:
        end = min(span[1], start + max_tokens)
        while end > start + 1 and count_tokens([text[start:end]])[0] > max_tokens:
            end = start + (end - start) // 2
        pieces.append((start, end))
        start = end
    return pieces
