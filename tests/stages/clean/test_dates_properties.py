"""Properties of pipeline.stages.clean.dates, checked with hypothesis."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st


DATE_TEXT = st.lists(st.sampled_from(
    ["Oct.", "October", "17", "17th", "2023", "1999", "20231", "12023", "2023-10-17", "-", "de", "19",
     "17.", "oktober", "Tuesday,", ",", " ", "x", "٢٠٢٣", "2023a", "a2023", "1:", "2100"]), max_size=12).map(" ".join)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(DATE_TEXT, st.text(max_size=60)))
def test_iter_dates_year_precheck_finds_what_the_regexes_find(text):
    """_iter_dates skips text without a year between non-digits: no date pattern can match it."""
    import pipeline.stages.clean.dates as dates

    direct = [(m.start(), m.end()) for rx in (dates._DATE_MDY_RE, dates._DATE_DMY_RE, dates._DATE_ISO_RE)
              for m in rx.finditer(text)]
    if not dates._HAS_YEAR_RE.search(text):
        assert direct == []
