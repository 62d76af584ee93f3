"""Length of a text in words, in every script: the one measure every word threshold and rule
uses (clean rules, extraction fallback, site lines, language evidence) and the record's
``word_count``.

Counting by whitespace means nothing for scripts written without spaces: a 397-character
Japanese article is 35 whitespace "words". So a text is measured by script:

- **Spaceless scripts** (the scripts wordfreq lists as written without spaces: Han ideographs,
  Hiragana, Katakana, Thai, Lao, Khmer, Myanmar, Tai Le, Tai Tham, New Tai Lue, plus the
  Japanese marks "ー々〻〆") are counted by character, converted to word equivalents:

  ``CJK_CHARS_PER_WORD`` = 2 for Han and kana. Chinese word segmenters average 1.5-1.7
  characters per word, Japanese morphological analysers 1.7-2; translations run at about
  1.5-2.5 characters per English word. 2 keeps the count on the low side, so a short run of
  CJK navigation ("ホーム", "ニュース") still counts as one or two words.

  ``SEA_CHARS_PER_WORD`` = 4 for Thai, Lao, Khmer, Myanmar and the Tai scripts: no word
  segmenter for them is installed with newsbeam (no pythainlp / PyICU in constraints.txt), so
  code points (vowel and tone marks included) per word; Thai words average about 4-5 code
  points. Spaces there separate phrases, not words.

  A run of spaceless characters counts ``chars // chars_per_word`` words, at least one (so a
  3-character menu item such as "ホーム" is one word, like "Home").

- **Hangul**: Korean is written with spaces between eojeol (a word with its particles), which
  are its words. A Hangul run counts ``syllables // HANGUL_SYLLABLES_PER_WORD``, at least one:
  ordinary eojeol (1-7 syllables, about 3 on average) count one word each, and Korean written without
  spaces counts one word per 4 syllables instead of one for the whole run.

- **Everything else** (Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari ...): words are what
  the spaces delimit, and a token counts only when it holds a word character (the ``regex``
  module's Unicode ``\\w``: letters, marks, digits), so punctuation and symbols on their own
  ("—", "|", "•", "&") are not words. Measured on the 181 extraction-benchmark pages against
  UAX #29-style words (``\\w+`` runs joined by an apostrophe, period or comma, which split
  URLs, "e-mail" and "COVID-19"): this definition changes one page's output against the old
  whitespace count, the UAX #29 one two (bench/README.md, "Unicode-aware word counts"); the
  rules' thresholds were tuned on space-delimited words.

The record's ``word_count`` is :func:`count_words` of its text.
"""
from __future__ import annotations

import re

import regex
from wordfreq.language_info import EXTRA_JAPANESE_CHARACTERS, SPACELESS_SCRIPTS

__all__ = [
    "CJK_CHARS_PER_WORD",
    "SEA_CHARS_PER_WORD",
    "HANGUL_SYLLABLES_PER_WORD",
    "count_words",
    "has_spaceless",
]

CJK_CHARS_PER_WORD = 2
SEA_CHARS_PER_WORD = 4
HANGUL_SYLLABLES_PER_WORD = 4

#: wordfreq's list of scripts written without spaces, split into Han/kana and the others
_KANA = ("Hira", "Kana")
_CJK = r"\p{IsIdeo}" + "".join(rf"\p{{Script={s}}}" for s in _KANA) + EXTRA_JAPANESE_CHARACTERS
_SEA = "".join(rf"\p{{Script={s}}}" for s in sorted(SPACELESS_SCRIPTS) if s not in _KANA)
_HANGUL = r"\p{Script=Hang}"
_W = rf"[\w--[{_CJK}{_SEA}{_HANGUL}]]"  # a word character of a spaced script
_S = rf"[^\s{_CJK}{_SEA}{_HANGUL}]"  # any other character of a spaced token
#: one token per match: a run of Han/kana, a run of Thai/Lao/Khmer/Myanmar/Tai, a run of
#: Hangul, or a space-delimited token of other scripts holding a word character
_TOKEN_RE = regex.compile(
    rf"(?P<cjk>[{_CJK}]+)|(?P<sea>[{_SEA}]+)|(?P<hangul>{_HANGUL}+)|(?P<word>{_S}*?{_W}{_S}*)",
    regex.V1,
)
_SPACELESS_RE = regex.compile(rf"[{_CJK}{_SEA}{_HANGUL}]", regex.V1)
#: the same words for text below U+0590 (ASCII, Latin, Greek, Cyrillic, Armenian: no spaceless
#: script, and the standard library's ``\w`` misses only combining marks, which do not make a
#: token a word on their own): the common case, and ~3x faster than the script-aware regex
_ALPHABETS_END = "\u0590"
_SPACED_WORD_RE = re.compile(r"\S*\w\S*")


def count_words(text: str) -> int:
    """Length of ``text`` in words (word equivalents for spaceless scripts); see module doc."""
    if not text:
        return 0
    if text.isascii() or max(text) < _ALPHABETS_END:
        return len(_SPACED_WORD_RE.findall(text))
    n = 0
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        if kind == "word":
            n += 1
        else:
            per = (CJK_CHARS_PER_WORD if kind == "cjk" else SEA_CHARS_PER_WORD if kind == "sea"
                   else HANGUL_SYLLABLES_PER_WORD)
            n += max(1, len(m.group()) // per)
    return n


def has_spaceless(text: str) -> bool:
    """``text`` has a character of a script written without spaces between words (or Hangul)."""
    return not text.isascii() and bool(_SPACELESS_RE.search(text))
