"""The entity extractor, loaded once per test module (the model is cached per process anyway)."""
from __future__ import annotations

import pytest

from pipeline.stages.entities.extract import EntityExtractor


@pytest.fixture(scope="module")
def extractor():
    ex = EntityExtractor()
    ex.nlp  # load once for the whole module (cached per process anyway)
    return ex
