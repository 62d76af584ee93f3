"""The clean stage function under the run's limits: a page over --max-page-bytes is not handed to
the extractor, an item taking over --extract-timeout seconds is a reject, and a page that
yielded no text because it nests deeper than the HTML parser builds is explained as such.

The time limit is enforced for real: the extraction (and the depth check that explains an empty
result) runs in a worker process of its own, one per :class:`LimitedClean` instance (so one per
DoFn instance on a Beam worker), started on the first item and reused for the next ones.  On a
timeout the worker is killed (SIGKILL) and the next item starts a fresh one: an overrun page
costs its own budget, never the next pages' (a thread cannot be stopped in Python, and signals
are no option because runners call DoFns outside the main thread).  The worker is started with
the "spawn" method on every platform (what macOS and Windows use anyway): a fork of a Beam
worker would copy its gRPC threads and locks, which is unsafe.
"""
from __future__ import annotations

import re
import signal
import threading
import weakref

from pipeline.stages.base import Rejected
from pipeline.stages.clean.article import to_clean_article

#: libxml2 (under lxml and trafilatura) stops building the tree this many elements deep and
#: silently drops what is below, so a deeper page loses its text.
MAX_HTML_DEPTH = 256
#: The start of a tag; the tag ends at the first ">" after its name (a "/" just before it: self-closing).
_TAG_START_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)")
_VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                        "param", "source", "track", "wbr", "p", "li", "option", "td", "th", "tr"})
#: A page the worker extracts before taking the first item: trafilatura, htmldate, ftfy and
#: tldextract load lazily, and their imports should not count against the first item's budget.
_WARM_UP = {"html": "<html><head><title>Warm up</title><meta name='date' content='2024-01-02'></head><body>"
                    "<article><h1>Warm up</h1><p>A short paragraph of text, with caf\u00e9 in it, to load the "
                    "extractor before the first page. See https://www.example.co.uk/a.</p></article></body></html>",
            "format": "html", "url": "https://www.example.co.uk/a", "input_uri": "warm-up"}
#: Seconds a new extraction worker may take to start (imports; not counted in any item's budget).
WORKER_START_TIMEOUT = 120.0


def html_depth(html: str, stop_at: int = MAX_HTML_DEPTH) -> int:
    """How deep elements nest (void and often-unclosed elements ignored), counted up to
    ``stop_at`` + 1: enough to explain why a page yielded no text.

    Linear in the length of ``html``: every character is looked at a bounded number of times
    (a tag start, then the first ">" after it; with no ">" left in the page, no tag can end)."""
    depth = deepest = 0
    search, find = _TAG_START_RE.search, html.find
    pos = 0
    while True:
        match = search(html, pos)
        if match is None:
            break
        end = find(">", match.end())
        if end < 0:  # no ">" after here: no further tag can close
            break
        pos = end + 1
        closing, tag = match.groups()
        if (end > match.end() and html[end - 1] == "/") or tag.lower() in _VOID_TAGS:
            continue
        depth = depth - 1 if closing else depth + 1
        if depth > deepest:
            deepest = depth
            if deepest > stop_at:
                break
    return deepest


def explained_clean_article(item: dict) -> dict:
    """:func:`to_clean_article`, with a page that yielded no text because it nests deeper than
    the parser builds explained as such (the depth check runs here, inside the time budget)."""
    try:
        return to_clean_article(item)
    except Rejected as exc:
        html = item.get("html")
        if isinstance(html, str) and exc.reason.startswith("no article text"):
            if html_depth(html) > MAX_HTML_DEPTH:
                raise Rejected(f"HTML nests elements more than {MAX_HTML_DEPTH} deep (the parser's "
                               "limit; everything below is dropped), so no article text was found; "
                               "the page is likely hostile or broken") from None
        raise


#: What the worker process runs: the parent's sys.path first (so it imports the same code), then
#: :func:`_serve`.  A fresh interpreter with nothing of the parent's state, whatever the
#: platform: no fork of a process with threads (a Beam worker's gRPC), and unlike
#: multiprocessing's "spawn" it does not re-run the parent's ``__main__`` script.
#: SIGINT as the parent has it: a Ctrl-C to the process group ends the worker with the run.
_BOOT = ("import sys\n"
         "from multiprocessing.connection import Connection\n"
         "conn = Connection(int(sys.argv[1]))\n"
         "sys.path[:] = conn.recv()\n"
         "from pipeline.stages.clean.limited import _serve\n"
         "_serve(conn)\n")
#: Seconds between two checks, in the worker, that its parent is still there.
_PARENT_CHECK = 1.0


def _exit_with_parent() -> None:
    """A daemon thread of the worker: exit when the parent is gone (killed with -9, it cannot stop
    us), even in the middle of an item that would run for hours."""
    import os
    import threading
    import time

    parent = os.getppid()

    def watch():
        while True:
            time.sleep(_PARENT_CHECK)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="newsbeam-parent-watch", daemon=True).start()


def _serve(conn) -> None:
    """The worker process: receives the function (and an item to warm it up with), then ``fn(item)`` for every item received,
    the result or the exception sent back; ends when the parent closes its end (or dies: EOF)."""
    _exit_with_parent()
    try:
        fn, warm_up, log = conn.recv()
        if log is not None:  # the parent's logging: its root level and format, on stderr
            import logging

            level, fmt = log
            logging.basicConfig(level=level, format=fmt)
            if level <= logging.DEBUG:
                logging.getLogger("htmldate").setLevel(logging.NOTSET)
        if warm_up is not None:  # the lazy imports, before the first item's clock starts
            try:
                fn(warm_up)
            except Exception:
                pass
        conn.send(("ready", None))
        while True:
            try:
                item = conn.recv()
            except (EOFError, OSError):
                return
            try:
                reply = ("ok", fn(item))
            except Exception as exc:  # sent back, raised in the caller (a Ctrl-C ends the worker)
                reply = ("error", exc)
            try:
                conn.send(reply)
            except Exception as exc:  # an unpicklable result or exception
                conn.send(("error", RuntimeError(f"{type(exc).__name__} sending the result: {exc}; "
                                                 f"the result was {reply[1]!r:.500}")))
    except (EOFError, OSError):
        return


def _parent_logging():
    """(root level, format of the first root handler with one) when the parent logs at DEBUG (-v
    shows the extractor's own logs, as before), else None (the worker stays quiet, as before)."""
    import logging

    root = logging.getLogger()
    fmt = next((h.formatter._fmt for h in root.handlers if h.formatter is not None), None)
    level = root.getEffectiveLevel()  # only a verbose run shows the libraries' logs
    return None if fmt is None or level > logging.DEBUG else (level, fmt)


def _stop(proc, conn) -> None:
    """Close the worker's channel and make sure the process is gone (idempotent)."""
    try:
        conn.close()
    except Exception:
        pass
    try:
        proc.wait(0.5)
    except Exception:
        pass
    try:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
    except Exception:
        pass


class WorkerTimeout(TimeoutError):
    """The worker overran its budget and was killed."""


class WorkerDied(RuntimeError):
    """The worker process ended while working on an item (a crash or the OOM killer)."""


#: The worker processes of this process that are alive (see :func:`stop_workers`).
_LIVE_WORKERS: "weakref.WeakSet[ExtractionWorker]" = weakref.WeakSet()


def stop_workers() -> None:
    """Stop and reap every extraction worker this process started. A process that ends with
    ``os._exit`` (the streaming segment job does) runs no finalizers, so it calls this first:
    else its workers end on their own a moment later but stay unreaped (zombies) under init."""
    for worker in list(_LIVE_WORKERS):
        worker.stop()


class ExtractionWorker:
    """One persistent worker process running ``fn`` (a picklable module-level function) item by
    item; started lazily, killed and replaced when an item overruns its budget.  Not
    picklable state: :class:`LimitedClean` drops it when it is pickled."""

    def __init__(self, fn, warm_up=None):
        self.fn = fn
        self.warm_up = warm_up
        self._proc = None
        self._conn = None
        self._finalizer = None
        self._lock = threading.Lock()
        self.started = 0  # processes started (a test and the benchmark read it)

    def _start(self) -> None:
        import socket
        import subprocess
        import sys
        from multiprocessing.connection import Connection

        ours, theirs = socket.socketpair()
        try:
            proc = subprocess.Popen([sys.executable, "-c", _BOOT, str(theirs.fileno())],
                                    pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        conn = Connection(ours.detach())
        self._proc, self._conn = proc, conn
        self._finalizer = weakref.finalize(self, _stop, proc, conn)
        _LIVE_WORKERS.add(self)
        self.started += 1
        try:
            conn.send(list(sys.path))
            conn.send((self.fn, self.warm_up, _parent_logging()))
            if not conn.poll(WORKER_START_TIMEOUT):
                raise RuntimeError(f"the extraction worker did not start within {WORKER_START_TIMEOUT:g} s")
            conn.recv()
        except (EOFError, OSError):
            self.stop()
            raise RuntimeError(f"the extraction worker exited at start (exit code {proc.poll()})") from None
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # runs _stop once
        self._proc = self._conn = self._finalizer = None

    def __call__(self, item, timeout: float):
        """``fn(item)`` in the worker, waiting at most ``timeout`` seconds (from when the item is
        sent; starting a worker is not counted).  Raises :class:`WorkerTimeout` (the worker is
        killed), :class:`WorkerDied`, or what ``fn`` raised."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self.stop()
                self._start()
            conn = self._conn
            try:
                conn.send(item)
                ready = conn.poll(timeout)
            except (OSError, EOFError):  # the worker died before reading the item
                ready = True
            if not ready:
                self._proc.kill()
                self.stop()
                raise WorkerTimeout
            try:
                status, value = conn.recv()
            except (EOFError, OSError):
                try:
                    code = self._proc.wait(5)
                except Exception:
                    code = None
                self.stop()
                if code == -signal.SIGINT:  # Ctrl-C to the process group: the run is interrupted
                    raise KeyboardInterrupt from None
                raise WorkerDied(f"exit code {code}") from None
        if status == "error":
            raise value
        return value


class LimitedClean:
    """:func:`to_clean_article` under the run's limits: a page over --max-page-bytes is not
    handed to the extractor, and an item taking over --extract-timeout seconds is a reject.

    With a positive --extract-timeout the extraction runs in this instance's
    :class:`ExtractionWorker` process (started on the first item); with 0 in this process, with
    no time limit.  Picklable (what travels is the limits and the function, never the process):
    every unpickled copy (one per DoFn instance) starts its own worker.  ``fn``: the function
    the worker runs (a module-level function; tests pass a slow one)."""

    def __init__(self, limits=None, fn=explained_clean_article):
        from pipeline import limits as _limits

        self.limits = limits or _limits.DEFAULT
        self.fn = fn
        self._worker = None

    def __getstate__(self):
        return {"limits": self.limits, "fn": self.fn}

    def __setstate__(self, state):
        self.limits, self.fn = state["limits"], state["fn"]
        self._worker = None

    def close(self) -> None:
        """Stop the worker process (a new one starts on the next item)."""
        if self._worker is not None:
            self._worker.stop()

    def __call__(self, item: dict) -> dict:
        from pipeline import limits as _limits

        for field in ("html", "text"):
            value = item.get(field)
            if isinstance(value, str) and _limits.utf8_size(value, self.limits.max_page_bytes) > self.limits.max_page_bytes:
                size = len(value.encode("utf-8", "surrogatepass"))
                raise Rejected(_limits.over("page", size, "max_page_bytes", self.limits.max_page_bytes))
        timeout = self.limits.extract_timeout
        try:
            if timeout and timeout > 0:
                if self._worker is None:
                    self._worker = ExtractionWorker(self.fn, _WARM_UP if self.fn is explained_clean_article else None)
                return self._worker(item, timeout)
            return self.fn(item)
        except WorkerTimeout:
            raise Rejected(f"extraction took over --extract-timeout {timeout:g} seconds (a pathological "
                           "page; its extraction was stopped); raise the limit to process it") from None
        except WorkerDied as exc:
            raise Rejected(f"the extraction process died on this item ({exc}: a crash in the HTML "
                           "parser, or out of memory); the page is likely hostile or broken") from None
        except RecursionError:
            raise Rejected("HTML nests too deeply to process (Python recursion limit reached); "
                           "the page is likely hostile or broken") from None
