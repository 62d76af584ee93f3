"""A local feed server for tests: threaded ``http.server`` on 127.0.0.1, random port.

Routes are mutable (a test changes a feed between two polls) and every request is
recorded with its headers exactly as received, so tests can check conditional GETs byte
for byte.  Use the ``feed_server`` fixture (import it into the test module) or
``with FeedServer() as server:``.

    server.route("/feed.xml", body=rss_feed([...]), headers={"ETag": 'W/"abc"'})
    server.route("/flaky", [Response(429, headers={"Retry-After": "1"}), Response(200, b"...")])
    server.url("/feed.xml")           # http://127.0.0.1:PORT/feed.xml
    server.requests_to("/feed.xml")   # [RecordedRequest(method, path, headers), ...]
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional, Union
from xml.sax.saxutils import escape

import pytest

__all__ = ["FeedServer", "RecordedRequest", "Response", "atom_feed", "feed_server", "rss_feed"]


@dataclass
class Response:
    """One canned response.  ``headers`` values are sent as latin-1 bytes, unchanged.
    ``content_length=False`` omits Content-Length (the body then ends when the connection
    closes); ``delay`` sleeps before answering (a slow server)."""

    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    content_length: bool = True


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: list  # [(name, value)] as received (values decoded latin-1, i.e. the raw bytes)
    time: float

    def header(self, name: str) -> Optional[str]:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


RouteValue = Union[Response, list, Callable[[RecordedRequest], Response]]


class _Handler(BaseHTTPRequestHandler):
    server_version = "feedserver/1"
    protocol_version = "HTTP/1.0"  # one request per connection: simplest, and closes bodies

    def do_GET(self):  # noqa: N802 (http.server's naming)
        owner: FeedServer = self.server.owner  # type: ignore[attr-defined]
        request = RecordedRequest("GET", self.path, list(self.headers.items()), time.monotonic())
        response = owner._respond(request)
        if response.delay:
            time.sleep(response.delay)
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.content_length and "Content-Length" not in response.headers:
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if response.body and response.status not in (204, 304):
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to do

    def log_message(self, format, *args):  # keep test output clean
        pass


class FeedServer:
    """A threaded HTTP server with mutable routes; unknown paths answer 404."""

    def __init__(self, host: str = "127.0.0.1", ssl_context=None):
        self._routes: dict[str, RouteValue] = {}
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self._httpd = ThreadingHTTPServer((host, 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # do not wait for a deliberately slow handler
        self._httpd.owner = self  # type: ignore[attr-defined]
        self.scheme = "http"
        if ssl_context is not None:  # HTTPS: wrap the listening socket
            self._httpd.socket = ssl_context.wrap_socket(self._httpd.socket, server_side=True)
            self.scheme = "https"
        self._thread: Optional[threading.Thread] = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, value: RouteValue = None, /, **response) -> None:
        """Set what ``path`` answers: a Response, a list of them (served in order, the last
        one repeats), a callable ``(RecordedRequest) -> Response``, or Response fields."""
        if value is None:
            value = Response(**response)
        with self._lock:
            self._routes[path] = list(value) if isinstance(value, list) else value

    def redirect(self, path: str, location: str, status: int = 301) -> None:
        self.route(path, Response(status, headers={"Location": location}))

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _respond(self, request: RecordedRequest) -> Response:
        with self._lock:
            self.requests.append(request)
            value = self._routes.get(request.path)
            if isinstance(value, list):
                value = value.pop(0) if len(value) > 1 else value[0]
        if value is None:
            return Response(404, b"not found")
        if callable(value) and not isinstance(value, Response):
            return value(request)
        return value

    def start(self) -> "FeedServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "FeedServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture
def feed_server():
    with FeedServer() as server:
        yield server


# ------------------------------------------------------------------------------ feeds

def rss_feed(entries: list[dict], title: str = "Test feed", link: str = "https://news.example/") -> bytes:
    """RSS 2.0 bytes; each entry dict may have guid, link, title, description (summary),
    content (content:encoded, full text HTML), pubDate, author."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>',
             '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
             f"<channel><title>{escape(title)}</title><link>{escape(link)}</link>"
             "<description>test</description>"]
    for entry in entries:
        parts.append("<item>")
        if "guid" in entry:
            parts.append(f'<guid isPermaLink="false">{escape(entry["guid"])}</guid>')
        for tag in ("title", "link", "description", "pubDate", "author"):
            if tag in entry:
                parts.append(f"<{tag}>{escape(entry[tag])}</{tag}>")
        if "content" in entry:
            parts.append(f"<content:encoded>{escape(entry['content'])}</content:encoded>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


def atom_feed(entries: list[dict], title: str = "Test feed") -> bytes:
    """Atom 1.0 bytes; each entry dict may have id, link, title, summary, content, updated."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>',
             '<feed xmlns="http://www.w3.org/2005/Atom">',
             f"<title>{escape(title)}</title><id>urn:test:feed</id>"
             "<updated>2024-03-12T18:30:00Z</updated>"]
    for entry in entries:
        parts.append("<entry>")
        if "id" in entry:
            parts.append(f"<id>{escape(entry['id'])}</id>")
        if "link" in entry:
            parts.append(f'<link href="{escape(entry["link"])}"/>')
        for tag in ("title", "updated"):
            if tag in entry:
                parts.append(f"<{tag}>{escape(entry[tag])}</{tag}>")
        if "summary" in entry:
            parts.append(f'<summary type="html">{escape(entry["summary"])}</summary>')
        if "content" in entry:
            parts.append(f'<content type="html">{escape(entry["content"])}</content>')
        parts.append("</entry>")
    parts.append("</feed>")
    return "\n".join(parts).encode("utf-8")
