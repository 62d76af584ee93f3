"""Properties of normalise_unicode (issue 11), checked on generated input with hypothesis.

normalise_unicode never raises, is idempotent, and its ftfy shortcut changes nothing.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.stages.clean.unicode import normalise_unicode
from tests.stages.clean.strategies import SETTINGS, TEXTS


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
