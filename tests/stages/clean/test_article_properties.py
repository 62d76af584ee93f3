"""Properties of the clean stage function (issue 11), checked with hypothesis: whatever the
bytes, to_clean_article raises nothing but Rejected."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.stages.base import Rejected
from pipeline.stages.clean.article import to_clean_article
from tests.stages.clean.strategies import SETTINGS


@SETTINGS
@given(st.binary(max_size=600), st.sampled_from(["html", "txt", "feed", "json"]))
def test_clean_stage_never_raises_anything_but_rejected_on_junk(data, fmt):
    text = data.decode("utf-8", "surrogateescape")
    for item in ({"html": text, "format": fmt}, {"text": text, "format": fmt},
                 {"html": "<html><body><p>" + text + "</p></body></html>", "format": "html"}):
        try:
            article = to_clean_article(dict(item, input_uri="junk"))
        except Rejected:
            continue
        assert article["text"].strip()
