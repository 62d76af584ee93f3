"""Moved to :mod:`pipeline.output.ownership`; this path keeps working for code that imports it."""
from pipeline.output.ownership import *  # noqa: F401,F403
from pipeline.output.ownership import MARKER, NotOurs, abandon, adopt, check_inputs_outside, check_output, foreign_path  # noqa: F401
