"""Tests for pipeline.stages.entities.aliases: cross-article aliases."""
from __future__ import annotations

from pipeline.stages.entities.aliases import AliasCountsFn, alias_evidence, apply_aliases, build_alias_table
from pipeline.stages.entities.resolve import resolve_document
from tests.stages.entities.samples import M


def _resolved(*mentions):
    return resolve_document(list(mentions))


def test_alias_evidence():
    ms = _resolved(M(0, "Vladimir Putin", "PERSON"), M(20, "Xi", "PERSON"), M(30, "Xi Jinping", "PERSON"),
                   M(50, "Beijing", "GPE"))
    assert alias_evidence(ms) == [
        ("case", "GPE|beijing", "Beijing"), ("case", "PERSON|vladimir putin", "Vladimir Putin"),
        ("case", "PERSON|xi jinping", "Xi Jinping"), ("person", "Jinping", "Xi Jinping"),
        ("person", "Putin", "Vladimir Putin"), ("person", "Xi", "Xi Jinping")]


def _table(evidence_lists):
    fn = AliasCountsFn()
    accs = []
    for ev in evidence_lists:  # one accumulator per article, merged like a runner would
        accs.append(fn.add_input(fn.create_accumulator(), ev))
    return fn.extract_output(fn.merge_accumulators(accs))


def test_alias_table_majority_and_order():
    articles = [[("person", "Johnson", "Boris Johnson")], [("person", "Johnson", "Dustin Johnson")],
                [("person", "Putin", "Vladimir Putin")], [("person", "Putin", "Vladimir Putin")],
                [("person", "Biden", "Joe Biden")], [("person", "Biden", "Joe Biden")],
                [("person", "Biden", "Jill Biden")], [("case", "taipei", "Taipei")]]
    table = _table(articles)
    assert table == {"person": {"Putin": "Vladimir Putin", "Biden": "Joe Biden"}, "case": {"taipei": "Taipei"}}
    assert _table(articles[::-1]) == table
    assert build_alias_table({}) == {"person": {}, "case": {}}


def test_apply_aliases_respects_the_article():
    table = {"person": {"Putin": "Vladimir Putin", "Kim": "Kim Jong Un"}, "case": {"GPE|taipei": "Taipei"}}
    bare = _resolved(M(0, "Putin", "PERSON"), M(10, "TAIPEI", "GPE"))
    assert [m["canonical"] for m in apply_aliases(bare, table)] == ["Vladimir Putin", "Taipei"]
    # a spelling only within its label: an ORG "TAIPEI" does not take the GPE's spelling
    org = _resolved(M(0, "TAIPEI", "ORG"))
    assert [m["canonical"] for m in apply_aliases(org, table)] == ["TAIPEI"]
    # the article has its own longer name for "Kim": the table does not override it
    own = _resolved(M(0, "Kim", "PERSON"), M(10, "Kim Yo Jong", "PERSON"), M(30, "Kim Jong Il", "PERSON"))
    assert [m["canonical"] for m in apply_aliases(own, table)] == ["Kim", "Kim Yo Jong", "Kim Jong Il"]


def test_no_alias_from_a_common_word():
    """Issue 22: "Trust" was aliased to a "person" named "George Eliot Hospital NHS Trust"."""
    ms = _resolved(M(0, "Lucy Trust", "PERSON"), M(20, "Gordon Young", "PERSON"))
    assert ("person", "Trust", "Lucy Trust") not in alias_evidence(ms)
    assert ("person", "Young", "Gordon Young") not in alias_evidence(ms)
    table = {"person": {"Trust": "George Eliot Hospital NHS Trust", "Putin": "Vladimir Putin"}, "case": {}}
    bare = _resolved(M(0, "Trust", "PERSON"), M(10, "Putin", "PERSON"))
    assert [m["canonical"] for m in apply_aliases(bare, table)] == ["Trust", "Vladimir Putin"]
    # within one article: a common word labelled otherwise does not become the longer PERSON
    doc = _resolved(M(0, "George Eliot Hospital NHS Trust", "PERSON"), M(40, "Trust", "ORG"))
    assert [(m["canonical"], m["label"]) for m in doc] == [
        ("George Eliot Hospital NHS Trust", "ORG"), ("Trust", "ORG")]
