"""Identity of a record: ``id``, ``content_hash``, ``word_count`` and the ``dt`` partition.

Pure functions (:func:`normalise_for_hash`, :func:`content_hash`, :func:`word_count`,
:func:`article_id`, :func:`partition_date`) and the stage function :func:`identify`, which the
graph applies before dedup. The ``id`` is the hash of the canonical URL when there is one, else
of the normalised text. The Unicode-wide case-folding table behind the normalisation lives
here too; the dedup shingles (:mod:`pipeline.stages.dedup.hashing`) read it.
"""
from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from typing import Optional

import numpy as np

from pipeline.records import TEXT_FULL, TEXT_KINDS, UNDATED_PARTITION, UNDETERMINED_LANG, stable_hash
from pipeline.stages.base import Rejected
from pipeline.stages.clean.measure import count_words

STAGE_IDENTIFY = "identify"

_WORD = re.compile(r"\w+", re.UNICODE)


# --------------------------------------------------------------------------- text tables
#
# One Unicode-wide lookup table turns a text into NFKC-mapped, case-folded code points with 0
# for every character that is not a word character, in a few vectorised numpy steps: no
# Python object per word or per shingle. ``normalise_for_hash`` and ``word_count`` stay
# identical to their reference definitions (regex over ``NFKC`` + ``casefold``; regex over
# the raw text): the characters the table cannot express map to ``_SPECIAL`` and send the
# text down the regex path. Those are: combining characters and characters that compose with
# the one before them (NFKC is not per character for them), characters whose NFKC or
# casefold is several characters with a word character among them, characters whose
# word-ness the mapping changes (the raw-text word count would differ), lone surrogates.

_MAX_CP = 0x110000
_SPECIAL = 0xFFFFFFFF
_FOLD: Optional[np.ndarray] = None
_FOLD_LOCK = threading.Lock()


# Above this, outside plane 14, Unicode (as of Python 3.11-3.13) has only unassigned and
# private-use code points: no word characters, no mappings (tests/stages/test_identify.py checks).
ASSIGNED_END = 0x32400
PLANE_14 = range(0xE0000, 0xE1000)


def _build_fold_table() -> np.ndarray:
    cps = list(range(ASSIGNED_END)) + list(PLANE_14)
    is_word = re.compile(r"\w").fullmatch
    table = np.zeros(_MAX_CP, dtype=np.uint32)
    special = np.zeros(_MAX_CP, dtype=bool)
    second = {0x1161 + i for i in range(21)} | {0x11A8 + i for i in range(27)}  # Hangul V, T
    for cp in cps:
        d = unicodedata.decomposition(chr(cp))
        if d and not d.startswith("<"):
            parts = d.split()
            if len(parts) == 2:
                second.add(int(parts[1], 16))
    for cp in cps:
        c = chr(cp)
        raw = bool(is_word(c))
        if unicodedata.combining(c) or cp in second or 0xD800 <= cp < 0xE000:
            special[cp] = True
            continue
        n = unicodedata.normalize("NFKC", c)
        if len(n) != 1:
            if any(is_word(x) for x in n.casefold()) or unicodedata.combining(n[0]) or ord(n[0]) in second:
                special[cp] = True
            elif raw:
                special[cp] = True
            continue  # separator (0)
        if unicodedata.combining(n) or ord(n) in second:  # e.g. compatibility jamo
            special[cp] = True
            continue
        f = n.casefold()
        if len(f) != 1:
            special[cp] = True
            continue
        word = bool(is_word(f))
        if word != raw:
            special[cp] = True
        elif word:
            table[cp] = ord(f)
    table[special] = _SPECIAL
    return table


def fold_table() -> np.ndarray:
    global _FOLD
    if _FOLD is None:
        with _FOLD_LOCK:
            if _FOLD is None:
                _FOLD = _build_fold_table()  # ~0.5 s once per process, 4.4 MB
    return _FOLD


# --------------------------------------------------------------------------- identity


def _normalise_slow(text: str) -> str:
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def _fast_parts(text: str) -> Optional[tuple[str, int]]:
    """(normalised text, word count) in one pass, or None when the regex path must decide."""
    try:
        cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:
        return None
    if not len(cp):
        return "", 0
    f = fold_table()[cp]
    if f.max() == _SPECIAL:
        return None
    word = f != 0
    words = int(word[0]) + int(np.count_nonzero(word[1:] > word[:-1]))
    keep = word.copy()
    keep[1:] |= word[:-1]  # the words and the first separator after each
    out = f[keep]
    out[out == 0] = 32
    if len(out) and out[-1] == 32:
        out = out[:-1]
    return out.tobytes().decode("utf-32-le"), words


def _identity_parts(text: str) -> tuple[str, int]:
    """(``normalise_for_hash(text)``, ``word_count(text)``)."""
    parts = _fast_parts(text)
    if parts is not None:
        return parts
    return _normalise_slow(text), len(_WORD.findall(text))


def normalise_for_hash(text: str) -> str:
    """Case-folded words joined by single spaces: punctuation, quotes and layout do not count.

    Same result as ``" ".join(re.findall(r"\\w+", unicodedata.normalize("NFKC", text).casefold()))``.
    """
    parts = _fast_parts(text)
    return parts[0] if parts is not None else _normalise_slow(text)


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_for_hash(text).encode("utf-8")).hexdigest()


def word_count(text: str) -> int:
    """Number of ``\\w+`` runs in the text (as ``len(re.findall(r"\\w+", text))``): the "has no
    words" check. The record's ``word_count`` is :func:`pipeline.stages.clean.measure.count_words`
    (words in every script: a Japanese sentence is not one word)."""
    parts = _fast_parts(text)
    return parts[1] if parts is not None else len(_WORD.findall(text))


def article_id(url: Optional[str], text: str) -> str:
    """Stable id: hash of the canonical URL when there is one, else of the normalised text."""
    if url:
        return stable_hash("url:" + url)
    return stable_hash("text:" + normalise_for_hash(text))


def partition_date(published_at: Optional[str]) -> str:
    """``dt`` partition: the publication date; undated articles go to ``dt=undated``.

    Batch runs never use the wall clock, so the same input always lands in the same place.
    """
    if published_at and len(published_at) >= 10:
        return published_at[:10]
    return UNDATED_PARTITION


#: ``provenance.lang_source``: the language detected in the text, or the one its feed / API record declared.
LANG_DETECTED = "detected"
LANG_DECLARED = "declared"


def language_prior(lang: str, declared: Optional[str]) -> tuple[str, str]:
    """``(language, source)``: the detected language, or the declared one (the feed's ``<language>``,
    ``xml:lang``, ``dc:language``; an API record's ``language``) when detection is unsure, i.e. gave
    ``und`` (a short text: fewer than 3 words or 20 letters, or a probability under 0.5).

    A detected language is never overridden: also overriding short texts detected as another
    language with p < 0.9 fixed 1 of 181 ten-word benchmark excerpts but broke 5 of 29 short
    summaries in a feed declaring the wrong language (bench/lang_prior.py)."""
    if declared and lang == UNDETERMINED_LANG:
        return declared, LANG_DECLARED
    return lang, LANG_DETECTED


def _with_declared_language(article: dict) -> dict:
    """The article with the language prior applied (only when the reader found a declared language;
    other articles are left as they are): ``lang``, and ``provenance.declared_lang`` /
    ``provenance.lang_source``.  The item's top-level ``declared_lang`` does not stay."""
    declared = article.pop("declared_lang", None)
    if not isinstance(declared, str) or not declared:
        return article
    prov = dict(article.get("provenance") or {})
    lang, source = language_prior(article.get("lang") or UNDETERMINED_LANG, declared)
    article["lang"] = lang
    prov["declared_lang"] = declared
    prov["lang_source"] = source
    article["provenance"] = prov
    return article


def _canonical(url) -> Optional[str]:
    """The page's canonical link, normalised as ``url`` is (the clean stage's :func:`canonical_url`)."""
    if not isinstance(url, str) or not url:
        return None
    from pipeline.stages.clean.urls import canonical_url

    return canonical_url(url)


def text_kind(article: dict) -> str:
    """``full`` or ``summary`` as the reader decided it from the field the text came from (a feed's
    description, an API's abstract); ``full`` for pages, files and anything that does not say."""
    kind = article.get("text_kind")
    return kind if kind in TEXT_KINDS else TEXT_FULL


def identify(article: dict) -> dict:
    """Add ``id``, ``content_hash``, ``word_count``, ``dt`` and the record contract's defaults;
    ``text_kind`` (default full), ``canonical_url`` normalised, the declared-language prior.
    The id is the hash of ``canonical_url`` when the page named one, else of ``url``.

    Rejects text without a single word (nothing to deduplicate or publish).
    """
    from pipeline import __version__
    from pipeline.records import SCHEMA_VERSION

    text = article.get("text") or ""
    normalised, words = _identity_parts(text)
    if words == 0:
        raise Rejected("article text has no words after cleaning")
    out = dict(article)
    url = article.get("url")
    out["text_kind"] = text_kind(article)
    out = _with_declared_language(out)
    canonical = _canonical(article.get("canonical_url"))
    out["canonical_url"] = canonical  # every row has it (Parquet cannot leave a field out)
    key = canonical or url  # the id names the article, wherever it was fetched from
    out["id"] = stable_hash("url:" + key) if key else stable_hash("text:" + normalised)
    out["content_hash"] = hashlib.sha256(normalised.encode("utf-8")).hexdigest()
    out["word_count"] = count_words(text)
    out["dt"] = partition_date(article.get("published_at"))
    out.setdefault("fetched_at", None)
    out.setdefault("published_precision", None)
    out.setdefault("authors", [])
    out["story_id"] = out["id"]
    out.setdefault("entities", [])
    out.setdefault("mentions", [])
    out["schema_version"] = SCHEMA_VERSION
    prov = dict(out.get("provenance") or {})
    prov["pipeline_version"] = __version__
    prov.setdefault("decisions", [])
    out["provenance"] = prov
    return out
