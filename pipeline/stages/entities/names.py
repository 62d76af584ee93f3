"""Canonical forms of one mention, without document context (pure): :func:`normalise_surface`,
:func:`name_bounds` (the name inside a model span), :func:`canonical_form`, and the token helpers
the document and alias steps share."""
from __future__ import annotations

import re
from typing import Iterable

_APOSTROPHE_CHARS = "'\u2018\u2019\u201b\u02bc\u2032`\u00b4"
APOSTROPHES = re.compile("[\u2018\u2019\u201b\u02bc\u2032`\u00b4]")
SPACES = re.compile(r"\s+")
_EDGE_QUOTES = "\"'\u201c\u201d\u00ab\u00bb()[]{} "
_POSSESSIVE = re.compile(r"(?:'s|(?<=s)')$", re.IGNORECASE)
_THE = re.compile(r"^the\s+", re.IGNORECASE)
#: Names where "The" is part of the official name.
_KEEP_THE = frozenset({"the hague", "the gambia", "the bahamas"})
#: Offices and forms of address stripped from the front of PERSON names ("President Xi" -> "Xi").
#: Regnal and religious titles that are part of the name in use (King Charles, Pope Francis) stay.
TITLES = (
    "President", "Vice President", "Vice-President", "Prime Minister", "Deputy Prime Minister",
    "Foreign Minister", "Defense Minister", "Defence Minister", "Finance Minister", "Minister",
    "Secretary-General", "Secretary General", "Secretary of State", "Secretary", "Chancellor",
    "Premier", "Vice Premier", "Chairman", "Chairwoman", "Chair", "Spokesman", "Spokeswoman", "Spokesperson",
    "Ambassador", "Senator", "Sen.", "Representative", "Rep.", "Governor", "Gov.", "Mayor",
    "General", "Gen.", "Lt. Gen.", "Maj. Gen.", "Admiral", "Adm.", "Colonel", "Col.", "Lt.",
    "Captain", "Capt.", "Sgt.", "Judge", "Justice", "Chief Justice", "Speaker", "Leader",
    "Mr.", "Mr", "Mrs.", "Mrs", "Ms.", "Ms", "Miss", "Dr.", "Dr", "Prof.", "Professor",
    "Sir", "Dame", "Rev.", "Reverend", "CEO", "Chief Executive",
)
_TITLE_RE = re.compile(
    r"^(?:%s)\s+" % "|".join(re.escape(t) for t in sorted(TITLES, key=len, reverse=True)),
    re.IGNORECASE)
_RAW_POSSESSIVE = re.compile(r"(?:[%s]s|(?<=s)[%s])$" % (_APOSTROPHE_CHARS, _APOSTROPHE_CHARS))
_RAW_RUN_ON = re.compile(r"[%s]s\s" % _APOSTROPHE_CHARS)
_RAW_THE = re.compile(r"the\s+", re.IGNORECASE)
_RAW_EDGE = "\"'\u201c\u201d\u2018\u2019\u00ab\u00bb()[]{}" + " \t\n\r\u00a0"


def normalise_surface(text: str) -> str:
    """Straight apostrophes, single spaces, no surrounding quotes or brackets."""
    text = APOSTROPHES.sub("'", text)
    text = SPACES.sub(" ", text).strip(_EDGE_QUOTES)
    return text


def name_bounds(surface: str, label: str) -> tuple[int, int]:
    """``(lo, hi)`` of the name inside a model span: without edge quotes, a leading "the", a
    possessive "'s" or, for PERSON, offices and forms of address (pure).

    Why: consumers (and CoNLL-style gold spans) want the name itself; the model's span often
    carries "the" (OntoNotes habit) or a possessive its tokenizer did not split off ("Xi Jinping’s").
    Never returns an empty span: if nothing would be left, the span is kept as it is.
    """
    lo, hi = 0, len(surface)

    def strip_edges():
        nonlocal lo, hi
        while lo < hi and surface[lo] in _RAW_EDGE:
            lo += 1
        while hi > lo and surface[hi - 1] in _RAW_EDGE:
            hi -= 1

    strip_edges()
    if label == "PERSON":  # "Xi Jinping’s Belt" (a span that ran on) -> "Xi Jinping"
        m = _RAW_RUN_ON.search(surface, lo, hi)
        if m and m.start() > lo:
            hi = m.start()
    m = _RAW_POSSESSIVE.search(surface[lo:hi])
    if m and m.start() > 0:
        hi = lo + m.start()
        strip_edges()
    if label != "WORK_OF_ART":
        m = _RAW_THE.match(surface, lo, hi)
        if m and m.end() < hi and SPACES.sub(" ", surface[lo:hi]).lower() not in _KEEP_THE:
            lo = m.end()
    if label == "PERSON":
        while True:
            m = _TITLE_RE.match(surface[lo:hi])
            if not m or m.end() >= hi - lo:
                break
            lo += m.end()
    strip_edges()
    return (lo, hi) if lo < hi else (0, len(surface))


def canonical_form(text: str, label: str) -> str:
    """Canonical name of one mention, without document context (pure).

    >>> canonical_form("Russia\u2019s", "GPE"), canonical_form("President  Xi Jinping", "PERSON")
    ('Russia', 'Xi Jinping')
    >>> canonical_form("The Associated Press", "ORG")
    'Associated Press'
    """
    norm = normalise_surface(text)
    name = _POSSESSIVE.sub("", norm).rstrip()
    if name.lower() in _KEEP_THE:
        name = "The " + name[4:]
    elif label != "WORK_OF_ART":
        name = _THE.sub("", name) or name
    if label == "PERSON":
        name = name.split("'s ", 1)[0]  # "Xi Jinping's Belt" (a span that ran on) -> "Xi Jinping"
        while True:
            stripped = _TITLE_RE.sub("", name, count=1)
            if stripped == name or not stripped:
                break
            name = stripped
    return name or norm or text


class NameIndex:
    """For a set of names, which of them have a given name as a proper token suffix ("Putin" of
    "Vladimir Putin") or prefix ("Xi" of "Xi Jinping"): :func:`is_suffix`/:func:`is_prefix`
    answered for every pair at once, in time linear in the names' total length (a dict lookup
    per question instead of a scan of every name: the scan made an article with 380k distinct
    names take hours).

    ``tokens(short)`` is a proper suffix of ``tokens(full)`` exactly when ``full`` is ``X + " " +
    short`` for some X, since ``split(" ")`` of a join is the join of the splits; so the keys of a
    name are what follows, and what precedes, each of its spaces.  Lists keep the names' order."""

    def __init__(self, names: Iterable[str]):
        self.suffix_of: dict[str, list[str]] = {}
        self.prefix_of: dict[str, list[str]] = {}
        for name in dict.fromkeys(names):
            i = name.find(" ")
            while i >= 0:
                self.prefix_of.setdefault(name[:i], []).append(name)
                self.suffix_of.setdefault(name[i + 1:], []).append(name)
                i = name.find(" ", i + 1)

    def longer_with_suffix(self, short: str) -> list[str]:
        """The names ``short`` is a proper token suffix of."""
        return self.suffix_of.get(short, [])

    def longer_with_prefix(self, short: str) -> list[str]:
        """The names ``short`` is a proper token prefix of."""
        return self.prefix_of.get(short, [])


def tokens(name: str) -> tuple[str, ...]:
    return tuple(name.split(" "))


def is_suffix(short: tuple[str, ...], full: tuple[str, ...]) -> bool:
    """``short`` is a proper token suffix of ``full``."""
    return len(full) > len(short) and full[-len(short):] == short


def is_prefix(short: tuple[str, ...], full: tuple[str, ...]) -> bool:
    return len(full) > len(short) and full[:len(short)] == short
