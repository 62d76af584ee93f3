"""Language stage: detect the language of a cleaned article with py3langid.

py3langid is a maintained fork of langid.py with its model bundled in the wheel (no network).
The identifier is built once per process, lazily, with normalised probabilities, so the
confidence is a probability in [0, 1] and can be thresholded.  Detection runs on the
*cleaned* text (boilerplate in another language, such as a Norwegian aggregator's
navigation, is mostly gone by then) and on at most the first ``MAX_CHARS`` characters,
which is plenty for a confident decision and keeps the cost flat for long articles.
"""
from __future__ import annotations

import functools

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.records import UNDETERMINED_LANG
from pipeline.stages.base import ApplyStage, Rejected, StageOutput
from pipeline.stages.clean.measure import count_words

__all__ = [
    "MAX_CHARS",
    "MIN_WORDS",
    "MIN_LETTERS",
    "MIN_PROBABILITY",
    "detect_language",
    "add_language",
    "DetectLanguage",
]

#: Only the first this-many characters are classified (cut at a word boundary).
MAX_CHARS = 2000
#: Fewer words or letters than this: too little evidence, the language is "und".
MIN_WORDS = 3
MIN_LETTERS = 20
#: Below this normalised probability the language is "und" (ISO 639-2 "undetermined").
MIN_PROBABILITY = 0.5


@functools.lru_cache(maxsize=1)
def _identifier():
    """The py3langid identifier with normalised probabilities, built once per process."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _sample(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    cut = text[:MAX_CHARS]
    space = cut.rfind(" ")  # (text without spaces, e.g. Japanese, is cut at MAX_CHARS)
    return cut[:space] if space > MAX_CHARS // 2 else cut


def _has_letters(text: str, n: int) -> bool:
    """At least ``n`` letters in ``text``; stops at the n-th (counting all 2,000 characters of
    every sample cost a third of the stage)."""
    for ch in text:
        if ch.isalpha():
            n -= 1
            if n <= 0:
                return True
    return n <= 0


def _has_words(text: str, n: int) -> bool:
    """At least ``n`` words (in any script, :func:`count_words`); looks at the head first."""
    return count_words(text[:200]) >= n or count_words(text) >= n


def detect_language(text: str) -> tuple[str, float]:
    """``(ISO 639-1 code, probability)``; ``(UNDETERMINED_LANG, p)`` when unsure.

    Undetermined when the text has fewer than ``MIN_WORDS`` words or ``MIN_LETTERS``
    letters (probability 0.0), or when the best language's probability is below
    ``MIN_PROBABILITY``.  Deterministic: same text, same answer.
    """
    sample = _sample(text or "")
    if not _has_words(sample, MIN_WORDS) or not _has_letters(sample, MIN_LETTERS):
        return UNDETERMINED_LANG, 0.0
    lang, prob = _identifier().classify(sample)
    prob = float(prob)
    if prob < MIN_PROBABILITY:
        return UNDETERMINED_LANG, prob
    if len(lang) != 2:  # langid's model has a few languages without an ISO 639-1 code ("lij")
        return UNDETERMINED_LANG, prob
    return lang, prob


def add_language(article: dict) -> dict:
    """Stage function: a copy of ``article`` with ``lang`` and ``provenance.lang_confidence``."""
    text = article.get("text")
    if not isinstance(text, str):
        raise Rejected("article has no text to detect the language of (the clean stage should have rejected it)")
    lang, prob = detect_language(text)
    out = dict(article)
    out["lang"] = lang
    out["provenance"] = {**(article.get("provenance") or {}), "lang_confidence": round(prob, 3)}
    return out


def _count_language(article: dict) -> dict:
    Metrics.counter("language", f"lang_{article['lang']}").inc()
    return article


class DetectLanguage(beam.PTransform):
    """Articles -> :class:`StageOutput` (articles with lang); counts ``language:lang_<code>``."""

    def expand(self, articles):
        detected = articles | "Detect" >> ApplyStage("language", add_language)
        return StageOutput(detected.records | "CountLanguages" >> beam.Map(_count_language), detected.rejects)
