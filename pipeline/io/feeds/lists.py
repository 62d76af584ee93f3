"""Feed lists: the feed URLs of an OPML file or of a text file with one URL per line."""
from __future__ import annotations

import re

from pipeline.io.files.inputs import NoInputError

__all__ = ["FeedListError", "read_feed_list"]


class FeedListError(NoInputError):
    """The feed list is missing, empty or not readable (raised while the pipeline is built)."""


# --------------------------------------------------------------------------------------
# Feed lists
# --------------------------------------------------------------------------------------

_INLINE_COMMENT = re.compile(r"\s+#.*$")


def read_feed_list(path: str) -> list[str]:
    """Feed URLs from an OPML file (``xmlUrl`` of every ``outline``, nested ones too) or a text
    file with one URL per line (blank lines and ``#`` comments ignored); de-duplicated, in
    order."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise FeedListError(path, f"cannot read the feed list {path!r}: {exc.strerror or exc}") from None
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    urls = _opml_urls(path, data) if head == b"<" else _text_urls(data)
    urls = list(dict.fromkeys(u for u in urls if u))
    if not urls:
        kind = "xmlUrl attributes in the OPML" if head == b"<" else "URLs"
        raise FeedListError(path, f"the feed list {path!r} has no feed {kind}")
    return urls


def _text_urls(data: bytes) -> list[str]:
    urls = []
    for line in data.decode("utf-8-sig", "replace").splitlines():
        line = _INLINE_COMMENT.sub("", line).strip()
        if line and not line.startswith("#"):
            urls.append(line)
    return urls


def _opml_urls(path: str, data: bytes) -> list[str]:
    """OPML is untrusted XML (exported from anywhere): no DTDs, no entities, no network."""
    try:
        from defusedxml import ElementTree as SafeET  # preferred when installed

        parse = SafeET.fromstring
        errors: tuple = (SafeET.ParseError, ValueError)
    except ImportError:  # pragma: no cover - defusedxml is a declared dependency
        import xml.etree.ElementTree as ET

        if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
            raise FeedListError(path, f"{path!r}: OPML with a DOCTYPE or entities is refused") from None
        parse = ET.fromstring
        errors = (ET.ParseError,)
    try:
        root = parse(data)
    except errors as exc:
        raise FeedListError(path, f"{path!r} is not valid OPML: {exc}") from None
    urls = []
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
        if tag.lower() != "outline":
            continue
        for name, value in element.attrib.items():
            if name.rsplit("}", 1)[-1].lower() == "xmlurl" and value.strip():
                urls.append(value.strip())
    return urls
