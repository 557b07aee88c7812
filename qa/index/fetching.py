"""Fetching a URL without letting it reach what it should not (feeds, news pages).

A URL given to Article QA may come from a feed written by someone else, and
the server fetches it from inside the intranet: without care that is a
server-side request forgery hole (``http://169.254.169.254/`` hands out cloud
credentials, ``http://10.0.0.5/admin`` answers to anyone inside). So a fetch:

- is off unless hosts are configured (``QA_FETCH_HOSTS``: names, ``*.domain``,
  or ``*`` for any public host), and only http and https;
- resolves the host itself and refuses loopback, private, link-local,
  multicast and reserved addresses, unless the host is listed in
  ``QA_FETCH_PRIVATE_HOSTS``; it then connects to the address it checked
  (the TLS name stays the host's), so a second DNS answer cannot swap in
  another address between the check and the connection;
- follows at most ``max_redirects`` redirects, checking each new URL as the
  first;
- stops at ``max_bytes`` (checked against Content-Length before reading, and
  while reading) and at ``timeout_s`` for the whole fetch, redirects included;
- ignores proxy settings from the environment (a proxy would do the
  connecting, and the address check with it).

Every refusal is a ``FetchRefused`` whose message says which rule refused.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Callable, Sequence
from urllib.parse import urljoin, urlsplit

from qa.config import Settings
from qa.errors import QAError

SCHEMES = ("http", "https")
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

    def allows_private(self, host: str) -> bool:
        return any(_host_matches(host, pattern) for pattern in self.private_hosts if pattern != "*")


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
    """GET ``url`` within ``policy``; raises ``FetchRefused`` or ``FetchFailed``."""
    import httpx

    resolve = resolve or _resolve
    deadline = time.monotonic() + policy.timeout_s
    current = url
    with httpx.Client(trust_env=False, follow_redirects=False, verify=True) as client:
        for _ in range(policy.max_redirects + 1):
            target = _checked(current, policy, resolve)
            location = _get(client, target, policy, deadline)
            if isinstance(location, Fetched):
                return Fetched(url, current, location.content_type, location.data)
            current = urljoin(current, location)
    raise FetchRefused(f"{url}: more than {policy.max_redirects} redirects")


@dataclass(frozen=True)
class _Target:
    url: str  # as given, for messages
    connect_url: str  # the same URL with the checked address in place of the host
    host_header: str
    tls_name: str | None


def _checked(url: str, policy: FetchPolicy, resolve: Resolver) -> _Target:
    """The URL checked against every rule, and the address to connect to."""
    if not policy.enabled:
        raise FetchRefused(f"{url}: fetching URLs is off; set QA_FETCH_HOSTS to the hosts to allow")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise FetchRefused(f"{url}: only http and https URLs are fetched")
    if parts.username is not None or parts.password is not None:
        raise FetchRefused(f"{url}: URLs with a user name or password are refused")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise FetchRefused(f"{url}: no host")
    if not policy.allows_host(host):
        raise FetchRefused(f"{url}: host {host} is not in QA_FETCH_HOSTS")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise FetchRefused(f"{url}: the port is not a number from 0 to 65535") from None
    addresses = resolve(host, port)
    if not addresses:
        raise FetchFailed(f"{url}: host {host} has no address")
    if not policy.allows_private(host):
        for address in addresses:
            if not _public(address):
                raise FetchRefused(
                    f"{url}: {host} is at {address}, a private or local address "
                    "(list the host in QA_FETCH_PRIVATE_HOSTS to allow it)"
                )
    address = addresses[0]
    shown = f"[{address}]" if ":" in address else address
    netloc = f"{shown}:{port}"
    path = parts.path or "/"
    connect_url = f"{scheme}://{netloc}{path}" + (f"?{parts.query}" if parts.query else "")
    default_port = port == (443 if scheme == "https" else 80)
    host_header = parts.hostname or host
    if ":" in host_header:
        host_header = f"[{host_header}]"
    if not default_port:
        host_header = f"{host_header}:{port}"
    return _Target(url, connect_url, host_header, host if scheme == "https" else None)


def _get(client, target: _Target, policy: FetchPolicy, deadline: float) -> Fetched | str:
    """One request: the page, or the Location it redirects to."""
    import httpx

    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchRefused(f"{target.url}: took longer than {policy.timeout_s:g} s")
    extensions = {"sni_hostname": target.tls_name} if target.tls_name else {}
    request = client.build_request(
        "GET",
        target.connect_url,
        headers={"Host": target.host_header, "User-Agent": USER_AGENT, "Accept": "*/*"},
        timeout=httpx.Timeout(remaining),
        extensions=extensions,
    )
    try:
        response = client.send(request, stream=True)
    except httpx.TimeoutException:
        raise FetchRefused(f"{target.url}: took longer than {policy.timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise FetchFailed(f"{target.url}: {type(exc).__name__}: {exc}") from None
    try:
        if response.is_redirect:
            location = response.headers.get("location", "")
            if not location:
                raise FetchFailed(f"{target.url}: HTTP {response.status_code} without a Location")
            return location
        if response.status_code != 200:
            raise FetchFailed(f"{target.url}: HTTP {response.status_code}")
        data = _body(response, target.url, policy, deadline)
        return Fetched(target.url, target.url, response.headers.get("content-type", ""), data)
    finally:
        response.close()


def _body(response, url: str, policy: FetchPolicy, deadline: float) -> bytes:
    import httpx

    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise FetchRefused(f"{url}: {int(declared):,} bytes; the limit is {policy.max_bytes:,}")
    body = bytearray()
    try:
        for chunk in response.iter_bytes():  # as they arrive: the deadline is checked each
            body += chunk
            if len(body) > policy.max_bytes:
                raise FetchRefused(f"{url}: more than {policy.max_bytes:,} bytes")
            if time.monotonic() > deadline:
                raise FetchRefused(f"{url}: took longer than {policy.timeout_s:g} s")
    except httpx.TimeoutException:
        raise FetchRefused(f"{url}: took longer than {policy.timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise FetchFailed(f"{url}: {type(exc).__name__}: {exc}") from None
    return bytes(body)


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


def _public(address: str) -> bool:
    """A globally routable unicast address (an IPv4-mapped IPv6 one judged as IPv4)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _host_matches(host: str, pattern: str) -> bool:
    pattern = pattern.strip().lower().rstrip(".")
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern
