"""Fetching a URL without letting it reach what it should not (feeds, news pages).

A URL given to Article QA may come from a feed written by someone else, and
the server fetches it from inside the intranet: without care that is a
server-side request forgery hole (``http://169.254.169.254/`` hands out cloud
credentials, ``http://10.0.0.5/admin`` answers to anyone inside). So a fetch:

- is off unless hosts are configured (``QA_FETCH_HOSTS``: names, ``*.domain``,
  or ``*`` for any public host), and only http and https;
- resolves the host itself and refuses loopback, private, link-local,
  multicast and reserved addresses (IPv4 ones carried inside IPv6 too),
  unless the host is listed in ``QA_FETCH_PRIVATE_HOSTS`` (on ports 80 and
  443, or the port the entry names); it then connects to the address it
  checked (the TLS name stays the host's), so a second DNS answer cannot swap
  in another address between the check and the connection;
- follows at most ``max_redirects`` redirects, checking each new URL as the
  first;
- gives the whole fetch one deadline, ``timeout_s``: the DNS lookup, every
  connection, read and redirect get only the time left, so a server that
  drips a header byte at a time cannot hold it;
- stops at ``max_bytes``, read and decoded: checked against Content-Length
  before reading, then as bytes arrive and as they are decompressed (gzip and
  deflate only; brotli and zstd, which expand a whole frame at once, are
  neither asked for nor taken), so memory stays near the limit whatever the
  encoding;
- ignores proxy settings from the environment (a proxy would do the
  connecting, and the address check with it).

Every refusal is a ``FetchRefused`` whose message says which rule refused.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpcore

from qa.config import Settings
from qa.errors import QAError

SCHEMES = ("http", "https")
ENCODINGS = ("gzip", "deflate")  # what is asked for and decoded; anything else is refused
USER_AGENT = "ArticleQA/1 (+news reader)"

Resolver = Callable[[str, int], Sequence[str]]


class FetchRefused(QAError):
    """A URL that the fetch policy does not allow, or a fetch that broke a limit."""


class FetchFailed(QAError):
    """A fetch that was allowed but did not work: no such host, HTTP 404, a reset."""


@dataclass(frozen=True)
class FetchPolicy:
    """Where a fetch may go and how much it may take."""

    hosts: tuple[str, ...] = ()  # () = fetching off; "*" any public host; "*.example.com"
    private_hosts: tuple[str, ...] = ()  # hosts allowed to resolve to private addresses
    max_bytes: int = 5_000_000
    timeout_s: float = 20.0
    max_redirects: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> "FetchPolicy":
        return cls(
            hosts=settings.fetch_hosts,
            private_hosts=settings.fetch_private_hosts,
            max_bytes=settings.fetch_max_bytes,
            timeout_s=settings.fetch_timeout,
            max_redirects=settings.fetch_max_redirects,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.hosts)

    def allows_host(self, host: str) -> bool:
        return any(_host_matches(host, pattern) for pattern in self.hosts)

    def allows_private(self, host: str, port: int) -> bool:
        """A listed private host: ``host`` on the default ports (80, 443), ``host:port``
        on that port, ``host:*`` on any. A service on another port of the same machine
        (a database, an admin page) stays out of reach unless it is named."""
        return any(_private_entry_matches(host, port, e) for e in self.private_hosts)


@dataclass(frozen=True)
class Fetched:
    """What a URL gave: the bytes, their type, and the URL they came from after redirects."""

    url: str
    final_url: str
    content_type: str
    data: bytes


def is_url(text: str) -> bool:
    """Whether an ingest argument is a URL rather than a path."""
    return text.lower().startswith(("http://", "https://"))


def fetch(url: str, policy: FetchPolicy, resolve: Resolver | None = None) -> Fetched:
    """GET ``url`` within ``policy``; raises ``FetchRefused`` or ``FetchFailed``.

    One deadline covers the whole fetch: every DNS lookup, connection, TLS
    handshake, read and redirect gets only the time left, so a server that
    sends a byte at a time cannot stretch it. The body is read raw and
    decoded here (gzip or deflate only), with the output bounded by
    ``max_bytes`` as it is produced: a compression bomb stops at the limit.
    """
    resolve = resolve or _resolve
    deadline = time.monotonic() + policy.timeout_s
    current = url
    backend = _DeadlineBackend(deadline)
    with httpcore.ConnectionPool(ssl_context=_tls_context(), network_backend=backend) as pool:
        for _ in range(policy.max_redirects + 1):
            target = _checked(current, policy, resolve, deadline)
            location = _get(pool, target, policy, deadline)
            if isinstance(location, Fetched):
                return Fetched(url, current, location.content_type, location.data)
            current = urljoin(current, location)
    raise FetchRefused(f"{url}: more than {policy.max_redirects} redirects")


def normalised_url(url: str) -> str:
    """The URL as one resource has it, however it was typed: scheme and host in lower
    case, no default port, no fragment, "/" for an empty path. What feed entry and page
    ids are made from, so ``HTTP://Host:80/feed`` and ``http://host/feed`` are one feed.
    A URL that cannot be read is returned as it is (the fetch refuses it)."""
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        return url
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port is None or port == default else f"{host}:{port}"
    if parts.username is not None or parts.password is not None:
        return url  # refused by the fetch; not worth a canonical form
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


@dataclass(frozen=True)
class _Target:
    url: str  # as given, for messages
    connect_url: str  # the same URL with the checked address in place of the host
    host_header: str
    tls_name: str | None


def _checked(url: str, policy: FetchPolicy, resolve: Resolver, deadline: float) -> _Target:
    """The URL checked against every rule, and the address to connect to."""
    if not policy.enabled:
        raise FetchRefused(f"{url}: fetching URLs is off; set QA_FETCH_HOSTS to the hosts to allow")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        explicit_port = parts.port
    except ValueError as exc:
        raise FetchRefused(f"{url[:200]}: not a URL I can read ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise FetchRefused(f"{url}: only http and https URLs are fetched")
    if parts.username is not None or parts.password is not None:
        raise FetchRefused(f"{url}: URLs with a user name or password are refused")
    host = (hostname or "").rstrip(".").lower()
    if not host:
        raise FetchRefused(f"{url}: no host")
    if not policy.allows_host(host):
        raise FetchRefused(f"{url}: host {host} is not in QA_FETCH_HOSTS")
    port = explicit_port or (443 if scheme == "https" else 80)
    addresses = _resolve_by(resolve, host, port, deadline, url, policy)
    if not addresses:
        raise FetchFailed(f"{url}: host {host} has no address")
    if not policy.allows_private(host, port):
        for address in addresses:
            if not _public(address):
                raise FetchRefused(
                    f"{url}: {host} is at {address}, a private or local address "
                    "(list the host, or host:port, in QA_FETCH_PRIVATE_HOSTS to allow it)"
                )
    address = addresses[0]
    shown = f"[{address}]" if ":" in address else address
    netloc = f"{shown}:{port}"
    path = parts.path or "/"
    connect_url = f"{scheme}://{netloc}{path}" + (f"?{parts.query}" if parts.query else "")
    default_port = port == (443 if scheme == "https" else 80)
    host_header = hostname or host
    if ":" in host_header:
        host_header = f"[{host_header}]"
    if not default_port:
        host_header = f"{host_header}:{port}"
    return _Target(url, connect_url, host_header, host if scheme == "https" else None)


def _resolve_by(
    resolve: Resolver, host: str, port: int, deadline: float, url: str, policy: FetchPolicy
) -> Sequence[str]:
    """The resolver's answer within the fetch's deadline. getaddrinfo has no timeout of
    its own, so it runs on a daemon thread that is abandoned when time is up."""
    done = threading.Event()
    answer: list[Sequence[str] | BaseException] = []

    def lookup() -> None:
        try:
            answer.append(resolve(host, port))
        except BaseException as exc:  # handed to the caller below
            answer.append(exc)
        done.set()

    threading.Thread(target=lookup, name=f"resolve {host}", daemon=True).start()
    if not done.wait(max(0.0, deadline - time.monotonic())):
        raise FetchRefused(f"{url}: took longer than {policy.timeout_s:g} s (resolving {host})")
    if isinstance(answer[0], BaseException):
        raise answer[0]
    return answer[0]


def _get(pool, target: _Target, policy: FetchPolicy, deadline: float) -> Fetched | str:
    """One request: the page, or the Location it redirects to."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchRefused(f"{target.url}: took longer than {policy.timeout_s:g} s")
    extensions: dict = {"timeout": {k: left for k in ("connect", "read", "write", "pool")}}
    if target.tls_name:
        extensions["sni_hostname"] = target.tls_name
    headers = [
        (b"Host", target.host_header.encode("idna" if target.tls_name else "ascii", "replace")),
        (b"User-Agent", USER_AGENT.encode()),
        (b"Accept", b"*/*"),
        (b"Accept-Encoding", ", ".join(ENCODINGS).encode()),
    ]
    try:
        with pool.stream("GET", target.connect_url, headers=headers, extensions=extensions) as r:
            fields = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in r.headers}
            if r.status in (301, 302, 303, 307, 308):
                location = fields.get("location", "")
                if not location:
                    raise FetchFailed(f"{target.url}: HTTP {r.status} without a Location")
                return location
            if r.status != 200:
                raise FetchFailed(f"{target.url}: HTTP {r.status}")
            data = _body(r.iter_stream(), fields, target.url, policy, deadline)
            return Fetched(target.url, target.url, fields.get("content-type", ""), data)
    except httpcore.TimeoutException:
        raise FetchRefused(f"{target.url}: took longer than {policy.timeout_s:g} s") from None
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        raise FetchFailed(f"{target.url}: {type(exc).__name__}: {exc}") from None


def _body(
    chunks: Iterable[bytes], fields: dict[str, str], url: str, policy: FetchPolicy, deadline: float
) -> bytes:
    """The body, decoded, never more than ``max_bytes`` read or produced."""
    declared = fields.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise FetchRefused(f"{url}: {int(declared):,} bytes; the limit is {policy.max_bytes:,}")
    decoder = _decoder(fields.get("content-encoding", ""), url)
    body = bytearray()
    received = 0
    for chunk in chunks:  # as they arrive: the deadline is checked each time
        received += len(chunk)
        room = policy.max_bytes - len(body)
        if received > policy.max_bytes or room < 0:
            raise FetchRefused(f"{url}: more than {policy.max_bytes:,} bytes")
        body += decoder.decode(chunk, room, url, policy.max_bytes)
        if time.monotonic() > deadline:
            raise FetchRefused(f"{url}: took longer than {policy.timeout_s:g} s")
    body += decoder.flush(policy.max_bytes - len(body), url, policy.max_bytes)
    return bytes(body)


class _Decoder:
    """Content-Encoding undone a piece at a time, with the output bounded."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}.get(encoding)
        self._zlib = zlib.decompressobj(wbits) if wbits else None
        self._raw_deflate_tried = False

    def decode(self, data: bytes, room: int, url: str, limit: int) -> bytes:
        if self._zlib is None:
            return data
        try:
            out = self._zlib.decompress(data, room + 1)  # stops one byte past the room
        except zlib.error as exc:
            if self.encoding == "deflate" and not self._raw_deflate_tried:
                # servers send raw deflate under that name as often as zlib's format
                self._raw_deflate_tried = True
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decode(data, room, url, limit)
            raise FetchFailed(f"{url}: the {self.encoding} body is corrupt ({exc})") from None
        self._raw_deflate_tried = True  # the format is known once a piece decoded
        if len(out) > room:
            raise FetchRefused(f"{url}: more than {limit:,} bytes once decoded")
        return out

    def flush(self, room: int, url: str, limit: int) -> bytes:
        if self._zlib is None:
            return b""
        out = self._zlib.flush()  # only what the capped calls left: at most room + 1
        if len(out) > room:
            raise FetchRefused(f"{url}: more than {limit:,} bytes once decoded")
        return out


def _decoder(header: str, url: str) -> _Decoder:
    layers = [e.strip().lower() for e in header.split(",") if e.strip()]
    layers = ["gzip" if e == "x-gzip" else e for e in layers if e != "identity"]
    if len(layers) > 1 or (layers and layers[0] not in ENCODINGS):
        # brotli and zstd decode a whole frame at once: a few hundred bytes become
        # gigabytes before any limit can look, so they are never asked for or taken
        raise FetchFailed(
            f"{url}: Content-Encoding {header.strip()[:60]!r} is not accepted "
            f"(only {', '.join(ENCODINGS)})"
        )
    return _Decoder(layers[0] if layers else "identity")


def _tls_context():
    import ssl

    return ssl.create_default_context()


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own sockets, each operation given no more than the time left."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self._inner = httpcore.SyncBackend()

    def left(self, timeout: float | None) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the fetch's deadline passed")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._inner.connect_tcp(
            host, port, self.left(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise NotImplementedError("fetches go over TCP only")

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, max(0.0, self.deadline - time.monotonic())))


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner, backend: _DeadlineBackend) -> None:
        self._inner, self._backend = inner, backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._backend.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._backend.left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        stream = self._inner.start_tls(ssl_context, server_hostname, self._backend.left(timeout))
        return _DeadlineStream(stream, self._backend)

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchFailed(f"cannot resolve {host}: {exc.strerror or exc}") from None
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%")[0]
        if address not in seen:
            seen.append(address)
    return seen


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _public(address: str) -> bool:
    """A globally routable unicast address. An IPv6 address that carries an IPv4 one
    (mapped, compatible, NAT64, 6to4, Teredo) is judged by that IPv4 address too, and
    the old site-local range is private: Python 3.11 calls some of these global."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return _public(str(embedded))
    return ip.is_global and not ip.is_multicast


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client's address
    if ip in _IPV4_COMPATIBLE or any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _private_entry_matches(host: str, port: int, entry: str) -> bool:
    entry = entry.strip().lower()
    if entry == "*":
        return False  # "any private host" would switch the rule off
    name, _, wanted = entry.rpartition(":") if _has_port(entry) else (entry, "", "")
    name = name.strip("[]")
    if not _host_matches(host, name):
        return False
    if not wanted:
        return port in (80, 443)
    return wanted == "*" or wanted == str(port)


def _has_port(entry: str) -> bool:
    """``host:port``, ``[::1]:port``; a bare IPv6 address has colons but no port."""
    if entry.startswith("["):
        return "]:" in entry
    return entry.count(":") == 1


def _host_matches(host: str, pattern: str) -> bool:
    pattern = pattern.strip().lower().rstrip(".")
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern
