"""What an article is about, as weights: its words by their rarity in its language
(wordfreq), and its entity names by label, count and rarity; the cosine and entity overlap
of two such vectors."""
from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from typing import Iterable, Mapping, Optional

# Term weights
MAX_TERMS = 200  # terms kept per vector, heaviest first (400 -> 200: seeds scores -0.006)
MAX_ZIPF = 7.0  # rarity base: max(0, MAX_ZIPF - zipf); "the" is 7.7, "said" 6.0
RARITY_POWER = 2.0  # squared (measured 1 .. 3: 2 separates best with the cap below)
UNKNOWN_ZIPF = 0.0  # a word missing from the frequency list is as rare as can be
STOPWORD_ZIPF = 6.0  # words at least this frequent in the language are stopwords
MAX_TERM_SHARE = 0.2  # largest component of a term vector (measured 0.15 .. 1: 0.2 best)
TITLE_BOOST = 1  # a title word counts as this many occurrences (1 .. 4 measured: no effect)
MIN_WORD_LEN = 2
FALLBACK_MIN_LEN = 4  # languages without a frequency list: words of 4+ letters, weight 1

# Entities
ENTITY_SHARE = 0.15  # weight of the entity overlap in the score (measured 0 .. 0.5)
ENTITY_BACKGROUND = 60.0  # private mass of every entity vector (measured 0 .. 200)
MIN_ENTITIES = 3  # fewer names than this: entity overlap is 0 or ~1, not evidence

#: Entity label weights: who, which organisation, where and which event identify a story;
#: nationalities ("Russian", "Chinese") are topic words.
LABEL_WEIGHTS: Mapping[str, float] = {
    "PERSON": 1.0, "ORG": 1.0, "GPE": 1.0, "EVENT": 1.0, "FAC": 0.8, "LOC": 0.8,
    "PRODUCT": 0.6, "WORK_OF_ART": 0.6, "LAW": 0.6, "NORP": 0.3,
}

# Words: letters (any script) with inner apostrophes; digits, "_" and punctuation split words,
# so numbers never become terms.
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
_NO_LIST = frozenset({"", "und", "zxx", "mul", "mis"})



# --------------------------------------------------------------------------- background rarity

@functools.lru_cache(maxsize=None)
def _load_frequency_list(code: str) -> Optional[dict]:
    """Loaded once per process. Behind lru_cache on purpose: Beam's type inference walks every
    dict it can reach from a function's globals and attributes (321k entries for English:
    seconds at each pipeline construction once a list is loaded); it cannot see into a cache."""
    try:
        import wordfreq  # lazily: only where stories run
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    try:
        return wordfreq.get_frequency_dict(code)
    except LookupError:
        return None


def base_language(lang: Optional[str]) -> str:
    """``"en-US"`` -> ``"en"``; None -> ``""``."""
    return re.split(r"[-_]", str(lang).strip().lower())[0] if lang else ""


def frequency_list(lang: Optional[str]) -> Optional[dict]:
    """wordfreq's ``word -> frequency`` dict for ``lang`` (loaded once per process, ~60 MB per
    language), or None when wordfreq has no list for the language (or is not installed)."""
    code = base_language(lang)
    if code in _NO_LIST:
        return None
    return _load_frequency_list(code)


def zipf(word: str, freqs: Mapping[str, float]) -> float:
    """Zipf frequency (log10 per billion words) of a casefolded word; ``UNKNOWN_ZIPF`` for a
    word not in the list."""
    f = freqs.get(word)
    return math.log10(f) + 9.0 if f else UNKNOWN_ZIPF


def rarity(word: str, freqs: Optional[Mapping[str, float]]) -> float:
    """Background weight of one word: ``max(0, MAX_ZIPF - zipf) ** RARITY_POWER``; 1 without
    a frequency list."""
    if freqs is None:
        return 1.0
    return max(0.0, MAX_ZIPF - zipf(word, freqs)) ** RARITY_POWER


def is_stopword(word: str, freqs: Optional[Mapping[str, float]]) -> bool:
    """The language's most frequent words (zipf >= STOPWORD_ZIPF); without a frequency list,
    words shorter than FALLBACK_MIN_LEN."""
    if freqs is None:
        return len(word) < FALLBACK_MIN_LEN
    return zipf(word, freqs) >= STOPWORD_ZIPF


# --------------------------------------------------------------------------- term vectors


def words(text: Optional[str]) -> list[str]:
    """Casefolded words of a text: letters only (numbers dropped), possessive 's stripped."""
    if not text or not isinstance(text, str):
        return []
    text = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    out = []
    for w in _WORD.findall(text):
        if w.endswith("'s"):
            w = w[:-2]
        if len(w) >= MIN_WORD_LEN:
            out.append(w)
    return out


def term_counts(text: Optional[str], title: Optional[str] = None) -> Counter:
    """Word counts of the text plus the title (a title word counts TITLE_BOOST times)."""
    counts: Counter = Counter(words(text))
    for w in words(title):
        counts[w] += TITLE_BOOST
    return counts


def term_weights(text: Optional[str], title: Optional[str] = None, lang: Optional[str] = None,
                 max_terms: int = MAX_TERMS) -> dict[str, float]:
    """Unit term vector ``{word: weight}`` of the content words: (1 + ln tf) x :func:`rarity`,
    stopwords dropped, the ``max_terms`` heaviest terms kept (ties by word, so the result is
    deterministic), no component above ``MAX_TERM_SHARE`` (see :func:`capped`)."""
    freqs = frequency_list(lang)
    raw = {}
    for w, n in term_counts(text, title).items():
        if freqs is None:  # is_stopword and rarity inlined: one lookup per distinct word
            if len(w) < FALLBACK_MIN_LEN:
                continue
            weight = 1.0 + math.log(n)
        else:
            f = freqs.get(w)
            z = math.log10(f) + 9.0 if f else UNKNOWN_ZIPF
            if z >= STOPWORD_ZIPF or z >= MAX_ZIPF:
                continue
            weight = (1.0 + math.log(n)) * (MAX_ZIPF - z) ** RARITY_POWER
        raw[w] = weight
    if len(raw) > max_terms:
        raw = dict(sorted(raw.items(), key=lambda kv: (-kv[1], kv[0]))[:max_terms])
    return capped(normalise(raw), MAX_TERM_SHARE)


def capped(vector: Mapping[str, float], cap: float) -> dict[str, float]:
    """The unit vector whose largest components are lowered to ``cap`` and the others scaled up
    to keep unit length (order of the components kept). No single word (a quoted expert's
    name, a byline) decides a story. Vectors too short for the cap (``n * cap**2 < 1``) are
    returned unchanged."""
    n = len(vector)
    if cap >= 1.0 or n * cap * cap < 1.0:
        return dict(vector)
    values = sorted(vector.values(), reverse=True)
    if values[0] <= cap:
        return dict(vector)
    suffix = [0.0] * (n + 1)  # suffix[i] = sum of squares of values[i:]
    for i in range(n - 1, -1, -1):
        suffix[i] = suffix[i + 1] + values[i] * values[i]
    for k in range(1, n):
        if suffix[k] <= 0.0:
            break
        scale = math.sqrt(max(0.0, 1.0 - k * cap * cap) / suffix[k])
        if values[k] * scale <= cap:
            limit = values[k - 1]  # the k largest components (>= limit) are capped
            return {w: (cap if v >= limit else v * scale) for w, v in vector.items()}
    return dict(vector)


def normalise(vector: Mapping[str, float]) -> dict[str, float]:
    """Unit-length copy, keys sorted (0-vector -> ``{}``)."""
    norm = math.sqrt(sum(v * v for v in vector.values()))
    if norm == 0:
        return {}
    return {k: v / norm for k, v in sorted(vector.items())}


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Dot product of two unit vectors, summed over the shorter one in its key order."""
    if len(a) > len(b):
        a, b = b, a
    get = b.get
    return sum(v * get(k, 0.0) for k, v in a.items())


# --------------------------------------------------------------------------- entities


def name_rarity(name: str, freqs: Optional[Mapping[str, float]]) -> float:
    """Rarity of a (multi-word) name: that of its rarest word, as a phrase is at most as common
    as its rarest word ("Vladimir Putin" -> "putin"; "City Council" -> "council")."""
    ws = words(name)
    if not ws:
        return 0.0
    return max(rarity(w, freqs) for w in ws)


def entity_weights(entities: Iterable[Mapping], lang: Optional[str] = None) -> dict[str, float]:
    """Weights of entity names (not normalised): label weight x (1 + ln count) x name rarity.

    Keys are casefolded canonical names (the weights of one name under two labels add up).
    Labels outside :data:`LABEL_WEIGHTS` (numbers, dates) are ignored.
    """
    freqs = frequency_list(lang)
    raw: dict[str, float] = {}
    for e in entities or ():
        if not isinstance(e, Mapping):
            continue
        label_weight = LABEL_WEIGHTS.get(str(e.get("label") or ""), 0.0)
        name = str(e.get("canonical") or e.get("text") or "").strip()
        if not label_weight or not name:
            continue
        try:
            count = max(1, int(e.get("count") or 1))
        except (TypeError, ValueError):
            count = 1
        weight = label_weight * (1.0 + math.log(count)) * name_rarity(name, freqs)
        if weight <= 0:
            continue
        key = " ".join(words(name)) or name.casefold()
        raw[key] = raw.get(key, 0.0) + weight
    return dict(sorted(raw.items()))


def entity_overlap(a: Mapping[str, float], b: Mapping[str, float],
                   background: Optional[float] = None) -> float:
    """Cosine of two entity weight vectors, each with a private ``background`` component.

    The background is a prior: articles that share only a few famous names (Putin 8, Xi 8,
    Beijing 8, Russia 4) get little credit, as every article on the topic shares them; sharing
    rare names (Gabuev 49, Harbin 19) gets close to full credit.
    """
    if background is None:
        background = ENTITY_BACKGROUND
    dot = sum(a[k] * b[k] for k in sorted(a.keys() & b.keys()))
    if dot == 0.0:
        return 0.0
    bb = background * background
    na = math.sqrt(sum(v * v for v in a.values()) + bb)
    nb = math.sqrt(sum(v * v for v in b.values()) + bb)
    return dot / (na * nb)
