"""Pure post-processing of one article's mentions, in the order the extractor applies it:
:func:`tidy_mentions` (spans cut to the name: no "the", possessive or title; a name after a
title is a PERSON), :func:`dateline_mentions` (wire datelines), :func:`resolve_document`
(document-level labels and canonical names, :func:`~pipeline.stages.entities.places.place_codes`
for country codes), :func:`propagate_surnames` (untagged repeats of a surname). Each step was
measured on ``tests/data/ner`` (see bench/ner.py)."""
from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from typing import Iterable, Optional

from pipeline.records import Mention
from pipeline.stages.entities.labels import check_labels, is_common_word, join_acronyms
from pipeline.stages.entities.names import TITLES, NameIndex, canonical_form, name_bounds, tokens
from pipeline.stages.entities.places import Gazetteer, place_codes

#: A capitalised participle the model swept into a place span at a sentence start ("Leaving Beijing").
_LEADING_VERB = re.compile(r"^[A-Z][a-z]+(?:ing|ed)\s+")


def _leading_verb_cut(text: str, gaz: Gazetteer) -> int:
    """Characters to cut from the front of a span "Leaving Beijing" whose rest is a known place."""
    m = _LEADING_VERB.match(text)
    if m and gaz.is_place(canonical_form(text[m.end():], "GPE")):
        return m.end()
    return 0


def resolve_document(mentions: Iterable[Mention], gaz: Optional[Gazetteer] = None) -> list[Mention]:
    """Canonical names and labels made consistent within one article (pure; sorted by offset).

    0. with a gazetteer: a span "Leaving Beijing" whose rest is a known place is cut to the place;
    1. every mention gets :func:`canonical_form` of its text;
    2. an ALL-CAPS form ("BEIJING" in a dateline) takes the mixed-case spelling used elsewhere,
       or, for a known place, title case;
    3. a name labelled differently across the article takes its majority label; on a tie, the
       label of the longest mention that starts or ends with it ("Gabuev" -> label of
       "Alexander Gabuev"), else the label of its first mention;
    4. a short PERSON name takes the canonical form of the longer PERSON name in the article
       that ends with it ("Putin" -> "Vladimir Putin"), or else starts with it ("Xi" ->
       "Xi Jinping"); when several longer names fit, the most frequent wins, and a tie leaves
       the short name as it is; a bare name labelled otherwise (ORG "Gabuev") that a PERSON name
       in the article ends with becomes that PERSON;
    5. an acronym takes the name and label of its expansion in the article ("EU" -> "European
       Union", :func:`~pipeline.stages.entities.labels.join_acronyms`);
    6. with a gazetteer: :func:`place_codes`; then
       :func:`~pipeline.stages.entities.labels.check_labels` (curated company names are ORG, "AI"
       is no place). A common English word never becomes a PERSON through a longer name.
    """
    items = []
    for m in sorted(mentions, key=lambda m: (m["start"], m["end"])):
        cut = _leading_verb_cut(m["text"], gaz) if gaz is not None else 0
        if cut:
            m = Mention(start=m["start"] + cut, end=m["end"], text=m["text"][cut:], label="GPE",
                        canonical=m["text"][cut:])
        items.append(m)
    canon = [canonical_form(m["text"], m["label"]) for m in items]
    labels = [m["label"] for m in items]

    # 2. case variants
    spellings = Counter(c for c in canon if not c.isupper())
    by_lower: dict[str, str] = {}
    for spelling, _ in sorted(spellings.items(), key=lambda kv: -kv[1]):  # stable: first seen wins ties
        by_lower.setdefault(spelling.lower(), spelling)
    canon = [by_lower.get(c.lower(), c) if c.isupper() else c for c in canon]

    # 3. majority label per canonical string
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(canon):
        groups.setdefault(c, []).append(i)
    index: Optional[NameIndex] = None  # built on the first tie: which names contain which
    for name, idx in groups.items():
        votes = Counter(labels[i] for i in idx)
        if len(votes) < 2:
            continue
        ranked = votes.most_common()
        tied = [lab for lab, n in ranked if n == ranked[0][1]]
        if len(tied) == 1:
            winner = tied[0]
        else:
            if index is None:
                index = NameIndex(groups)
            # the longest name that starts or ends with this one (in tokens), the first on a tie
            longer = index.longer_with_suffix(name) + index.longer_with_prefix(name)
            if longer:
                best = max(longer, key=lambda c: (c.count(" "), -groups[c][0]))
                winner = labels[groups[best][0]]
            else:
                winner = labels[idx[0]]
        for i in idx:
            labels[i] = winner

    # 3b. a "person" whose last word says it is a building or an institution ("Hagia Sophia Cathedral")
    for i, (c, lab) in enumerate(zip(canon, labels)):
        if lab == "PERSON" and " " in c:
            head = c.rsplit(" ", 1)[1]
            labels[i] = "FAC" if head in _FAC_HEADS else "ORG" if head in _ORG_HEADS else lab

    # 4. short PERSON names -> the full name in the same article
    person_counts = Counter(c for c, lab in zip(canon, labels) if lab == "PERSON")
    persons = NameIndex(person_counts)
    resolved: dict[str, str] = {}
    for short in person_counts:
        target = _longer_person(short, person_counts, persons)
        if target:
            resolved[short] = target
    # a one-word name the model called ORG/GPE/NORP that is a PERSON surname here ("Gabuev told",
    # "Modi" GPE); a place only when the gazetteer says the name is no place ("Washington" stays)
    for i, (c, lab) in enumerate(zip(canon, labels)):
        if lab != "PERSON" and (gaz is not None or lab not in ("GPE", "LOC")) and " " not in c \
                and not c.isupper() and c not in person_counts:
            full = persons.longer_with_suffix(c)
            if len(full) == 1 and (gaz is None or not gaz.is_place(c)) and not is_common_word(c):
                labels[i] = "PERSON"
                resolved.setdefault(c, resolved.get(full[0], full[0]))
    canon = [resolved.get(c, c) if lab == "PERSON" else c for c, lab in zip(canon, labels)]

    out = join_acronyms(Mention(start=m["start"], end=m["end"], text=m["text"], label=lab, canonical=c)
                        for m, lab, c in zip(items, labels, canon))
    if gaz is not None:
        out = [m for m in out if not _is_word_not_place(m, gaz)]
        return check_labels(place_codes(out, gaz))
    return check_labels(Mention(**m, country_code=None) for m in out)


_FAC_HEADS = frozenset({"Cathedral", "Church", "Mosque", "Temple", "Bridge", "Airport", "Stadium", "Arena",
                        "Tower", "Palace", "Square", "Museum", "Hotel", "Station", "Highway", "Dam"})
_ORG_HEADS = frozenset({"University", "Institute", "College", "Hospital", "Council", "Committee", "Party",
                        "Bank", "Ministry", "Agency", "Association", "Company", "Corporation", "Inc.", "Ltd.",
                        "Foundation", "Center", "Centre", "Group", "Department", "Commission", "Court",
                        "Trust", "NHS", "Live", "News", "Times", "Herald", "Gazette", "Tribune", "Telegraph",
                        "Journal"})
#: A one-word GPE the gazetteer does not know that is this common as an English word is a stray
#: capitalised word ("Visit", "Marking" at the start of a caption), not a place.
STRAY_WORD_ZIPF = 4.0


def _is_word_not_place(m: Mention, gaz: Gazetteer) -> bool:
    name = m["canonical"]
    if m["label"] != "GPE" or " " in name or name.isupper() or gaz.is_place(name, local=True):
        return False
    import wordfreq  # lazily: rare path

    return wordfreq.zipf_frequency(name.lower(), "en") >= STRAY_WORD_ZIPF


def _longer_person(short: str, person_counts: Counter, persons: NameIndex) -> Optional[str]:
    """The longer PERSON name of the article that ``short`` is the end ("Putin") or else the start
    ("Xi") of; None when there is none or no single most frequent one. ``persons``: the index of
    ``person_counts``' names (work: the names that contain ``short``, not all of them)."""
    for longer in (persons.suffix_of, persons.prefix_of):  # surname first ("Putin"), else "Xi" -> "Xi Jinping"
        # maximal names only: "Van Thuong" and "Vo Van Thuong" -> "Vo Van Thuong" (a name that ends
        # with "Van Thuong" also ends with "Thuong", so it is a candidate too)
        candidates = [f for f in longer.get(short, ()) if f not in longer]
        if not candidates:
            continue
        top = max(person_counts[f] for f in candidates)
        best = [f for f in candidates if person_counts[f] == top]
        return best[0] if len(best) == 1 else None
    return None


class _Spans:
    """Does a span overlap any of these spans? (sorted starts and the running maximum of the
    ends: a binary search per question instead of a scan of every span)."""

    def __init__(self, spans: Iterable[tuple[int, int]]):
        ordered = sorted(spans)
        self.starts = [a for a, _ in ordered]
        self.max_end = []
        top = None
        for _, b in ordered:
            top = b if top is None or b > top else top
            self.max_end.append(top)

    def overlaps(self, a: int, b: int) -> bool:
        """Some span (s, e) has s < b and a < e."""
        k = bisect_left(self.starts, b)  # the spans starting before b
        return k > 0 and self.max_end[k - 1] > a


#: Maximal runs of the characters a name's occurrence may not touch (see :func:`_word_hits`).
_WORD_RUN = re.compile(r"[\w-]+")


def _word_runs(text: str) -> dict[str, list[int]]:
    """Every maximal run of word characters and hyphens in ``text`` -> where it starts."""
    runs: dict[str, list[int]] = {}
    for m in _WORD_RUN.finditer(text):
        runs.setdefault(m.group(), []).append(m.start())
    return runs


def _word_hits(word: str, text: str, runs: dict[str, list[int]]) -> list[tuple[int, int]]:
    r"""The spans ``re.finditer(r"(?<![\w-])WORD(?![\w-])", text)`` finds, from the run index.

    An occurrence starts a run (nothing of [\w-] before it) and its first run of [\w-] is the
    text's whole run there (what follows it in ``word``, or after it in the text, is no [\w-]),
    so only the places where that run occurs are checked."""
    first = _WORD_RUN.match(word)
    if first is None:  # does not start with a word character: the regex, as before
        pattern = re.compile(r"(?<![\w-])%s(?![\w-])" % re.escape(word))
        return [hit.span() for hit in pattern.finditer(text)]
    hits, n, last_end = [], len(word), -1
    for a in runs.get(first.group(), ()):
        b = a + n
        if a >= last_end and text.startswith(word, a) and not (b < len(text) and _WORD_RUN.match(text, b)):
            hits.append((a, b))
            last_end = b
    return hits


_TITLE_BEFORE = re.compile(
    r"(?:^|[\s(\u2014\u2013-])(?:%s)\s+$" % "|".join(re.escape(t) for t in sorted(TITLES, key=len, reverse=True)),
    re.IGNORECASE)


def tidy_mentions(mentions: Iterable[Mention], text: str, gaz: Optional[Gazetteer] = None) -> list[Mention]:
    """Model spans cut to the name (:func:`name_bounds`); a name right after an office or form of
    address ("Chancellor Olaf Scholz", "Mr. Gabuev") is a PERSON whatever the model said, unless
    it is a known place. Offsets stay offsets into ``text``."""
    out = []
    for m in mentions:
        label = m["label"]
        lo, hi = name_bounds(m["text"], label)
        start, end = m["start"] + lo, m["start"] + hi
        surface = text[start:end]
        if label != "PERSON" and _TITLE_BEFORE.search(text, max(0, start - 40), start) \
                and surface[:1].isupper() and not surface.isupper() \
                and (gaz is None or not gaz.is_place(canonical_form(surface, label))):
            label = "PERSON"
            lo2, hi2 = name_bounds(surface, label)
            start, end = start + lo2, start + hi2
            surface = text[start:end]
        out.append(Mention(start=start, end=end, text=surface, label=label, canonical=surface))
    return out


#: A wire-copy dateline at the start of a line: "TAIPEI, Taiwan (AP) —".
_DATELINE = re.compile(
    r"^[ \t]*([A-Z][A-Z.'\- ]*[A-Z.])(?:,[ \t]+([A-Z][A-Za-z.'\- ]*?[a-z.]))?[ \t]+"
    r"\((?:AP|Reuters|AFP|UPI|CNN)\)[ \t]*[\u2014\u2013-]", re.MULTILINE)


def dateline_mentions(mentions: list[Mention], text: str, gaz: Gazetteer) -> list[Mention]:
    """Known places of wire datelines as GPE mentions ("BEIJING", "Taiwan" in "TAIPEI, Taiwan (AP) —"),
    replacing whatever the model made of them (it often misses or mislabels capitals)."""
    found = []
    for m in _DATELINE.finditer(text):
        for g in (1, 2):
            if m.group(g) and gaz.is_place(m.group(g)):
                found.append(Mention(start=m.start(g), end=m.end(g), text=m.group(g), label="GPE",
                                     canonical=m.group(g)))
    if not found:
        return list(mentions)
    datelines = _Spans((f["start"], f["end"]) for f in found)
    kept = [m for m in mentions if not datelines.overlaps(m["start"], m["end"])]
    return sorted(kept + found, key=lambda m: (m["start"], m["end"]))


def propagate_surnames(mentions: list[Mention], text: str) -> list[Mention]:
    """Occurrences of a full name's surname that the model did not tag ("Zelenskyy urged ...")
    become PERSON mentions of the full name (pure). Skipped when two full names share the
    surname, when the surname is a common English word, or when it also occurs as a lower-case word
    in the text ("Rose", "rose")."""
    fulls: dict[str, set] = {}
    for m in mentions:
        if m["label"] == "PERSON":
            toks = tokens(m["canonical"])
            if len(toks) > 1 and len(toks[-1]) > 2 and toks[-1][:1].isupper():
                fulls.setdefault(toks[-1], set()).add(m["canonical"])
    added = []
    runs = _word_runs(text) if fulls else {}
    tagged = _Spans((m["start"], m["end"]) for m in mentions)
    for surname, names in sorted(fulls.items()):
        if len(names) != 1 or is_common_word(surname) or _word_hits(surname.lower(), text, runs):
            continue
        full = next(iter(names))
        for a, b in _word_hits(surname, text, runs):
            if tagged.overlaps(a, b):
                continue
            added.append(Mention(start=a, end=b, text=surname, label="PERSON", canonical=full, country_code=None))
    if not added:
        return mentions
    return sorted(mentions + added, key=lambda m: (m["start"], m["end"]))
