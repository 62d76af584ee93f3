"""Title and author normalisers: what pages put into their title and author metadata besides
the headline and the people who wrote it. Patterns from the 181 extraction-benchmark pages and
the issue's held-out pages (issue 21):

- titles: the site's name after (or before) a separator, "| Börsen-Zeitung", "- DW - 28.04.2023",
  "– TechCrunch", "LinkNaija | Nigeria's popular news platform: ...";
- authors: organisations ("Condé Nast", "... GmbH", the site itself), URL fragments
  ("Www Washingtontimes Com", "https", "Cleveland com"), prefixes ("By", "Von", "Autor",
  "Текст", "Analysis by"), job titles ("AP Auto Writer", "Phil Helsel is a reporter"), date
  words a byline parser left ("Monday", "November"), "Last, First" split into two people,
  agency codes title-cased ("Dpa").

Pure functions; :func:`normalise_title` and :func:`normalise_authors` are applied by the clean
stage to whatever the input or the page gave.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional, Sequence

from pipeline.stages.clean.dates import is_date_line

__all__ = ["normalise_title", "normalise_authors", "join_last_first", "AGENCIES"]

_I = re.IGNORECASE
_KEY_RE = re.compile(r"[\W_]+")
#: a separator between a headline and a site name: " | ", " - ", " – ", " — ", " :: ", " · ", " » "
_SEP_RE = re.compile(r"\s+(?:[|\-–—·•»]{1,2}|::|/{2})\s+")
_NUMERIC_DATE_RE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")
_TITLE_MIN_WORDS = 2


def _key(text: Optional[str]) -> str:
    return _KEY_RE.sub(" ", (text or "").casefold()).strip()


def _is_date(text: str) -> bool:
    text = text.strip()
    return bool(_NUMERIC_DATE_RE.match(text)) or is_date_line(text)


def _site_keys(site_name: Optional[str]) -> set[str]:
    """The site name and its domain-less form ("SpaceNews.com" -> "spacenews com", "spacenews")."""
    key = _key(site_name)
    if not key:
        return set()
    keys = {key}
    bare = re.sub(r"\s+(?:com|net|org|info|co uk|co|de|fr|ru|it|es|in|ca|com au)$", "", key)
    keys.add(bare)
    return {k for k in keys if k}


def normalise_title(title: Optional[str], site_name: Optional[str]) -> Optional[str]:
    """The headline without the site's name (and a date) a page adds around it.

    Removed: a trailing ``<sep> <date>`` ("- 28.04.2023"), then a trailing ``<sep> <site
    name>`` ("| Börsen-Zeitung", "- Remember 80/90 - Memorabilia anni 80/90") or a leading
    ``<site name> <sep>`` / ``<site name>:``, where the site name is ``site_name``
    (og:site_name and similar) compared case- and punctuation-blind. A title that would keep
    fewer than two words is left as it is; so is every other separator ("Opinion | ...").
    """
    if not title:
        return title
    out = title
    seps = list(_SEP_RE.finditer(out))
    if seps and _is_date(out[seps[-1].end():]):
        out = out[:seps[-1].start()]
    keys = _site_keys(site_name)
    if keys:
        for m in _SEP_RE.finditer(out):  # leftmost first: the longest tail
            if _key(out[m.end():]) in keys:
                out = out[:m.start()]
                break
        else:
            for m in re.finditer(r"\s+[|\-–—·•»:]{1,2}\s+|:\s+", out):
                if _key(out[:m.start()]) in keys:
                    out = out[m.end():]
                    break
    out = out.strip()
    return out if len(out.split()) >= _TITLE_MIN_WORDS else title


#: News agencies, as they write themselves: kept as authors, in this spelling ("dpa", not "Dpa")
AGENCIES = {
    _key(a): a for a in (
        "AP", "Associated Press", "The Associated Press", "Reuters", "AFP", "Agence France-Presse", "dpa",
        "epd", "KNA", "APA", "SDA", "Keystone-SDA", "ANSA", "EFE", "Europa Press", "PTI", "IANS", "ANI",
        "UNI", "UPI", "TASS", "RIA Novosti", "Interfax", "Xinhua", "Kyodo", "Jiji", "Yonhap", "NTB", "TT",
        "Ritzau", "STT", "Belga", "ANP", "CTK", "PAP", "MTI", "Anadolu", "AA", "Bernama", "Antara", "AAP",
        "CP", "The Canadian Press", "SID", "AFX", "Bloomberg", "DPA-AFX",
    )
}
_ORG_RE = re.compile(
    r"\s(?:gmbh|ag|kg|se|inc|llc|ltd|limited|plc|corp|corporation|s\.?a|s\.?l|s\.?r\.?l|b\.?v|n\.?v|oy|ab|as|a/s"
    r"|verlag|verlagsgesellschaft|mediengruppe|media\s+group|publishing|holdings?)\.?$"
    r"|^cond[eé]\s+nast$",
    _I,
)
_URL_PART_RE = re.compile(r"^(?:https?|www)\b|://|\b(?:com|net|org)$|^\S+\.(?:com|net|org|[a-z]{2})$", _I)
_PREFIX_RE = re.compile(
    r"^(?:(?:analysis|commentary|opinion|text|photos?|words|written|reported|story)\s+by|by|von|autor(?:in)?|"
    r"text|texte|par|por|di|de|av|door|af|ved|z|от|текст|автор|fotos?|foto)\s*[:\-–]?\s+",
    _I,
)
_JOB_WORDS = (r"writer|reporter|editor(?:-at-large)?|correspondent|columnist|contributor|staff|bureau|desk"
              r"|journalist|redakteur(?:in)?|redaktion|korrespondent(?:in)?|producer|anchor")
_JOB_MODIFIERS = (r"senior|chief|national|political|security|sports?|auto|business|news|staff|wire|ap|cnn|reuters"
                  r"|afp|associated\s+press|contributing|deputy|managing|special|foreign|white\s+house|economics?")
#: a job title after a name: "is a reporter", or a qualified one ("News reporter", "AP Sports Writer");
#: a bare "Staff" / "Bureau" after a name is a desk ("HNN Staff"), kept whole
_JOB_TAIL_RE = re.compile(rf"\s+(?:is\s+an?\s+.*|(?:(?:{_JOB_MODIFIERS})\s+)+(?:{_JOB_WORDS})s?)$", _I)
_JOB_ONLY_RE = re.compile(rf"^(?:(?:{_JOB_MODIFIERS})\s+)*(?:{_JOB_WORDS})s?$", _I)
_DATE_WORDS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december published updated".split()
)
_CREDENTIAL_RE = re.compile(
    r"^(?:Ph\.?\s?D|M\.?D|M\.?S|M\.?A|B\.?A|B\.?S|RDN?|RN|MBA|MPH|DDS|DO|JD|CPA|CFA|LLM|MSc|BSc|FRCP|Dr)\.?$")


def _strip_date_words(name: str) -> str:
    words = name.split()
    while len(words) > 1 and words[-1].casefold().strip(".,") in _DATE_WORDS:
        words.pop()
    return " ".join(words)


def join_last_first(names: Sequence[str], raw: Iterable[str] = ()) -> list[str]:
    """"Last, First" as one person: a single entry "Doe, Jane", or two entries ["Doe", "Jane"]
    that a parser split from a raw value "Doe, Jane" (``raw``: the page's author strings)."""
    pairs = set()
    for value in raw:
        for part in re.split(r"\s*[;|]\s*|\s+(?:and|und|et|y|e)\s+", value or ""):
            m = re.fullmatch(r"\s*([^\W\d][\w'’\-]*),\s*([^\W\d][\w'’.\-]*(?:\s+[^\W\d][\w'’.\-]*)?)\s*", part)
            if m and _key(m.group(2)) not in AGENCIES and not _CREDENTIAL_RE.match(m.group(2)):
                pairs.add((m.group(1), m.group(2)))
    out: list[str] = []
    i = 0
    while i < len(names):
        name = names[i]
        m = re.fullmatch(r"([^\W\d][\w'’\-]*),\s*([^\W\d][\w'’.\-]*(?:\s+[^\W\d][\w'’.\-]*)?)", name)
        if m and _key(m.group(2)) not in AGENCIES and not _CREDENTIAL_RE.match(m.group(2)):
            out.append(f"{m.group(2)} {m.group(1)}")
        elif i + 1 < len(names) and (name, names[i + 1]) in pairs:
            out.append(f"{names[i + 1]} {name}")
            i += 1
        else:
            out.append(name)
        i += 1
    return out


def normalise_authors(names: Sequence[str], site_name: Optional[str] = None, raw: Iterable[str] = ()) -> list[str]:
    """People (and news agencies) from author metadata, each once, in order.

    "Last, First" is joined (see :func:`join_last_first`); prefixes ("By", "Von", "Autor:",
    "Текст") and trailing job titles or date words are removed; agencies are spelled as they
    spell themselves ("dpa", "AFP"); organisations (company forms, "Condé Nast", the site's own
    name), URL fragments, job titles on their own next to a person, and credentials after a name
    ("MS", "RDN") are dropped.
    """
    site = _site_keys(site_name)
    people: list[str] = []
    for name in join_last_first([n for n in names if isinstance(n, str)], raw):
        name = _PREFIX_RE.sub("", name.strip()).strip(" ,;:")
        key = _key(name)
        if not key:
            continue
        if key in AGENCIES:
            people.append(AGENCIES[key])
            continue
        if _URL_PART_RE.search(name) or _ORG_RE.search(name) or key in site:
            continue
        if _CREDENTIAL_RE.match(name) and people:
            continue
        if key in _DATE_WORDS:
            continue
        if not _JOB_ONLY_RE.match(name):
            name = _strip_date_words(_JOB_TAIL_RE.sub("", name)) or name
        people.append(name)
    # a job title or a desk on its own ("AP Auto Writer", "Staff writer") only when it is not alone
    if any(not _JOB_ONLY_RE.match(p) for p in people):
        people = [p for p in people if not _JOB_ONLY_RE.match(p) or _key(p) in AGENCIES]
    out: list[str] = []
    for p in people:
        if p not in out:
            out.append(p)
    return out
