"""The entity post-processing as it was before issue 23 (main 153e593): quadratic in the
number of names, kept verbatim as the oracle the linear version must agree with."""

import re
from collections import Counter
from typing import Iterable, Optional

from pipeline.records import Mention
from pipeline.stages.entities.names import TITLES, canonical_form, is_prefix, is_suffix, name_bounds, tokens
from pipeline.stages.entities.labels import check_labels, is_common_word, join_acronyms
from pipeline.stages.entities.places import Gazetteer, place_codes
from pipeline.stages.entities.resolve import _ORG_HEADS  # noqa: F401  (the same heads as the linear version)

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
    5. with a gazetteer: :func:`place_codes`.
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
    for name, idx in groups.items():
        votes = Counter(labels[i] for i in idx)
        if len(votes) < 2:
            continue
        ranked = votes.most_common()
        tied = [lab for lab, n in ranked if n == ranked[0][1]]
        if len(tied) == 1:
            winner = tied[0]
        else:
            toks = tokens(name)
            longer = [j for j, c in enumerate(canon)
                      if is_suffix(toks, tokens(c)) or is_prefix(toks, tokens(c))]
            if longer:
                best = max(longer, key=lambda j: (len(tokens(canon[j])), -j))
                winner = labels[best]
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
    resolved: dict[str, str] = {}
    for short in person_counts:
        target = _longer_person(short, person_counts)
        if target:
            resolved[short] = target
    # a one-word name the model called ORG/GPE/NORP that is a PERSON surname here ("Gabuev told",
    # "Modi" GPE); a place only when the gazetteer says the name is no place ("Washington" stays)
    for i, (c, lab) in enumerate(zip(canon, labels)):
        if lab != "PERSON" and (gaz is not None or lab not in ("GPE", "LOC")) and " " not in c \
                and not c.isupper() and c not in person_counts:
            full = [f for f in person_counts if is_suffix((c,), tokens(f))]
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
#: A one-word GPE the gazetteer does not know that is this common as an English word is a stray
#: capitalised word ("Visit", "Marking" at the start of a caption), not a place.
STRAY_WORD_ZIPF = 4.0


def _is_word_not_place(m: Mention, gaz: Gazetteer) -> bool:
    name = m["canonical"]
    if m["label"] != "GPE" or " " in name or name.isupper() or gaz.is_place(name):
        return False
    import wordfreq  # lazily: rare path

    return wordfreq.zipf_frequency(name.lower(), "en") >= STRAY_WORD_ZIPF


def _longer_person(short: str, person_counts: Counter) -> Optional[str]:
    """The longer PERSON name of the article that ``short`` is the end ("Putin") or else the start
    ("Xi") of; None when there is none or no single most frequent one."""
    toks = tokens(short)
    for part_of in (is_suffix, is_prefix):  # surname first ("Putin"), else "Xi" -> "Xi Jinping"
        candidates = [f for f in person_counts if part_of(toks, tokens(f))]
        # maximal names only: "Van Thuong" and "Vo Van Thuong" -> "Vo Van Thuong"
        candidates = [f for f in candidates
                      if not any(part_of(tokens(f), tokens(g)) for g in candidates)]
        if not candidates:
            continue
        candidates.sort(key=lambda f: -person_counts[f])
        if len(candidates) == 1 or person_counts[candidates[0]] > person_counts[candidates[1]]:
            return candidates[0]
        return None
    return None


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
    kept = [m for m in mentions if not any(m["start"] < f["end"] and f["start"] < m["end"] for f in found)]
    return sorted(kept + found, key=lambda m: (m["start"], m["end"]))


def propagate_surnames(mentions: list[Mention], text: str) -> list[Mention]:
    """Occurrences of a full name's surname that the model did not tag ("Zelenskyy urged ...")
    become PERSON mentions of the full name (pure). Skipped when two full names share the
    surname, or when the surname also occurs as a lower-case word in the text ("Rose", "rose")."""
    fulls: dict[str, set] = {}
    for m in mentions:
        if m["label"] == "PERSON":
            toks = tokens(m["canonical"])
            if len(toks) > 1 and len(toks[-1]) > 2 and toks[-1][:1].isupper():
                fulls.setdefault(toks[-1], set()).add(m["canonical"])
    added = []
    for surname, names in sorted(fulls.items()):
        if len(names) != 1 or is_common_word(surname) or re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(surname.lower()), text):
            continue
        full = next(iter(names))
        for hit in re.finditer(r"(?<![\w-])%s(?![\w-])" % re.escape(surname), text):
            a, b = hit.span()
            if any(m["start"] < b and a < m["end"] for m in mentions):
                continue
            added.append(Mention(start=a, end=b, text=surname, label="PERSON", canonical=full, country_code=None))
    if not added:
        return mentions
    return sorted(mentions + added, key=lambda m: (m["start"], m["end"]))
