"""The stories fixtures, identified once per test module."""
import pytest

from tests.stages.stories.samples import ALL_FIXTURES, make


@pytest.fixture(scope="module")
def fixtures() -> dict:
    return {name: make(name) for name in ALL_FIXTURES}
