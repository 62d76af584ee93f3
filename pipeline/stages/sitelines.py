"""Lines a source repeats across its articles: navigation, subscription boxes, footers.

The way CCNet removes navigation: a paragraph that recurs, word for word, in several
documents of the same site is the site's, not the article's. Counting happens in the
pipeline over the whole run (no global mutable cache), so the result does not depend on the
order records arrive in.

Guards, because news sites legitimately repeat text: only short paragraphs count (chrome is
short; a long paragraph shared by several articles is a syndicated or updated story, which
dedup handles), and the documents must carry at least ``MIN_TITLES`` different titles, so
three updates of one story never strip each other's paragraphs.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Iterable, Optional

import apache_beam as beam

from pipeline.stages.base import ApplyStage, Rejected
from pipeline.stages.clean.measure import count_words

STAGE = "sitelines"
RULE = "site_repeated"
MAX_WORDS = 30  # longer paragraphs are never site chrome (words in any script: clean.measure)
MIN_DOCS = 3  # documents of one source that must share the paragraph
MIN_TITLES = 3  # ...under this many different titles

_WORD = re.compile(r"\w+", re.UNICODE)


def line_key(paragraph: str) -> str:
    """Words of a paragraph, case-folded: the same line however it is punctuated or spaced."""
    words = _WORD.findall(unicodedata.normalize("NFKC", paragraph).casefold())
    return hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=8).hexdigest()


def _paragraphs(article: dict) -> list[str]:
    return [p for p in (article.get("text") or "").split("\n\n") if p.strip()]


def _title_key(article: dict) -> str:
    title = article.get("title") or (_paragraphs(article) or [""])[0]
    return line_key(title)


def votes(article: dict) -> Iterable[tuple[tuple[str, str], str]]:
    """``((source, line key), title key)`` once per distinct short paragraph of an article."""
    source = article.get("source")
    if not source:
        return []
    title = _title_key(article)
    keys = {line_key(p) for p in _paragraphs(article) if 0 < count_words(p) <= MAX_WORDS}
    return [((source, key), title) for key in sorted(keys)]


class CountDocsAndTitles(beam.CombineFn):
    """(documents, up to MIN_TITLES distinct titles): bounded however popular a line is."""

    def create_accumulator(self):
        return 0, frozenset()

    def add_input(self, acc, title):
        docs, titles = acc
        if len(titles) < MIN_TITLES:
            titles = titles | {title}
        return docs + 1, titles

    def merge_accumulators(self, accs):
        docs, titles = 0, frozenset()
        for d, t in accs:
            docs += d
            titles = titles | t
        return docs, frozenset(sorted(titles)[:MIN_TITLES])

    def extract_output(self, acc):
        return acc


def is_site_line(counts: tuple[int, frozenset]) -> bool:
    docs, titles = counts
    return docs >= MIN_DOCS and len(titles) >= MIN_TITLES


def remove_site_lines(article: dict, site_lines: Optional[dict]) -> dict:
    """The stage function: drop paragraphs the article's source repeats in other articles."""
    source = article.get("source")
    if not source or not site_lines:
        return article
    kept, removed = [], 0
    for paragraph in _paragraphs(article):
        if count_words(paragraph) <= MAX_WORDS and (source, line_key(paragraph)) in site_lines:
            removed += 1
        else:
            kept.append(paragraph)
    if not removed:
        return article
    if not kept:
        raise Rejected(f"every line of this article is repeated across other {source} articles "
                       "(site navigation or a teaser page, not an article)")
    prov = dict(article.get("provenance") or {})
    clean = dict(prov.get("clean") or {})
    counts = dict(clean.get("removed") or {})
    counts[RULE] = counts.get(RULE, 0) + removed
    prov["clean"] = dict(clean, removed=dict(sorted(counts.items())))
    return dict(article, text="\n\n".join(kept), provenance=prov)


def _is_site_line_pair(pair) -> bool:
    return is_site_line(pair[1])


def _keep_key(pair):
    return pair[0], True


class RemoveSiteBoilerplate(beam.PTransform):
    """Cleaned articles -> :class:`~pipeline.stages.base.StageOutput`, without the lines their source repeats."""

    def expand(self, articles):
        site_lines = (articles
                      | "Votes" >> beam.FlatMap(votes)
                      | "CountPerLine" >> beam.CombinePerKey(CountDocsAndTitles())
                      | "Repeated" >> beam.Filter(_is_site_line_pair)
                      | "AsKeys" >> beam.Map(_keep_key))
        return articles | ApplyStage(STAGE, remove_site_lines, beam.pvalue.AsDict(site_lines))
