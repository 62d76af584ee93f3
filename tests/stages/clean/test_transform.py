"""Tests for pipeline.stages.clean.transform: the Clean Beam transform."""
from __future__ import annotations

from pipeline.stages.clean.article import REJECT_NO_INPUT
from pipeline.stages.clean.transform import Clean
from tests.stages.clean.samples import P1, P2, doc, item


def test_clean_ptransform_routes_rejects():
    import apache_beam as beam
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.testing.util import assert_that, equal_to

    good = item(text=doc(P1, P2), input_uri="file:///in/good.txt")
    empty = item(input_uri="file:///in/empty.txt")
    with beam.Pipeline(runner=FnApiRunner()) as p:
        articles, rejects, _ = p | beam.Create([good, empty]) | "Clean" >> Clean()
        assert_that(articles | "Texts" >> beam.Map(lambda a: a["text"]), equal_to([P1 + "\n\n" + P2]),
                    label="articles")
        assert_that(rejects | "Summaries" >> beam.Map(lambda r: (r["stage"], r["reason"], r["input_uri"])),
                    equal_to([("clean", REJECT_NO_INPUT, "file:///in/empty.txt")]), label="rejects")
