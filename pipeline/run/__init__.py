"""What a run is: a batch run (``batch``) and a streaming run (``streaming``), from checked options
to a published output and a summary, and what both share (``common``)."""
