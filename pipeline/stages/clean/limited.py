"""The clean stage function under the run's limits: a page over --max-page-bytes is not handed to
the extractor, an item taking over --extract-timeout seconds is a reject, and a page that
yielded no text because it nests deeper than the HTML parser builds is explained as such.
"""
from __future__ import annotations

import re

from pipeline.stages.base import Rejected
from pipeline.stages.clean.article import to_clean_article

#: libxml2 (under lxml and trafilatura) stops building the tree this many elements deep and
#: silently drops what is below, so a deeper page loses its text.
MAX_HTML_DEPTH = 256
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)[^>]*?(/?)>")
_VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                        "param", "source", "track", "wbr", "p", "li", "option", "td", "th", "tr"})


def html_depth(html: str, stop_at: int = MAX_HTML_DEPTH) -> int:
    """How deep elements nest (void and often-unclosed elements ignored), counted up to
    ``stop_at`` + 1: enough to explain why a page yielded no text."""
    depth = deepest = 0
    for match in _TAG_RE.finditer(html):
        closing, tag, selfclosing = match.groups()
        if selfclosing or tag.lower() in _VOID_TAGS:
            continue
        depth = depth - 1 if closing else depth + 1
        if depth > deepest:
            deepest = depth
            if deepest > stop_at:
                break
    return deepest


def _run_with_timeout(fn, arg, seconds: float):
    """``fn(arg)`` in a daemon thread, waiting at most ``seconds``.  Python cannot stop a
    thread: on a timeout the extraction runs on in the background (bounded by --max-page-bytes)
    while this item becomes a reject and the run goes on; signals are no option because
    runners call DoFns outside the main thread."""
    import threading

    box: dict = {}

    def target():
        try:
            box["value"] = fn(arg)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="newsbeam-extract", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError
    if "error" in box:
        raise box["error"]
    return box["value"]


class LimitedClean:
    """:func:`to_clean_article` under the run's limits: a page over --max-page-bytes is not
    handed to the extractor, and an item taking over --extract-timeout seconds is a reject."""

    def __init__(self, limits=None):
        from pipeline import limits as _limits

        self.limits = limits or _limits.DEFAULT

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
                return _run_with_timeout(to_clean_article, item, timeout)
            return to_clean_article(item)
        except TimeoutError:
            raise Rejected(f"extraction took over --extract-timeout {timeout:g} seconds (a pathological "
                           "page); raise the limit to process it") from None
        except RecursionError:
            raise Rejected("HTML nests too deeply to process (Python recursion limit reached); "
                           "the page is likely hostile or broken") from None
        except Rejected as exc:
            html = item.get("html")
            if isinstance(html, str) and exc.reason.startswith("no article text"):
                depth = html_depth(html)
                if depth > MAX_HTML_DEPTH:
                    raise Rejected(f"HTML nests elements more than {MAX_HTML_DEPTH} deep (the parser's "
                                   "limit; everything below is dropped), so no article text was found; "
                                   "the page is likely hostile or broken") from None
            raise
