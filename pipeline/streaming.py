"""The streaming run moved to :mod:`pipeline.run.streaming`; this path keeps working for code that
imports it (``segment_bounds``, ``run_streaming``, ...)."""
from pipeline.run.streaming import *  # noqa: F401,F403
from pipeline.run.streaming import (add_counters, dedup_seed, live_manifest, run_job, run_segment_child,  # noqa: F401
                                    run_streaming, segment_bounds, segment_main, status_line, streaming_options)
