"""The clean stage's Beam transform: :func:`to_clean_article` under the run's limits, with
rejects tagged with the stage name and the reason."""
from __future__ import annotations

from pipeline.limits import DEFAULT
from pipeline.stages.base import ApplyStage
from pipeline.stages.clean.article import to_clean_article
from pipeline.stages.clean.limited import LimitedClean


class Clean(ApplyStage):
    """Items -> :class:`~pipeline.stages.base.StageOutput` of articles; rejects carry stage "clean" and the reason.

    ``limits`` (--max-page-bytes, --extract-timeout): graph.py passes the run's; default the defaults."""

    def __init__(self, limits=None):
        super().__init__("clean", to_clean_article)
        self.limits = limits

    def expand(self, records):
        self.fn = LimitedClean(self.limits or DEFAULT)
        return super().expand(records)
