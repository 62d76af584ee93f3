"""Reading one input file: :func:`read_file` (pure) and the Beam transforms around it.

Two layers, as for every stage (see ``pipeline/stages/base.py``):

* :func:`read_file` is a pure function ``(path, bytes) -> Item | Reject | Skip dicts``.  It
  never raises: everything it cannot turn into an article becomes a reject with a reason a
  person can act on and the raw input in full, and everything deliberately not processed (a
  WARC request record, a feed without entries) is a skip with a reason, so the conservation
  invariant holds from the start (every input item ends in exactly one of articles,
  duplicates, rejects, skipped).
* :class:`ReadArticleParts` is the Beam transform: it expands the globs when the pipeline is
  built (a typo fails before anything runs), spreads the files over workers, reads each
  one with :func:`read_file` and returns the items of one-item files where they were read,
  the items of many-item files spread again, rejects and skips, as a
  :class:`pipeline.io.source.Source` with two item parts; :class:`ReadArticles` puts the items
  in one part.

:func:`read_file` dispatches on the format (:mod:`pipeline.io.files.detect`): gzip is
recognised by its magic bytes, WARCs go to :mod:`pipeline.io.files.warc`, feeds to
:mod:`pipeline.io.feeds.parse`, JSON and JSON lines to :mod:`pipeline.io.files.json`, web
pages and plain text to :mod:`pipeline.io.files.text`.
"""
from __future__ import annotations

import os
from typing import Iterable, Iterator, Optional

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from pipeline import limits as _limits
from pipeline.io.feeds.parse import FEED_ROOTS, feed_root, looks_like_feed, parse_feed
from pipeline.io.files import warc
from pipeline.io.files.decode import GZIP_MAGIC, REASON_NOT_TEXT, REASON_TRUNCATED_GZIP, decode_text, gunzip
from pipeline.io.files.detect import EXTENSION_FORMATS, FEED_EXTENSIONS, detect_format, feed_named_format
from pipeline.io.files.inputs import NoInputError, expand_inputs
from pipeline.io.files.items import REASON_EMPTY, STAGE, is_reject, make_item, reject
from pipeline.io.files.json import FieldMap, read_json, read_jsonl, read_jsonl_bytes, read_truncated_jsonl
from pipeline.io.files.text import html_canonical_url, split_headline
from pipeline.io.source import Source
from pipeline.limits import Limits
from pipeline.records import is_skip, make_skip

__all__ = ["REASON_NOT_FEED", "URL_INDEX", "ReadArticleParts", "ReadArticles", "ReadFileFn", "fetch_urls", "read_file"]

_COMPRESSED_SUFFIXES = (".gz", ".gzip")

REASON_NOT_FEED = ("not a feed: a feed file name, but the content has no rss, feed, RDF or "
                   "channel root element and is not a web page")


# --------------------------------------------------------------------------------------
# read_file: bytes -> items and rejects
# --------------------------------------------------------------------------------------

def read_file(path: str, data: bytes, limits: Optional[Limits] = None, field_map: FieldMap = (),
              fetch_url: Optional[str] = None) -> Iterator[dict]:
    """Yield one Item dict per article found in ``data`` and one Reject dict per unusable part.

    ``path`` only names the input (``input_uri``) and hints at the format; nothing is read from
    disk.  Every failure is a reject; this generator does not raise.  ``limits`` (default
    :data:`pipeline.limits.DEFAULT`): an item whose page is over ``max_page_bytes`` or whose
    raw line is over ``max_item_bytes`` is a reject naming the limit.  ``field_map``
    (``--field-map``, :func:`pipeline.io.files.json.parse_field_map`): where JSON records keep
    the fields newsbeam does not know by name.  ``fetch_url``: where a web page or text file was
    fetched from (its line in a :data:`URL_INDEX` file): the item's ``url``, so ``source`` is
    the site it was fetched from, with the page's own canonical link in ``canonical_url``.
    """
    limits = limits or _limits.DEFAULT
    try:
        for record in _read_file(path, data, limits, field_map, fetch_url):
            yield _check_page_size(record, limits)
    except Exception as exc:  # pragma: no cover - a bug; keep the record, do not kill the worker
        yield reject(path, f"unexpected error {exc!r}; this is a newsbeam bug, please report "
                           f"it with this file", data)


def _with_canonical(record: dict) -> dict:
    """A page item with the page's own canonical link next to the URL it was fetched from."""
    if is_reject(record) or is_skip(record) or record.get("canonical_url") or not isinstance(record.get("html"), str):
        return record
    canonical = html_canonical_url(record["html"])
    return dict(record, canonical_url=canonical) if canonical else record


# --------------------------------------------------------------------------------------
# urls.jsonl: where the files of a folder were fetched from
# --------------------------------------------------------------------------------------

#: A JSON-lines file next to the input files, one ``{"file": NAME, "url": URL}`` per line: the
#: URL each file (a saved web page, a text) was fetched from.  Not an input itself.
URL_INDEX = "urls.jsonl"
SKIP_URL_INDEX = f"{URL_INDEX}: the fetch URLs of the files next to it, not articles"


def _url_index_lines(index_path: str) -> Iterator[tuple[int, dict]]:
    import orjson

    with FileSystems.open(index_path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        data = f.read(_limits.MAX_FILE_BYTES + 1)
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            try:
                yield number, orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"{index_path} line {number}: invalid JSON ({exc})") from None


def fetch_urls(paths: list[str]) -> dict[str, str]:
    """``{path: fetch URL}`` from the :data:`URL_INDEX` files in the folders of ``paths``.

    A line names a file relative to the index's folder (``"file": "page.html"``, or
    ``"sub/page.html"``) and gives the absolute http(s) URL it was fetched from.  A malformed
    index raises ValueError naming the file and line (the run stops before it starts)."""
    out: dict[str, str] = {}
    for folder in sorted({os.path.dirname(p) for p in paths}):
        index_path = os.path.join(folder, URL_INDEX) if folder else URL_INDEX
        try:
            exists = FileSystems.exists(index_path)
        except Exception:  # an unreachable object store: no index
            exists = False
        if not exists:
            continue
        for number, entry in _url_index_lines(index_path):
            name = entry.get("file") if isinstance(entry, dict) else None
            url = entry.get("url") if isinstance(entry, dict) else None
            if not isinstance(name, str) or not name or not isinstance(url, str) \
                    or not url.lower().startswith(("http://", "https://")):
                raise ValueError(f"{index_path} line {number}: expected {{\"file\": NAME, \"url\": "
                                 f"\"https://...\"}}, got {entry!r:.200}")
            out[os.path.join(folder, name) if folder else name] = url.strip()
    return out


def _check_page_size(record: dict, limits: Limits) -> dict:
    """An item whose html/text is over --max-page-bytes becomes a reject (checked here, before
    the page crosses a worker boundary, so a giant page costs one read and no copies)."""
    if is_reject(record) or is_skip(record):
        return record
    for field in ("html", "text"):
        value = record.get(field)
        if isinstance(value, str) and _limits.utf8_size(value, limits.max_page_bytes) > limits.max_page_bytes:
            size = len(value.encode("utf-8", "surrogatepass"))
            reason = _limits.over("page", size, "max_page_bytes", limits.max_page_bytes) + _limits.PREVIEW_NOTE
            return reject(record.get("input_uri") or "", reason, _limits.preview(value),
                          record.get("offset") or 0)
    return record


def _read_file(path: str, data: bytes, limits: Limits = _limits.DEFAULT, field_map: FieldMap = (),
               fetch_url: Optional[str] = None) -> Iterator[dict]:
    if os.path.basename(path) == URL_INDEX:  # a watched folder's index: where its files came from
        yield make_skip(SKIP_URL_INDEX, path)
        return
    name = path
    lowered = path.lower()
    for suffix in _COMPRESSED_SUFFIXES:
        if lowered.endswith(suffix):
            name = path[: -len(suffix)]
            break
    # WARC before gunzip: a .warc.gz is one gzip member per record, which warcio reads itself.
    if warc.is_warc_name(path) or warc.looks_like_warc(data):
        for record in warc.read_warc(path, data):
            yield _with_canonical(record)  # url: the WARC-Target-URI, where the page was fetched
        return
    truncated = False
    if data[:2] == GZIP_MAGIC:
        payload, error = gunzip(data, limits.max_file_bytes)
        if error == REASON_TRUNCATED_GZIP and EXTENSION_FORMATS.get(os.path.splitext(name)[1].lower()) == "jsonl":
            truncated = True  # JSON lines: keep every complete line, reject the cut one
        elif error is not None:
            yield reject(path, error, _limits.preview(data) if "--max-file-bytes" in error else data)
            return
        data = payload
    if truncated:
        yield from read_truncated_jsonl(path, data, limits, field_map)
        return
    if not data.strip():
        yield reject(path, REASON_EMPTY, data)
        return

    ext = os.path.splitext(name)[1].lower()
    feed_named = ext in FEED_EXTENSIONS
    # Feeds go to feedparser as bytes (it honours the XML declaration and BOM), but only when
    # the content is a feed: feedparser reads almost anything and would find no entries.
    if looks_like_feed(data) if feed_named else feed_root(data) in FEED_ROOTS:
        yield from parse_feed(data, feed_url=path, max_entries=limits.max_feed_entries)
        return

    text = decode_text(data)
    if text is None and EXTENSION_FORMATS.get(ext) == "jsonl" and not feed_named:
        # one binary or mis-encoded line must not cost the file's good lines
        yield from read_jsonl_bytes(path, data, limits, field_map)
        return
    if text is None:
        yield reject(path, REASON_NOT_TEXT, data)
        return
    if not text.strip():
        yield reject(path, REASON_EMPTY, data)
        return

    fmt = detect_format(name, text) if not feed_named else feed_named_format(data, text)
    if fmt is None:
        yield reject(path, REASON_NOT_FEED, data)
    elif fmt == "html":
        canonical = html_canonical_url(text)
        yield make_item(path, 0, "html", html=text, url=fetch_url or canonical, canonical_url=canonical)
    elif fmt == "json":
        yield from read_json(path, text, field_map)
    elif fmt == "jsonl":
        yield from read_jsonl(path, text, limits, field_map=field_map)
    else:
        title, body = split_headline(text)
        yield make_item(path, 0, "txt", title=title, text=body, url=fetch_url)


# --------------------------------------------------------------------------------------
# Beam
# --------------------------------------------------------------------------------------

class ReadFileFn(beam.DoFn):
    """Read one file and emit its items (main output), rejects (tag ``rejects``) and skips
    (tag ``skipped``).

    The file is opened UNCOMPRESSED: :func:`read_file` recognises gzip by content, which
    Beam's name-based AUTO detection would get wrong for a mislabelled file (and a WARC.gz
    must reach warcio still compressed).  Every record emitted counts once in
    ``read/inputs``, so conservation can be checked from metrics:
    ``inputs = items + rejected + skipped``.

    With ``tag_only_items``, the item of a file that holds only one (an HTML page) goes to the
    tag ``only_item`` and only the items of a file that holds several (JSON lines, a feed, a
    WARC) to the main output: only those need spreading over workers (see
    :class:`ReadArticleParts`). Without it (the default) every item is a main output.
    """

    ONLY_ITEM = "only_item"

    def __init__(self, limits: Optional[Limits] = None, tag_only_items: bool = False, field_map: FieldMap = ()):
        super().__init__()
        self.limits = limits or _limits.DEFAULT
        self.field_map = tuple(field_map or ())
        self.tag_only_items = tag_only_items
        self.inputs = Metrics.counter(STAGE, "inputs")
        self.files = Metrics.counter(STAGE, "files")
        self.rejected = Metrics.counter(STAGE, "rejected")
        self.skipped = Metrics.counter(STAGE, "skipped")

    def process(self, element):
        path, fetch_url, line_range = (element + (None,))[:3] if isinstance(element, tuple) else (element, None, None)
        self.files.inc()
        start, stop, first_line = line_range or (0, None, 1)
        try:
            with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
                if start:
                    f.seek(start)
                wanted = self.limits.max_file_bytes + 1 if stop is None else min(stop - start, self.limits.max_file_bytes + 1)
                data = f.read(wanted)  # never more than the limit in memory
        except Exception as exc:  # IOError, permission, BeamIOError, object gone since the glob
            records: Iterable[dict] = [reject(path, f"cannot read file: {exc}", b"", first_line - 1)]
        else:
            if len(data) > self.limits.max_file_bytes:
                what = "file" if line_range is None else f"lines from {first_line} of the file"
                size = _file_size(path, len(data)) if line_range is None else stop - start
                reason = _limits.over(what, size, "max_file_bytes", self.limits.max_file_bytes) + _limits.PREVIEW_NOTE
                records = [reject(path, reason, _limits.preview(data), first_line - 1)]
            elif line_range is not None:  # a line range of a big JSON-lines file (pipeline/io/files/segments.py)
                if start == 0:
                    data = data.removeprefix(b"\xef\xbb\xbf")  # the UTF-8 BOM, as decode_text drops it
                records = read_jsonl_bytes(path, data, self.limits, self.field_map, first_line=first_line)
            else:
                records = read_file(path, data, self.limits, self.field_map, fetch_url)
        first = None  # a file's first item waits until we know whether a second one follows
        many = False
        for record in records:
            self.inputs.inc()
            if is_reject(record):
                self.rejected.inc()
                yield beam.pvalue.TaggedOutput("rejects", record)
            elif is_skip(record):
                self.skipped.inc()
                yield beam.pvalue.TaggedOutput("skipped", record)
            elif many or not self.tag_only_items:
                yield record
            elif first is None:
                first = record
            else:
                many = True
                yield first
                yield record
        if first is not None and not many:
            yield beam.pvalue.TaggedOutput(self.ONLY_ITEM, first)


def _file_size(path: str, at_least: int) -> int:
    try:
        return max(at_least, os.path.getsize(path)) if "://" not in path else at_least
    except OSError:
        return at_least


class ReadArticleParts(beam.PTransform):
    """Read input files matching ``patterns``; ``expand`` returns a :class:`~pipeline.io.source.Source`
    whose ``items`` are two parts: the items of one-item files (HTML pages), where they were read, and
    the items of many-item files, spread over workers. Clean each part where it is (see
    :func:`pipeline.graph.build`): a runner copies every element that crosses a shuffle or a
    Flatten of two steps, and a raw page costs ~1.2 ms per 180 KB there (FnApiRunner).

    ``skipped`` holds :class:`pipeline.records.Skip` dicts (``skipped`` = the reason,
    ``input_uri``, ``offset``): WARC records that are not HTML pages, feeds without entries.

    The globs are expanded here, while the pipeline is built, so a pattern that matches
    nothing raises :class:`NoInputError` before any worker starts.  A Reshuffle after the
    file list spreads files over workers (one element per file, so its ~30 us per element
    is negligible).
    """

    def __init__(self, patterns: list[str], label: Optional[str] = None, limits: Optional[Limits] = None,
                 field_map: FieldMap = (), parts: Optional[list] = None):
        super().__init__(label)
        if isinstance(patterns, str):
            patterns = [patterns]
        self.patterns = list(patterns)
        #: ``parts``: read only these :class:`pipeline.io.files.segments.InputPart` (one segment of
        #: a run cut into segments), not every file the patterns match
        self.parts = list(parts) if parts is not None else None
        paths = expand_inputs(self.patterns) if parts is None else sorted({p.path for p in parts})
        self.paths = [p for p in paths if os.path.basename(p) != URL_INDEX]
        if not self.paths:
            raise NoInputError(self.patterns[0], f"{self.patterns[0]!r} matches only {URL_INDEX} files, "
                                                 f"which say where files were fetched from; they are not articles")
        self.fetch_urls = fetch_urls(self.paths)
        self.limits = limits
        self.field_map = tuple(field_map or ())

    def expand(self, pbegin):
        limits = self.limits or _limits.DEFAULT  # graph.py passes the run's (--max-file-bytes ...)
        outputs = (
            pbegin
            | "ListFiles" >> beam.Create(self._elements())
            | "Distribute" >> beam.Reshuffle()
            | "ReadFiles" >> beam.ParDo(ReadFileFn(limits, tag_only_items=True, field_map=self.field_map)).with_outputs(
                ReadFileFn.ONLY_ITEM, "rejects", "skipped", main="items")
        )
        # One JSONL, feed or WARC file holds many items: spread them too, or every item of a big
        # file is cleaned on the worker that read it (a fusion break, as Beam advises after a
        # high fan-out read; the local multi-process runner splits a stage's input by key only).
        spread = outputs.items | "DistributeItems" >> beam.Reshuffle()
        return Source((outputs[ReadFileFn.ONLY_ITEM], spread), outputs.rejects, outputs.skipped)


    def _elements(self) -> list[tuple]:
        """``(path, fetch URL)`` per file, or ``(path, fetch URL, (start, stop, first line))`` per part."""
        if self.parts is None:
            return [(p, self.fetch_urls.get(p)) for p in self.paths]
        return [(p.path, self.fetch_urls.get(p.path)) if p.whole else
                (p.path, self.fetch_urls.get(p.path), (p.start, p.stop, p.first_line))
                for p in self.parts if os.path.basename(p.path) != URL_INDEX]


class ReadArticles(beam.PTransform):
    """:class:`ReadArticleParts` with the items in one part: a :class:`~pipeline.io.source.Source`
    (the graph cleans the parts separately instead)."""

    def __init__(self, patterns: list[str], label: Optional[str] = None, limits: Optional[Limits] = None,
                 field_map: FieldMap = (), parts: Optional[list] = None):
        super().__init__(label)
        self.parts = ReadArticleParts(patterns, limits=limits, field_map=field_map, parts=parts)
        self.paths = self.parts.paths

    def expand(self, pbegin):
        read = pbegin | "Parts" >> self.parts
        return read._replace(items=(read.all_items("Items"),))
