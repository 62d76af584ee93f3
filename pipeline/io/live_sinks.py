"""Moved to :mod:`pipeline.output.live`; this path keeps working for code that imports it."""
from pipeline.output.live import *  # noqa: F401,F403
from pipeline.output.live import (DATASETS, STREAM_DIR, CountLive, WriteLive, live_counts,  # noqa: F401
                                  newest_file_age, stream_counts, window_label)
