"""Named collections of articles in one index: their names, and who may see them.

Every article belongs to one collection (``default`` unless said). A
collection is a label on each of its chunks in Chroma (the ``collection``
field), so one index, one embedding pass and one lexical index serve them
all, and each search is narrowed to one collection inside both searches
(never by filtering a finished top-k). The list of collections, with which
are private, lives in the Chroma collection's metadata beside the revision,
so every process and host reading the index sees the same list.

Article ids of ``default`` are the ids they always had, so an index built
before collections existed opens unchanged as ``default``; other collections'
ids carry their name (``legal:memo-1a2b3c4d``), so one file ingested into two
collections is two articles that never overwrite each other.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from qa.errors import ConfigError, InvalidQuestion

DEFAULT = "default"
RESERVED = frozenset({"article-qa"})  # /v1's name for the server's own collection
MAX_NAME_CHARS = 40
_NAME = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{MAX_NAME_CHARS - 1}}}")


@dataclass(frozen=True)
class CollectionInfo:
    """One collection: its name and whether reading it needs a scope that names it."""

    name: str
    private: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "private": self.private}


def valid_name(name: Any, setting: str = "") -> str:
    """``name`` when it is a collection name (lower-case letters, digits, ``-``, ``_``;
    at most 40); otherwise a clear error (a ``ConfigError`` when ``setting`` names
    the setting it came from)."""
    if isinstance(name, str) and _NAME.fullmatch(name) and name not in RESERVED:
        return name
    shown = repr(name[:MAX_NAME_CHARS]) if isinstance(name, str) else "that"
    message = (
        f"{shown} is not a collection name: use lower-case letters, digits, '-' and '_', "
        f"at most {MAX_NAME_CHARS} characters, starting with a letter or digit "
        f"(not {', '.join(sorted(RESERVED))})"
    )
    if setting:
        raise ConfigError(f"{setting}: {message}")
    raise InvalidQuestion(message)


def scoped_article_id(collection: str, article_id: str) -> str:
    """The id an article has in ``collection``: unchanged in ``default``."""
    return article_id if collection == DEFAULT else f"{collection}:{article_id}"


def parse_registry(text: str | None) -> dict[str, CollectionInfo]:
    """The collections recorded in the index (``default`` always among them)."""
    found = {DEFAULT: CollectionInfo(DEFAULT)}
    if text:
        for name, about in json.loads(text).items():
            found[name] = CollectionInfo(name, bool(about.get("private", False)))
    return dict(sorted(found.items()))


def registry_text(collections: dict[str, CollectionInfo]) -> str:
    """The JSON kept in the index's metadata (a string: Chroma metadata is flat)."""
    return json.dumps(
        {name: {"private": info.private} for name, info in sorted(collections.items())},
        separators=(",", ":"),
    )
