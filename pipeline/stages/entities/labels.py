"""Labels and names checked against curated lists (pure): :func:`check_labels` (:data:`ORG_NAMES`:
companies, services and news sites the small models take for people, nationalities or places;
:data:`NOT_PLACES`), :func:`join_acronyms` ("EU" / "European Union" in one article) and
:func:`is_common_word` (no alias from a common word)."""
from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Iterable

from pipeline.records import Mention

#: Companies and services the model mislabels (PERSON "Zoom", NORP "Tesla"); exact canonical names.
ORG_NAMES = frozenset({
    "Zoom", "Strava", "Tesla", "SpaceX", "Apple", "Google", "Alphabet", "Microsoft", "Amazon", "Meta", "Facebook",
    "Instagram", "WhatsApp", "TikTok", "YouTube", "Netflix", "Spotify", "Uber", "Lyft", "Airbnb", "Twitter",
    "OpenAI", "Nvidia", "Intel", "Samsung", "Huawei", "Alibaba", "Tencent", "Baidu", "Boeing", "Airbus",
    "Toyota", "Volkswagen", "BMW", "Nissan", "Hyundai", "Siemens", "Shell", "BP", "ExxonMobil", "Pfizer",
    "Moderna", "AstraZeneca", "Oracle", "IBM", "Salesforce", "PayPal", "eBay", "Reddit", "Snapchat", "LinkedIn",
    "Telegram", "Signal", "Discord", "Twitch", "Pinterest", "Shopify", "Stripe", "Deliveroo", "Tesco",
    "Sainsbury's", "Asda", "Walmart", "Starbucks", "McDonald's", "Nike", "Adidas", "Peloton", "Garmin", "Fitbit",
    "Anthropic", "DeepMind", "Xiaomi", "ByteDance", "Temu", "Shein", "Ryanair", "easyJet", "Lufthansa", "Ofcom",
    "Ofgem", "Plymouth Live", "BBC", "CNN", "Reuters", "Bloomberg",
})

#: Names that are never places whatever the model says ("AI" as a GPE).
NOT_PLACES = frozenset({"AI", "A.I.", "AGI", "VR", "EV", "EVs", "IT", "TV", "GPT", "LLM"})
#: Labels a curated company name is taken out of.
_WRONG_FOR_ORG = frozenset({"PERSON", "NORP", "GPE", "LOC", "FAC"})
#: A word this frequent in English (wordfreq Zipf, lower case) is a common word: no alias is made
#: from it ("Trust", "Young", "May") and no untagged repeat of it becomes a name.
COMMON_WORD_ZIPF = 5.0
#: Words that join an acronym's letters without giving one ("Bank of England" = BoE, "EU").
_ACRONYM_GLUE = frozenset({"of", "the", "and", "for", "on", "in", "de", "des", "du", "la", "le", "&", "für", "der",
                           "und", "y", "del", "di"})
_ACRONYM = re.compile(r"^[A-Z](?:[A-Za-z&]|\.(?=[A-Z]))*\.?$")


@lru_cache(maxsize=65536)
def is_common_word(word: str) -> bool:
    """``word`` (one token) is at least as frequent as :data:`COMMON_WORD_ZIPF` in English."""
    if " " in word or not word:
        return False
    import wordfreq  # lazily: only where NER runs (the word list loads on first use)

    return wordfreq.zipf_frequency(word.lower(), "en") >= COMMON_WORD_ZIPF


def check_labels(mentions: Iterable[Mention]) -> list[Mention]:
    """Labels checked against the curated lists (pure): a name in :data:`ORG_NAMES` labelled a
    person, nationality, place or building is an ORG ("Zoom", "Tesla"); a name in :data:`NOT_PLACES`
    labelled a place is dropped ("AI" is no place)."""
    out = []
    for m in mentions:
        name, label = m["canonical"], m["label"]
        if label in ("GPE", "LOC") and name in NOT_PLACES:
            continue
        if label in _WRONG_FOR_ORG and name in ORG_NAMES:
            m = Mention(**{**m, "label": "ORG", "country_code": None})
        out.append(m)
    return out


def _initials(name: str) -> tuple[str, ...]:
    """The acronyms a multi-word name can have: its capitalised words' initials, without and with
    the glue words ("Bank of England" -> "BE", "BOE"); () for one word or a lower-case word."""
    words = [w for w in re.split(r"[\s\-]+", name) if w]
    if len(words) < 2:
        return ()
    bare, glued = [], []
    for w in words:
        if w.lower() in _ACRONYM_GLUE and not w[:1].isupper():
            glued.append(w[0].upper())
            continue
        if not w[:1].isupper():
            return ()
        bare.append(w[0])
        glued.append(w[0])
    return tuple(dict.fromkeys(("".join(bare), "".join(glued))))


def acronym_key(name: str) -> str:
    """The letters of an acronym ("EU", "U.N.", "NHS" -> "EU", "UN", "NHS"); "" if ``name`` is none."""
    if not _ACRONYM.match(name) or len(name) > 12:
        return ""
    letters = name.replace(".", "")
    if not 2 <= len(letters) <= 6 or sum(ch.isupper() for ch in letters) < max(2, len(letters) - 1):
        return ""
    return letters.upper()


def join_acronyms(mentions: Iterable[Mention]) -> list[Mention]:
    """Acronyms joined to their expansion within one article (pure): "EU" takes the canonical name
    and label of "European Union" when the article names it, and the initials of its capitalised
    words (glue words aside) spell the acronym. Several expansions: the most frequent, none on a
    tie."""
    mentions = list(mentions)
    expansions: dict[str, Counter] = {}
    for m in mentions:
        for key in _initials(m["canonical"]):
            if len(key) >= 2:
                expansions.setdefault(key.upper(), Counter())[(m["canonical"], m["label"])] += 1
    if not expansions:
        return mentions
    out = []
    for m in mentions:
        key = acronym_key(m["canonical"])
        votes = expansions.get(key) if key else None
        if votes:
            ranked = votes.most_common(2)
            if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
                canonical, label = ranked[0][0]
                m = Mention(**{**m, "canonical": canonical, "label": label})
        out.append(m)
    return out
