"""File formats: one module each (bytes in, articles out), and the one list of them.

The loader, the chat's upload widget and the REST route all read
``SUPPORTED_SUFFIXES`` from here. To add a format, add one module to this
package that defines ``FORMATS = (FileFormat(...),)`` (see ``plain.py``): every
module here is read for its ``FORMATS`` when ``qa.index.formats`` is imported, in
name order, and nothing else needs to change.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Iterable, NamedTuple

from qa.filters import parse_day
from qa.index.articles import Failure, LoadResult, failed
from qa.index.formats.base import FileFormat, Source


def _discover() -> tuple[FileFormat, ...]:
    found: list[FileFormat] = []
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"):
        found += getattr(importlib.import_module(f"{__name__}.{module}"), "FORMATS", ())
    suffixes = [s for f in found for s in f.suffixes]
    clashes = sorted({s for s in suffixes if suffixes.count(s) > 1})
    if clashes:
        raise ImportError(f"two file formats claim {', '.join(clashes)}")
    return tuple(found)


FORMATS: tuple[FileFormat, ...] = _discover()
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(s for f in FORMATS for s in f.suffixes)
_BY_SUFFIX = {suffix: f for f in FORMATS for suffix in f.suffixes}

__all__ = [
    "FORMATS",
    "SUPPORTED_SUFFIXES",
    "FileFormat",
    "Source",
    "find_files",
    "format_for",
    "load_bytes",
    "load_file",
]


def format_for(filename: str) -> FileFormat | None:
    """The format a file name's extension says, or None."""
    return _BY_SUFFIX.get(Path(filename).suffix.lower())


class Found(NamedTuple):
    """The files a list of paths names, the paths that do not exist, and notes."""

    files: list[Path]
    failures: list[Failure]
    notes: list[str]


def find_files(paths: Iterable[str | Path], outside_links: bool = False) -> Found:
    """Expand folders into supported files; report paths that do not exist.

    Inside a folder, a symbolic link that leads out of it is skipped with a note
    unless ``outside_links``: a link dropped into a watched folder must not
    publish a private file (``/proc/self/status``, a key) to everyone who asks.
    Links to folders are never walked (``rglob`` does not follow them).
    """
    found = Found([], [], [])
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            root = path.resolve()
            for p in sorted(path.rglob("*")):
                if (
                    p.suffix.lower() not in SUPPORTED_SUFFIXES
                    or any(part.startswith(".") for part in p.relative_to(path).parts)
                    or not p.is_file()
                ):
                    continue
                if not outside_links and not p.resolve().is_relative_to(root):
                    found.notes.append(
                        f"{p}: skipped, a link to {p.resolve()} outside {path} "
                        "(QA_FOLLOW_OUTSIDE_LINKS=1 reads such links)"
                    )
                    continue
                found.files.append(p)
        elif path.is_file():
            found.files.append(path)
        else:
            found.failures.append(Failure(str(raw), "no such file or directory"))
    return found


def load_file(path: Path, max_bytes: int) -> LoadResult:
    """Load one file; any problem becomes a Failure in the result."""
    name = str(path)
    try:
        if not path.is_file():
            return failed(name, "unreadable: not a regular file")
        size = path.stat().st_size
        if size > max_bytes:
            return failed(name, f"too large ({size:,} bytes; the limit is {max_bytes:,})")
        data = path.read_bytes()
    except OSError as exc:
        return failed(name, f"unreadable: {exc.strerror or exc}")
    return load_bytes(
        path.name, data, origin=str(path.resolve()), display_name=name, max_bytes=max_bytes
    )


def load_bytes(
    filename: str,
    data: bytes,
    origin: str,
    display_name: str | None = None,
    max_bytes: int = 20_000_000,
) -> LoadResult:
    """Load articles from a file's bytes (also used for uploads)."""
    name = display_name or filename
    file_format = format_for(filename)
    if file_format is None:
        suffix = Path(filename).suffix.lower()
        return failed(
            name,
            f"unsupported file type {suffix or '(none)'}; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}",
        )
    if len(data) > max_bytes:
        return failed(name, f"too large ({len(data):,} bytes; the limit is {max_bytes:,})")
    result = LoadResult()
    try:
        file_format.read(data, Source(name, origin, Path(filename).stem), result)
    except ValueError as exc:
        return failed(name, str(exc))
    if not result.articles and not result.failures:
        return failed(name, "no readable text")
    for article in result.articles:
        if not article.text.strip():
            return failed(name, "no readable text")
        if article.published and parse_day(article.published) is None:
            result.notes.append(
                f"{name}: published date {article.published[:40]!r} is not a date I can read "
                "(kept as text; date filters skip it)"
            )
    return result
