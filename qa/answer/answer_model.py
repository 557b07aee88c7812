"""The trained reader model: reads a question with a whole passage and marks what answers.

A relevance cross-encoder scores a sentence that repeats the question's names
as highly as the one that answers. This model was fine-tuned on SQuAD 1.1
train (``training/``; card in ``qa/models/reader/MODEL_CARD.md``) to tell the
difference. It reads ``[CLS] question [SEP] title. passage [SEP]`` once and
gives, for every word piece, three logits:

- *answer sentence*: averaged over a sentence's word pieces, the logit that
  the sentence holds the answer (trained with a per-sentence sigmoid, so it is
  an absolute score: other passages and other articles do not move it);
- *start* and *end*: where the answer phrase begins and ends (trained as a
  softmax over the passage's word pieces, as in extractive QA).

One forward pass scores every sentence of a passage, each in its context, so
"he" and "the deal" are read with the sentences that name them. Encoding is
here, shared by training and serving, so both cut passages and sentences the
same way. Only onnxruntime, tokenizers and numpy run it: nothing is
downloaded, the int8 model and tokenizer ship in the package.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from qa.errors import ConfigError

MODEL_DIR = Path(__file__).parent.parent / "models" / "reader"
MAX_TOKENS = 256  # the whole input; a chunk (<= 200 word pieces) and its title fit
MAX_QUESTION_TOKENS = 48
MAX_ANSWER_TOKENS = 30  # longest answer phrase the span head may mark
NO_SCORE = -30.0  # a sentence cut off by truncation: never chosen

Span = tuple[int, int]


@dataclass(frozen=True)
class Encoded:
    """One (question, passage) input and where each sentence's word pieces are."""

    ids: list[int]
    type_ids: list[int]
    offsets: list[Span]  # per word piece: character span in the passage text, (0, 0) if none
    sentence_tokens: list[Span]  # per sentence: [first, last) word piece; (0, 0) if cut off
    passage_start: int  # first word piece of the passage (after the title)


@dataclass(frozen=True)
class PhraseScore:
    """The best answer phrase inside one sentence, in passage character offsets."""

    start: int
    end: int
    probability: float  # its share of the passage's start x end softmax


@dataclass(frozen=True)
class PassageReading:
    """Per sentence of one passage: the answer logit; the best phrase on demand."""

    logits: np.ndarray
    encoded: Encoded
    start_logits: np.ndarray
    end_logits: np.ndarray

    def phrase(self, sentence: int) -> PhraseScore | None:
        """The most likely answer phrase inside one sentence (passage character offsets)."""
        return best_phrase(self.start_logits, self.end_logits, self.encoded, sentence)


def load_tokenizer(folder: Path) -> Any:
    """The model's word-piece tokenizer, with no truncation or padding of its own."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def encode(
    tokenizer: Any, question: str, title: str, text: str, sentences: Sequence[Span]
) -> Encoded:
    """Tokenise one input; ``sentences`` are character spans in ``text``.

    The title goes before the passage ("Title. passage"): it says what "he" or
    "the firm" is. Word pieces past ``MAX_TOKENS`` are cut from the passage's
    end; a sentence that loses all of its pieces is marked (0, 0).
    """
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    q_ids = tokenizer.encode(question, add_special_tokens=False).ids[:MAX_QUESTION_TOKENS]
    prefix = f"{title}. " if title else ""
    body = tokenizer.encode(prefix + text, add_special_tokens=False)
    room = MAX_TOKENS - len(q_ids) - 3
    p_ids = body.ids[:room]
    shift = len(prefix)
    p_offsets = [(s - shift, e - shift) for s, e in body.offsets[:room]]
    head = len(q_ids) + 2
    ids = [cls_id, *q_ids, sep_id, *p_ids, sep_id]
    type_ids = [0] * head + [1] * (len(p_ids) + 1)
    offsets: list[Span] = (
        [(0, 0)] * head + [(s, e) if s >= 0 else (0, 0) for s, e in p_offsets] + [(0, 0)]
    )
    passage_start = head + sum(1 for s, _ in p_offsets if s < 0)
    return Encoded(
        ids, type_ids, offsets, _sentence_tokens(offsets, passage_start, sentences), passage_start
    )


def _sentence_tokens(offsets: list[Span], first: int, sentences: Sequence[Span]) -> list[Span]:
    """For each sentence, the word pieces whose characters fall inside it."""
    out: list[Span] = []
    for s_start, s_end in sentences:
        inside = [
            i
            for i in range(first, len(offsets))
            if offsets[i] != (0, 0) and offsets[i][0] >= s_start and offsets[i][1] <= s_end
        ]
        out.append((inside[0], inside[-1] + 1) if inside else (0, 0))
    return out


def sentence_logits(token_logits: np.ndarray, sentence_tokens: Sequence[Span]) -> np.ndarray:
    """A sentence's answer logit: the mean of its word pieces' logits."""
    return np.array(
        [float(token_logits[a:b].mean()) if b > a else NO_SCORE for a, b in sentence_tokens],
        dtype=np.float32,
    )


def best_phrase(
    start_logits: np.ndarray, end_logits: np.ndarray, encoded: Encoded, sentence: int
) -> PhraseScore | None:
    """The most likely answer phrase inside one sentence (start <= end, <= 30 pieces)."""
    a, b = encoded.sentence_tokens[sentence]
    if b <= a:
        return None
    first = encoded.passage_start
    start_p = _softmax(start_logits[first:-1])[a - first : b - first]
    end_p = _softmax(end_logits[first:-1])[a - first : b - first]
    joint = np.outer(start_p, end_p)
    width = np.subtract.outer(np.arange(b - a), np.arange(b - a))  # start - end
    joint[(width > 0) | (width <= -MAX_ANSWER_TOKENS)] = 0.0
    i, j = np.unravel_index(int(joint.argmax()), joint.shape)
    return PhraseScore(
        encoded.offsets[a + int(i)][0], encoded.offsets[a + int(j)][1], float(joint[i, j])
    )


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


class AnswerModel:
    """The int8 ONNX reader, loaded once; scores the sentences of passages for a question."""

    def __init__(self, model_dir: Path | None = None, threads: int = 2) -> None:
        import onnxruntime

        folder = model_dir or MODEL_DIR
        if not (folder / "model.onnx").is_file() or not (folder / "tokenizer.json").is_file():
            raise ConfigError(f"no reader model in {folder}: reinstall the package")
        self._tokenizer = load_tokenizer(folder)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()

    def read(
        self, question: str, passages: Sequence[tuple[str, str, Sequence[Span]]]
    ) -> list[PassageReading]:
        """For each (title, text, sentence spans in text), its sentences' scores.

        Each passage is its own run, never padded into a batch: the int8
        model quantises activations per run, so a batch would let one
        passage's scores move with the others read beside it (and the
        refusal with them). On 2 cores a batch is no faster.
        """
        return [self._read_one(question, *passage) for passage in passages]

    def _read_one(
        self, question: str, title: str, text: str, sentences: Sequence[Span]
    ) -> PassageReading:
        with self._lock:
            e = encode(self._tokenizer, question, title, text, sentences)
        feed = {
            "input_ids": np.array([e.ids], dtype=np.int64),
            "attention_mask": np.ones((1, len(e.ids)), dtype=np.int64),
            "token_type_ids": np.array([e.type_ids], dtype=np.int64),
        }
        logits = self._session.run(None, feed)[0][0]
        answer, start, end = logits[:, 0], logits[:, 1], logits[:, 2]
        return PassageReading(sentence_logits(answer, e.sentence_tokens), e, start, end)


_shared_lock = threading.Lock()


@lru_cache(maxsize=2)
def _load(model_dir: str) -> AnswerModel:
    return AnswerModel(Path(model_dir) if model_dir else None)


def shared_answer_model(model_dir: str = "") -> AnswerModel:
    """One loaded model per process, however many assistants use it."""
    with _shared_lock:
        return _load(model_dir)
