"""Dataset-level data quality: Great Expectations suites over every output partition.

``suites``  loads ``schemas/expectations/*.json`` and runs them with an ephemeral GE context
``runner``  reads an output directory partition by partition and runs every check
``report``  renders the results as one self-contained HTML file (inline SVG charts)
``inspect`` a terminal summary of an output directory

Great Expectations takes seconds to import, so nothing here imports it at module level.
"""
