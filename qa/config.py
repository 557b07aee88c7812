"""Settings: every knob of Article QA in one typed place.

Values come from keyword arguments first, then ``QA_*`` environment
variables, then the defaults below. Keeping them in one dataclass means the
CLI, the server and scripts all read configuration the same way, and the
configuration table in docs/configuration.md is checked against these fields
(tests/test_readme.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from qa.errors import ConfigError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


class ReaderMode(StrEnum):
    """How the answer sentence is chosen (docs/reader.md has their measured cost)."""

    DEFAULT = "default"  # the trained reader model over every passage read
    FAST = "fast"  # hand-made evidence only, no model


READERS = tuple(mode.value for mode in ReaderMode)
# the names modes had before: "trained" is the model that became the default (2026-12-07);
# "accurate" (hand-made evidence with the ms-marco cross-encoder) was removed on 2026-12-08,
# the default answering more of the written check set at a third of its latency
# (docs/reader.md), so its name now asks for the default
READER_ALIASES = {"trained": ReaderMode.DEFAULT, "accurate": ReaderMode.DEFAULT}


class LexicalEngine(StrEnum):
    """Where the lexical (BM25) index lives (docs/scaling.md has the measurements)."""

    TANTIVY = "tantivy"  # on disk, shared by every process; a write updates only its chunks
    BM25S = "bm25s"  # in each process's memory; rebuilt after another process's write


LEXICAL_ENGINES = tuple(engine.value for engine in LexicalEngine)


class Layout(StrEnum):
    """Where a chunk's text, offsets and sentence vectors live (docs/scaling.md)."""

    AUTO = "auto"  # chroma with QA_CHROMA_URL, folder without (an index keeps its own)
    FOLDER = "folder"  # a payload store in QA_INDEX_DIR: every process needs that folder
    CHROMA = "chroma"  # all in Chroma, with a change log: app hosts keep only caches


LAYOUTS = tuple(layout.value for layout in Layout)


def _as_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {text!r}")


def _as_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """All configuration. Each field maps to the env var ``QA_<NAME>``."""

    index_dir: Path = Path("index")
    chroma_url: str = ""
    chroma_collection: str = "articles"  # the Chroma collection holding every chunk
    # the collection of articles read and written when a call names none (qa.collections)
    collection: str = "default"
    embedding_model: str = DEFAULT_MODEL
    embedding_batch_size: int = 16
    top_k: int = 4
    candidates: int = 30
    reader: ReaderMode = ReaderMode.DEFAULT
    lexical: LexicalEngine = LexicalEngine.TANTIVY
    # where chunk payloads live; "chroma": hosts on one Chroma server share nothing else
    layout: Layout = Layout.AUTO
    follow_seconds: float = 1.0  # chroma layout: how often a host reads the change log
    log_keep_seconds: float = 86400.0  # chroma layout: change-log entries kept this long
    min_evidence: float = 0.0
    max_question_chars: int = 1000
    max_file_bytes: int = 20_000_000
    host: str = "127.0.0.1"
    port: int = 7860
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    api_token: str = ""
    allow_uploads: bool = False
    max_upload_bytes: int = 5_000_000
    llm: str = ""  # openai:MODEL or gguf:PATH; empty = extractive answers
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 30.0
    # sync endpoints (asks, searches, lists) running at once in the server; more wait on
    # the event loop (more only share the cores and slow the loop: /healthz, streams)
    worker_threads: int = 2
    max_request_bytes: int = (
        2_000_000  # any other request's body (an ask with its history, a chat turn)
    )
    fetch_hosts: tuple[str, ...] = field(default_factory=tuple)  # empty: no URL is fetched
    fetch_private_hosts: tuple[str, ...] = field(default_factory=tuple)
    fetch_max_bytes: int = 5_000_000
    fetch_timeout: float = 20.0
    fetch_max_redirects: int = 5
    feed_full_pages: bool = True  # fetch an entry's page when its feed gives only a summary
    watch: tuple[str, ...] = field(default_factory=tuple)  # the server keeps these current
    watch_interval: float = 900.0  # seconds between feed re-reads while watching
    watch_prune: bool = False  # while watching, remove the articles of deleted files
    # read files through links that lead out of the folder given (off: a link in a watched
    # folder must not publish a private file from elsewhere on the machine)
    follow_outside_links: bool = False
    # who may read and write which collection (docs/access.md): the token book's file
    # (empty: access.json in the index folder), and the proxies whose user headers count
    access_file: str = ""
    trusted_proxies: tuple[str, ...] = field(default_factory=tuple)  # addresses or networks
    proxy_user_header: str = "X-Forwarded-User"
    proxy_groups_header: str = "X-Forwarded-Groups"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> "Settings":
        """Build settings from ``QA_*`` variables, then apply ``overrides``."""
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"QA_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _parse(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def with_overrides(self, **overrides: Any) -> "Settings":
        updated = replace(self, **{k: v for k, v in overrides.items() if v is not None})
        updated.validate()
        return updated

    def validate(self) -> None:
        """Reject values that would fail later in a confusing way."""
        # absolute from the start: a process that changes its working directory later
        # (a test, a notebook) must keep using the index it opened, and Chroma's
        # per-process client cache is keyed by this path
        object.__setattr__(self, "index_dir", Path(self.index_dir).expanduser().absolute())
        for name in (
            "allowed_origins",
            "fetch_hosts",
            "fetch_private_hosts",
            "watch",
            "trusted_proxies",
        ):
            value: Any = getattr(self, name)  # a caller may pass "a, b" as one string
            if isinstance(value, str):
                object.__setattr__(self, name, _as_list(value))
        for name in (
            "top_k",
            "candidates",
            "max_question_chars",
            "max_file_bytes",
            "embedding_batch_size",
            "max_upload_bytes",
            "max_request_bytes",
            "fetch_max_bytes",
            "worker_threads",
        ):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"QA_{name.upper()} must be at least 1")
        from qa.collections import valid_name  # here: config is read before the rest loads

        valid_name(self.collection, "QA_COLLECTION")
        if not 0 < self.port < 65536:
            raise ConfigError("QA_PORT must be between 1 and 65535")
        if not 0.0 <= self.min_evidence < 1.0:
            raise ConfigError(
                "QA_MIN_EVIDENCE must be from 0 (the reader's fitted threshold) to below 1"
            )
        if self.watch_interval < 1:
            raise ConfigError("QA_WATCH_INTERVAL must be at least 1 second")
        if self.fetch_timeout <= 0:
            raise ConfigError("QA_FETCH_TIMEOUT must be a positive number of seconds")
        if not 0 <= self.fetch_max_redirects <= 20:
            raise ConfigError("QA_FETCH_MAX_REDIRECTS must be from 0 to 20")
        if self.llm_timeout <= 0:
            raise ConfigError("QA_LLM_TIMEOUT must be a positive number of seconds")
        reader = READER_ALIASES.get(self.reader, self.reader)
        if reader not in READERS:
            raise ConfigError(f"QA_READER must be one of {', '.join(READERS)}, not {self.reader!r}")
        object.__setattr__(self, "reader", ReaderMode(reader))
        if self.lexical not in LEXICAL_ENGINES:
            raise ConfigError(
                f"QA_LEXICAL must be one of {', '.join(LEXICAL_ENGINES)}, not {self.lexical!r}"
            )
        object.__setattr__(self, "lexical", LexicalEngine(self.lexical))
        if self.layout not in LAYOUTS:
            raise ConfigError(f"QA_LAYOUT must be one of {', '.join(LAYOUTS)}, not {self.layout!r}")
        object.__setattr__(self, "layout", Layout(self.layout))
        if not 0.05 <= self.follow_seconds <= 60:
            raise ConfigError("QA_FOLLOW_SECONDS must be from 0.05 to 60 seconds")
        if self.log_keep_seconds < 3600:
            raise ConfigError("QA_LOG_KEEP_SECONDS must be at least 3600 (an hour)")
        if self.candidates < self.top_k:
            object.__setattr__(self, "candidates", self.top_k)


def _parse(name: str, type_name: Any, raw: str) -> Any:
    kind = str(type_name)
    try:
        if "bool" in kind:
            return _as_bool(raw)
        if "int" in kind:
            return int(raw)
        if "float" in kind:
            return float(raw)
        if "tuple" in kind:
            return _as_list(raw)
        if "Path" in kind:
            return Path(raw)
        return raw
    except ValueError as exc:
        raise ConfigError(f"QA_{name.upper()}={raw!r} is not valid: {exc}") from None
