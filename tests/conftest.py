"""Shared fixtures: records that satisfy the contracts, built by the tests themselves."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEEDS = SHARED / "corpus" / "seeds"

needs_seeds = pytest.mark.skipif(not SEEDS.exists(), reason="../shared/corpus/seeds not present")


def make_article(**overrides) -> dict:
    from pipeline.stages.dedup import identify

    base = {
        "url": "https://news.example.com/2024/03/12/bridge",
        "source": "example.com",
        "site_name": "Example News",
        "title": "Council approves bridge",
        "text": "The council voted on Tuesday to build a bridge.\n\nThe mayor welcomed the vote.",
        "lang": "en",
        "published_at": "2024-03-12T18:30:00Z",
        "authors": ["Maria Lopez"],
        "provenance": {"input_uri": "in/a.html", "offset": 0, "format": "html",
                       "clean": {"removed": {"share": 2}}, "lang_confidence": 0.99},
    }
    base.update(overrides)
    return identify(base)


@pytest.fixture
def article():
    return make_article()
