"""Properties of cleaning (issue 11), checked on generated input with hypothesis.

clean_text is idempotent, never raises, and never returns text absent from its input: every
output paragraph is one input line, whitespace-tidied.  normalise_unicode and the whole clean
stage never raise anything but Rejected, whatever the bytes.
"""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.stages.base import Rejected
from pipeline.stages.clean import clean_text, normalise_unicode, to_clean_article

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: boilerplate-like lines mixed with prose, so the rules actually fire
LINES = st.sampled_from([
    "Share this article", "Read more »", "Advertisement", "Related posts", "© 2024 The Example Times",
    "Sign up for our newsletter to get the news every morning.", "Photo: Reuters", "Tweet", "",
    "The council approved the new budget on Monday after a long debate.",
    "Officials said the bridge would reopen in June, weeks ahead of schedule.",
    "   spaced\tout  line  ", "By Jane Doe", "Follow us on Facebook", "See also: Earlier story",
])
TEXTS = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(LINES, st.text(max_size=80)), max_size=25).map("\n".join),
)
_SPACE = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")


@SETTINGS
@given(TEXTS)
def test_clean_text_is_idempotent(text):
    once = clean_text(text).text
    assert clean_text(once).text == once


@SETTINGS
@given(TEXTS)
def test_clean_text_returns_only_lines_of_its_input(text):
    tidied = {_SPACE.sub(" ", line).strip() for line in text.split("\n")}
    out = clean_text(text).text
    for paragraph in out.split("\n\n") if out else []:
        assert paragraph in tidied, paragraph


@SETTINGS
@given(TEXTS)
def test_clean_text_counts_what_it_removed(text):
    result = clean_text(text)
    kept = len(result.text.split("\n\n")) if result.text else 0
    nonblank = sum(1 for line in text.split("\n") if _SPACE.sub(" ", line).strip())
    assert kept + sum(result.removed.values()) == nonblank


@SETTINGS
@given(st.text(max_size=300))
def test_normalise_unicode_never_raises(text):
    assert isinstance(normalise_unicode(text), str)


@SETTINGS
@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=300) | TEXTS.filter(str.isascii))
def test_normalise_unicode_is_idempotent_on_ascii(text):
    once = normalise_unicode(text)
    assert normalise_unicode(once) == once


def test_normalise_unicode_is_idempotent_on_mojibake_like_input():
    """Found by hypothesis: one ftfy pass is not idempotent here; normalise_unicode repairs to a fixed point."""
    once = normalise_unicode("\xa0Ü\x98")
    assert normalise_unicode(once) == once


@SETTINGS
@given(st.binary(max_size=600), st.sampled_from(["html", "txt", "feed", "json"]))
def test_clean_stage_never_raises_anything_but_rejected_on_junk(data, fmt):
    text = data.decode("utf-8", "surrogateescape")
    for item in ({"html": text, "format": fmt}, {"text": text, "format": fmt},
                 {"html": "<html><body><p>" + text + "</p></body></html>", "format": "html"}):
        try:
            article = to_clean_article(dict(item, input_uri="junk"))
        except Rejected:
            continue
        assert article["text"].strip()


#: characters around ftfy's decisions: mojibake markers (Ã Â â € ™ ¢ ©), curly quotes, dashes,
#: accented and combining letters, Cyrillic/Greek mojibake letters, ligatures, fullwidth forms,
#: C1 and other controls, "&" (entities), NBSP and line separators
MOJIBAKE_ALPHABET = st.sampled_from(
    list("abcXYZ .,;!?'\"-&#;0123") + list("ÃÂâ€™œ¢©®°±²³´µ·»¼½¾¿ÀÉÑàáéñüçœŒØÙ×÷")
    + list("“”‘’–—…•‹›«»€£¥") + ["e\u0301", "A\u0303", "\u0303", "\u0327"]
    + list("ВГРСЂўΒΓΞΟβāﬁﬂＡ１\u3000\x85\x9d\x81\xa0\xad\u2028\u206a\ufeff\x1b\x07")
)
MOJIBAKE_TEXT = st.lists(MOJIBAKE_ALPHABET, max_size=40).map("".join)



@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MOJIBAKE_TEXT)
def test_ftfy_shortcut_only_where_ftfy_is_just_nfc(line):
    """A line the shortcut keeps from ftfy is one ftfy would only have NFC-normalised, so
    ``_ftfy`` equals ftfy itself on every line ftfy sees (not plain ASCII)."""
    import unicodedata

    import ftfy

    from pipeline.stages.clean.unicode import _ftfy, _ftfy_inert, _needs_ftfy

    full = ftfy.fix_text(line, uncurl_quotes=False, normalization="NFC")
    if _ftfy_inert(line):
        assert full == unicodedata.normalize("NFC", line)
    if _needs_ftfy(line):
        assert _ftfy(line) == full


@SETTINGS
@given(st.one_of(TEXTS, MOJIBAKE_TEXT))
def test_normalise_unicode_same_with_or_without_the_ftfy_shortcut(text):
    import pipeline.stages.clean.unicode as normalisation

    fast = normalise_unicode(text)
    shortcut = normalisation._ftfy_inert
    normalisation._ftfy_inert = lambda line: False  # every non-ASCII line through ftfy
    try:
        assert normalise_unicode(text) == fast
    finally:
        normalisation._ftfy_inert = shortcut


DATE_TEXT = st.lists(st.sampled_from(
    ["Oct.", "October", "17", "17th", "2023", "1999", "20231", "12023", "2023-10-17", "-", "de", "19",
     "17.", "oktober", "Tuesday,", ",", " ", "x", "٢٠٢٣", "2023a", "a2023", "1:", "2100"]), max_size=12).map(" ".join)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(DATE_TEXT, st.text(max_size=60)))
def test_iter_dates_year_precheck_finds_what_the_regexes_find(text):
    """_iter_dates skips text without a year between non-digits: no date pattern can match it."""
    import pipeline.stages.clean.dates as dates

    direct = [(m.start(), m.end()) for rx in (dates._DATE_MDY_RE, dates._DATE_DMY_RE, dates._DATE_ISO_RE)
              for m in rx.finditer(text)]
    if not dates._HAS_YEAR_RE.search(text):
        assert direct == []
