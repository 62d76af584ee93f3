"""Moved to :mod:`pipeline.output` (files, batch writers, publishing) and :mod:`pipeline.schemas`
(Arrow schemas); this path keeps working for code that imports it."""
from pipeline.output.datasets import (INPUTS_FILE, SKIPPED_FILE, WriteDataset, WriteInputCount,  # noqa: F401
                                      WriteSkipCounts, read_input_count, read_skip_counts)
from pipeline.output.files import (DATASETS, PARQUET_OPTIONS, SORT_FIELDS, count_rows, dataset_counts,  # noqa: F401
                                   file_encoders, file_rows, jsonl_gz_bytes, list_dataset_files, parquet_bytes,
                                   partition_path, sha256_file, write_bytes)
from pipeline.output.publish import (JOURNAL, MANIFEST, STAGING_PREFIX, clean_leftovers,  # noqa: F401
                                     interrupted_publish, library_versions, publish, staging_dir, write_manifest)
from pipeline.schemas import PARTITIONS, arrow_schema  # noqa: F401
