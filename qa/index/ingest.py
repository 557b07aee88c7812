"""The write path: files and URLs → articles → chunks → vectors → the index.

Content hashes are compared with the index *before* anything is embedded, so
re-ingesting an unchanged corpus costs a read of the manifest and nothing
more. Below the article, vectors are content-addressed: a chunk whose exact
embedded text was already embedded (a duplicate article, a syndicated copy,
the untouched paragraphs of an edited article) reuses those vectors instead
of running the model again. A file that fails to load is reported and
skipped; the articles already in the index stay untouched unless ``prune``
asks for articles whose files are gone to be removed. A URL (a feed or a
page, ``qa.index.pages``) is fetched within the fetch policy and its articles join the
same run; pruning never removes what came from a URL, since a feed lists only
its latest entries.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Sequence

from qa.collections import DEFAULT, scoped_article_id
from qa.index.articles import Article, Failure, LoadResult
from qa.index.chunking import Chunk, make_chunks, versioned
from qa.index.embeddings import Embedder, PassageVectors
from qa.index.fetching import FetchPolicy, is_url, normalised_url
from qa.index.formats import find_files, load_bytes, load_file
from qa.index.pages import load_url
from qa.index.store import ArticleEntry, ArticleStore, ArticleWrite, ChunkChanges

# Bump when chunking or what is embedded changes: every article is re-embedded.
PIPELINE_VERSION = "chunks-v3"  # v3: texts and sentence vectors in the payload store
TITLE_TOKENS = 32
EMBED_GROUP = 128  # chunks embedded per model call batch group
MANIFEST_BY_ID = 500  # up to this many articles, read only their entries of the index

ProgressCallback = Callable[[int, int, str], None]


@dataclass
class IngestReport:
    """What an ingest run did, article by article."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    chunks_added: int = 0
    chunks_embedded: int = 0  # the rest of chunks_added reused vectors of identical text
    chunks_removed: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    changes: ChunkChanges = field(default_factory=ChunkChanges, repr=False, compare=False)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        line = (
            f"{len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, "
            f"{len(self.failed)} failed; {self.chunks_added} chunks added"
            f"{self._reuse_note()}, {self.chunks_removed} removed in {self.seconds:.1f} s"
        )
        return line

    def _reuse_note(self) -> str:
        reused = self.chunks_added - self.chunks_embedded
        return f" ({reused} reused identical vectors)" if reused > 0 else ""

    def to_dict(self) -> dict:
        data = asdict(self)
        del data["changes"]
        data["failed"] = [{"name": f.name, "reason": f.reason} for f in self.failed]
        return data


@dataclass(frozen=True)
class _EmbedInput:
    """Exactly what the model sees for one chunk, and the key of its vectors."""

    text: str
    spans: list[tuple[int, int]]  # sentence offsets in ``text``
    key: str  # hash of text and spans: equal keys give equal vectors


@dataclass(frozen=True)
class _Planned:
    article: Article
    chunks: list[Chunk]
    inputs: list[_EmbedInput]
    index_hash: str
    previous: ArticleEntry | None


class _RunVectors:
    """Vectors computed in this run that a later chunk with the same key will reuse.

    Only keys still awaited are kept, so memory stays at the duplicates' size.
    """

    def __init__(self, plans: Sequence[_Planned]) -> None:
        self._awaited = Counter(i.key for plan in plans for i in plan.inputs)
        self._kept: dict[str, PassageVectors] = {}

    def get(self, key: str) -> PassageVectors | None:
        return self._kept.get(key)

    def used(self, key: str, vectors: PassageVectors) -> None:
        self._awaited[key] -= 1
        if self._awaited[key] > 0:
            self._kept[key] = vectors
        else:
            self._kept.pop(key, None)


@dataclass
class Loaded:
    """What files and URLs gave, read before anything is written."""

    articles: list[Article] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    origins: set[str] = field(default_factory=set)  # files that gave articles
    oversized: set[str] = field(default_factory=set)  # files now over the size limit
    collection: str = DEFAULT  # where the articles go
    seconds: float = 0.0
    _started: float = field(default_factory=time.perf_counter, repr=False)

    def add(self, result: LoadResult) -> None:
        self.failed.extend(result.failures)
        self.notes.extend(result.notes)
        self.articles.extend(in_collection(a, self.collection) for a in result.articles)
        self.seconds = time.perf_counter() - self._started


class Ingestor:
    """Adds, updates and prunes articles in an ``ArticleStore``."""

    def __init__(
        self,
        store: ArticleStore,
        embedder: Embedder,
        chunk_tokens: int,
        max_file_bytes: int,
        fetch_policy: FetchPolicy | None = None,
        feed_full_pages: bool = True,
        outside_links: bool = False,
    ) -> None:
        self.outside_links = outside_links  # follow links that leave a given folder
        self.store = store
        self.embedder = embedder
        self.chunk_tokens = chunk_tokens
        self.max_file_bytes = max_file_bytes
        self.fetch_policy = fetch_policy or FetchPolicy()
        self.feed_full_pages = feed_full_pages

    def load(self, paths: Iterable[str | Path], collection: str = DEFAULT) -> Loaded:
        """Read every file and fetch every URL: no index write, so no write lock needed.

        Fetching can take up to the fetch policy's time limit per URL; done here, before
        the write lock is taken, it never keeps other writers waiting. A URL given twice
        (in any spelling of the same resource) is fetched once. The articles come back
        in ``collection`` (their ids are that collection's).
        """
        loaded = Loaded(collection=collection)
        paths = list(paths)
        given = [p for p in paths if isinstance(p, str) and is_url(p)]
        urls = list(dict.fromkeys(normalised_url(p) for p in given))
        found = find_files((p for p in paths if p not in given), self.outside_links)
        loaded.failed.extend(found.failures)
        loaded.notes.extend(found.notes)
        for url in urls:
            result = load_url(
                url, self.fetch_policy, self.feed_full_pages, partial(self._indexed, collection)
            )
            loaded.add(result)
        for path in found.files:
            result = load_file(path, self.max_file_bytes)
            loaded.add(result)
            loaded.notes.extend(
                f"{name}: decoded as {codec}" for name, codec in result.encodings.items()
            )
            if result.articles:
                loaded.origins.add(str(path.resolve()))
            elif any(f.reason.startswith("too large") for f in result.failures):
                loaded.oversized.add(str(path.resolve()))
        return loaded

    def ingest_paths(
        self,
        paths: Iterable[str | Path],
        prune: bool = False,
        progress: ProgressCallback | None = None,
        show_progress: bool = False,
        collection: str = DEFAULT,
    ) -> IngestReport:
        """Load, then write: what ``qa ingest`` does when no other writer is about."""
        return self.write(self.load(paths, collection), prune, progress, show_progress)

    def write(
        self,
        loaded: Loaded,
        prune: bool = False,
        progress: ProgressCallback | None = None,
        show_progress: bool = False,
    ) -> IngestReport:
        """Index what ``load`` read (the caller holds the write lock)."""
        started = time.perf_counter()
        report = IngestReport(changes=ChunkChanges(before=self.store.revision()))
        report.failed.extend(loaded.failed)
        report.notes.extend(loaded.notes)
        self._ingest_articles(loaded.articles, report, progress, show_progress)
        if loaded.oversized:
            self._remove_oversized(loaded.oversized, loaded.collection, report)
        if prune:
            self._prune(loaded.articles, loaded.origins, loaded.collection, report)
        report.seconds = time.perf_counter() - started + loaded.seconds
        return report

    def ingest_uploads(
        self,
        uploads: Sequence[tuple[str, bytes]],
        max_bytes: int,
        progress: ProgressCallback | None = None,
        collection: str = DEFAULT,
    ) -> IngestReport:
        """Ingest (file name, content) pairs into ``collection``; the origin is
        ``upload:<name>``."""
        started = time.perf_counter()
        report = IngestReport(changes=ChunkChanges(before=self.store.revision()))
        articles: list[Article] = []
        for filename, data in uploads:
            name = Path(filename).name
            result = load_bytes(name, data, origin=f"upload:{name}", max_bytes=max_bytes)
            report.failed.extend(result.failures)
            report.notes.extend(result.notes)
            articles.extend(in_collection(a, collection) for a in result.articles)
        self._ingest_articles(articles, report, progress, show_progress=False)
        report.seconds = time.perf_counter() - started
        return report

    def remove_missing(self, collection: str = DEFAULT) -> IngestReport:
        """Remove the articles of ``collection`` whose files are gone (what ``prune``
        does, alone)."""
        started = time.perf_counter()
        report = IngestReport(changes=ChunkChanges(before=self.store.revision()))
        self._prune([], set(), collection, report)
        report.seconds = time.perf_counter() - started
        return report

    def _indexed(self, collection: str, article_id: str) -> tuple[str, str] | None:
        """The link and date ``collection`` holds for an article (a feed entry), if any."""
        article_id = scoped_article_id(collection, article_id)
        entry = self.store.manifest([article_id]).get(article_id)
        return (entry.url, entry.published) if entry else None

    # ---------------------------------------------------------------------------------
    def _ingest_articles(
        self,
        articles: list[Article],
        report: IngestReport,
        progress: ProgressCallback | None,
        show_progress: bool,
    ) -> None:
        ids = [article.id for article in articles]
        manifest = self.store.manifest(ids if len(ids) <= MANIFEST_BY_ID else None)
        plans = self._plan(articles, manifest, report)
        if plans:  # bumped before writing too, so readers notice a write that never finishes
            self.store.bump_revision()
        bar = _progress_bar(len(plans), show_progress and len(plans) > 5)
        done = 0
        run_vectors = _RunVectors(plans)
        for group in _groups(plans, EMBED_GROUP):
            self._embed_and_write(group, run_vectors, report)
            done += len(group)
            bar.update(len(group))
            if progress:
                progress(done, len(plans), group[-1].article.title)
        bar.close()
        if report.changed:
            self.store.bump_revision()

    def _plan(
        self, articles: list[Article], manifest: dict[str, ArticleEntry], report: IngestReport
    ) -> list[_Planned]:
        """Decide per article: unchanged (skip), or chunk it for embedding."""
        plans: list[_Planned] = []
        seen: dict[str, str] = {}
        for article in articles:
            if article.id in seen:
                report.failed.append(
                    Failure(
                        f"{article.origin} ({article.title})",
                        f"duplicate article id {article.id!r}, already given by {seen[article.id]}",
                    )
                )
                continue
            seen[article.id] = article.origin
            index_hash = self._index_hash(article)
            previous = manifest.get(article.id)
            if previous and previous.content_hash == index_hash:
                report.unchanged.append(article.id)
                continue
            chunks = self._chunk(article)
            if self.store.versioned_ids:
                chunks = [versioned(chunk, index_hash) for chunk in chunks]
            if not chunks:
                report.failed.append(Failure(article.origin, "no text to index"))
                continue
            plans.append(
                _Planned(article, chunks, self._embed_inputs(article, chunks), index_hash, previous)
            )
        return plans

    def _index_hash(self, article: Article) -> str:
        recipe = (
            f"{PIPELINE_VERSION}|{self.embedder.name}|{self.chunk_tokens}|{article.content_hash}"
        )
        return hashlib.sha256(recipe.encode("utf-8")).hexdigest()

    def _chunk(self, article: Article) -> list[Chunk]:
        budget = self.embedder.max_tokens - 3 - self._title_tokens(article.title)
        return make_chunks(
            article.id, article.text, self.embedder.count_tokens, min(self.chunk_tokens, budget)
        )

    def _title_tokens(self, title: str) -> int:
        return min(self.embedder.count_tokens([title])[0], TITLE_TOKENS) if title else 0

    def _embedded_title(self, title: str) -> str:
        """The title as embedded with each chunk, cut to ``TITLE_TOKENS`` word pieces."""
        words = title.split()
        fits = lambda n: self.embedder.count_tokens([" ".join(words[:n])])[0] <= TITLE_TOKENS  # noqa: E731
        if fits(len(words)):
            return " ".join(words)
        low, high = 0, min(len(words), TITLE_TOKENS)  # a word is at least one word piece
        while low < high:  # the longest prefix that fits, in log(words) tokenizer calls
            middle = (low + high + 1) // 2
            low, high = (middle, high) if fits(middle) else (low, middle - 1)
        return " ".join(words[:low])

    def _embed_inputs(self, article: Article, chunks: list[Chunk]) -> list[_EmbedInput]:
        """Each chunk as embedded: the article title (for context) above its text."""
        title = self._embedded_title(article.title)
        prefix = f"{title}\n" if title else ""
        inputs = []
        for chunk in chunks:
            shift = len(prefix) - chunk.start
            text = prefix + chunk.text
            spans = [(s + shift, e + shift) for s, e in chunk.sentences]
            key = hashlib.sha1(f"{text}\x00{spans}".encode("utf-8")).hexdigest()
            inputs.append(_EmbedInput(text, spans, key))
        return inputs

    def _embed_and_write(
        self, group: list[_Planned], run_vectors: _RunVectors, report: IngestReport
    ) -> None:
        try:
            vectors, embedded = self._vectors_for(group, run_vectors)
        except Exception as exc:  # one bad batch must not end the run
            for plan in group:
                report.failed.append(Failure(plan.article.origin, f"embedding failed: {exc}"))
            return
        writes = [
            ArticleWrite(
                plan.article,
                plan.chunks,
                [vectors[i.key] for i in plan.inputs],
                [i.key for i in plan.inputs],
                plan.index_hash,
                replaces=plan.previous is not None,
            )
            for plan in group
        ]
        report.chunks_embedded += embedded
        try:
            self.store.write_articles(writes)
        except Exception:  # find the article Chroma refuses; write the others
            for plan, write in zip(group, writes):
                try:
                    self.store.write_articles([write])
                except Exception as exc:
                    report.failed.append(Failure(plan.article.origin, f"could not write: {exc}"))
                    report.changes.exact = False  # its old chunks may be gone
                    continue
                self._count(plan, report)
            return
        for plan in group:
            self._count(plan, report)

    def _vectors_for(
        self, group: list[_Planned], run_vectors: _RunVectors
    ) -> tuple[dict[str, PassageVectors], int]:
        """Vectors for every chunk of the group by key, and how many the model made.

        Reused first: vectors made earlier in this run, then the stored vectors
        of the version an updated article replaces. Only the rest is embedded.
        """
        previous = self.store.stored_vectors(
            [cid for plan in group if plan.previous for cid in plan.previous.chunk_ids]
        )
        vectors: dict[str, PassageVectors] = {}
        missing: dict[str, _EmbedInput] = {}
        for item in (i for plan in group for i in plan.inputs):
            known = vectors.get(item.key) or run_vectors.get(item.key) or previous.get(item.key)
            if known is not None:
                vectors[item.key] = known
            else:
                missing.setdefault(item.key, item)
        inputs = list(missing.values())
        fresh = self.embedder.encode_passages([i.text for i in inputs], [i.spans for i in inputs])
        vectors.update(zip(missing, fresh))
        for item in (i for plan in group for i in plan.inputs):
            run_vectors.used(item.key, vectors[item.key])
        return vectors, len(fresh)

    @staticmethod
    def _count(plan: _Planned, report: IngestReport) -> None:
        report.chunks_added += len(plan.chunks)
        report.changes.added += [(c.id, plan.article.title, c.text) for c in plan.chunks]
        if plan.previous:
            report.changes.removed += plan.previous.chunk_ids
            report.updated.append(plan.article.id)
            report.chunks_removed += len(plan.previous.chunk_ids)
        else:
            report.added.append(plan.article.id)

    def remove(self, article_ids: Sequence[str]) -> IngestReport:
        """Delete these articles (all their chunks, vectors and BM25 entries follow).

        Unknown ids are not an error here; the caller decides (``Assistant.delete``
        checks them first so that nothing is deleted when one is unknown).
        """
        started = time.perf_counter()
        report = IngestReport(changes=ChunkChanges(before=self.store.revision()))
        doomed = list(self.store.manifest(article_ids).values())
        if doomed:
            self._remove_entries(doomed, report)
        report.seconds = time.perf_counter() - started
        return report

    def _remove_oversized(self, origins: set[str], collection: str, report: IngestReport) -> None:
        """A file that grew past the size limit: what the index holds of it is a stale
        earlier version, which would be quoted as if it were the file; it goes."""
        doomed = [
            e
            for e in self.store.manifest().values()
            if e.origin in origins and e.collection == collection
        ]
        if doomed:
            self._remove_entries(doomed, report)
            report.notes.append(
                f"removed {len(doomed)} article(s) whose file grew past the size limit"
            )

    def _prune(
        self,
        articles: list[Article],
        loaded_origins: set[str],
        collection: str,
        report: IngestReport,
    ) -> None:
        """Remove articles of ``collection`` whose file is gone, or whose record left a
        re-read file."""
        present = {a.id for a in articles}
        manifest = self.store.manifest()
        doomed = [
            entry
            for entry in manifest.values()
            if entry.collection == collection
            and entry.article_id not in present
            and not entry.origin.startswith("upload:")
            and not is_url(entry.origin)  # a feed lists only its latest entries
            and (not Path(entry.origin).exists() or entry.origin in loaded_origins)
        ]
        if doomed:
            self._remove_entries(doomed, report)

    def _remove_entries(self, doomed: list[ArticleEntry], report: IngestReport) -> None:
        self.store.bump_revision()
        self.store.remove_articles([e.article_id for e in doomed])
        report.removed.extend(e.article_id for e in doomed)
        report.changes.removed += [c for e in doomed for c in e.chunk_ids]
        report.chunks_removed += sum(len(e.chunk_ids) for e in doomed)
        self.store.bump_revision()


def in_collection(article: Article, collection: str) -> Article:
    """The article as ``collection`` holds it: labelled, with that collection's id."""
    if collection == DEFAULT:
        return article
    return replace(article, id=scoped_article_id(collection, article.id), collection=collection)


def _groups(plans: list[_Planned], max_chunks: int) -> Iterable[list[_Planned]]:
    group: list[_Planned] = []
    size = 0
    for plan in plans:
        if group and size + len(plan.chunks) > max_chunks:
            yield group
            group, size = [], 0
        group.append(plan)
        size += len(plan.chunks)
    if group:
        yield group


def _progress_bar(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="article",
        desc="Embedding",
        disable=not enabled,
        file=sys.stderr,
        dynamic_ncols=True,
    )
