"""Run-level aliases: :func:`alias_evidence` per article, :class:`AliasCountsFn` over the run,
:func:`build_alias_table`, :func:`apply_aliases` ("Putin" -> "Vladimir Putin" in an article that
never gives the full name)."""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Optional

import apache_beam as beam

from pipeline.records import Mention
from pipeline.stages.entities.labels import is_common_word
from pipeline.stages.entities.names import canonical_form, is_prefix, is_suffix, tokens
from pipeline.stages.entities.places import Gazetteer, place_codes

#: An alias needs at least this share of the articles that use the short name for one full name.
ALIAS_MAJORITY = 0.5


def alias_evidence(mentions: Iterable[Mention]) -> list[tuple[str, str, str]]:
    """What one article says about names, for the run's alias table (pure; sorted, distinct):

    * ``("person", short, full)``: the article resolved the PERSON name ``short`` to ``full``
      ("Xi" -> "Xi Jinping"), and every multi-word PERSON name offers its last word
      ("Putin" -> "Vladimir Putin"); never from a common English word ("Trust", "Young");
    * ``("case", "LABEL|lower", spelling)``: a mixed-case spelling of a name, for ALL-CAPS forms of the
      same label elsewhere.
    """
    found = set()
    for m in mentions:
        canonical, label = m["canonical"], m["label"]
        if label == "PERSON":
            short = canonical_form(m["text"], "PERSON")
            if short != canonical and not is_common_word(short) and (
                    is_prefix(tokens(short), tokens(canonical)) or is_suffix(tokens(short), tokens(canonical))):
                found.add(("person", short, canonical))
            toks = tokens(canonical)
            if len(toks) > 1 and toks[-1][:1].isupper() and not is_common_word(toks[-1]):
                found.add(("person", toks[-1], canonical))
        if not canonical.isupper() and any(ch.isalpha() for ch in canonical):
            found.add(("case", f"{label}|{canonical.lower()}", canonical))
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
    (then the article's own reading stands); an ALL-CAPS name takes the run's mixed-case spelling
    of a name with the same label. Aliases stay within a label and never start from a common word.
    """
    mentions = list(mentions)
    persons = Counter(m["canonical"] for m in mentions if m["label"] == "PERSON")
    people = table.get("person", {})
    spelling = table.get("case", {})
    out = []
    for m in mentions:
        canonical = m["canonical"]
        if m["label"] == "PERSON" and canonical in people and people[canonical] != canonical \
                and not is_common_word(canonical):
            own = [f for f in persons if is_suffix(tokens(canonical), tokens(f))
                   or is_prefix(tokens(canonical), tokens(f))]
            if not own:
                canonical = people[canonical]
        elif canonical.isupper() and f'{m["label"]}|{canonical.lower()}' in spelling:
            canonical = spelling[f'{m["label"]}|{canonical.lower()}']
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
