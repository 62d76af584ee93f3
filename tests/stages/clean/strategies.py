"""Hypothesis settings and text strategies the clean property tests share."""
from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


#: boilerplate-like lines mixed with prose, so the rules actually fire
LINES = st.sampled_from([
    "Share this article", "Read more »", "Advertisement", "Related posts", "© 2024 The Example Times",
    "Sign up for our newsletter to get the news every morning.", "Photo: Reuters", "Tweet", "",
    "The council approved the new budget on Monday after a long debate.",
    "Officials said the bridge would reopen in June, weeks ahead of schedule.",
    "   spaced\tout  line  ", "By Jane Doe", "Follow us on Facebook", "See also: Earlier story",
])


TEXTS = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(LINES, st.text(max_size=80)), max_size=25).map("\n".join),
)
