"""``Assistant``: the one facade the UI, the server, the CLI and scripts use.

It validates every input at the edge (so each front end gets the same clear
errors), owns the open index and the model, and wires the chain together.
"""

from __future__ import annotations

import copy
import logging
import shutil
import threading
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from langchain_core.runnables import Runnable

from qa.analysis import Analyzer
from qa.answer.answering import Answerer, ExtractiveAnswerer, for_chat
from qa.answer.chain import Step, build_chain
from qa.answer.reader import Reader, SentenceReader
from qa.answer.retrieval import HybridRetriever
from qa.collections import DEFAULT, MAX_NAME_CHARS, CollectionInfo, valid_name
from qa.config import LexicalEngine, ReaderMode, Settings
from qa.errors import InvalidQuestion, UnknownArticle, UnknownCollection
from qa.filters import Filters, as_filters
from qa.index.articles import MAX_ID_CHARS
from qa.index.catalog import ArticleInfo as ArticleInfo  # the fronts show articles
from qa.index.catalog import ArticlePage, describe, facets, page
from qa.index.chunking import split_sentences as split_sentences  # an article's sentences
from qa.index.embeddings import shared_embedder
from qa.index.fetching import FetchPolicy
from qa.index.fetching import is_url as is_url  # for the fronts: a URL or a path
from qa.index.formats import SUPPORTED_SUFFIXES as SUPPORTED_SUFFIXES  # for the upload pickers
from qa.index.ingest import Ingestor
from qa.index.ingest import IngestReport as IngestReport  # the fronts report writes
from qa.index.ingest import ProgressCallback as ProgressCallback
from qa.index.lexical import LexicalIndex, LexicalSearch
from qa.index.locking import index_write_lock
from qa.index.log_follower import LogFollower
from qa.index.store import ArticleEntry, ArticleStore, ChunkChanges
from qa.index.store import IndexStats as IndexStats  # the fronts show counts
from qa.index.tantivy_lexical import SCHEMA_VERSION
from qa.limits import (
    MAX_DELETE,
    MAX_FILTER_CHARS,
    MAX_HISTORY_MESSAGES,
    MAX_K,
    MAX_PAGE,
    MAX_URL_CHARS,
    MAX_URLS,
)
from qa.results import Answer, Passage

log = logging.getLogger("qa")

CHUNK_TOKENS = 200


class Assistant:
    """Question answering over an index of news articles.

    >>> assistant = Assistant(index_dir="index")
    >>> assistant.ingest(["seeds"])
    >>> assistant.ask("What did France promise in July?").text

    Everything it does is in one collection of articles, ``collection``
    (``QA_COLLECTION``, ``default`` unless said); ``using(name)`` gives the same
    assistant in another, sharing the model and the open index.
    """

    def __init__(
        self,
        index_dir: str | Path | None = None,
        *,
        settings: Settings | None = None,
        answerer: Answerer | None = None,
        **overrides: Any,
    ) -> None:
        base = settings or Settings.from_env()
        self.settings = base.with_overrides(index_dir=index_dir, **overrides)
        self.embedder = shared_embedder(
            self.settings.embedding_model, self.settings.embedding_batch_size
        )
        self.store = ArticleStore(self.settings, self.embedder)
        analyzer = Analyzer()
        lexical = build_lexical(self.settings, analyzer)
        self.retriever = HybridRetriever(
            store=self.store,
            embedder=self.embedder,
            lexical=lexical,
            follower=build_follower(self.store, lexical),
            follow_seconds=self.settings.follow_seconds,
            analyzer=analyzer,
            k=self.settings.top_k,
            candidates=self.settings.candidates,
        )
        self.answerer = for_chat(answerer or build_answerer(self.settings, self.embedder, analyzer))
        self.ingestor = Ingestor(
            self.store,
            self.embedder,
            CHUNK_TOKENS,
            self.settings.max_file_bytes,
            FetchPolicy.from_settings(self.settings),
            self.settings.feed_full_pages,
            self.settings.follow_outside_links,
        )
        self.chain = build_chain(self.retriever.search, self.answerer)
        self._write_lock = threading.Lock()
        self._shared = _SharedState()
        self._listing: tuple[dict[str, ArticleEntry], dict[str, ArticleEntry]] | None = None
        self._facets: tuple[dict[str, ArticleEntry], dict[str, list[str]]] | None = None
        self.collection = DEFAULT
        if self.settings.collection != DEFAULT:
            self._known(self.settings.collection)
            self.collection = self.settings.collection
        self._shared.views[self.collection] = self

    # Collections --------------------------------------------------------------------
    def using(self, collection: str) -> "Assistant":
        """This assistant in another collection: the same model, index and caches,
        every read and write there. Cheap: one view per collection is kept."""
        name = valid_name(collection)
        if name == self.collection:
            return self
        self._known(name)
        view = self._shared.views.get(name)
        if view is None:
            view = copy.copy(self)
            view.collection = name
            view.settings = replace(self.settings, collection=name)
            view._listing = view._facets = None
            view = self._shared.views.setdefault(name, view)
        return view

    def collections(self) -> list[CollectionInfo]:
        """Every collection in the index, ``default`` included (not who may read them:
        the server's access rules decide that)."""
        return list(self.store.collections().values())

    def create_collection(self, name: str, private: bool = False) -> CollectionInfo:
        """Add a collection (or change whether it is private). Chunks written before
        collections existed are labelled ``default`` first (metadata only, nothing
        re-embedded), since from now on a question names its collection."""
        name = valid_name(name)
        if name == DEFAULT and private:
            raise InvalidQuestion("the default collection is public; make another one private")
        with self._writing(None):
            self.store.label_unlabelled(DEFAULT)
            known = self.store.collections()
            known[name] = CollectionInfo(name, private)
            self.store.save_collections(known)
        return known[name]

    def delete_collection(self, name: str) -> IngestReport:
        """Remove a collection and every article in it (``default`` stays)."""
        name = valid_name(name)
        if name == DEFAULT:
            raise InvalidQuestion("the default collection cannot be removed")
        self._known(name)
        with self._writing(None):
            doomed = [e.article_id for e in self.store.manifest().values() if e.collection == name]
            report = self.ingestor.remove(doomed) if doomed else IngestReport()
            self.retriever.apply(report.changes)
            known = self.store.collections()
            known.pop(name, None)
            self.store.save_collections(known)
        self._shared.views.pop(name, None)
        return report

    def _known(self, name: str) -> CollectionInfo:
        info = self.store.collections().get(name)
        if info is None:
            raise UnknownCollection(
                f"no collection {name!r} in the index; make it with `qa collection create {name}`"
            )
        return info

    # Write path ---------------------------------------------------------------------
    def ingest(
        self,
        paths: Iterable[str | Path],
        *,
        prune: bool = False,
        progress: ProgressCallback | None = None,
        show_progress: bool = False,
        on_wait: Callable[[str], None] | None = None,
    ) -> IngestReport:
        """Add or update articles from files, folders and URLs; idempotent.

        A URL (``http://`` or ``https://``: an RSS or Atom feed, or a news page)
        is fetched only within ``QA_FETCH_HOSTS`` (see ``qa.index.fetching``); a
        refused or failed one is reported in ``IngestReport.failed``.

        One writer per index at a time, across processes: while another holds
        the index, this waits (calling ``on_wait`` with who holds it).
        """
        if isinstance(paths, (str, Path)):
            paths = [paths]
        paths = list(paths)
        if not paths:
            raise InvalidQuestion("give at least one file or folder to ingest")
        _valid_urls([p for p in paths if isinstance(p, str) and is_url(p)])
        loaded = self.ingestor.load(paths, self.collection)  # read and fetched before the lock
        with self._writing(on_wait):
            report = self.ingestor.write(
                loaded, prune=prune, progress=progress, show_progress=show_progress
            )
            self.retriever.apply(report.changes)
        return report

    def ingest_urls(
        self,
        urls: Sequence[str],
        progress: ProgressCallback | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> IngestReport:
        """Fetch feeds and pages (only URLs: never a path on this machine) and index them.

        What the REST API calls: a client may name URLs, not files.
        """
        if isinstance(urls, str) or not urls:
            raise InvalidQuestion("give a list of at least one URL")
        if not all(isinstance(u, str) and is_url(u) for u in urls):
            raise InvalidQuestion("every item must be an http:// or https:// URL")
        return self.ingest(list(urls), progress=progress, on_wait=on_wait)

    def remove_missing(self, on_wait: Callable[[str], None] | None = None) -> IngestReport:
        """Remove the articles whose files are gone, as ``ingest(..., prune=True)`` does
        (never uploads or what came from a URL)."""
        with self._writing(on_wait):
            report = self.ingestor.remove_missing(self.collection)
            self.retriever.apply(report.changes)
        return report

    def add_documents(
        self,
        files: Sequence[tuple[str, bytes]],
        progress: ProgressCallback | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> IngestReport:
        """Ingest uploaded files given as (file name, content) pairs."""
        if not files:
            raise InvalidQuestion("no files given")
        with self._writing(on_wait):
            report = self.ingestor.ingest_uploads(
                files, self.settings.max_upload_bytes, progress, self.collection
            )
            self.retriever.apply(report.changes)
        return report

    def delete(
        self, article_ids: Sequence[str], on_wait: Callable[[str], None] | None = None
    ) -> IngestReport:
        """Remove these articles from the index: their chunks, vectors and BM25 entries.

        Every id is checked first: when one is unknown, ``UnknownArticle`` names it
        and nothing is deleted.
        """
        ids = _valid_ids(article_ids)
        with self._writing(on_wait):
            held = self.store.manifest(ids)
            unknown = [i for i in ids if i not in held or held[i].collection != self.collection]
            if unknown:
                raise UnknownArticle(f"no article with id {unknown[0][:200]!r} in the index")
            report = self.ingestor.remove(ids)
            self.retriever.apply(report.changes)
        return report

    def compact(
        self,
        on_wait: Callable[[str], None] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> CompactReport:
        """Move chunks written before the payload store into it, and remove lexical
        index folders nothing reads any more.

        Such an index answers as it is, but keeps each chunk's text and sentence
        vectors in Chroma, about three times the bytes. Re-ingesting the same
        files moves them too; this needs no files (uploaded articles have none).
        Removed: tantivy folders of an older schema, and the bm25s folder when
        this process uses tantivy (a bm25s process would write it again).
        """
        with self._writing(on_wait):
            before = self.store.bump_revision()
            moved = self.store.move_old_records(progress)
            self.store.bump_revision()
            self.retriever.apply(ChunkChanges(before=before))  # the same chunks and texts
            stale = self._stale_lexical_folders()
            for folder in stale:
                shutil.rmtree(folder, ignore_errors=True)
        return CompactReport(moved, tuple(str(folder) for folder in stale))

    def _stale_lexical_folders(self) -> list[Path]:
        lexical = self.settings.index_dir / "lexical"
        collection = self.settings.chroma_collection
        current = f"{collection}.tantivy-v{SCHEMA_VERSION}"
        stale = [
            f for f in lexical.glob(f"{collection}.tantivy*") if f.is_dir() and f.name != current
        ]
        if self.settings.lexical == LexicalEngine.TANTIVY and (lexical / collection).is_dir():
            stale.append(lexical / collection)  # bm25s's
        return sorted(stale)

    def articles(
        self,
        offset: int = 0,
        limit: int = 50,
        query: str = "",
        source: str = "",
        category: str = "",
        since: str | date | None = None,
        until: str | date | None = None,
    ) -> ArticlePage:
        """A page of the indexed articles, newest first; ``query`` matches words of the
        title or id, ``source`` and ``category`` match exactly (all ignore case), and
        ``since``/``until`` (YYYY-MM-DD) bound the published date."""
        for name, value in (("offset", offset), ("limit", limit)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidQuestion(f"{name} must be a whole number from 0")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidQuestion(f"limit must be from 1 to {MAX_PAGE}")
        for name, text in (("query", query), ("source", source), ("category", category)):
            if not isinstance(text, str) or len(text) > MAX_FILTER_CHARS:
                raise InvalidQuestion(
                    f"{name} must be text of at most {MAX_FILTER_CHARS} characters"
                )
        dates = as_filters({"since": since, "until": until})
        return page(
            self._manifest().values(),
            offset,
            limit,
            query,
            source,
            category,
            dates.since,
            dates.until,
        )

    def article_text(self, article_id: str) -> tuple[ArticleInfo, str]:
        """One indexed article and its whole text (citation offsets index into it)."""
        info = self.article(article_id)
        return info, self.store.article_text(info.id)

    def facets(self) -> dict[str, list[str]]:
        """The sources and categories in the index (what ``filters`` can pick); worked
        out once per index revision, since every filtered ask reads them."""
        listing = self._manifest()
        if self._facets is None or self._facets[0] is not listing:
            self._facets = (listing, facets(listing.values()))
        return {name: list(values) for name, values in self._facets[1].items()}

    def article(self, article_id: str) -> ArticleInfo:
        """One indexed article, or ``UnknownArticle``."""
        (valid,) = _valid_ids([article_id])
        entry = self.store.manifest([valid]).get(valid)
        if entry is None or entry.collection != self.collection:
            raise UnknownArticle(f"no article with id {valid!r} in the index")
        return describe(entry)

    def _manifest(self) -> dict[str, ArticleEntry]:
        """This collection's articles, read again only when the index's revision has
        moved (one read of the whole index serves every collection)."""
        every = self._shared.manifest(self.store)
        if self._listing is None or self._listing[0] is not every:
            mine = {k: e for k, e in every.items() if e.collection == self.collection}
            self._listing = (every, mine)
        return self._listing[1]

    def _narrowed(self, filters: Filters) -> Filters:
        """``filters`` within this collection: its name goes into both searches, unless
        the index has no other collection (it then asks as before collections existed).
        Decided from the collection list (one metadata read), never from the articles:
        reading the manifest on the ask path after each write costs seconds at scale."""
        if len(self.store.collections()) == 1:
            return filters
        return replace(filters, collection=self.collection)

    def _writing(self, on_wait: Callable[[str], None] | None):
        """This process's writers in turn, then the index's cross-process lock."""
        from contextlib import ExitStack

        def waiting(holder: str) -> None:
            (on_wait or (lambda h: log.warning("waiting for the index write lock: %s", h)))(holder)

        stack = ExitStack()
        stack.enter_context(self._write_lock)
        stack.enter_context(index_write_lock(self.settings.index_dir, waiting))
        try:
            self.store.follow_other_writers()  # write on top of what other processes wrote
        except BaseException:
            stack.close()
            raise
        stack.enter_context(self.retriever.writing())
        return stack

    @property
    def lexical(self) -> LexicalSearch:
        """The lexical (BM25) index in use now (``QA_LEXICAL`` picks the engine)."""
        return self.retriever.lexical

    # Read path ----------------------------------------------------------------------
    def ask(
        self,
        question: str,
        history: Sequence[dict[str, str]] | None = None,
        k: int | None = None,
        filters: Filters | Mapping[str, Any] | None = None,
    ) -> Answer:
        """Answer ``question`` from the articles, with citations.

        ``filters`` ({"source", "category", "since", "until"}, dates as YYYY-MM-DD)
        answer it from those articles only."""
        return self.chain.invoke(self._valid_inputs(question, history, k, filters))

    def ask_stream(
        self,
        question: str,
        history: Sequence[dict[str, str]] | None = None,
        k: int | None = None,
        filters: Filters | Mapping[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``ask`` as events: ``{"event": "token", "text": ...}`` while a model writes,
        then ``{"event": "answer", "answer": Answer}``. Inputs are checked before the
        first event, so a bad question raises here, not mid-stream."""
        return self.chain.stream(self._valid_inputs(question, history, k, filters))

    def as_runnable(self) -> Runnable:
        """The question path as a LangChain runnable, for pipelines, tracing and
        callbacks: ``{"question", "history"?, "k"?, "filters"?}`` → ``Answer``
        (``stream`` gives ``ask_stream``'s events). Its first step checks the inputs
        exactly as ``ask`` does; then condense → retrieve → answer."""
        return Step("check", self._checked) | self.chain

    def _checked(self, inputs: Any) -> dict[str, Any]:
        if not isinstance(inputs, Mapping) or "question" not in inputs:
            raise InvalidQuestion('give {"question": ..., "history"?, "k"?, "filters"?}')
        unknown = set(inputs) - {"question", "history", "k", "filters"}
        if unknown:
            raise InvalidQuestion(f"unknown inputs: {', '.join(sorted(map(str, unknown)))}")
        return self._valid_inputs(
            inputs["question"], inputs.get("history"), inputs.get("k"), inputs.get("filters")
        )

    def _valid_inputs(self, question: Any, history: Any, k: Any, filters: Any) -> dict[str, Any]:
        """What the chain reads, each input checked (the errors every front end shows)."""
        return {
            "question": self._valid_question(question),
            "history": _valid_history(history, self.settings.max_question_chars * 20),
            "k": self._valid_k(k) if k is not None else self.settings.top_k,
            "filters": self._narrowed(self._as_stored(as_filters(filters))),
        }

    def _as_stored(self, filters: Filters) -> Filters:
        """Source and category matched ignoring case, as the article list matches them:
        a filter "bbc" means the index's "BBC" (Chroma compares exactly)."""
        if not (filters.source or filters.category):
            return filters
        known = self.facets()

        def stored(value: str, name: str) -> str:
            spelled = {v.casefold(): v for v in known.get(name, [])}
            return spelled.get(value.casefold(), value) if value else value

        return replace(
            filters,
            source=stored(filters.source, "source"),
            category=stored(filters.category, "category"),
        )

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | Mapping[str, Any] | None = None,
    ) -> list[Passage]:
        """The best passages for ``query``, scored, without composing an answer."""
        query, k = self._valid_question(query), self._valid_k(k)
        narrowed = self._narrowed(self._as_stored(as_filters(filters)))
        found = self.retriever.search(query, k, (), narrowed).passages
        return [p for p in found if not p.sibling]  # the top article's other chunks are for reading

    def stats(self) -> IndexStats:
        """What the index holds, and the configured model and whether it answers."""
        narrowed = self._narrowed(Filters())
        stats = replace(self.store.stats(narrowed.where()), collection=self.collection)
        answers = self.answerer.status() if self.settings.llm else None
        if answers is None:
            return stats
        return replace(stats, llm=self.settings.llm, llm_answers=answers)

    # Validation ---------------------------------------------------------------------
    def _valid_question(self, question: Any) -> str:
        if not isinstance(question, str):
            raise InvalidQuestion("the question must be text")
        limit = self.settings.max_question_chars
        if len(question) > limit:  # checked first, on the text as sent
            raise InvalidQuestion(
                f"the question is too long ({len(question):,} characters; the limit is {limit:,})"
            )
        _refuse_surrogates(question, "the question")
        if not _visible(question):
            raise InvalidQuestion("the question is empty")
        return " ".join(question.split())

    def _valid_k(self, k: Any) -> int:
        if k is None:
            return self.settings.top_k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise InvalidQuestion(f"k must be a whole number from 1 to {MAX_K}")
        return k


class _SharedState:
    """What an assistant's collection views share: the views themselves, and the
    whole index's manifest for the revision it was read at."""

    def __init__(self) -> None:
        self.views: dict[str, Assistant] = {}
        self._manifest: tuple[int, dict[str, ArticleEntry]] | None = None

    def manifest(self, store: ArticleStore) -> dict[str, ArticleEntry]:
        revision = store.revision()
        if self._manifest is None or self._manifest[0] != revision:
            self._manifest = (revision, store.manifest())
        return self._manifest[1]


def build_answerer(settings: Settings, embedder: Any, analyzer: Analyzer) -> Answerer:
    """The extractive answerer, or with ``QA_LLM`` a model's, checked against it."""
    extractive = ExtractiveAnswerer(build_reader(settings, analyzer))
    if not settings.llm:
        return extractive
    from qa.llm.generation import build_generated_answerer

    return build_generated_answerer(settings, extractive, embedder, analyzer)


@dataclass(frozen=True)
class CompactReport:
    """What ``Assistant.compact`` did: chunks moved, lexical folders removed."""

    moved: int
    removed_folders: tuple[str, ...] = ()


def build_follower(store: ArticleStore, lexical: LexicalSearch) -> LogFollower | None:
    """In the chroma layout, what keeps the host's lexical index on the change log."""
    if store.change_log is None:
        return None
    return LogFollower(store.change_log, lexical.folder, lexical.shared)


def build_lexical(settings: Settings, analyzer: Analyzer) -> LexicalSearch:
    """The lexical index ``QA_LEXICAL`` names, in the index folder (each engine its own)."""
    folder = settings.index_dir / "lexical" / settings.chroma_collection
    if settings.lexical == LexicalEngine.TANTIVY:
        from qa.index.tantivy_lexical import TantivyLexicalIndex

        name = f"{settings.chroma_collection}.tantivy-v{SCHEMA_VERSION}"
        return TantivyLexicalIndex(folder.with_name(name), analyzer)
    return LexicalIndex(folder, analyzer)


def build_reader(settings: Settings, analyzer: Analyzer) -> SentenceReader:
    """The reader ``QA_READER`` names; ``QA_MIN_EVIDENCE`` overrides its fitted threshold.

    "default" is the trained model of ``qa/answer/trained_reader.py``; "fast" the
    hand-made evidence of ``qa/answer/reader.py`` alone (their measured trade-off:
    docs/reader.md).
    """
    if settings.reader == ReaderMode.DEFAULT:
        from qa.answer.answer_model import shared_answer_model
        from qa.answer.trained_reader import TrainedReader, load_calibration, load_choice

        calibration = load_calibration()
        if settings.min_evidence:
            calibration = replace(calibration, threshold=settings.min_evidence)
        return TrainedReader(shared_answer_model(), calibration, Reader(analyzer), load_choice())

    from qa.weights import READER_WEIGHTS

    weights = READER_WEIGHTS
    if settings.min_evidence:
        weights = replace(
            weights,
            fast_answerable=replace(weights.fast_answerable, threshold=settings.min_evidence),
        )
    return Reader(analyzer, weights=weights)


def _valid_ids(article_ids: Any) -> list[str]:
    if isinstance(article_ids, str) or not isinstance(article_ids, (list, tuple)):
        raise InvalidQuestion("give the article ids as a list")
    if not article_ids or len(article_ids) > MAX_DELETE:
        raise InvalidQuestion(f"give from 1 to {MAX_DELETE:,} article ids")
    longest = MAX_ID_CHARS + MAX_NAME_CHARS + 1  # another collection's ids carry its name
    if not all(isinstance(i, str) and 0 < len(i) <= longest for i in article_ids):
        raise InvalidQuestion(f"each article id must be text of 1 to {longest} characters")
    return list(dict.fromkeys(article_ids))


def _valid_history(history: Any, max_chars: int) -> list[dict[str, str]]:
    """Earlier messages, each at most ``max_chars`` long, at most ``MAX_HISTORY_MESSAGES``."""
    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise InvalidQuestion("history must be a list of {role, content} messages")
    if len(history) > MAX_HISTORY_MESSAGES:
        raise InvalidQuestion(
            f"the conversation history is too long ({len(history)} messages; "
            f"the limit is {MAX_HISTORY_MESSAGES})"
        )
    messages = []
    for number, message in enumerate(history, start=1):
        if (
            not isinstance(message, dict)
            or message.get("role") not in ("user", "assistant")
            or not isinstance(message.get("content"), str)
        ):
            raise InvalidQuestion(
                f"history message {number} must be "
                '{"role": "user" | "assistant", "content": text}'
            )
        if len(message["content"]) > max_chars:
            raise InvalidQuestion(
                f"history message {number} is too long "
                f"({len(message['content']):,} characters; the limit is "
                f"{max_chars:,})"
            )
        _refuse_surrogates(message["content"], f"history message {number}")
        messages.append({"role": message["role"], "content": message["content"]})
    return messages


def _visible(text: str) -> str:
    """``text`` without whitespace and invisible format characters (zero-width spaces,
    joiners, direction marks): a question made only of those is empty."""
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")


def _refuse_surrogates(text: str, what: str) -> None:
    """Unpaired surrogates (JSON can spell "\\ud800") are not text; the tokenizer
    would fail on them deep inside the chain."""
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise InvalidQuestion(
            f"{what} holds an unpaired surrogate (\\ud800-\\udfff), which is not valid Unicode"
        )


def _valid_urls(urls: Sequence[str]) -> None:
    """The URL limits, checked before anything is fetched."""
    if len(urls) > MAX_URLS:
        raise InvalidQuestion(f"at most {MAX_URLS} URLs in one write, not {len(urls):,}")
    for url in urls:
        if len(url) > MAX_URL_CHARS:
            raise InvalidQuestion(f"a URL may be at most {MAX_URL_CHARS:,} characters")
