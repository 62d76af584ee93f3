"""Tests for pipeline.stages.clean.unicode: normalise_unicode and the ftfy shortcut."""
from __future__ import annotations

import unicodedata

import pytest

from pipeline.stages.clean import article, unicode
from pipeline.stages.clean.unicode import normalise_unicode
from tests.conftest import SHARED


def test_mojibake_repaired_and_curly_quotes_kept():
    assert normalise_unicode("CafÃ© au lait") == "Café au lait"
    assert normalise_unicode("Ã©tÃ©") == "été"
    quoted = "He said “no limits” and ‘boundless’ — it’s done."
    assert normalise_unicode(quoted) == quoted


def test_nfc_and_whitespace_and_controls():
    out = normalise_unicode("Cafe\u0301\u00a0 \t au\x07  lait \r\nsecond\rthird\n\n\n\nfourth")
    assert out == "Café au lait\nsecond\nthird\n\nfourth"
    assert unicodedata.is_normalized("NFC", out)
    assert normalise_unicode("") == ""
    assert normalise_unicode("\ufeffzero\u200bwidth") == "zerowidth"


BENCHMARK = SHARED / "corpus" / "extraction-benchmark"


def test_ftfy_shortcut_leaves_mojibake_and_fixer_input_to_ftfy():
    for line in ("CafÃ© au lait", "â€œquotedâ€\x9d", "Ð¡Ð¾Ð±Ñ‹Ñ‚Ð¸Ñ", "AT&amp;T", "ﬁnal", "ＡＢＣ",
                 "a\x85b", "x\u206ay", "Ã\u00a0la carte", "Sch\u00c3\u00b6n"):
        assert not unicode._ftfy_inert(line), line
    for line in ("“Quoted” — and it’s fine…", "Crème brûlée à Zürich, señor", "Ελληνικά και русский",
                 "e\u0301"):
        assert unicode._ftfy_inert(line), line


@pytest.mark.skipif(not BENCHMARK.exists(), reason="../shared/corpus/extraction-benchmark not present")
def test_ftfy_shortcut_on_every_line_of_the_benchmark_pages():
    """Each non-ASCII line of the 181 real pages the shortcut keeps from ftfy is one ftfy only
    NFC-normalises (the pages' markup and text lines: prose in many languages, scripts, JSON)."""
    import gzip

    import ftfy

    shortcut = 0
    for path in sorted((BENCHMARK / "html").glob("*.html.gz")):
        page = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        for line in set(unicode._LINE_BREAKS_RE.sub("\n", page).split("\n")):
            if not line.isascii() and unicode._ftfy_inert(line):
                shortcut += 1
                assert ftfy.fix_text(line, uncurl_quotes=False, normalization="NFC") == unicodedata.normalize("NFC", line)
    assert shortcut > 1000


def test_cheap_whitespace_checks_agree_with_strip():
    """_has_text is ``bool(s.strip())`` and _tidy_line's ASCII shortcut is the regex's result,
    for every character (both are per-character predicates)."""
    import sys

    for c in map(chr, range(sys.maxunicode + 1)):
        assert article._has_text(c) == bool(c.strip()) and article._has_text(c * 2) == bool((c * 2).strip())
    assert not article._has_text("") and article._has_text(" x ")
    for line in ("a  b", " a\tb ", "a b", "\x0ba\x1f", "  ", "a \u00a0b", "x\u3000\u3000y"):
        assert unicode.tidy_line(line) == unicode._INLINE_SPACE_RE.sub(" ", line).strip()


def test_normalise_unicode_idempotent():
    text = "  CafÃ©  “quoted”\r\n\r\n\r\nnext\u00a0line\t "
    once = normalise_unicode(text)
    assert normalise_unicode(once) == once
