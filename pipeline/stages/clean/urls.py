"""URLs and sources: the canonical form of an article URL and its registrable domain (offline:
tldextract with its bundled public-suffix snapshot, never the network; built lazily, once).
"""
from __future__ import annotations

import functools
from typing import Optional


def canonical_url(url: Optional[str]) -> Optional[str]:
    """Normalised http(s) URL: lower-case host, default port, tracking parameters (utm_*,
    fbclid, gclid ...) removed, query sorted, fragment dropped; None if not http(s)."""
    if not url or not isinstance(url, str):
        return None
    from urllib.parse import urlsplit, urlunsplit

    import courlan

    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    cleaned = courlan.clean_url(url)
    if not cleaned:
        return None
    try:
        p = urlsplit(cleaned)
    except ValueError:
        return None
    if p.scheme not in ("http", "https") or not p.netloc:
        return None
    return urlunsplit((p.scheme, p.netloc, p.path or "/", p.query, ""))


@functools.lru_cache(maxsize=1)
def _tld_extractor():
    """Offline extractor: bundled public suffix snapshot, no fetch, no disk cache."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def registered_domain(url: Optional[str]) -> Optional[str]:
    """Registrable domain of a URL ("https://news.bbc.co.uk/x" -> "bbc.co.uk"), offline."""
    if not url or not isinstance(url, str):
        return None
    try:
        result = _tld_extractor()(url.strip())
    except ValueError:
        return None
    domain = result.top_domain_under_public_suffix
    return domain.lower() if domain else None
