"""Who may read and write which collection: the token book, the trusted proxy, the rule.

Off by default: with no private collection, no token in the book and no
trusted proxy, every reader reads everything and writes need ``QA_API_TOKEN``,
as before collections existed.

Two ways to say who asks, both checked per request by ``Gate.scope``:

- a bearer token from the **token book** (``access.json`` beside the index, or
  ``QA_ACCESS_FILE``): each token is stored as its SHA-256 only, with the
  collections it may read and write. ``QA_API_TOKEN`` stays the administrator's:
  everything. A token the book does not hold gives no more than no token (an
  OpenAI client always sends *some* key); a write with one is refused (401).
- a **trusted proxy** (``QA_TRUSTED_PROXIES``): behind single sign-on, the
  proxy names the user and their groups in headers; the book's ``groups`` map
  says what each group may read and write. The headers count only on a
  connection from a listed proxy address: the socket's peer, never a
  forwarded-for header, so a client cannot claim to be the proxy.

The rule (``Scope``): a public collection is readable by anyone, a private one
only by a scope that names it; writing needs a scope that names it for
writing. ``*`` names every collection.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from qa.collections import CollectionInfo, valid_name
from qa.config import Settings
from qa.errors import AccessRulesUnreadable, ConfigError, Forbidden, InvalidQuestion, Unauthorized

if TYPE_CHECKING:
    from qa.assistant import Assistant

log = logging.getLogger("qa")

EVERY = "*"
TOKEN_PREFIX = "qa_"
MAX_TOKEN_CHARS = 200  # a header value is bounded before it is hashed
MAX_GROUPS = 100  # groups read from the proxy's header


@dataclass(frozen=True)
class Scope:
    """What one caller may do: read and write these collections (``*``: all)."""

    who: str
    read: frozenset[str] = frozenset()
    write: frozenset[str] = frozenset()

    def may_read(self, info: CollectionInfo) -> bool:
        return not info.private or bool({info.name, EVERY} & (self.read | self.write))

    def may_write(self, name: str) -> bool:
        return bool({name, EVERY} & self.write)


ANONYMOUS = Scope("anonymous")
ADMINISTRATOR = Scope("administrator", frozenset({EVERY}), frozenset({EVERY}))


@dataclass(frozen=True)
class TokenEntry:
    """One token of the book, as kept: never the token itself, only its hash."""

    id: str
    label: str
    sha256: str
    read: tuple[str, ...]
    write: tuple[str, ...]
    created: str

    def listing(self) -> dict[str, Any]:
        """What ``qa token list`` shows (no hash: nothing to guess from)."""
        return {k: v for k, v in asdict(self).items() if k != "sha256"}


@dataclass(frozen=True)
class GroupGrant:
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()


@dataclass
class _Book:
    tokens: list[TokenEntry] = field(default_factory=list)
    groups: dict[str, GroupGrant] = field(default_factory=dict)


class AccessBook:
    """The token book and group map: one JSON file, re-read when it changes on disk
    (``qa token add`` in another process is seen by a running server)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._book = _Book()

    @classmethod
    def for_settings(cls, settings: Settings) -> "AccessBook":
        path = Path(settings.access_file) if settings.access_file else None
        return cls((path or settings.index_dir / "access.json").expanduser().absolute())

    # Reading ------------------------------------------------------------------------
    def _current(self) -> _Book:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return _Book()
        key = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if key != self._seen:
                self._book = _parse(self.path)
                self._seen = key
            return self._book

    def _usable(self) -> _Book:
        """The book for a request: a broken file refuses (500-like, one clear line in
        the log) without showing the caller the server's paths."""
        try:
            return self._current()
        except ConfigError as exc:
            log.error("%s", exc)
            raise AccessRulesUnreadable(
                "the server's access rules cannot be read; tell its administrator"
            ) from None

    def tokens(self) -> list[TokenEntry]:
        return list(self._current().tokens)

    def scope_for_token(self, token: str) -> Scope | None:
        """The scope of a token the book holds, or None."""
        digest = _digest(token)
        for entry in self._usable().tokens:
            if hmac.compare_digest(entry.sha256, digest):
                return Scope(f"token {entry.id}", frozenset(entry.read), frozenset(entry.write))
        return None

    def scope_for_user(self, user: str, groups: Iterable[str]) -> Scope:
        """What a user the proxy vouches for may do: the union of their groups' grants."""
        grants = self._usable().groups
        read: set[str] = set()
        write: set[str] = set()
        for group in groups:
            grant = grants.get(group)
            if grant:
                read.update(grant.read)
                write.update(grant.write)
        return Scope(f"user {user}", frozenset(read), frozenset(write))

    # Writing (qa token ...) ---------------------------------------------------------
    def add_token(
        self, read: Iterable[str], write: Iterable[str] = (), label: str = ""
    ) -> tuple[TokenEntry, str]:
        """A new token with these scopes: the entry kept, and the token (shown once)."""
        read, write = _names(read), _names(write)
        if not read and not write:
            raise InvalidQuestion("a token needs --read or --write (collection names, or *)")
        if len(label) > 200:
            raise InvalidQuestion("the label is at most 200 characters")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        entry = TokenEntry(
            id=secrets.token_hex(4),
            label=label,
            sha256=_digest(token),
            read=read,
            write=write,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        self._change(lambda raw: raw.setdefault("tokens", []).append(asdict(entry)))
        return entry, token

    def revoke(self, token_id: str) -> TokenEntry:
        """Remove a token by its id (``qa token list`` shows them)."""
        found = [e for e in self._current().tokens if e.id == token_id]
        if not found:
            raise InvalidQuestion(f"no token with id {token_id[:40]!r} (see `qa token list`)")
        self._change(
            lambda raw: raw.update(
                tokens=[t for t in raw.get("tokens", []) if t.get("id") != token_id]
            )
        )
        return found[0]

    def _change(self, edit: Any) -> None:
        """Read, edit and replace the file in one step (readers see old or new)."""
        with self._lock:
            raw = json.loads(self.path.read_text("utf-8")) if self.path.exists() else {}
            edit(raw)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".access-")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(raw, out, indent=2)
            os.chmod(temporary, 0o600)  # hashes only, but still nobody else's business
            os.replace(temporary, self.path)
            self._seen = None


class Gate:
    """Turns a request's headers and peer address into a ``Scope``."""

    def __init__(self, settings: Settings, book: AccessBook | None = None) -> None:
        self.settings = settings
        self.book = book or AccessBook.for_settings(settings)
        self.proxies = _networks(settings.trusted_proxies)

    def scope(self, headers: Mapping[str, str], peer: str | None) -> Scope:
        """Who asks: the administrator's or a book token, else a user the trusted
        proxy names, else anonymous. An unknown token reads as anonymous."""
        token = _bearer(headers.get("authorization", ""))
        if token:
            admin = self.settings.api_token
            if admin and hmac.compare_digest(
                token.encode("utf-8", "surrogateescape"), admin.encode("utf-8")
            ):
                return ADMINISTRATOR
            found = self.book.scope_for_token(token)
            if found is not None:
                return found
        user = headers.get(self.settings.proxy_user_header.lower(), "").strip()
        if user and self._from_proxy(peer):
            raw = headers.get(self.settings.proxy_groups_header.lower(), "")
            groups = [g.strip() for g in raw.split(",")[:MAX_GROUPS] if g.strip()]
            return self.book.scope_for_user(user[:200], groups)
        return ANONYMOUS

    def reader(self, assistant: Assistant, scope: Scope, name: str) -> Assistant:
        """``assistant`` in collection ``name``, when ``scope`` may read it (else 403)."""
        check_read(scope, name, {c.name: c for c in assistant.collections()})
        return assistant.using(name)

    def writer(self, assistant: Assistant, scope: Scope, name: str) -> Assistant:
        """``assistant`` in collection ``name``, when ``scope`` may write it (else 403)."""
        check_write(scope, name, {c.name: c for c in assistant.collections()})
        return assistant.using(name)

    def readable(self, assistant: Assistant, scope: Scope) -> list[CollectionInfo]:
        """The collections ``scope`` may read (what a model list or a picker shows)."""
        return readable(scope, assistant.collections())

    def _from_proxy(self, peer: str | None) -> bool:
        if not peer or not self.proxies:
            return False
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.proxies)

    def writer_scope(self, headers: Mapping[str, str], peer: str | None) -> Scope:
        """The scope of a caller who wants to write: anonymous is refused (401; 403
        when nothing could ever write: no administrator's token, no book, no proxy)."""
        found = self.scope(headers, peer)
        if found is ANONYMOUS:
            if not (self.settings.api_token or self.book._usable().tokens or self.proxies):
                raise Forbidden(
                    "writes are disabled: the server has no QA_API_TOKEN configured "
                    "and no token in its token book"
                )
            raise Unauthorized("missing or wrong bearer token")
        return found


def readable(scope: Scope, collections: Iterable[CollectionInfo]) -> list[CollectionInfo]:
    """The collections this scope may read, in name order."""
    return sorted((c for c in collections if scope.may_read(c)), key=lambda c: c.name)


def check_read(scope: Scope, name: str, collections: Mapping[str, CollectionInfo]) -> None:
    """Refuse (403) a collection this scope may not read. Unknown and private-and-not-
    yours read the same, so the answer tells nobody which private names exist."""
    info = collections.get(name)
    if info is None or not scope.may_read(info):
        raise Forbidden(f"collection {name[:40]!r} is not one you may read")


def check_write(scope: Scope, name: str, collections: Mapping[str, CollectionInfo]) -> None:
    """Refuse (403) a write to a collection this scope may not write."""
    if not scope.may_write(name):
        raise Forbidden(f"collection {name[:40]!r} is not one you may write to")
    if name not in collections:
        check_read(scope, name, collections)  # a writer of "*" learns it is missing


def _bearer(value: str) -> str:
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_CHARS:
        return ""
    return token


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _names(values: Iterable[str]) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        for name in (part.strip() for part in value.split(",")):
            if name:
                found.append(name if name == EVERY else valid_name(name))
    return tuple(dict.fromkeys(found))


def _networks(values: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    found = []
    for value in values:
        try:
            found.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ConfigError(
                f"QA_TRUSTED_PROXIES: {value!r} is not an address or network"
            ) from None
    return found


def _parse(path: Path) -> _Book:
    try:
        raw = json.loads(path.read_text("utf-8"))
        tokens = [
            TokenEntry(**{**t, "read": tuple(t["read"]), "write": tuple(t["write"])})
            for t in raw.get("tokens", [])
        ]
        groups = {
            str(name): GroupGrant(
                tuple(_names(g.get("read", ()))), tuple(_names(g.get("write", ())))
            )
            for name, g in raw.get("groups", {}).items()
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError, InvalidQuestion) as exc:
        raise ConfigError(f"the access file {path} cannot be read: {exc}") from None
    return _Book(tokens, groups)
