"""Entities of a language no model covers: places only, found as capitalised word sequences that
the gazetteers confirm (:func:`gazetteer_places`; pure given the gazetteer).

A capitalised run of one to four words (a lower-case glue word may join two of them: "Reino Unido",
"Ciudad de México") is a place when it names a country (also by its name in French, German,
Spanish, Italian, Portuguese or Dutch), a US state or part of a country, or a city of at least
:data:`FALLBACK_CITY_POPULATION` (:data:`FALLBACK_INITIAL_CITY_POPULATION` for one word that opens a
sentence, where every word is capitalised: "Nice", "Orange"). ``lang`` is recorded, not used: the
gazetteers' names are the same whatever the article's language. Scripts without capitals
(Chinese, Japanese, Korean, Thai, Arabic, Hebrew...) get nothing: :func:`covers` says so.
"""
from __future__ import annotations

import re

from pipeline.records import Mention
from pipeline.stages.entities.places import Gazetteer, place_codes

#: Cities this populous count as places in the fallback (smaller towns share names with words).
FALLBACK_CITY_POPULATION = 100_000
#: A one-word city at the start of a sentence or line (where any word is capitalised: "Nice",
#: "Mobile", "Orange") counts only from this population on.
FALLBACK_INITIAL_CITY_POPULATION = 1_000_000
_MAX_WORDS = 4
_WORD = re.compile(r"[^\W\d_]+(?:[-'\u2019][^\W\d_]+)*")
_GLUE = frozenset({"de", "del", "do", "da", "dos", "das", "di", "du", "des", "la", "le", "el", "los", "las",
                   "of", "the", "am", "an", "der", "op", "aan", "y", "e", "and", "sur", "upon"})


def covers(text: str) -> bool:
    """The text is mostly in a script with capital letters (the fallback can read it)."""
    letters = [ch for ch in text[:5000] if ch.isalpha()]
    if not letters:
        return False
    cased = sum(1 for ch in letters if ch.isupper() or ch.islower())
    return cased >= 0.8 * len(letters)


def _place(name: str, one_word_initial: bool, gaz: Gazetteer) -> bool:
    if gaz.country(name, local=True) or gaz.region(name):
        return True
    city = gaz.city(name, local=True)
    least = FALLBACK_INITIAL_CITY_POPULATION if one_word_initial else FALLBACK_CITY_POPULATION
    return bool(city) and city[1] >= least


def _initial(text: str, start: int) -> bool:
    """The word at ``start`` opens a sentence or a line."""
    before = text[max(0, start - 40):start].rstrip(" \t\"'\u201c\u201e\u00ab(")
    return not before or before[-1] in ".!?:\n\r\u2014-"


def gazetteer_places(text: str, lang: str, gaz: Gazetteer) -> list[Mention]:
    """GPE mentions of the known places in ``text`` (longest match first; offsets into ``text``),
    with canonical names and country codes as :func:`place_codes` gives them."""
    words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
    found: list[Mention] = []
    i, n = 0, len(words)
    while i < n:
        if not words[i][2][:1].isupper():
            i += 1
            continue
        hit = None
        for k in range(min(_MAX_WORDS, n - i), 0, -1):
            run = words[i:i + k]
            last = run[-1][2]
            if not last[:1].isupper() or any(not w[:1].isupper() and w.lower() not in _GLUE for _, _, w in run):
                continue
            if any(text[a[1]:b[0]].strip(" -") for a, b in zip(run, run[1:])):  # only spaces/hyphens between
                continue
            start, end = run[0][0], run[-1][1]
            name = text[start:end]
            if _place(name, k == 1 and _initial(text, start), gaz):
                hit = (start, end, name, k)
                break
        if hit is None:
            i += 1
            continue
        start, end, name, k = hit
        found.append(Mention(start=start, end=end, text=name, label="GPE", canonical=name))
        i += k
    return place_codes(found, gaz) if found else []
