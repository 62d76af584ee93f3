"""Tests for pipeline.io.http: safety (schemes, addresses, redirects, size, time) and
politeness (per-host delay, Retry-After), against a local server only."""
from __future__ import annotations

import datetime as dt
import email.utils
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

from pipeline.io import http as http_mod
from pipeline.io.http import (
    DEFAULT_USER_AGENT,
    Fetcher,
    FetchSettings,
    HostThrottle,
    address_problem,
    parse_retry_after,
)
from tests.io.feedserver import FeedServer, Response, feed_server  # noqa: F401 (fixture)

NOW = dt.datetime(2024, 3, 12, 18, 30, tzinfo=dt.timezone.utc)


class FakeClock:
    """Monotonic clock + sleep that only move when slept on; records every sleep."""

    def __init__(self):
        self.t = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_fetcher(clock):
    made = []

    def make(resolver=None, verify=True, **settings):
        settings.setdefault("allow_private_hosts", True)
        settings.setdefault("min_delay", 0.0)
        settings.setdefault("timeout", 2.0)
        fetcher = Fetcher(FetchSettings(**settings), resolver=resolver, verify=verify,
                          throttle=HostThrottle(clock.clock, clock.sleep), now=lambda: NOW)
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


def resolver_for(mapping: dict):
    """A getaddrinfo stand-in: host -> list of addresses; records the hosts it was asked."""
    asked = []

    def resolve(host, port, *_args):
        asked.append(host)
        if host not in mapping:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in mapping[host]]

    resolve.asked = asked
    return resolve


# ------------------------------------------------------------------------- basics

def test_plain_get_sends_user_agent_and_returns_body(feed_server, make_fetcher):
    feed_server.route("/feed", body=b"<rss/>", headers={"Content-Type": "application/rss+xml"})
    result = make_fetcher().fetch(feed_server.url("/feed"))
    assert (result.status, result.body, result.error) == (200, b"<rss/>", None)
    assert result.final_url == feed_server.url("/feed")
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.requests == 1
    assert feed_server.requests[0].header("User-Agent") == DEFAULT_USER_AGENT
    assert DEFAULT_USER_AGENT.startswith("newsbeam/")


def test_conditional_headers_sent_byte_for_byte(feed_server, make_fetcher):
    feed_server.route("/feed", Response(304))
    etag, modified = 'W/"abc"', "Tue, 12 Mar 2024 18:30:00 GMT"
    result = make_fetcher().fetch(feed_server.url("/feed"), etag=etag, last_modified=modified)
    assert result.status == 304 and result.error is None and result.http_error is None
    request = feed_server.requests[0]
    assert request.header("If-None-Match") == etag
    assert request.header("If-Modified-Since") == modified


def test_etag_kept_exactly_including_quotes_weak_prefix_and_latin1(feed_server, make_fetcher):
    odd = 'W/"caf\xe9 \\"x\\""'  # a weak ETag with a latin-1 byte and escaped quotes
    feed_server.route("/feed", body=b"x", headers={"ETag": odd, "Last-Modified": "yesterday-ish"})
    fetcher = make_fetcher()
    result = fetcher.fetch(feed_server.url("/feed"))
    assert result.headers["etag"] == odd
    assert result.headers["last-modified"] == "yesterday-ish"
    fetcher.fetch(feed_server.url("/feed"), etag=result.headers["etag"])
    assert feed_server.requests[-1].header("If-None-Match") == odd


def test_http_error_status_is_a_response_not_a_fetch_error(feed_server, make_fetcher):
    result = make_fetcher().fetch(feed_server.url("/missing"))
    assert result.status == 404 and result.error is None
    assert result.http_error == "HTTP 404 Not Found"
    assert result.body == b"not found"


# ------------------------------------------------------------------------- schemes and addresses

@pytest.mark.parametrize("url,scheme", [("file:///etc/passwd", "file"), ("ftp://example.com/feed", "ftp"),
                                        ("gopher://example.com/", "gopher"), ("javascript:alert(1)", "javascript")])
def test_only_http_and_https(url, scheme, make_fetcher):
    resolver = resolver_for({})
    result = make_fetcher(resolver=resolver).fetch(url)
    assert result.refused and result.status is None and result.requests == 0
    assert result.error == f"only http and https URLs are fetched (got {scheme})"
    assert resolver.asked == []


def test_loopback_refused_without_allow_private_hosts(feed_server, make_fetcher):
    feed_server.route("/feed", body=b"x")
    result = make_fetcher(allow_private_hosts=False).fetch(feed_server.url("/feed"))
    assert result.refused and result.requests == 0
    assert result.error == ("refused: 127.0.0.1 is a loopback address "
                            "(pass --allow-private-hosts to allow it)")
    assert feed_server.requests == []
    allowed = make_fetcher(allow_private_hosts=True).fetch(feed_server.url("/feed"))
    assert allowed.status == 200 and not allowed.refused


def test_host_name_resolving_to_loopback_is_named_in_the_reason(feed_server, make_fetcher):
    resolver = resolver_for({"feeds.example": ["127.0.0.1"]})
    result = make_fetcher(resolver=resolver, allow_private_hosts=False).fetch(
        f"http://feeds.example:{feed_server.port}/feed")
    assert result.error == ("refused: feeds.example resolves to 127.0.0.1, a loopback address "
                            "(pass --allow-private-hosts to allow it)")
    assert feed_server.requests == []


def test_host_allowed_by_flag_is_connected_at_the_checked_address_with_its_name(feed_server, make_fetcher):
    feed_server.route("/feed", body=b"ok")
    resolver = resolver_for({"feeds.example": ["127.0.0.1"]})
    url = f"http://feeds.example:{feed_server.port}/feed"
    result = make_fetcher(resolver=resolver).fetch(url)
    assert (result.status, result.body, result.final_url) == (200, b"ok", url)
    assert feed_server.requests[0].header("Host") == f"feeds.example:{feed_server.port}"
    assert resolver.asked == ["feeds.example"]  # resolved once, by us: no second lookup


def test_any_private_address_among_several_refuses(make_fetcher):
    resolver = resolver_for({"mixed.example": ["93.184.216.34", "10.1.2.3"]})
    result = make_fetcher(resolver=resolver, allow_private_hosts=False).fetch("http://mixed.example/feed")
    assert result.refused
    assert "mixed.example resolves to 10.1.2.3, a private address" in result.error


def test_metadata_link_local_refused_without_any_connection(make_fetcher, monkeypatch):
    def no_network(*_a, **_k):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", no_network)
    resolver = resolver_for({"metadata.example": ["169.254.169.254"]})
    fetcher = make_fetcher(resolver=resolver, allow_private_hosts=False)
    literal = fetcher.fetch("http://169.254.169.254/latest/meta-data/")
    assert literal.refused and literal.requests == 0
    assert literal.error.startswith("refused: 169.254.169.254 is a link-local address")
    named = fetcher.fetch("http://metadata.example/")
    assert "resolves to 169.254.169.254, a link-local address" in named.error
    assert resolver.asked == ["metadata.example"]  # the IP literal needed no lookup


@pytest.mark.parametrize("address,problem", [
    ("127.0.0.1", "a loopback address"), ("::1", "a loopback address"),
    ("::ffff:127.0.0.1", "a loopback address"), ("10.0.0.1", "a private address"),
    ("192.168.1.1", "a private address"), ("172.16.0.1", "a private address"),
    ("fd00::1", "a private address"), ("169.254.169.254", "a link-local address"),
    ("fe80::1", "a link-local address"), ("224.0.0.1", "a multicast address"),
    ("0.0.0.0", "an unspecified address"), ("240.0.0.1", "a reserved address"),
    ("100.64.0.1", "a non-public address"), ("93.184.216.34", None), ("2606:4700::1", None),
])
def test_address_problem(address, problem):
    assert address_problem(address) == problem


def test_unresolvable_host_is_an_error_not_a_refusal(make_fetcher):
    result = make_fetcher(resolver=resolver_for({})).fetch("http://nowhere.example/feed")
    assert not result.refused and result.requests == 0
    assert result.error.startswith("cannot resolve nowhere.example")


# ------------------------------------------------------------------------- redirects

def test_permanent_redirect_reported_and_followed(feed_server, make_fetcher):
    feed_server.redirect("/old", "/new", 301)
    feed_server.route("/new", body=b"moved")
    result = make_fetcher().fetch(feed_server.url("/old"))
    assert (result.status, result.body) == (200, b"moved")
    assert result.final_url == result.permanent_redirect == feed_server.url("/new")
    assert result.requests == 2


def test_temporary_redirect_is_not_permanent_and_ends_a_permanent_chain(feed_server, make_fetcher):
    feed_server.redirect("/a", "/b", 308)
    feed_server.redirect("/b", "/c", 302)
    feed_server.route("/c", body=b"here")
    result = make_fetcher().fetch(feed_server.url("/a"))
    assert result.body == b"here"
    assert result.permanent_redirect == feed_server.url("/b")  # only the 308 hop is permanent
    assert make_fetcher().fetch(feed_server.url("/b")).permanent_redirect is None


def test_conditional_headers_follow_redirects(feed_server, make_fetcher):
    feed_server.redirect("/old", "/new", 301)
    feed_server.route("/new", Response(304))
    make_fetcher().fetch(feed_server.url("/old"), etag='"v1"')
    assert [r.header("If-None-Match") for r in feed_server.requests] == ['"v1"', '"v1"']


def test_too_many_redirects(feed_server, make_fetcher):
    for i in range(10):
        feed_server.redirect(f"/r{i}", f"/r{i + 1}", 302)
    result = make_fetcher(max_redirects=3).fetch(feed_server.url("/r0"))
    assert result.error == "too many redirects (more than 3)"
    assert result.requests == 4  # the original request and three hops


def test_redirect_to_another_scheme_is_refused(feed_server, make_fetcher):
    feed_server.redirect("/feed", "file:///etc/passwd", 302)
    result = make_fetcher().fetch(feed_server.url("/feed"))
    assert result.refused and result.error == "only http and https URLs are fetched (got file)"


def test_every_redirect_hop_is_checked_for_private_addresses(feed_server, make_fetcher, monkeypatch):
    # Treat the test server's loopback as public, so only the hop into 10.0.0.0/8 is private.
    real = http_mod.address_problem
    monkeypatch.setattr(http_mod, "address_problem",
                        lambda a: None if a == "127.0.0.1" else real(a))
    feed_server.redirect("/feed", "http://10.0.0.5/internal", 302)
    result = make_fetcher(allow_private_hosts=False).fetch(feed_server.url("/feed"))
    assert result.refused
    assert result.error == "refused: 10.0.0.5 is a private address (pass --allow-private-hosts to allow it)"
    assert result.requests == 1


# ------------------------------------------------------------------------- limits

def test_slow_server_times_out(feed_server, make_fetcher):
    feed_server.route("/slow", Response(200, b"late", delay=4))
    started = time.monotonic()
    result = make_fetcher(timeout=0.2).fetch(feed_server.url("/slow"))
    assert result.error == "timed out after 0.2 s (read)"
    assert time.monotonic() - started < 3  # the server answers after 4 s: it was not waited for


def test_oversized_response_with_content_length(feed_server, make_fetcher):
    feed_server.route("/big", body=b"x" * 5000)
    result = make_fetcher(max_bytes=1000).fetch(feed_server.url("/big"))
    assert result.error == "response larger than 1000 bytes (Content-Length 5000)"


def test_oversized_streamed_response_is_cut(feed_server, make_fetcher):
    feed_server.route("/big", Response(200, b"x" * 200_000, content_length=False))
    result = make_fetcher(max_bytes=1000).fetch(feed_server.url("/big"))
    assert result.error == "response larger than 1000 bytes"
    assert result.body == b""


def test_gzip_body_is_decoded_and_limited_after_decoding(feed_server, make_fetcher):
    import gzip

    feed_server.route("/gz", body=gzip.compress(b"y" * 50_000), headers={"Content-Encoding": "gzip"})
    assert make_fetcher().fetch(feed_server.url("/gz")).body == b"y" * 50_000
    assert make_fetcher(max_bytes=10_000).fetch(feed_server.url("/gz")).error == \
        "response larger than 10000 bytes"


# ------------------------------------------------------------------------- politeness

def test_min_delay_between_requests_to_the_same_host(feed_server, make_fetcher, clock):
    feed_server.route("/a", body=b"a")
    feed_server.route("/b", body=b"b")
    fetcher = make_fetcher(min_delay=2.5)
    fetcher.fetch(feed_server.url("/a"))
    assert clock.sleeps == []  # the first request to a host does not wait
    fetcher.fetch(feed_server.url("/b"))
    assert clock.sleeps == [2.5]
    clock.t += 10  # long enough ago: no wait
    fetcher.fetch(feed_server.url("/a"))
    assert clock.sleeps == [2.5]


def test_hosts_are_throttled_independently(clock):
    throttle = HostThrottle(clock.clock, clock.sleep)
    with throttle.slot("a.example", 1.0):
        pass
    with throttle.slot("b.example", 1.0):
        pass
    assert clock.sleeps == []
    clock.t += 0.25
    with throttle.slot("a.example", 1.0):
        pass
    assert clock.sleeps == [0.75]


def test_one_request_at_a_time_per_host(feed_server):
    feed_server.route("/slow", Response(200, b"x", delay=0.15))
    fetcher = Fetcher(FetchSettings(allow_private_hosts=True, min_delay=0.0, timeout=2),
                      throttle=HostThrottle())
    threads = [threading.Thread(target=fetcher.fetch, args=(feed_server.url("/slow"),)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fetcher.close()
    times = sorted(r.time for r in feed_server.requests)
    assert len(times) == 3
    assert all(b - a >= 0.14 for a, b in zip(times, times[1:]))


def test_retry_after_seconds_waits_and_retries_once(feed_server, make_fetcher, clock):
    feed_server.route("/feed", [Response(429, headers={"Retry-After": "1"}), Response(200, b"ok")])
    result = make_fetcher().fetch(feed_server.url("/feed"))
    assert (result.status, result.body, result.error, result.retry_after) == (200, b"ok", None, None)
    assert clock.sleeps == [1.0]
    assert result.requests == 2


def test_retry_after_http_date_on_503(feed_server, make_fetcher, clock):
    when = email.utils.format_datetime(NOW + dt.timedelta(seconds=20), usegmt=True)
    feed_server.route("/feed", [Response(503, headers={"Retry-After": when}), Response(200, b"ok")])
    result = make_fetcher().fetch(feed_server.url("/feed"))
    assert result.body == b"ok" and clock.sleeps == [20.0]


def test_retry_after_too_long_gives_up_with_the_time(feed_server, make_fetcher, clock):
    feed_server.route("/feed", Response(429, headers={"Retry-After": "3600"}))
    result = make_fetcher().fetch(feed_server.url("/feed"))
    assert result.retry_after == "2024-03-12T19:30:00Z"
    assert result.error.startswith("rate limited (HTTP 429)")
    assert clock.sleeps == [] and result.requests == 1


def test_second_rate_limit_after_a_retry_gives_up(feed_server, make_fetcher, clock):
    feed_server.route("/feed", Response(429, headers={"Retry-After": "2"}))
    result = make_fetcher().fetch(feed_server.url("/feed"))
    assert result.requests == 2 and clock.sleeps == [2.0]
    assert result.retry_after == "2024-03-12T18:30:02Z"


def test_rate_limit_without_retry_after_is_an_http_error(feed_server, make_fetcher):
    feed_server.route("/feed", Response(503))
    result = make_fetcher().fetch(feed_server.url("/feed"))
    assert result.error is None and result.http_error == "HTTP 503 Service Unavailable"


@pytest.mark.parametrize("value,seconds", [
    ("120", 120.0), (" 7 ", 7.0), ("Tue, 12 Mar 2024 18:31:00 GMT", 60.0),
    ("Tue, 12 Mar 2024 18:00:00 GMT", 0.0), ("soon", None), (None, None), ("-5", None),
])
def test_parse_retry_after(value, seconds):
    assert parse_retry_after(value, NOW) == seconds


# ------------------------------------------------------------------------- https

@pytest.fixture
def tls_files(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
                    "-subj", "/CN=feeds.example", "-addext", "subjectAltName=DNS:feeds.example"],
                   check=True, capture_output=True)
    return key, cert


def test_https_pinned_to_checked_address_verifies_the_host_name(tls_files, make_fetcher):
    key, cert = tls_files
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    with FeedServer(ssl_context=server_ctx) as server:
        server.route("/feed", body=b"secure")
        resolver = resolver_for({"feeds.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
        fetcher = make_fetcher(resolver=resolver, verify=client_ctx)
        ok = fetcher.fetch(f"https://feeds.example:{server.port}/feed")
        assert (ok.status, ok.body, ok.error) == (200, b"secure", None)
        assert server.requests[0].header("Host") == f"feeds.example:{server.port}"
        # The certificate is checked against the name, not against the pinned IP.
        wrong = fetcher.fetch(f"https://other.example:{server.port}/feed")
        assert wrong.status is None and "connection failed" in wrong.error


def test_malformed_url_is_refused_without_raising(make_fetcher):
    result = make_fetcher(resolver=resolver_for({})).fetch("http://[::1/feed")
    assert result.refused and result.error.startswith("invalid URL")


def test_international_host_names_are_resolved_in_idna_form(feed_server, make_fetcher):
    feed_server.route("/feed", body=b"ok")
    resolver = resolver_for({"xn--bcher-kva.example": ["127.0.0.1"]})
    result = make_fetcher(resolver=resolver).fetch(f"http://bücher.example:{feed_server.port}/feed")
    assert result.body == b"ok"
    assert feed_server.requests[0].header("Host") == f"xn--bcher-kva.example:{feed_server.port}"


def test_a_refused_permanent_redirect_is_not_reported_as_the_new_location(feed_server, make_fetcher, monkeypatch):
    real = http_mod.address_problem
    monkeypatch.setattr(http_mod, "address_problem", lambda a: None if a == "127.0.0.1" else real(a))
    feed_server.redirect("/feed", "http://10.0.0.5/internal", 301)
    result = make_fetcher(allow_private_hosts=False).fetch(feed_server.url("/feed"))
    assert result.refused and result.permanent_redirect is None


# ------------------------------------------------------------------------- a total budget per request

class TrickleServer:
    """A hostile server on 127.0.0.1 (issue 23): ``headers`` mode sends its status line and headers
    one byte per ``interval``; ``body`` mode sends its headers at once, then the body one byte per
    ``interval``. Every byte arrives well within any per-read timeout, so only a total budget per
    request stops the client. It stops trickling when the client hangs up (or after ``seconds``)."""

    def __init__(self, mode: str, interval: float = 0.05, seconds: float = 120.0):
        self.mode, self.interval, self.seconds = mode, interval, seconds
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.hung_up: list[float] = []  # how long each connection lasted
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str = "/feed.xml") -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}{path}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn) -> None:
        started = time.monotonic()
        body = b"<rss><channel><title>slow</title></channel></rss>" * 100
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body))
        slow, fast = (head, b"") if self.mode == "headers" else (body, head)
        try:
            conn.recv(65536)
            conn.sendall(fast)
            for i in range(len(slow)):
                if self._stop.is_set() or time.monotonic() - started > self.seconds:
                    break
                conn.sendall(slow[i:i + 1])
                time.sleep(self.interval)
        except OSError:
            pass  # the client hung up
        finally:
            self.hung_up.append(time.monotonic() - started)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._sock.close()


@pytest.fixture
def trickle():
    made = []

    def make(mode: str, **kw) -> TrickleServer:
        made.append(TrickleServer(mode, **kw))
        return made[-1]

    yield make
    for server in made:
        server.close()


@pytest.mark.parametrize("mode", ["headers", "body"])
def test_a_trickling_server_is_cut_at_the_request_budget(trickle, make_fetcher, mode):
    """Headers or body at a byte per 50 ms: no read ever times out (on 153e593 the run waited
    as long as the server kept sending: 300 s / 200 s in the issue). The request ends at its
    budget (3 x --fetch-timeout), the error names it, and the connection is closed."""
    server = trickle(mode)
    started = time.monotonic()
    result = make_fetcher(timeout=0.5).fetch(server.url())
    seconds = time.monotonic() - started
    assert result.error == ("timed out: the request took over its 1.5 s budget for connecting, headers and "
                            "body together (3 x --fetch-timeout 0.5); the server is too slow or stalling; "
                            "raise --fetch-timeout to wait longer")
    assert 1.5 <= seconds < 1.5 + 3, seconds
    deadline = time.monotonic() + 5
    while not server.hung_up and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.hung_up and server.hung_up[0] < 1.5 + 3  # the server saw the client go


def test_a_fast_response_is_untouched_by_the_budget(feed_server, make_fetcher):
    feed_server.route("/feed", body=b"x" * 300_000)
    result = make_fetcher(timeout=0.5).fetch(feed_server.url("/feed"))
    assert result.error is None and result.body == b"x" * 300_000
