"""Unicode and whitespace normalisation of article text: mojibake repair with ftfy (run only on
lines it could change), NFC, control characters removed, whitespace tidied.

The only process-level state is the table derived from ftfy's own to decide which lines ftfy
could change (with a cache of those decisions); ftfy itself is imported lazily.
"""
from __future__ import annotations

import functools
import re
import unicodedata

_LINE_BREAKS_RE = re.compile(r"\r\n|[\r\u2028\u2029\x85\x0b\x0c]")
# Control characters (Cc) except tab/newline, plus invisible format characters that only
# get in the way (soft hyphen, zero-width space, BOM, word joiner).  ZWJ/ZWNJ are kept:
# they carry meaning in Indic/Persian scripts and emoji.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u200b\u2060\ufeff]")
_INLINE_SPACE_RE = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def normalise_unicode(text: str) -> str:
    """Repair mojibake (ftfy, keeping typographic quotes), NFC, tidy whitespace.

    Line endings become ``\n``; spaces, tabs and NBSP runs inside a line become one space;
    lines are stripped; control characters other than newlines are removed; runs of blank
    lines collapse to one blank line (paragraph breaks are kept).

    Idempotent: each line is brought to a fixed point (at most 3 rounds), because tidying can
    expose a mojibake sequence ftfy repairs on the next round ("\xa0Ü\x98" -> "Ü˜" -> "ܘ",
    found by hypothesis). ftfy's output is its own fixed point, so only a line that tidying
    changed needs another round; ftfy itself runs only on lines it could change (not on plain
    ASCII without entities or escapes, nor on lines :func:`_ftfy_inert` proves it would only
    NFC-normalise). Timings: bench/README.md (extraction benchmark).
    """
    if not text:
        return ""
    lines: list[str] = []
    for line in _LINE_BREAKS_RE.sub("\n", text).split("\n"):
        lines.extend(_normalise_line(line))
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip("\n")


def _needs_ftfy(line: str) -> bool:
    # pure ASCII without entities or terminal escapes is something ftfy leaves alone
    return not (line.isascii() and "&" not in line and "\x1b" not in line)


#: The ftfy options whose fixers :func:`_ftfy_inert` was derived for (ftfy 6.x): a version
#: with other options may have other fixers, and then every non-ASCII line goes through ftfy.
_FTFY_OPTIONS = (
    "unescape_html", "remove_terminal_escapes", "fix_encoding", "restore_byte_a0",
    "replace_lossy_sequences", "decode_inconsistent_utf8", "fix_c1_controls", "fix_latin_ligatures",
    "fix_character_width", "uncurl_quotes", "fix_line_breaks", "fix_surrogates",
    "remove_control_chars", "normalization", "max_decode_length", "explain",
)


_FTFY_SEGMENT = 1_000_000  # ftfy's default max_decode_length


@functools.lru_cache(maxsize=1)
def _ftfy_tables():
    """What can make ftfy (our settings) change a line other than NFC, from ftfy's own tables:
    ``(fixer_chars, badness_sets)``, or None when ftfy is not the version this was derived for.

    ``fixer_chars`` matches a character some fixer acts on: "&" (entities), ESC (terminal
    escapes), C1 controls, ligatures, full/half-width forms, control characters, line breaks,
    surrogates.  ``badness_sets`` has, per alternative of ftfy's mojibake regex (``is_bad``,
    which gates every encoding repair), the sets of non-ASCII characters of its mandatory
    positions: text lacking every character of one of them cannot match that alternative."""
    import ftfy
    from ftfy import chardata
    from ftfy.badness import BADNESS_RE

    try:  # the standard library's regex parser (private, present in Python 3.11-3.13)
        import re._constants as sre_c
        import re._parser as sre_p
    except ImportError:
        return None
    if tuple(ftfy.TextFixerConfig._fields) != _FTFY_OPTIONS or BADNESS_RE.flags & re.IGNORECASE:
        return None
    chars = set("&\x1b\r\u2028\u2029\x85")  # entities, escapes, fix_line_breaks
    chars.update(map(chr, range(0x80, 0xA0)))  # fix_c1_controls
    chars.update(map(chr, range(0xD800, 0xE000)))  # fix_surrogates
    for table in (chardata.LIGATURES, chardata.WIDTH_MAP, chardata.CONTROL_CHARS):
        chars.update(map(chr, table))
    fixer_chars = re.compile("[" + "".join(sorted(re.escape(c) for c in chars)) + "]")

    parsed = sre_p.parse(BADNESS_RE.pattern, BADNESS_RE.flags)
    branches = parsed.data[0][1][1] if len(parsed.data) == 1 and parsed.data[0][0] is sre_c.BRANCH else [parsed]
    badness_sets = []
    for branch in branches:
        required = []
        for op, arg in branch.data:
            if op is sre_c.LITERAL:
                members = {chr(arg)}
            elif op is sre_c.IN and all(o in (sre_c.LITERAL, sre_c.RANGE) for o, _ in arg):
                members = set()
                for o, a in arg:
                    members.update(chr(a) if o is sre_c.LITERAL else map(chr, range(a[0], a[1] + 1)))
            else:
                continue  # (ignoring a position only keeps more lines for ftfy: safe)
            if all(c > "\x7f" for c in members):
                required.append(frozenset(members))
        if not required:
            return None  # an alternative plain ASCII could match: no shortcut
        badness_sets.append(tuple(required))
    return fixer_chars, tuple(badness_sets)


@functools.lru_cache(maxsize=4096)
def _cannot_look_bad(non_ascii: frozenset) -> bool:
    """No alternative of ftfy's mojibake regex can match text with only these non-ASCII
    characters (each alternative has a mandatory position none of them fills)."""
    return all(any(non_ascii.isdisjoint(s) for s in required) for required in _ftfy_tables()[1])


_ASCII = frozenset(map(chr, range(128)))


def _ftfy_inert(line: str) -> bool:
    """True when ``ftfy.fix_text(line, uncurl_quotes=False, normalization="NFC")`` is just
    ``NFC(line)``: no fixer has anything to act on, and ``is_bad`` (the gate of every encoding
    repair) cannot match, before nor after NFC.  Most non-ASCII lines of news only have curly
    quotes, dashes or accented letters in ordinary use; ftfy's checks cost ~0.15 ms a line."""
    tables = _ftfy_tables()
    if tables is None or len(line) >= _FTFY_SEGMENT:
        return False  # (ftfy cuts longer lines into segments and normalises each on its own)
    nfc = unicodedata.normalize("NFC", line)
    for text in (line,) if nfc == line else (line, nfc):
        if tables[0].search(text) or not _cannot_look_bad(frozenset(text).difference(_ASCII)):
            return False
    return True


def _ftfy(line: str) -> str:
    """``line`` as ftfy fixes it (keeping typographic quotes, NFC), ftfy run only when needed."""
    if not _needs_ftfy(line):
        return line
    if _ftfy_inert(line):
        return unicodedata.normalize("NFC", line)
    import ftfy  # lazy: ftfy's import pulls in its tables

    return ftfy.fix_text(line, uncurl_quotes=False, normalization="NFC")


def _normalise_line(line: str, depth: int = 0) -> list[str]:
    """One input line -> its normalised line(s) (a repaired line may contain line breaks)."""
    for _ in range(3):
        fixed = _ftfy(line)
        if "\n" in fixed or _LINE_BREAKS_RE.search(fixed):
            if depth >= 3:  # a pathological chain of repairs: keep it on one line
                fixed = _LINE_BREAKS_RE.sub(" ", fixed).replace("\n", " ")
            else:
                return [part for piece in _LINE_BREAKS_RE.sub("\n", fixed).split("\n")
                        for part in _normalise_line(piece, depth + 1)]
        tidy = tidy_line(unicodedata.normalize("NFC", _CONTROL_RE.sub("", fixed)))
        if tidy == fixed:
            return [tidy]
        line = tidy
    return [line]


def tidy_line(line: str) -> str:
    """``line`` stripped, each run of inline spaces (tabs, NBSP ...) as one space."""
    if line.isascii() and "\t" not in line and "  " not in line:
        return line.strip()  # (nothing for the regex to collapse: it is the slow part)
    return _INLINE_SPACE_RE.sub(" ", line).strip()
