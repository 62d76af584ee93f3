"""Clean stage: one reader ``Item`` -> one cleaned article dict (no identity fields yet).

Everything here is a pure, deterministic function of its arguments.  Heavy libraries
(trafilatura, tldextract, ftfy, dateutil) are imported lazily so that importing this module
is cheap; the only process-level state is the lazily built, read-only tldextract extractor
(offline: bundled public-suffix snapshot, never the network) and the tables derived from
ftfy's own to decide which lines ftfy could change (with a cache of those decisions).

Pipeline for one item::

    html  -> extract_html (trafilatura) -> normalise_unicode -> clean_text
    text  ->                               normalise_unicode -> clean_text

``clean_text`` removes boilerplate line by line with named rules; the number of lines each
rule removed goes to ``provenance["clean"]["removed"]`` so every decision is visible.

Rules, in the order they are applied (one pass; passes repeat until nothing changes, which
makes ``clean_text`` idempotent):

``trailing_teasers``  from a "Related" / "Similar News" / "You may also like" ... header that
                      follows the article, to the end, when what follows looks like teasers
                      (read-more markers, short unpunctuated headlines, truncated summaries);
                      also a header-less run of >= 2 "summary" + "Read more" pairs at the end.
``photo_caption``     lines ending in a photo credit, "(AP Photo/Name)", "(Name/Pool Photo via
                      AP)", "(REUTERS/Name)", or short "Photo: ..." credit lines.
``share``             share/social rows: "Share", "Tweet", "Share on facebook", "Partager",
                      "Teilen", "Compartir", a row of network names.
``read_more``         whole-line teaser links: "Read more", "Les mer »", "Continue reading",
                      "Lire la suite", "Weiterlesen", "Leer más"; short lines ending in
                      "read the full story".
``related``           "Related posts", "See also: <headline>", "Similar News:", "Also read",
                      "Lire aussi", "Siehe auch", "Les også" ... lines.
``appeal``            newsletter, subscription, donation, cookie and comment-form appeals.
``copyright``         short "(c) 2024 Publisher. All rights reserved." footer lines; a news
                      agency's own notice ("© Reuters", "© 2019 Associated Press ...") is kept:
                      it travels with the agency's story.
``repeated_line``     a line of >= 5 words repeating one in the head of the document (headline,
                      standfirst ... up to the lead paragraph, at most 6 lines) or the line just
                      before it (first copy kept).  Other repeats are content: interview questions, meal plans,
                      list items, table headers (measured: 150 of 151 lines the old "any
                      repeat" rule removed on the extraction benchmark were article text).
``edge_nav``          short unpunctuated navigation lines (and bare date lines, separators) at
                      the very top or bottom of the document ("News", "Trending", "Norge Siste
                      Nytt"); not list items ("- ...", "1) ..."), quote attributions ("— Name"),
                      contributor credits ("Contributing: Name"), copyright notices, lines of a
                      sentence broken up by links, nor a bottom run of more than
                      EDGE_BOTTOM_MAX_LINES short lines (a list or fact box closing the article).
``title_line``        (in :func:`to_clean_article`) the first paragraph when it is the title,
                      with or without a " | Site" / " - Site" part.

Separator lines ("___", "* * *") inside the article are kept: they are section breaks (the
benchmark's ground truth keeps AP's "___"); at the top or bottom edge_nav drops them.

A rule matching a *whole line* (share, read_more, headers) can never eat a paragraph; rules
that search inside a line (appeal, copyright, photo_caption "Photo:" form) only apply to
short lines, so a long paragraph that merely mentions "share" or "subscribe" is kept.

``clean_text(text, explain=True)`` and :func:`explain_clean_article` also return every removed
line with its rule (audits; ``bench/extraction.py`` measures each rule's precision with them).
"""
from __future__ import annotations

import email.utils
import functools
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import NamedTuple, Optional

from pipeline.stages.base import ApplyStage, Rejected

__all__ = [
    "Cleaned",
    "Explained",
    "Extracted",
    "Clean",
    "normalise_unicode",
    "clean_text",
    "extract_html",
    "parse_date",
    "find_date_in_text",
    "canonical_url",
    "registered_domain",
    "to_clean_article",
    "explain_clean_article",
    "REJECT_NO_INPUT",
    "REJECT_EMPTY",
    "REJECT_NO_WORDS",
    "REJECT_NO_HTML_TEXT",
]

REJECT_NO_INPUT = "item has neither text nor html: nothing to clean (check the reader's field mapping)"
REJECT_EMPTY = "no article text left after removing boilerplate"
REJECT_NO_WORDS = "the input has no words (empty, or markup only)"
REJECT_NO_HTML_TEXT = (
    "no article text found in HTML (trafilatura extracted nothing); "
    "the page may be a list, a paywall or not an article"
)


class Cleaned(NamedTuple):
    text: str
    removed: dict  # rule name -> number of lines removed (zero counts omitted)


class Extracted(NamedTuple):
    text: str  # paragraphs separated by blank lines
    title: Optional[str]
    published_at: Optional[str]  # ISO 8601 UTC, see parse_date
    authors: list
    url: Optional[str]  # the page's own canonical URL, as declared in its metadata
    site_name: Optional[str]


# --------------------------------------------------------------------------------------
# Unicode and whitespace
# --------------------------------------------------------------------------------------

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
    NFC-normalise). Measured: 3.5 -> ~1 ms per benchmark page; the inert-line shortcut then
    2.1 -> 0.7 ms per perf-corpus page (93% of distinct non-ASCII lines skip ftfy).
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
        tidy = _tidy_line(unicodedata.normalize("NFC", _CONTROL_RE.sub("", fixed)))
        if tidy == fixed:
            return [tidy]
        line = tidy
    return [line]


def _tidy_line(line: str) -> str:
    if line.isascii() and "\t" not in line and "  " not in line:
        return line.strip()  # (nothing for the regex to collapse: it is the slow part)
    return _INLINE_SPACE_RE.sub(" ", line).strip()


# --------------------------------------------------------------------------------------
# Boilerplate rules
# --------------------------------------------------------------------------------------

_I = re.IGNORECASE
# trailing decoration after a link label: "Les mer »", "Read more ...", "More >>", "(12)"
_TAIL = r"[\s»›>→…\.:!|\-–—()\d]*$"

_SHARE_RE = re.compile(
    r"^(?:"
    r"share(?:\s+(?:this|the))?(?:\s+(?:article|story|post|page|link|video|on|via|to|with)\b.{0,25})?"
    r"|shares?|tweet(?:\s+this)?|pin(?:\s+it)?|e-?mail(?:\s+this)?(?:\s+(?:article|story))?"
    r"|print(?:\s+this)?(?:\s+(?:article|story|page))?|copy(?:\s+the)?\s+link|link\s+copied"
    r"|partager(?:\s+(?:sur|par|cet article).{0,25})?|auf\s+\S+\s+teilen|teilen(?:\s+(?:auf|per|via).{0,25})?"
    r"|compartir(?:\s+(?:en|por).{0,25})?|compartilhe|compartilhar(?:\s+no?.{0,25})?"
    r"|condividi(?:\s+su.{0,25})?|del(?:\s+på.{0,25})?|dela(?:\s+på.{0,25})?|delen(?:\s+op.{0,25})?"
    r")" + _TAIL,
    _I,
)
_NETWORKS = (
    "facebook|twitter|x|linkedin|pinterest|whatsapp|telegram|reddit|email|e-mail|mail|print|"
    "messenger|tumblr|flipboard|threads|bluesky|mastodon|vk|xing|sms|copy|link|share|tweet"
)
_NETWORK_ROW_RE = re.compile(rf"^(?:(?:{_NETWORKS})[\s,|•·/]*)+$", _I)

_READ_MORE_RE = re.compile(
    r"^(?:"
    r"(?:read|see|view|show|load|click\s+(?:here\s+)?(?:to\s+)?read)\s+(?:the\s+)?(?:more|full\s+(?:story|article|post|report|text)|next|the\s+rest|on)"
    r"|(?:view|see|show)?\s*more|more\s+(?:»|›|>)|continue\s+reading(?:\s+(?:the\s+)?(?:main\s+)?(?:story|article))?|keep\s+reading"
    r"|les\s+mer|les\s+hele(?:\s+(?:saken|artikkelen))?|læs\s+(?:mere|hele)|läs\s+(?:mer|hela)|lue\s+lisää"
    r"|lire\s+(?:la\s+suite|plus)|(?:en\s+)?savoir\s+plus|la\s+suite"
    r"|weiterlesen|weiter\s+lesen|mehr\s+(?:lesen|erfahren|anzeigen)|zum\s+artikel"
    r"|leer\s+(?:más|mas)|seguir\s+leyendo|sigue\s+leyendo|ver\s+más|leia\s+mais|continue\s+lendo|saiba\s+mais"
    r"|continua\s+a\s+leggere|leggi\s+(?:di\s+più|tutto|l'articolo)|lees\s+(?:meer|verder)|czytaj\s+(?:więcej|dalej)"
    r")" + _TAIL,
    _I,
)
# "This story originally appeared on X read the full story" (short lines only)
_READ_MORE_SUFFIX_RE = re.compile(
    r"\b(?:read|see|view)\s+the\s+(?:full|original|whole)\s+(?:story|article|post|report)\W*$", _I
)

# Headers that introduce lists of other articles.  A whole line, optionally followed by a
# separator and a short description ("Similar News: You can also read ...").
_HEADER_WORDS = (
    r"related(?:\s+(?:posts?|articles?|stories|story|news|content|coverage|links?|topics?|reading|videos?|items?))?"
    r"|similar\s+(?:news|articles?|stories|posts?)|more\s+(?:stories|news|articles|headlines|on\s+this(?:\s+(?:story|topic))?|from\s+.{1,30}|in\s+.{1,25})"
    r"|you\s+(?:may|might)\s+(?:also\s+)?(?:like|enjoy|be\s+interested\s+in)|recommended(?:\s+(?:for\s+you|stories|articles|reading))?"
    r"|read\s+next|what\s+to\s+read\s+next|most\s+(?:read|popular|viewed|shared)|trending(?:\s+(?:now|stories|news))?"
    r"|don'?t\s+miss|do\s+not\s+miss|worth\s+reading|editor'?s\s+picks?|top\s+stories|latest\s+(?:news|stories|articles)"
    r"|sur\s+le\s+même\s+sujet|articles?\s+similaires|à\s+lire\s+(?:également|aussi)|a\s+lire\s+aussi|les\s+plus\s+lus"
    r"|ähnliche\s+(?:artikel|nachrichten|themen|beiträge)|mehr\s+zum\s+thema|das\s+könnte\s+sie\s+auch\s+interessieren|meistgelesen"
    r"|relaterte\s+(?:saker|artikler|nyheter)|lignende\s+(?:saker|nyheter)|mest\s+lest|relaterade\s+artiklar|relaterede\s+artikler"
    r"|noticias\s+relacionadas|artículos\s+relacionados|te\s+puede\s+interesar|lo\s+más\s+leído"
    r"|notícias\s+relacionadas|artigos\s+relacionados|articoli\s+correlati|gerelateerde\s+artikelen"
)
_HEADER_RE = re.compile(rf"^(?:{_HEADER_WORDS})(?:\s*[:\-–—|»›]+\s*(?P<rest>.*)|\s*)$", _I)
# Injected single links: "See also <headline>", "Read also: <headline>", "RELATED: <headline>"
_LINK_PREFIX_RE = re.compile(
    r"^(?:see\s+also|also\s+(?:read|see)|read\s+also|read\s+more\s*:|related\s*:|more\s*:"
    r"|lire\s+aussi|à\s+lire\s+aussi|a\s+lire\s+aussi|voir\s+aussi|siehe\s+auch|lesen\s+sie\s+auch|auch\s+interessant"
    r"|les\s+også|se\s+også|læs\s+også|läs\s+också|lea\s+también|lee\s+también|ver\s+también|leia\s+também"
    r"|veja\s+também|leggi\s+anche|vedi\s+anche|lees\s+ook|zie\s+ook)\b\s*[:\-–—|»›]*\s*(?P<rest>.*)$",
    _I,
)
_MAX_RELATED_WORDS = 30

# Appeals.  Strong phrases are unambiguous wherever they appear in a short line; "start"
# phrases only count at the beginning of a short line (an imperative button/box label).
_APPEAL_STRONG_RE = re.compile(
    r"your\s+email\s+address\s+will\s+not\s+be\s+published|required\s+fields\s+are\s+marked"
    r"|(?:sign\s+up|subscribe|register)\s+(?:for|to)\s+(?:our|the)\s+(?:\w+\s+){0,3}(?:newsletters?|briefings?|alerts|mailing\s+list)"
    r"|support\s+(?:our|fearless|independent|quality|local|public.interest)\b[\w\s,-]{0,30}\bjournalism"
    r"|our\s+readers\s+support\s+us|(?:please\s+)?donate\s+(?:any\s+amount|now|today|here)|support\s+of\s+any\s+size"
    r"|help\s+us\s+(?:to\s+)?(?:continue|keep)\s+(?:publishing|reporting|our|going)|make\s+a\s+(?:one-off\s+|monthly\s+)?(?:donation|contribution)\b"
    r"|we\s+use\s+cookies|(?:this|our)\s+(?:site|website)\s+uses\s+cookies|accept\s+(?:all\s+)?cookies|cookie\s+(?:policy|settings|preferences)"
    r"|already\s+a\s+subscriber|comments\s+are\s+closed|be\s+the\s+first\s+to\s+comment|you\s+must\s+be\s+logged\s+in\s+to\s+(?:post\s+a\s+)?comment"
    r"|votre\s+adresse\s+(?:e-?mail|courriel)\s+ne\s+sera\s+pas\s+publiée|abonnez-vous\s+à\s+(?:notre|la)\s+newsletter"
    r"|ihre\s+e-mail-adresse\s+wird\s+nicht\s+veröffentlicht|newsletter\s+abonnieren"
    r"|tu\s+dirección\s+de\s+correo\s+electrónico\s+no\s+será\s+publicada|suscríbete\s+a\s+(?:nuestro|la)\s+(?:boletín|newsletter)"
    r"|din\s+e-postadresse\s+vil\s+ikke\s+bli\s+publisert",
    _I,
)
# Cheap pre-filter (substrings of the case-folded line): every strong phrase contains one of
# these; the full regex is slow on long paragraphs (its alternatives share no prefix).
_APPEAL_HINTS = ("mail", "required", "newsletter", "briefing", "alerts", "journalism", "readers", "donat",
                 "size", "help us", "contribution", "cookie", "subscri", "comment", "adresse", "abonn",
                 "suscr", "correo", "e-post")
_APPEAL_START_RE = re.compile(
    r"^(?:subscribe|sign\s+up|donate|support\s+us|support\s+(?:fearless|independent|our)\b|newsletters?\b"
    r"|leave\s+a\s+(?:reply|comment)|post\s+a\s+comment|add\s+a\s+comment|write\s+a\s+comment|(?:\d+\s+)?comments?\s*(?:\(\d+\))?$"
    r"|become\s+a\s+(?:member|subscriber|supporter|patron|donor)|join\s+(?:our|the)\s+(?:newsletter|mailing\s+list|community)"
    r"|get\s+(?:our|the)\s+(?:\w+\s+)?newsletter|click\s+here\s+to\s+(?:subscribe|donate|sign\s+up)"
    r"|abonnez-vous|s'abonner|inscrivez-vous|soutenez|faire\s+un\s+don|laisser\s+un\s+commentaire"
    r"|jetzt\s+(?:abonnieren|spenden|unterstützen)|abonnieren|spenden|kommentar\s+(?:schreiben|hinterlassen)"
    r"|suscríbete|suscribirse|dona\s+ahora|hazte\s+(?:socio|miembro)|deja\s+un\s+comentario"
    r"|abonner|bli\s+abonnent|støtt\s+oss|skriv\s+en\s+kommentar|meld\s+deg\s+på)(?![\w-])",
    _I,
)
_APPEAL_MAX_WORDS = 40  # one strong phrase removes a line up to this long
_APPEAL_START_MAX_WORDS = 15

_COPYRIGHT_RE = re.compile(
    r"^(?:©|\(c\)\s*\d{4}|copyright\s*(?:©|\(c\)|\d{4}|\S+\s+(?:19|20)\d{2}\b))|all\s+rights\s+reserved|tous\s+droits\s+réservés|alle\s+rechte\s+vorbehalten"
    r"|todos\s+los\s+derechos\s+reservados|alle\s+rettigheter\s+reservert",
    _I,
)
_COPYRIGHT_MAX_WORDS = 20
_COPYRIGHT_SIGN_RE = re.compile(r"[©ⓒ]|^\(c\)\s*\d{4}|^copyright\b", _I)
# A news agency's own notice ("© Reuters", "© 2019 Associated Press. All Rights Reserved. This
# material may not be published ...") ends the agency's story and is republished with it: kept.
_WIRE_RE = re.compile(
    r"\b(?:associated\s+press|reuters|agence\s+france-presse|afp|the\s+canadian\s+press|dpa|efe|ansa"
    r"|kyodo|yonhap|xinhua|ntb|tt\s+nyhetsbyrån|ritzau|ap)\b",
    _I,
)

# Photo credits: a trailing parenthetical naming a photo/agency credit.
_TRAILING_PAREN_RE = re.compile(r"\(([^()]{2,120})\)\s*$")
_CREDIT_RE = re.compile(
    r"\b(?:photos?|foto|fotos|photograph(?:er)?|photographie|bild|image|picture|getty\s+images|shutterstock"
    r"|alamy|credit|crédit)\b"
    r"|/\s*(?:ap|reuters|afp|ansa|efe|epa|dpa|tass|kyodo|yonhap|bloomberg|ntb|tt|scanpix|xinhua|imago|sputnik)\b"
    r"|\b(?:reuters|afp|ap|epa|dpa|xinhua|imago|anadolu)\s*/"
    r"|\bvia\s+(?:ap|reuters|afp|getty)\b",
    _I,
)
_CREDIT_LINE_RE = re.compile(
    r"^(?:(?:photo|foto|image|picture|bild|photograph)s?(?:\s+(?:credit|by|courtesy))?|credit|crédit(?:\s+photo)?)\s*[:/©]",
    _I,
)
_CREDIT_LINE_MAX_WORDS = 15

_TERMINAL_PUNCT = ".!?:;\"”’»)]"
# A list item or a quote attribution: "- item", "• item", "1) item", "— Name (@handle) date"
_LIST_ITEM_RE = re.compile(r"^(?:[-–—•*·▪►]\s?\w|\(?\d{1,3}[.)]\s)")
_URLISH = frozenset("./@:")
# A contributor credit closing an article: "Contributing: Name", "With Post wires"
_CREDIT_BYLINE_RE = re.compile(
    r"^\(?(?:contributing\b|(?:additional\s+)?reporting\s+by\b|(?:writing|editing|compiled)\s+by\b)"
    r"|^with\s+(?:\S+\s+){0,3}wires?\b",
    _I,
)
_ELLIPSIS_RE = re.compile(r"(?:\.\.\.|…)\W*$")
_LETTER_RE = re.compile(r"[^\W\d_]")
_ALNUM_RE = re.compile(r"[^\W_]")
_KEY_STRIP_RE = re.compile(r"[\W_]+")

REPEAT_MIN_WORDS = 5
TRAILER_MIN_WORDS_BEFORE = 50  # a trailing header must follow at least this much article
PROSE_MIN_WORDS = 20
EDGE_TOP_MAX_WORDS = 3
EDGE_BOTTOM_MAX_WORDS = 6
EDGE_BOTTOM_MAX_LINES = 3
REPEAT_HEAD_LINES = 6
LONG_PARAGRAPH_WORDS = 15


def _words(line: str) -> int:
    return len(line.split())


def _key(line: str) -> str:
    """Comparison key: case-folded words, punctuation and spacing ignored."""
    return _KEY_STRIP_RE.sub(" ", line.casefold()).strip()


def _is_read_more(line: str) -> bool:
    if _READ_MORE_RE.match(line):
        return True
    return _words(line) <= 15 and bool(_READ_MORE_SUFFIX_RE.search(line))


def _is_share(line: str) -> bool:
    return bool(_SHARE_RE.match(line) or _NETWORK_ROW_RE.match(line))


def _is_header(line: str) -> bool:
    m = _HEADER_RE.match(line)
    return bool(m) and _words(m.group("rest") or "") <= _MAX_RELATED_WORDS


def _is_related(line: str) -> bool:
    if _is_header(line):
        return True
    m = _LINK_PREFIX_RE.match(line)
    return bool(m) and _words(m.group("rest")) <= _MAX_RELATED_WORDS


def _is_photo_caption(line: str) -> bool:
    m = _TRAILING_PAREN_RE.search(line)
    if m and _CREDIT_RE.search(m.group(1)):
        return True
    return _words(line) <= _CREDIT_LINE_MAX_WORDS and bool(_CREDIT_LINE_RE.match(line))


def _is_appeal(line: str) -> bool:
    n = _words(line)
    folded = line.casefold()
    strong = len(_APPEAL_STRONG_RE.findall(line)) if any(h in folded for h in _APPEAL_HINTS) else 0
    if strong >= 2 or (strong and n <= _APPEAL_MAX_WORDS):
        return True
    # a button/box label, not a sentence: "Donate blood, officials urged." stays
    return n <= _APPEAL_START_MAX_WORDS and not line.endswith(".") and bool(_APPEAL_START_RE.match(line))


def _is_copyright(line: str) -> bool:
    return (
        _words(line) <= _COPYRIGHT_MAX_WORDS
        and bool(_COPYRIGHT_RE.search(line))
        and not _WIRE_RE.search(line)
    )


#: Line rules in the order they are tried; the first that matches names the removal.
_LINE_RULES = (
    ("photo_caption", _is_photo_caption),
    ("share", _is_share),
    ("read_more", _is_read_more),
    ("related", _is_related),
    ("appeal", _is_appeal),
    ("copyright", _is_copyright),
)


def _line_rule(line: str) -> Optional[str]:
    for name, test in _LINE_RULES:
        if test(line):
            return name
    return None


def _is_prose(line: str, rule_of=_line_rule) -> bool:
    """A real paragraph: long, ends like a sentence, not truncated, not boilerplate."""
    return (
        _words(line) >= PROSE_MIN_WORDS
        and line[-1] in _TERMINAL_PUNCT
        and not _ELLIPSIS_RE.search(line)
        and rule_of(line) is None
    )


def _is_teaserish(line: str, rule_of=_line_rule) -> bool:
    """Typical of teaser lists: short unpunctuated headline, truncated summary, link label."""
    if rule_of(line) is not None or _ELLIPSIS_RE.search(line):
        return True
    return _words(line) <= 12 and line[-1] not in _TERMINAL_PUNCT


def _trailing_cut(lines: list[str], rule_of=_line_rule) -> int:
    """Index where a trailing teaser block starts, or len(lines) if there is none."""
    n = len(lines)
    words_before = 0
    for h, line in enumerate(lines):
        if words_before >= TRAILER_MIN_WORDS_BEFORE and _is_header(line):
            tail = lines[h + 1:]
            if _tail_is_teasers(tail, rule_of):
                return h
        if rule_of(line) is None:
            words_before += _words(line)
    # no header: a run of >= 2 "<summary>" + "<read more>" pairs closing the document
    i, pairs = n, 0
    while i >= 2 and _is_read_more(lines[i - 1]) and not _is_read_more(lines[i - 2]):
        i -= 2
        pairs += 1
    return i if pairs >= 2 else n


def _tail_is_teasers(tail: list[str], rule_of=_line_rule) -> bool:
    if not tail:
        return True
    markers = [i for i, line in enumerate(tail) if rule_of(line) == "read_more" or _ELLIPSIS_RE.search(line)]
    if len(markers) >= 2 and not any(_is_prose(line, rule_of) for line in tail[markers[-1] + 1:]):
        return True
    content = [line for line in tail if rule_of(line) is None]
    if content and _is_prose(content[-1], rule_of):
        return False  # the article goes on after the header
    if len(tail) <= 3:
        return True
    return sum(_is_teaserish(line, rule_of) for line in tail) * 2 >= len(tail)


def _is_date_line(line: str) -> bool:
    """The whole line is one date, e.g. "Friday, 22 November 2024" (a page's date banner)."""
    rest = _WEEKDAY_PREFIX_RE.sub("", line).rstrip(" .")
    return any(start == 0 and end == len(rest) for start, end, _ in _iter_dates(rest))


def _is_bare(line: str) -> bool:
    """No letters at all (a separator, pagination "1 2 3"), or only a date banner."""
    return not _LETTER_RE.search(line) or _is_date_line(line)


def _is_nav(line: str, max_words: int) -> bool:
    if _is_bare(line):
        return True
    if _LIST_ITEM_RE.match(line) or _CREDIT_BYLINE_RE.match(line) or _COPYRIGHT_SIGN_RE.search(line):
        # an item of the article's list, a quote attribution, a contributor credit; a
        # copyright notice is for the copyright rule to judge
        return False
    return _words(line) <= max_words and line[-1] not in _TERMINAL_PUNCT


def _continues(line: str, nxt: str) -> bool:
    """``nxt`` goes on with the sentence of ``line`` (a sentence broken up by inline links):
    ``line`` ends with an opening bracket, or ``nxt`` starts with a closing one, a comma, or a
    lower-case word ("Photos" + "which were released ...")."""
    if not nxt:
        return False
    if line[-1] in "([{" or nxt[0] in ")]},;":
        return True
    first = nxt.split(None, 1)[0]
    return first[0].islower() and not _URLISH.intersection(first)  # (not "twitter.com/x")


def _edge_nav(lines: list[str]) -> tuple[int, int]:
    """(first, last+1) after dropping navigation lines at the top and bottom; never empties."""
    i, j = 0, len(lines)
    while i < j:
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < j else ""
        if _is_bare(line):
            i += 1
        elif (_is_nav(line, EDGE_TOP_MAX_WORDS) and not _continues(line, nxt)
              and (_words(line) == 1 or _words(nxt) < LONG_PARAGRAPH_WORDS)):
            i += 1  # (a short line right above a long paragraph may be the headline: kept)
        else:
            break
    k = j
    while k > i and _is_nav(lines[k - 1], EDGE_BOTTOM_MAX_WORDS) and not (
        k - 1 > i and _continues(lines[k - 2], lines[k - 1])
    ):
        k -= 1
    if j - k <= EDGE_BOTTOM_MAX_LINES or all(_is_bare(line) for line in lines[k:j]):
        j = k  # (a longer run of short lines is a list or fact box closing the article)
    if i >= j:
        return 0, len(lines)
    return i, j


def _clean_pass(lines: list[str], removed: dict, rule_of=_line_rule, explained: Optional[list] = None) -> list[str]:
    """One pass of every rule; ``explained`` (when a list) receives ``(rule, line)`` pairs."""
    def count(rule: str, dropped: list[str]) -> None:
        if dropped:
            removed[rule] = removed.get(rule, 0) + len(dropped)
            if explained is not None:
                explained.extend((rule, line) for line in dropped)

    cut = _trailing_cut(lines, rule_of)
    count("trailing_teasers", lines[cut:])
    lines = lines[:cut]

    kept = []
    for line in lines:
        rule = rule_of(line)
        if rule:
            count(rule, [line])
        else:
            kept.append(line)

    # The head: headline, standfirst, byline ... up to the first prose paragraph (the lead),
    # at most REPEAT_HEAD_LINES lines.
    head = next((n for n, line in enumerate(kept[:REPEAT_HEAD_LINES]) if _is_prose(line, rule_of)),
                REPEAT_HEAD_LINES - 1)
    first_at: dict[str, int] = {}  # line key -> index in ``kept`` of its first copy
    unique = []
    for n, line in enumerate(kept):
        if _words(line) >= REPEAT_MIN_WORDS and not line.startswith("|"):  # (table rows repeat)
            key = _key(line)
            at = first_at.setdefault(key, n)
            if at < n and (at <= head or _key(unique[-1]) == key):
                count("repeated_line", [line])
                continue
        unique.append(line)

    i, j = _edge_nav(unique)
    count("edge_nav", unique[:i] + unique[j:])
    return unique[i:j]


class Explained(NamedTuple):
    """:func:`clean_text` with ``explain=True``: also every removed line and its rule."""

    text: str
    removed: dict
    lines: list  # (rule, line) in the order the rules removed them


def clean_text(text: str, explain: bool = False) -> Cleaned | Explained:
    """Remove boilerplate lines; return paragraphs joined by blank lines and per-rule counts.

    Works on lines: every non-empty line is a paragraph.  Rules are documented in the module
    docstring.  Passes repeat until nothing more is removed, so the function is idempotent.
    With ``explain=True`` the result is an :class:`Explained` that also lists each removed
    line with the rule that removed it (for audits and the extraction benchmark); the normal
    path collects nothing.
    """
    lines = [t for t in (_tidy_line(line) for line in (text or "").split("\n")) if t]
    removed: dict[str, int] = {}
    memo: dict[str, Optional[str]] = {}  # per call: line -> rule (lines repeat across passes)
    explained: Optional[list] = [] if explain else None

    def rule_of(line: str) -> Optional[str]:
        if line not in memo:
            memo[line] = _line_rule(line)
        return memo[line]

    for _ in range(5):
        before = len(lines)
        lines = _clean_pass(lines, removed, rule_of, explained)
        if len(lines) == before:
            break
    if explain:
        return Explained("\n\n".join(lines), dict(sorted(removed.items())), explained)
    return Cleaned("\n\n".join(lines), dict(sorted(removed.items())))


# --------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------

_MONTHS = {
    # English
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
    # French
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12,
    # German / Norwegian / Danish / Swedish / Dutch
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "juni": 6, "juli": 7,
    "oktober": 10, "dezember": 12, "desember": 12, "januari": 1, "februari": 2, "maj": 5,
    "augusti": 8, "maart": 3, "mei": 5, "augustus": 8,
    # Spanish / Italian / Portuguese
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7,
    "settembre": 9, "ottobre": 10, "dicembre": 12, "janeiro": 1, "fevereiro": 2, "março": 3,
    "maio": 5, "junho": 6, "julho": 7, "setembro": 9, "outubro": 10, "novembro": 11, "dezembro": 12,
}
_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_DATE_MDY_RE = re.compile(
    rf"\b(?P<mon>{_MONTH_ALT})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+{_YEAR}\b", _I
)
_DATE_DMY_RE = re.compile(
    rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th|er|º|\.)?\s+(?:de\s+)?(?P<mon>{_MONTH_ALT})\.?,?\s+(?:de\s+|del\s+)?{_YEAR}\b",
    _I,
)
_DATE_ISO_RE = re.compile(rf"\b{_YEAR}-(?P<month>\d{{2}})-(?P<day>\d{{2}})\b")
_WEEKDAY_PREFIX_RE = re.compile(
    r"^(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday)?\.?,?\s+", _I
)
FIND_DATE_MAX_LINES = 30


def _iter_dates(text: str):
    """Yield ``(start, end, datetime)`` for every explicit full date in ``text``."""
    if not _HAS_YEAR_RE.search(text):
        # every date pattern has its year between non-digits; the three month-name regexes
        # cost ~80 us a line, this check ~1 us (edge_nav asks it of every edge line)
        return
    for rx in (_DATE_MDY_RE, _DATE_DMY_RE, _DATE_ISO_RE):
        for m in rx.finditer(text):
            g = m.groupdict()
            month = _MONTHS[g["mon"].lower()] if g.get("mon") else int(g["month"])
            try:
                d = datetime(int(g["year"]), month, int(g["day"]), tzinfo=timezone.utc)
            except ValueError:
                continue  # "February 30, 2023"
            yield m.start(), m.end(), d


def _iso(dt: datetime) -> Optional[str]:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        dt = dt.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None
    if not 1900 <= dt.year <= 2100:
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def find_date_in_text(text: Optional[str]) -> Optional[str]:
    """The first explicit full date in the first 30 lines of a plain text, as ISO UTC midnight.

    Recognises "Oct. 17, 2023", "October 17, 2023", "Tuesday, Oct. 17, 2023", "17 October 2023",
    "17. oktober 2023", "17 de octubre de 2023" (month names in en/fr/de/es/it/pt/nl/no/sv/da)
    and "2023-10-17".  A focused regex is used on purpose: htmldate on plain text was measured
    to return junk year-only guesses (e.g. "2023-01-01" from any "2023"), while a date-line
    or photo caption with a full date is a good signal of when a story ran.
    """
    if not text:
        return None
    for line in text.split("\n")[:FIND_DATE_MAX_LINES]:
        found = min(_iter_dates(line), default=None, key=lambda m: m[0])
        if found:
            return _iso(found[2])
    return None


_TZ_OFFSETS = {
    "UTC": 0, "UT": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3,
    "MSK": 3, "IST": 5.5, "JST": 9, "KST": 9, "AEST": 10, "AEDT": 11, "EST": -5, "EDT": -4,
    "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8,
    "HST": -10,
}
_HAS_YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_EPOCH_RE = re.compile(r"^\d{9,10}(?:\.\d+)?$")
_RFC2822_RE = re.compile(
    r"^(?:[A-Za-z]{3},?\s+)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?\s*(?:[+-]\d{4}|[A-Za-z]{1,5})?$"
)


def _tzinfos(name, offset):
    if name and name.upper() in _TZ_OFFSETS:
        return timezone(timedelta(hours=_TZ_OFFSETS[name.upper()]))
    return None  # unknown abbreviation: leave naive (read as UTC)


def parse_date(value) -> Optional[str]:
    """Parse a date/time string to "YYYY-MM-DDTHH:MM:SSZ" (UTC); naive times are UTC.

    Fast paths first (ISO 8601 via ``datetime.fromisoformat``, RFC 2822 via ``email.utils``,
    Unix epoch seconds), then ``dateutil`` for other English formats, then the multilingual
    full-date regex of :func:`find_date_in_text`.  Strings without a 4-digit year are refused
    (a parser would fill the year from "today", which is not deterministic); garbage -> None.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return _iso(value)
    if not isinstance(value, str):
        return None
    s = value.strip()
    if not s:
        return None
    if _EPOCH_RE.match(s):
        return _iso(datetime.fromtimestamp(float(s), tz=timezone.utc))
    if not _HAS_YEAR_RE.search(s):
        return None
    if s[:4].isdigit():
        try:
            return _iso(datetime.fromisoformat(s))
        except ValueError:
            pass
    if _RFC2822_RE.match(s):  # email.utils is lenient: only give it what looks like RFC 2822
        try:
            return _iso(email.utils.parsedate_to_datetime(s))
        except (TypeError, ValueError, IndexError):
            pass
    try:
        from dateutil import parser as du_parser  # lazy; installed with htmldate/trafilatura

        return _iso(du_parser.parse(s, default=datetime(2000, 1, 1), tzinfos=_tzinfos))
    except (ValueError, OverflowError, TypeError):
        pass
    found = min(_iter_dates(s), default=None, key=lambda m: m[0])
    return _iso(found[2]) if found else None


# --------------------------------------------------------------------------------------
# URLs and sources
# --------------------------------------------------------------------------------------


def canonical_url(url: Optional[str]) -> Optional[str]:
    """Normalised http(s) URL: lower-case host, default port, tracking parameters (utm_*,
    fbclid, gclid ...) removed, query sorted, fragment dropped; None if not http(s)."""
    if not url or not isinstance(url, str):
        return None
    from urllib.parse import urlsplit, urlunsplit

    import courlan

    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    cleaned = courlan.clean_url(url)
    if not cleaned:
        return None
    try:
        p = urlsplit(cleaned)
    except ValueError:
        return None
    if p.scheme not in ("http", "https") or not p.netloc:
        return None
    return urlunsplit((p.scheme, p.netloc, p.path or "/", p.query, ""))


@functools.lru_cache(maxsize=1)
def _tld_extractor():
    """Offline extractor: bundled public suffix snapshot, no fetch, no disk cache."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def registered_domain(url: Optional[str]) -> Optional[str]:
    """Registrable domain of a URL ("https://news.bbc.co.uk/x" -> "bbc.co.uk"), offline."""
    if not url or not isinstance(url, str):
        return None
    try:
        result = _tld_extractor()(url.strip())
    except ValueError:
        return None
    domain = result.top_domain_under_public_suffix
    return domain.lower() if domain else None


# --------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------

#: htmldate settings for trafilatura: metadata only.  ``extensive_search`` was measured to
#: turn any "(c) 2023" footer into "2023-01-01"; without it the date comes from meta tags,
#: JSON-LD and <time> elements, and plain-text dates are left to find_date_in_text.
_DATE_PARAMS = {
    "original_date": True,
    "extensive_search": False,
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
}
#: Fewer words than this extracted from a page is navigation, not an article.
MIN_HTML_WORDS = 10
_AUTHOR_SPLIT_RE = re.compile(r"\s*;\s*|\s*\|\s*")
_BYLINE_PREFIX_RE = re.compile(r"^(?:by|par|von|por|di|av)\s+", _I)


def _split_authors(value) -> list[str]:
    if not value:
        return []
    parts = value if isinstance(value, (list, tuple)) else _AUTHOR_SPLIT_RE.split(str(value))
    out: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            continue
        name = _BYLINE_PREFIX_RE.sub("", " ".join(normalise_unicode(part).split()))
        if name and name not in out:
            out.append(name)
    return out


#: A precision-oriented extraction shorter than this is checked against trafilatura's default
#: (balanced) extraction, which is used when it finds FALLBACK_RATIO times as many words.
#: Precision mode sometimes keeps only a fragment of the article (a reprint notice, or nothing):
#: on the 181-page benchmark those extractions had under 50 words while the default found the
#: article (13x longer or more); on short articles where the default only added chrome, the
#: precise extraction was 0.6-0.9 times the default's length; one 443-word article had a default
#: extraction 3.5x longer and mostly chrome, hence the word limit (see bench/README.md).
FALLBACK_BELOW_WORDS = 200
FALLBACK_RATIO = 3


def _parse_page(html):
    """The page as an lxml tree, parsed once (trafilatura's own loader: encoding repair, the
    "is this HTML at all" check). Metadata and both text extractions read this tree."""
    from trafilatura.utils import load_html

    try:
        tree = load_html(html)
    except Exception as exc:  # lxml parse failures are a property of the input
        raise Rejected(f"HTML could not be parsed ({type(exc).__name__}: {exc})") from exc
    if tree is None:
        raise Rejected(REJECT_NO_HTML_TEXT)
    return tree


def _page_metadata(tree, url: Optional[str]):
    """trafilatura's ``extract_metadata`` without what newsbeam does not keep (categories,
    tags, licence: ~10% of the extraction time on the 181-page benchmark, for fields no
    dataset has). Same functions and order as trafilatura 2.x, so the same title, author,
    URL, date and site name."""
    from htmldate import find_date
    from trafilatura import metadata as tm

    doc = tm.examine_meta(tree)
    if doc.author and " " not in doc.author:
        doc.author = None
    try:
        doc = tm.extract_meta_json(tree, doc)
    except Exception:  # trafilatura's own guard: bugs in its JSON-LD parsing
        pass
    if not doc.title:
        doc.title = tm.extract_title(tree)
    if not doc.author:
        doc.author = tm.extract_author(tree)
    if not doc.url:
        doc.url = tm.extract_url(tree, url)
    doc.date = find_date(tree, **dict(_DATE_PARAMS, url=doc.url))
    if not doc.sitename:
        doc.sitename = tm.extract_sitename(tree)
    if doc.sitename:
        doc.sitename = doc.sitename.lstrip("@")
        if doc.sitename and "." not in doc.sitename and not doc.sitename[0].isupper():
            doc.sitename = doc.sitename.title()
    elif doc.url:
        match = tm.META_URL.match(doc.url)
        if match:
            doc.sitename = match[1]
    doc.clean_and_trim()
    return doc


def _trafilatura_text(tree, url: Optional[str], favor_precision: bool) -> list[str]:
    """The main text of ``tree`` as paragraphs (trafilatura works on its own copy)."""
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            tree,
            url=url,
            favor_precision=favor_precision,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            deduplicate=False,
            with_metadata=False,
            fast=True,
        )
    except Exception as exc:  # lxml/trafilatura failures are a property of the input
        raise Rejected(f"HTML could not be parsed ({type(exc).__name__}: {exc})") from exc
    return _paragraphs(doc)


def _paragraphs(doc) -> list[str]:
    text = (getattr(doc, "text", None) or "") if doc is not None else ""
    return [line.strip() for line in text.split("\n") if line.strip()]


def extract_html(html, url: Optional[str] = None) -> Extracted:
    """Main text and metadata of an article page with trafilatura (precision-oriented).

    ``favor_precision=True``, tables (rows as ``| a | b |`` lines), no comments,
    ``deduplicate=False`` (trafilatura's dedup cache is process-global and non-deterministic),
    metadata from :func:`_page_metadata`.  When the precise extraction has fewer than
    ``FALLBACK_BELOW_WORDS`` words, the default (balanced) extraction is run too and used if it
    has ``FALLBACK_RATIO`` times as many words.  The page is parsed once for all of it.
    Raises :class:`Rejected` when nothing is extracted.
    """
    tree = _parse_page(html)
    try:
        meta = _page_metadata(tree, url)
    except Exception as exc:  # as inside trafilatura: a page its metadata code cannot read
        raise Rejected(f"HTML could not be parsed ({type(exc).__name__}: {exc})") from exc
    target_url = url or meta.url
    paragraphs = _trafilatura_text(tree, target_url, favor_precision=True)
    words = sum(len(p.split()) for p in paragraphs)
    if words < FALLBACK_BELOW_WORDS:
        other_paragraphs = _trafilatura_text(tree, target_url, favor_precision=False)
        other_words = sum(len(p.split()) for p in other_paragraphs)
        if other_words >= max(FALLBACK_RATIO * words, MIN_HTML_WORDS):
            paragraphs = other_paragraphs
    if not paragraphs:
        raise Rejected(REJECT_NO_HTML_TEXT)
    words = sum(len(p.split()) for p in paragraphs)
    if words < MIN_HTML_WORDS:
        raise Rejected(
            f"no article text found in HTML (trafilatura extracted only {words} words); "
            "the page may be a list, a paywall or not an article"
        )
    return Extracted(
        text="\n\n".join(paragraphs),
        title=_clean_title(meta.title),
        published_at=parse_date(meta.date),
        authors=_split_authors(meta.author),
        url=meta.url or None,
        site_name=meta.sitename or None,
    )


_BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "blockquote", "pre", "ul", "ol", "li", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "figure", "figcaption", "header", "footer",
    "aside", "address", "hr",
})


def fragment_text(html: str) -> str:
    """Text of an HTML *fragment* (a feed entry's content), one paragraph per block element.

    A feed entry's content is the article body already, without page chrome, so full-page
    extraction is the wrong tool: trafilatura drops short fragments, and its ``html2txt``
    flattens paragraphs into one line (both measured on feed entries). lxml parses the
    fragment; scripts, styles and comments are dropped.
    """
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except Exception:  # not markup at all: treat as text
        return html
    for bad in root.xpath("//script|//style|//noscript|//comment()"):
        bad.drop_tree()
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag == "br":
            el.tail = "\n" + (el.tail or "")
        elif el.tag in _BLOCK_TAGS:
            el.text = "\n\n" + (el.text or "")
            el.tail = "\n\n" + (el.tail or "")
    return root.text_content()


# --------------------------------------------------------------------------------------
# The stage
# --------------------------------------------------------------------------------------

TITLE_MIN_WORDS = 3
TITLE_MAX_WORDS = 25


def _clean_title(title) -> Optional[str]:
    if not title or not isinstance(title, str):
        return None
    title = " ".join(normalise_unicode(title).split())
    return title or None


#: " | Site", " - Site" ... around a page title
_TITLE_SEP_RE = re.compile(r"\s+(?:[|\-–—·•]{1,2}|/{2}|::)\s+")


def _title_keys(title: str) -> set[str]:
    """Comparison keys of a title, with and without a site name before or after a separator:
    "NASA adds five companies - SpaceNews.com" also matches "NASA adds five companies".
    Only variants of at least TITLE_MIN_WORDS words count."""
    keys = {_key(title)}
    parts = _TITLE_SEP_RE.split(title)
    if len(parts) > 1:
        for variant in (" ".join(parts[:-1]), " ".join(parts[1:])):
            if _words(variant) >= TITLE_MIN_WORDS:
                keys.add(_key(variant))
    return keys


def _looks_like_headline(line: str) -> bool:
    return (
        TITLE_MIN_WORDS <= _words(line) <= TITLE_MAX_WORDS
        and line[-1] not in ".,;:"
        and not _ELLIPSIS_RE.search(line)
    )


def _text_of(value) -> str:
    return value if isinstance(value, str) else ""


def to_clean_article(item: dict) -> dict:
    """The clean stage function: ``Item`` -> cleaned article dict (see module docstring).

    Output keys: url, source, title, text, published_at, fetched_at, authors, provenance
    (input_uri, offset, format, clean.removed).  Raises :class:`Rejected`.
    """
    return _clean_article(item, None)


def explain_clean_article(item: dict) -> tuple[dict, list]:
    """:func:`to_clean_article` plus every line the rules removed, as ``(rule, line)`` pairs
    (``title_line`` included).  For audits and the extraction benchmark; same article."""
    explained: list = []
    return _clean_article(item, explained), explained


def _has_text(value: str) -> bool:
    """``bool(value.strip())`` without copying a whole page (strip copies when the page
    ends with a newline; isspace stops at the first non-space character)."""
    return bool(value) and not value.isspace()


def _clean_article(item: dict, explained: Optional[list]) -> dict:
    html = _text_of(item.get("html"))
    raw_text = _text_of(item.get("text"))
    has_html = _has_text(html)
    if not has_html and not _has_text(raw_text):
        raise Rejected(REJECT_NO_INPUT)

    extracted: Optional[Extracted] = None
    if has_html and item.get("format") == "feed":
        raw_text = fragment_text(html)  # a feed entry's body: no page to extract from
    elif has_html:
        try:
            extracted = extract_html(html, item.get("url") or None)
        except Rejected:
            if not _has_text(raw_text):
                raise
    body = normalise_unicode(extracted.text if extracted else raw_text)
    if not _ALNUM_RE.search(body):
        raise Rejected(REJECT_NO_WORDS)
    cleaned = clean_text(body, explain=explained is not None)
    if explained is not None:
        explained.extend(cleaned.lines)
    removed = dict(cleaned.removed)
    paragraphs = cleaned.text.split("\n\n") if cleaned.text else []

    extracted_title = extracted.title if extracted else None
    title = _clean_title(item.get("title")) or extracted_title
    title_keys = {key for t in (title, extracted_title) if t for key in _title_keys(t)}
    title_line = None
    if paragraphs and title and _key(paragraphs[0]) in title_keys:
        title_line = paragraphs[0]
    elif paragraphs and not title and len(paragraphs) >= 3 and _looks_like_headline(paragraphs[0]):
        # plain text without a title: a headline-like first line is the title
        title = title_line = paragraphs[0]
    if title_line is not None:
        paragraphs = paragraphs[1:]
        removed["title_line"] = removed.get("title_line", 0) + 1
        if explained is not None:
            explained.append(("title_line", title_line))
    if not paragraphs:
        raise Rejected(REJECT_EMPTY)

    published_at = parse_date(item.get("published_at")) or (extracted.published_at if extracted else None)
    date_source = "metadata" if published_at else None
    if not published_at:
        published_at = find_date_in_text(body)
        date_source = "text" if published_at else None
    url = canonical_url(item.get("url")) or (canonical_url(extracted.url) if extracted else None)
    source = registered_domain(url)
    named = item["source"].strip() if isinstance(item.get("source"), str) and item["source"].strip() else None
    if not source and named:
        source = named.lower()
    named_site = named if named and (" " in named or "." not in named) else None  # a name, not a domain
    site_name = (extracted.site_name if extracted else None) or named_site
    authors = _split_authors(item.get("authors")) or (extracted.authors if extracted else [])

    return {
        "url": url,
        "source": source,
        "site_name": site_name,
        "title": title,
        "text": "\n\n".join(paragraphs),
        "published_at": published_at,
        "fetched_at": parse_date(item.get("fetched_at")),
        "authors": authors,
        "provenance": {
            "input_uri": item.get("input_uri"),
            "offset": item.get("offset", 0),
            "format": item.get("format"),
            "clean": {"removed": dict(sorted(removed.items()))},
            "date_source": date_source,
            **_source_provenance(item),
        },
    }


_PROVENANCE_FROM_ITEM = ("entry_id", "feed_url", "update_of")


def _source_provenance(item: dict) -> dict:
    """Where a feed/WARC item came from and what its parser warned about, kept for provenance."""
    out = {key: item[key] for key in _PROVENANCE_FROM_ITEM if item.get(key)}
    warnings = [w for w in item.get("warnings") or () if isinstance(w, str) and w]
    if warnings:
        out["warnings"] = warnings
    return out


#: libxml2 (under lxml and trafilatura) stops building the tree this many elements deep and
#: silently drops what is below, so a deeper page loses its text.
MAX_HTML_DEPTH = 256
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)[^>]*?(/?)>")
_VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                        "param", "source", "track", "wbr", "p", "li", "option", "td", "th", "tr"})


def html_depth(html: str, stop_at: int = MAX_HTML_DEPTH) -> int:
    """How deep elements nest (void and often-unclosed elements ignored), counted up to
    ``stop_at`` + 1: enough to explain why a page yielded no text."""
    depth = deepest = 0
    for match in _TAG_RE.finditer(html):
        closing, tag, selfclosing = match.groups()
        if selfclosing or tag.lower() in _VOID_TAGS:
            continue
        depth = depth - 1 if closing else depth + 1
        if depth > deepest:
            deepest = depth
            if deepest > stop_at:
                break
    return deepest


def _run_with_timeout(fn, arg, seconds: float):
    """``fn(arg)`` in a daemon thread, waiting at most ``seconds``.  Python cannot stop a
    thread: on a timeout the extraction runs on in the background (bounded by --max-page-bytes)
    while this item becomes a reject and the run goes on; signals are no option because
    runners call DoFns outside the main thread."""
    import threading

    box: dict = {}

    def target():
        try:
            box["value"] = fn(arg)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="newsbeam-extract", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError
    if "error" in box:
        raise box["error"]
    return box["value"]


class LimitedClean:
    """:func:`to_clean_article` under the run's limits: a page over --max-page-bytes is not
    handed to the extractor, and an item taking over --extract-timeout seconds is a reject."""

    def __init__(self, limits=None):
        from pipeline import limits as _limits

        self.limits = limits or _limits.DEFAULT

    def __call__(self, item: dict) -> dict:
        from pipeline import limits as _limits

        for field in ("html", "text"):
            value = item.get(field)
            if isinstance(value, str) and _limits.utf8_size(value, self.limits.max_page_bytes) > self.limits.max_page_bytes:
                size = len(value.encode("utf-8", "surrogatepass"))
                raise Rejected(_limits.over("page", size, "max_page_bytes", self.limits.max_page_bytes))
        timeout = self.limits.extract_timeout
        try:
            if timeout and timeout > 0:
                return _run_with_timeout(to_clean_article, item, timeout)
            return to_clean_article(item)
        except TimeoutError:
            raise Rejected(f"extraction took over --extract-timeout {timeout:g} seconds (a pathological "
                           "page); raise the limit to process it") from None
        except RecursionError:
            raise Rejected("HTML nests too deeply to process (Python recursion limit reached); "
                           "the page is likely hostile or broken") from None
        except Rejected as exc:
            html = item.get("html")
            if isinstance(html, str) and exc.reason.startswith("no article text"):
                depth = html_depth(html)
                if depth > MAX_HTML_DEPTH:
                    raise Rejected(f"HTML nests elements more than {MAX_HTML_DEPTH} deep (the parser's "
                                   "limit; everything below is dropped), so no article text was found; "
                                   "the page is likely hostile or broken") from None
            raise


class Clean(ApplyStage):
    """Items -> ``(articles, rejects)``; rejects carry stage "clean" and the reason.

    Limits (--max-page-bytes, --extract-timeout) come from the pipeline's options unless given."""

    def __init__(self, limits=None):
        super().__init__("clean", to_clean_article)
        self.limits = limits

    def expand(self, records):
        from pipeline.limits import Limits

        self.fn = LimitedClean(self.limits or Limits.from_options(records.pipeline.options))
        return super().expand(records)

