"""A safe, polite HTTP fetcher for feeds and article pages (httpx underneath).

Safe: only http/https; every hop's host is resolved here and refused if any address is not
public (loopback, private, link-local such as the cloud metadata service 169.254.169.254 ...)
unless ``allow_private_hosts``; the connection then goes to the address that was checked
(the URL is pinned to it, with the original Host header and TLS SNI), so a DNS answer that
changes between check and connect cannot smuggle a request into the internal network.
Redirects are followed by hand so every hop gets the same check.  Bodies are streamed and
cut at ``max_bytes``.  Every request has a total time budget (:attr:`FetchSettings.budget`, 3 x
--fetch-timeout) for connecting, the headers and the body together, whatever the chunking: a
watchdog shuts the connection's socket down when it runs out, so a server that trickles its
headers or its body a byte at a time cannot hold a run (:class:`_Deadline`); proxies from the environment are ignored (``trust_env=False``)
because a proxy would make the address check meaningless.

Polite: one request at a time per host and ``min_delay`` seconds between two requests to
the same host in this process; Retry-After on 429/503 is honoured (a short one is waited
for and retried once, a long one ends the attempt and is reported in ``retry_after``).

ETag and Last-Modified are kept exactly as the server sent them (raw header bytes decoded
as latin-1) and sent back the same way, because servers compare them byte for byte.
"""
from __future__ import annotations

import datetime as _dt
import email.utils
import ipaddress
import json
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional
from urllib.parse import urljoin, urlsplit

import pipeline

__all__ = [
    "DEFAULT_USER_AGENT",
    "FEED_ACCEPT",
    "HTML_ACCEPT",
    "FetchResult",
    "FetchSettings",
    "Fetcher",
    "HostThrottle",
    "address_problem",
    "iso_utc",
    "parse_retry_after",
]

DEFAULT_USER_AGENT = (f"newsbeam/{pipeline.__version__} "
                      f"(+https://github.com/newsbeam/newsbeam; news ingestion bot)")
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"

_REDIRECTS = (301, 302, 303, 307, 308)
_PERMANENT = (301, 308)
_RATE_LIMITED = (429, 503)
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchSettings:
    """Every knob of the fetcher (picklable: it travels to Beam workers)."""

    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 20.0  # seconds, connect and each read; a whole request gets 3x this (budget)
    max_bytes: int = 10 * 1024 * 1024  # decoded body size limit
    max_redirects: int = 5
    min_delay: float = 1.0  # seconds between two requests to the same host
    allow_private_hosts: bool = False
    max_retry_after: float = 30.0  # longest Retry-After waited for inside a run
    feed_budget: float = 300.0  # seconds of article-page fetching one feed gets per run (0: no limit)

    @property
    def budget(self) -> float:
        """Seconds one HTTP request may take in all: connect, headers and body (3 x timeout)."""
        return 3 * float(self.timeout)

    def fingerprint(self) -> str:
        """A short hash of the settings that decide whether a fetch can succeed at all (private
        hosts allowed, timeout, size and redirect limits, User-Agent). A feed's back-off records
        it: failures under other settings (say, before ``--allow-private-hosts``) do not hold
        the feed back. The politeness knobs (delay, Retry-After wait) are not part of it."""
        import hashlib

        key = json.dumps([self.allow_private_hosts, float(self.timeout), int(self.max_bytes),
                          int(self.max_redirects), self.user_agent])
        return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass
class FetchResult:
    """What one ``fetch`` found.  ``error`` is set when no usable final response was had
    (refused, timed out, too big, too many redirects, rate limited); an HTTP error status
    such as 404 is a response, see :attr:`http_error`."""

    url: str
    status: Optional[int] = None
    final_url: Optional[str] = None
    headers: dict = field(default_factory=dict)  # lower-case names, values as sent (latin-1)
    body: bytes = b""
    error: Optional[str] = None
    refused: bool = False  # the URL or an address was refused by policy (no request made)
    #: where a 301/308 chain from ``url`` ended, set only when the fetch got a response there: a
    #: redirect that was refused (a private address) or failed (timeout, too big ...) moves nothing
    permanent_redirect: Optional[str] = None
    retry_after: Optional[str] = None  # ISO UTC time the server asked us to wait until
    elapsed: float = 0.0
    requests: int = 0  # HTTP requests sent (redirect hops and retries included)

    @property
    def http_error(self) -> Optional[str]:
        """``"HTTP 404 Not Found"`` for a final status that is neither 2xx nor 304."""
        if self.error or self.status is None or 200 <= self.status < 300 or self.status == 304:
            return None
        import http

        try:
            phrase = http.HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "unknown status"
        return f"HTTP {self.status} {phrase}"


def iso_utc(moment: _dt.datetime) -> str:
    """Seconds-precision ISO 8601 in UTC, the form every newsbeam timestamp takes."""
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def parse_retry_after(value: Optional[str], now: _dt.datetime) -> Optional[float]:
    """Seconds to wait from a Retry-After value (delta-seconds or an HTTP date); None if
    absent or unreadable.  A date in the past means 0."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


# --------------------------------------------------------------------------------------
# Address policy
# --------------------------------------------------------------------------------------

def address_problem(address: str) -> Optional[str]:
    """Why connecting to ``address`` is refused by default (``"a loopback address"``), or None
    for a public address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (("is_loopback", "a loopback"), ("is_link_local", "a link-local"),
              ("is_multicast", "a multicast"), ("is_unspecified", "an unspecified"),
              ("is_reserved", "a reserved"), ("is_private", "a private"))
    for attribute, kind in checks:
        if getattr(ip, attribute):
            return f"{kind} address"
    if not ip.is_global:  # e.g. 100.64.0.0/10 (carrier-grade NAT), 192.0.0.0/24
        return "a non-public address"
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class _Refused(Exception):
    pass


class _Failed(Exception):
    pass


class _Deadline:
    """The total time budget of one HTTP request, enforced for real: per-operation timeouts never
    exceed what is left, and a watchdog timer shuts the connection's socket down when the budget
    runs out, which wakes a read blocked on a server that sends a byte now and then (httpx's
    timeouts are per read, so such a server never trips them). The socket comes from httpx's
    ``trace`` request extension (the TCP stream when it connects, the TLS stream after the
    handshake)."""

    def __init__(self, seconds: float, timeout: float):
        self.seconds = seconds
        self.timeout = timeout
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._stream = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "_Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()

    def left(self) -> float:
        return max(0.001, self.ends - time.monotonic())

    def trace(self, event: str, info: dict) -> None:
        """httpx's trace hook: keep the newest network stream (TCP, then TLS)."""
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            with self._lock:
                self._stream = info.get("return_value")
                late = self.expired
            if late:
                self._shut()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
        self._shut()

    def _shut(self) -> None:
        with self._lock:
            stream = self._stream
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed
                pass

    def check(self) -> None:
        if self.expired or time.monotonic() >= self.ends:
            raise self.failure()

    def failure(self) -> "_Failed":
        return _Failed(f"timed out: the request took over its {self.seconds:g} s budget for connecting, "
                       f"headers and body together (3 x --fetch-timeout {self.timeout:g}); the server is "
                       "too slow or stalling; raise --fetch-timeout to wait longer")


# --------------------------------------------------------------------------------------
# Politeness
# --------------------------------------------------------------------------------------

class HostThrottle:
    """One request at a time per host, and a minimum gap between two requests to it.

    Shared by every fetcher of a process (see :data:`_SHARED_THROTTLE`) so DoFn instances on
    one worker do not hammer a host together; tests inject their own clock and sleep.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.clock = clock
        self.sleep = sleep
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}
        self._not_before: dict[str, float] = {}

    def _lock(self, host: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(host, threading.Lock())

    def defer(self, host: str, seconds: float) -> None:
        """No request to ``host`` before ``seconds`` from now (a Retry-After we honour)."""
        with self._guard:
            until = self.clock() + seconds
            self._not_before[host] = max(self._not_before.get(host, until), until)

    @contextmanager
    def slot(self, host: str, min_delay: float) -> Iterator[None]:
        with self._lock(host):
            with self._guard:
                last = self._last.get(host)
                not_before = self._not_before.pop(host, None)
            start = max(last + min_delay if last is not None else float("-inf"),
                        not_before if not_before is not None else float("-inf"))
            wait = start - self.clock()
            if wait > 0:
                self.sleep(wait)
            try:
                yield
            finally:
                with self._guard:
                    self._last[host] = self.clock()


_SHARED_THROTTLE = HostThrottle()


# --------------------------------------------------------------------------------------
# Fetcher
# --------------------------------------------------------------------------------------

Resolver = Callable[..., list]


class Fetcher:
    """Fetch URLs under :class:`FetchSettings`.  Create one per worker (``DoFn.setup``) and
    ``close`` it in ``teardown``; it is thread-safe.

    ``resolver`` (``socket.getaddrinfo``), ``throttle`` (its clock and sleep do all waiting)
    and ``now`` (wall clock for Retry-After dates) are injectable, so tests need no DNS and
    no real waiting.  ``verify`` goes to httpx (an ``ssl.SSLContext`` or CA bundle path).
    """

    def __init__(self, settings: Optional[FetchSettings] = None, *,
                 resolver: Optional[Resolver] = None, throttle: Optional[HostThrottle] = None,
                 now: Optional[Callable[[], _dt.datetime]] = None, verify=True):
        import httpx  # lazy: keeps `import pipeline.io.http` cheap

        self.settings = settings or FetchSettings()
        self.resolver = resolver or socket.getaddrinfo
        self.throttle = throttle or _SHARED_THROTTLE
        self.now = now or _utcnow
        self.requests = 0  # HTTP requests sent by this fetcher
        self._count_lock = threading.Lock()
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.settings.timeout),
            follow_redirects=False,
            trust_env=False,
            verify=verify,
            # A pinned connection was TLS-checked for one host name; never reuse it for another.
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"User-Agent": self.settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------------- checks
    def _addresses(self, url: str) -> tuple[object, list[str]]:
        """Parse and check one hop; returns (httpx.URL, addresses to try) or raises."""
        import httpx

        try:
            scheme = urlsplit(url).scheme.lower()
        except ValueError as exc:
            raise _Refused(f"invalid URL {url!r}: {exc}") from None
        if scheme not in ("http", "https"):
            got = scheme or "a URL without a scheme"
            raise _Refused(f"only http and https URLs are fetched (got {got})")
        try:
            parsed = httpx.URL(url)
        except Exception as exc:  # httpx.InvalidURL and friends
            raise _Refused(f"invalid URL {url!r}: {exc}") from None
        host = parsed.raw_host.decode("ascii")  # IDNA-encoded: what DNS and TLS see
        if not host:
            raise _Refused(f"invalid URL {url!r}: no host")
        port = parsed.port or (443 if scheme == "https" else 80)
        literal = _is_ip(host)
        if literal:
            addresses = [host]
        else:
            try:
                infos = self.resolver(host, port, 0, socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:
                raise _Failed(f"cannot resolve {host}: {exc}") from None
            addresses = list(dict.fromkeys(info[4][0] for info in infos))
            if not addresses:
                raise _Failed(f"cannot resolve {host}: no address")
        if not self.settings.allow_private_hosts:
            for address in addresses:  # ANY: a name mixing public and private is a trick
                problem = address_problem(address)
                if problem:
                    what = f"{host} is {problem}" if literal else f"{host} resolves to {address}, {problem}"
                    raise _Refused(f"refused: {what} (pass --allow-private-hosts to allow it)")
        return parsed, addresses

    # ---------------------------------------------------------------- one request
    def _send(self, parsed, addresses: list[str], headers: dict,
              result: FetchResult) -> tuple[int, dict, bytes]:
        """One GET pinned to a checked address; returns (status, headers, body)."""
        import httpx

        request_headers = dict(headers)
        request_headers["Host"] = parsed.netloc.decode("ascii")
        extensions = {"sni_hostname": parsed.raw_host.decode("ascii")} if parsed.scheme == "https" else {}
        last_error: Optional[Exception] = None
        for address in addresses:
            pinned = parsed.copy_with(host=address.split("%", 1)[0])
            with _Deadline(self.settings.budget, self.settings.timeout) as deadline:
                # per-operation timeouts never longer than what is left of the budget
                request = self._client.build_request(
                    "GET", pinned, headers=request_headers,
                    timeout=httpx.Timeout(min(self.settings.timeout, deadline.left())),
                    extensions={**extensions, "trace": deadline.trace})
                with self._count_lock:
                    self.requests += 1
                result.requests += 1
                try:
                    return self._receive(request, deadline)
                except httpx.HTTPError as exc:
                    if deadline.expired or time.monotonic() >= deadline.ends:
                        raise deadline.failure() from None
                    if isinstance(exc, httpx.ConnectError):
                        last_error = exc  # try the host's next address
                        continue
                    if isinstance(exc, httpx.TimeoutException):
                        kind = type(exc).__name__.replace("Timeout", "").lower() or "read"
                        raise _Failed(f"timed out after {self.settings.timeout:g} s ({kind})") from None
                    if isinstance(exc, httpx.DecodingError):
                        raise _Failed(f"could not decode the response body: {exc}") from None
                    raise _Failed(f"HTTP error: {type(exc).__name__}: {exc}") from None
        raise _Failed(f"connection failed: {last_error}")

    def _receive(self, request, deadline: _Deadline) -> tuple[int, dict, bytes]:
        limit = self.settings.max_bytes
        response = self._client.send(request, stream=True)
        try:
            deadline.check()
            headers: dict[str, str] = {}
            for name, value in response.headers.raw:
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                headers[key] = f"{headers[key]}, {text}" if key in headers else text
            status = response.status_code
            if status in _REDIRECTS or status == 304:
                return status, headers, b""
            length = headers.get("content-length", "").strip()
            if length.isdigit() and int(length) > limit:
                raise _Failed(f"response larger than {limit} bytes (Content-Length {length})")
            chunks, size = [], 0
            for chunk in response.iter_bytes(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise _Failed(f"response larger than {limit} bytes")
                deadline.check()
                chunks.append(chunk)
            deadline.check()
            return status, headers, b"".join(chunks)
        finally:
            response.close()

    # ---------------------------------------------------------------- fetch
    def fetch(self, url: str, etag: Optional[str] = None, last_modified: Optional[str] = None,
              accept: str = FEED_ACCEPT) -> FetchResult:
        """GET ``url`` (conditional when ``etag``/``last_modified`` are given).  Never raises
        for network or policy problems: they come back in ``FetchResult.error``."""
        started = time.perf_counter()
        result = FetchResult(url=url)
        try:
            self._fetch(url, etag, last_modified, accept, result)
        except _Refused as exc:
            result.error, result.refused = str(exc), True
            result.permanent_redirect = None
        except _Failed as exc:
            result.error = str(exc)
            result.permanent_redirect = None
        result.elapsed = time.perf_counter() - started
        return result

    def _fetch(self, url, etag, last_modified, accept, result: FetchResult) -> None:
        settings = self.settings
        headers: dict = {"Accept": accept}
        # Bytes, not str: httpx would ASCII-encode a str; latin-1 gives back the exact bytes.
        if etag is not None:
            headers["If-None-Match"] = etag.encode("latin-1", "replace")
        if last_modified is not None:
            headers["If-Modified-Since"] = last_modified.encode("latin-1", "replace")
        current, hops, retried, permanent_chain = url, 0, False, True
        while True:
            result.final_url = current
            parsed, addresses = self._addresses(current)
            host = parsed.raw_host.decode("ascii").lower()
            with self.throttle.slot(host, settings.min_delay):
                status, response_headers, body = self._send(parsed, addresses, headers, result)
            result.status, result.headers, result.body = status, response_headers, body

            location = response_headers.get("location")
            if status in _REDIRECTS and location:
                hops += 1
                if hops > settings.max_redirects:
                    raise _Failed(f"too many redirects (more than {settings.max_redirects})")
                current = urljoin(current, location.strip())
                if status in _PERMANENT and permanent_chain:
                    result.permanent_redirect = current
                else:
                    permanent_chain = False
                continue

            if status in _RATE_LIMITED:
                now = self.now()
                delay = parse_retry_after(response_headers.get("retry-after"), now)
                if delay is None:
                    return  # an HTTP error without a hint: the caller treats it as a failure
                if delay <= settings.max_retry_after and not retried:
                    retried = True
                    self.throttle.defer(host, delay)  # the next slot for this host waits
                    continue
                result.retry_after = iso_utc(now + _dt.timedelta(seconds=max(delay, 1.0)))
                raise _Failed(f"rate limited (HTTP {status}); the server asks to retry after "
                              f"{result.retry_after}")
            return
