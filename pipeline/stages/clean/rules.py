"""Boilerplate removal from normalised article text, by named line rules.

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

import re
from typing import NamedTuple, Optional

from pipeline.stages.clean.dates import is_date_line
from pipeline.stages.clean.measure import count_words
from pipeline.stages.clean.unicode import tidy_line


class Cleaned(NamedTuple):
    text: str
    removed: dict  # rule name -> number of lines removed (zero counts omitted)


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

# sentence ends, also of CJK (full-width), Arabic/Urdu and Devanagari text
_TERMINAL_PUNCT = ".!?:;\"”’»)]。！？：；」』）】؟۔।"
# A list item or a quote attribution: "- item", "• item", "1) item", "— Name (@handle) date"
_LIST_ITEM_RE = re.compile(r"^(?:[-–—•*·▪►]\s?\w|\(?\d{1,3}[.)]\s)")
_URLISH = frozenset("./@:")
# A contributor credit closing an article: "Contributing: Name", "With Post wires"
_CREDIT_BYLINE_RE = re.compile(
    r"^\(?(?:contributing\b|(?:additional\s+)?reporting\s+by\b|(?:writing|editing|compiled)\s+by\b)"
    r"|^with\s+(?:\S+\s+){0,3}wires?\b",
    _I,
)
ELLIPSIS_RE = re.compile(r"(?:\.\.\.|…)\W*$")
_LETTER_RE = re.compile(r"[^\W\d_]")
_KEY_STRIP_RE = re.compile(r"[\W_]+")

REPEAT_MIN_WORDS = 5
TRAILER_MIN_WORDS_BEFORE = 50  # a trailing header must follow at least this much article
PROSE_MIN_WORDS = 20
EDGE_TOP_MAX_WORDS = 3
EDGE_BOTTOM_MAX_WORDS = 6
EDGE_BOTTOM_MAX_LINES = 3
REPEAT_HEAD_LINES = 6
LONG_PARAGRAPH_WORDS = 15


def words(line: str) -> int:
    """Length of ``line`` in words, in any script (:func:`~pipeline.stages.clean.measure.count_words`)."""
    return count_words(line)


def line_key(line: str) -> str:
    """Comparison key: case-folded words, punctuation and spacing ignored."""
    return _KEY_STRIP_RE.sub(" ", line.casefold()).strip()


def _is_read_more(line: str) -> bool:
    if _READ_MORE_RE.match(line):
        return True
    return words(line) <= 15 and bool(_READ_MORE_SUFFIX_RE.search(line))


def _is_share(line: str) -> bool:
    return bool(_SHARE_RE.match(line) or _NETWORK_ROW_RE.match(line))


def _is_header(line: str) -> bool:
    m = _HEADER_RE.match(line)
    return bool(m) and words(m.group("rest") or "") <= _MAX_RELATED_WORDS


def _is_related(line: str) -> bool:
    if _is_header(line):
        return True
    m = _LINK_PREFIX_RE.match(line)
    return bool(m) and words(m.group("rest")) <= _MAX_RELATED_WORDS


def _is_photo_caption(line: str) -> bool:
    m = _TRAILING_PAREN_RE.search(line)
    if m and _CREDIT_RE.search(m.group(1)):
        return True
    return words(line) <= _CREDIT_LINE_MAX_WORDS and bool(_CREDIT_LINE_RE.match(line))


def _is_appeal(line: str) -> bool:
    n = words(line)
    folded = line.casefold()
    strong = len(_APPEAL_STRONG_RE.findall(line)) if any(h in folded for h in _APPEAL_HINTS) else 0
    if strong >= 2 or (strong and n <= _APPEAL_MAX_WORDS):
        return True
    # a button/box label, not a sentence: "Donate blood, officials urged." stays
    return n <= _APPEAL_START_MAX_WORDS and not line.endswith(".") and bool(_APPEAL_START_RE.match(line))


def _is_copyright(line: str) -> bool:
    return (
        words(line) <= _COPYRIGHT_MAX_WORDS
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
        words(line) >= PROSE_MIN_WORDS
        and line[-1] in _TERMINAL_PUNCT
        and not ELLIPSIS_RE.search(line)
        and rule_of(line) is None
    )


def _is_teaserish(line: str, rule_of=_line_rule) -> bool:
    """Typical of teaser lists: short unpunctuated headline, truncated summary, link label."""
    if rule_of(line) is not None or ELLIPSIS_RE.search(line):
        return True
    return words(line) <= 12 and line[-1] not in _TERMINAL_PUNCT


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
            words_before += words(line)
    # no header: a run of >= 2 "<summary>" + "<read more>" pairs closing the document
    i, pairs = n, 0
    while i >= 2 and _is_read_more(lines[i - 1]) and not _is_read_more(lines[i - 2]):
        i -= 2
        pairs += 1
    return i if pairs >= 2 else n


def _tail_is_teasers(tail: list[str], rule_of=_line_rule) -> bool:
    if not tail:
        return True
    markers = [i for i, line in enumerate(tail) if rule_of(line) == "read_more" or ELLIPSIS_RE.search(line)]
    if len(markers) >= 2 and not any(_is_prose(line, rule_of) for line in tail[markers[-1] + 1:]):
        return True
    content = [line for line in tail if rule_of(line) is None]
    if content and _is_prose(content[-1], rule_of):
        return False  # the article goes on after the header
    if len(tail) <= 3:
        return True
    return sum(_is_teaserish(line, rule_of) for line in tail) * 2 >= len(tail)


def _is_bare(line: str) -> bool:
    """No letters at all (a separator, pagination "1 2 3"), or only a date banner."""
    return not _LETTER_RE.search(line) or is_date_line(line)


def _is_nav(line: str, max_words: int) -> bool:
    if _is_bare(line):
        return True
    if _LIST_ITEM_RE.match(line) or _CREDIT_BYLINE_RE.match(line) or _COPYRIGHT_SIGN_RE.search(line):
        # an item of the article's list, a quote attribution, a contributor credit; a
        # copyright notice is for the copyright rule to judge
        return False
    return words(line) <= max_words and line[-1] not in _TERMINAL_PUNCT


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
              and (words(line) == 1 or words(nxt) < LONG_PARAGRAPH_WORDS)):
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
        if words(line) >= REPEAT_MIN_WORDS and not line.startswith("|"):  # (table rows repeat)
            key = line_key(line)
            at = first_at.setdefault(key, n)
            if at < n and (at <= head or line_key(unique[-1]) == key):
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
    lines = [t for t in (tidy_line(line) for line in (text or "").split("\n")) if t]
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
