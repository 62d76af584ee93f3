"""The clean stage's Beam transform: :func:`to_clean_article` under the run's limits, with
rejects tagged with the stage name and the reason."""
from __future__ import annotations

from pipeline.stages.base import ApplyStage
from pipeline.stages.clean.article import to_clean_article
from pipeline.stages.clean.limited import LimitedClean


class Clean(ApplyStage):
    """Items -> ``(articles, rejects)``; rejects carry stage "clean" and the reason.

    Limits (--max-page-bytes, --extract-timeout) come from the pipeline's options unless given."""

    def __init__(self, limits=None):
        super().__init__("clean", to_clean_article)
        self.limits = limits

    def expand(self, records):
        from pipeline.limits import Limits

        self.fn = LimitedClean(self.limits or Limits.from_options(records.pipeline.options))
        return super().expand(records)
