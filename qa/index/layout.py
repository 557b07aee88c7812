"""Which layout an index uses, and what the store asks of one.

A layout decides where a chunk's payload (text, offsets, sentence spans and
sentence vectors) lives and how writes reach the readers' caches:

- ``folder`` (``qa.index.folder_layout``): a payload store in the index folder
  (``QA_INDEX_DIR``), the embedded default and the most compact; every
  process must see that folder.
- ``chroma`` (``qa.index.chroma_layout``): everything in Chroma, with a change
  log; each app host keeps only caches it can rebuild (docs/scaling.md).

The layout is recorded in the Chroma collection's metadata when the index is
made, so every process opens an index the way it was written: ``QA_LAYOUT``
only chooses for a new index, and one that contradicts the recorded layout
is refused with what to set instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Protocol, Sequence

from qa.config import Layout, Settings
from qa.errors import ConfigError

if TYPE_CHECKING:
    from qa.index.payloads import ChunkPayload
    from qa.index.values import ArticleWrite


class RecordLayout(Protocol):
    """What ``ArticleStore`` needs of a layout."""

    name: str
    versioned_ids: bool  # chunk ids carry the article's version (writers on several hosts)

    def check(self, metadata: dict[str, Any]) -> None:
        """Refuse an index this process cannot read (called when its metadata moves)."""

    def write(self, writes: Sequence[ArticleWrite]) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def payloads(self, got: dict[str, Any]) -> dict[str, ChunkPayload]:
        """The payloads of the records Chroma returned (ids, metadatas, documents)."""
        ...

    def texts(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """(title, text) of those chunks that exist."""
        ...

    def page_texts(
        self, ids: Sequence[str], metas: Sequence[dict[str, Any]], docs: Sequence[str]
    ) -> list[str]:
        """The texts of one page of records, in order."""
        ...

    def article_chunk_ids(self, article_id: str) -> list[str]:
        """An article's chunk ids from an index of the layout's own ([]: ask Chroma)."""
        ...

    def sentence_counts(
        self, ids: Sequence[str], metas: Sequence[dict[str, Any]]
    ) -> Iterable[int]: ...

    def move_old_records(self, on_batch: Any = None) -> int: ...


def chosen_layout(settings: Settings, metadata: dict[str, Any], empty: bool) -> Layout:
    """The layout to open the index with: the one it records, else (a new index)
    the configured one, ``auto`` meaning chroma with a Chroma server."""
    recorded = metadata.get("layout") or ("folder" if metadata.get("payload_store") else "")
    if not recorded and not empty:
        recorded = "folder"  # written before layouts had names
    wanted = settings.layout
    if recorded:
        refuse_other(recorded, wanted.value, settings)
        return Layout(recorded)
    return layout_for_new_index(settings)


def layout_for_new_index(settings: Settings) -> Layout:
    """The layout a new index is made with: ``auto`` means chroma with a Chroma server."""
    if settings.layout == Layout.AUTO:
        return Layout.CHROMA if settings.chroma_url else Layout.FOLDER
    return settings.layout


def refuse_other(recorded: str, wanted: str, settings: Settings) -> None:
    """``ConfigError`` when the index records another layout than ``wanted`` (a
    process of another configuration may have made it meanwhile)."""
    if recorded and wanted not in (Layout.AUTO.value, recorded):
        raise ConfigError(
            f"the index {settings.chroma_collection!r} was written with the {recorded!r} "
            f"layout, not {wanted!r}: set QA_LAYOUT={recorded} (or auto), or use "
            "another QA_CHROMA_COLLECTION"
        )


def open_layout(settings: Settings, chroma: Any, dimension: int) -> RecordLayout:
    """The layout of the opened collection ``chroma`` (a new one records it at once,
    so a second host opening it meanwhile reads the same)."""
    from qa.index.chroma_layout import ChromaLayout
    from qa.index.folder_layout import FolderLayout

    metadata = chroma.metadata()
    chosen = chosen_layout(settings, metadata, chroma.collection.count() == 0)
    if chosen != Layout.CHROMA:
        return FolderLayout(settings, chroma, dimension)
    if metadata.get("layout") != chosen.value:
        chroma.save_metadata({**metadata, "layout": chosen.value})
    return ChromaLayout(settings, chroma, dimension)
