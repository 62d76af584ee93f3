"""The language a feed or an API record declares, as an ISO 639-1 code (the codes ``lang`` holds).

Feeds declare it as a BCP 47 / RFC 1766 tag (``<language>en-us</language>``, ``xml:lang="pt-BR"``,
``<dc:language>de-DE</dc:language>``); news APIs as a tag, a three-letter code or an English
name (GDELT: ``"language": "English"``).  pycountry's ISO 639 tables decide what is a language.
"""
from __future__ import annotations

import functools
import re
from typing import Optional

__all__ = ["declared_language"]

#: Withdrawn ISO 639-1 codes still seen in feeds (Java locales write them).
_WITHDRAWN = {"iw": "he", "in": "id", "ji": "yi"}
_PRIMARY_RE = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9-_]*)?\s*$")


@functools.lru_cache(maxsize=512)
def declared_language(value) -> Optional[str]:
    """ISO 639-1 code of a declared language (``"en-us"`` -> ``"en"``, ``"eng"`` -> ``"en"``,
    ``"English"`` -> ``"en"``), or None when it names no language with a two-letter code
    (``"und"``, ``"x-klingon"``, ``""``)."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    import pycountry

    match = _PRIMARY_RE.match(value)
    try:
        if match:
            code = match.group(1).lower()
            if code in _WITHDRAWN:
                return _WITHDRAWN[code]
            found = (pycountry.languages.get(alpha_2=code) if len(code) == 2
                     else pycountry.languages.get(alpha_3=code) or pycountry.languages.get(bibliographic=code))
        else:
            found = pycountry.languages.lookup(value.strip())
    except (LookupError, KeyError):
        return None
    code = getattr(found, "alpha_2", None) if found is not None else None
    return code.lower() if isinstance(code, str) and len(code) == 2 else None
