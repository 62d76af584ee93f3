"""Lines a source repeats across its articles are removed; story updates are left alone."""
import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from pipeline.stages.base import Rejected
from pipeline.stages.sitelines import (
    RULE,
    CountDocsAndTitles,
    RemoveSiteBoilerplate,
    is_site_line,
    line_key,
    remove_site_lines,
    votes,
)

NAV = "Home | World | Business | Sport | Weather"
PROMO = "Get the Morning Briefing in your inbox every day."


def article(title, body, source="courier.example", extra=()):
    paragraphs = [NAV, *body, *extra]
    return {"title": title, "source": source, "text": "\n\n".join(paragraphs),
            "provenance": {"input_uri": f"{title}.html", "offset": 0, "clean": {"removed": {"share": 1}}}}


STORIES = [
    article("Bridge approved", ["The council approved the bridge on Tuesday after a long debate about its cost.",
                                "Construction starts in the autumn."], extra=[PROMO]),
    article("Storm closes road", ["A storm closed the coastal road overnight, police said.",
                                  "Drivers should use the inland route until Friday."], extra=[PROMO]),
    article("Library hours", ["The library will open on Sundays from next month.",
                              "Volunteers will staff the extra hours."], extra=[PROMO]),
]


def test_line_key_ignores_case_and_punctuation():
    assert line_key("Home | World") == line_key("home world") != line_key("home world sport")


def test_votes_are_per_distinct_short_paragraph_and_need_a_source():
    a = article("T", ["Short line.", "Short line.", " ".join(["long"] * 40)])
    assert len(votes(a)) == 2  # NAV and "Short line." once each; the long paragraph never votes
    assert votes(dict(a, source=None)) == []


def test_counts_are_bounded_and_order_independent():
    fn = CountDocsAndTitles()
    acc = fn.create_accumulator()
    for t in ["a", "b", "c", "d", "e"]:
        acc = fn.add_input(acc, t)
    assert acc[0] == 5 and len(acc[1]) == 3
    merged = fn.merge_accumulators([fn.add_input(fn.create_accumulator(), "x"), acc])
    assert merged[0] == 6 and is_site_line(merged)
    assert not is_site_line((5, frozenset({"same title"})))


def test_remove_site_lines_counts_the_rule_in_provenance():
    site = {("courier.example", line_key(NAV)): True, ("courier.example", line_key(PROMO)): True}
    cleaned = remove_site_lines(STORIES[0], site)
    assert cleaned["text"].split("\n\n") == STORIES[0]["text"].split("\n\n")[1:3]
    assert cleaned["provenance"]["clean"]["removed"] == {RULE: 2, "share": 1}
    assert remove_site_lines(dict(STORIES[0], source="other.example"), site) == dict(STORIES[0], source="other.example")
    with pytest.raises(Rejected, match="repeated across other courier.example articles"):
        remove_site_lines(article("Nav only", [], extra=[PROMO]), site)


def test_site_lines_removed_in_beam_but_updates_of_one_story_are_not():
    updates = [article("Bridge approved", ["The council approved the bridge on Tuesday.", f"Update {i}."],
                       source="wire.example") for i in range(4)]
    with beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as p:
        kept, rejects, _ = p | beam.Create(STORIES + updates) | RemoveSiteBoilerplate()
        assert_that(kept | beam.Map(lambda a: (a["source"], a["text"].count(NAV), a["text"].count(PROMO))),
                    equal_to([("courier.example", 0, 0)] * 3 + [("wire.example", 1, 0)] * 4))
        assert_that(rejects, equal_to([]), label="no rejects")
