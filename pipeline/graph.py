"""The whole newsbeam DAG in one place. Nothing else knows the order of the stages.

Batch (:func:`build`)::

    Read files / poll feeds -> Clean (where read) -> SiteBoilerplate -> Language -> Identify -> ExactDedup -> NearDedup -> Entities -> Stories
         -> Validate -> Write(articles, duplicates, entities, rejects)

Streaming (:func:`build_streaming`), the same per-record stages on unbounded sources::

    Poll feeds every --poll-interval / scan folders every --watch-interval / Pub/Sub -> Clean -> Language -> Identify -> EventTime
         -> StreamingDedup (state per bucket, --dedup-horizon) -> Entities (no run-wide alias table)
         -> Validate -> FixedWindows(--window) -> WriteLive(articles, duplicates, entities, rejects)

What streaming leaves out, and why: the cross-document site boilerplate and the run-wide entity
alias table need the whole input (a global combine); story grouping needs pairs across the whole
input (each article's story_id is its own id, a duplicate's the id of its canonical).

The per-record stages both modes share are segments (``_language_and_identity``, ``_entities``,
``_validated``). Stages hand on ``(records, rejects)``, except the dedup and story stages, whose
second output is the duplicates; batch flattens every rejects output into one dataset, streaming
writes each on its own. The run's limits (``--max-*``, ``--extract-timeout``) are built once here
(:func:`pipeline.options.limits_from`) and passed to the readers and the clean stage.

Progress (batch, ``progress=DIR``): leaf counting steps (:class:`pipeline.progress.CountProgress`)
on the read parts, the entity stage's output and each writer's input; they output nothing.
"""
from __future__ import annotations

import apache_beam as beam

from pipeline.output.datasets import WriteDataset, WriteInputCount, WriteSkipCounts
from pipeline.io.files import ReadArticleParts
from pipeline.options import NewsbeamOptions, limits_from, local_runner
from pipeline.progress import ARTICLES, DUPLICATES, ENTITIES, INPUTS, REJECTS, count_steps, upstream
from pipeline.stages.base import ApplyStage
from pipeline.stages.clean import Clean
from pipeline.stages.dedup import ExactDedup, NearDedup
from pipeline.stages.identify import STAGE_IDENTIFY, identify
from pipeline.stages.language import DetectLanguage
from pipeline.stages.sitelines import RemoveSiteBoilerplate
from pipeline.stages.stories import AssignStories, DuplicateStories
from pipeline.stages.validate import ValidateRecords


def _without_entities(article: dict) -> dict:
    prov = dict(article.get("provenance") or {}, entities="skipped: --no-entities")
    return dict(article, entities=[], mentions=[], provenance=prov)


def _entity_rows(article: dict):
    from pipeline.stages.entities import entity_rows

    return entity_rows(article)


# --------------------------------------------------------------------------- segments both modes share


def _language_and_identity(cleaned):
    """Language, then ids and hashes: ``(identified, rejects)``."""
    with_lang, lang_rejects = cleaned | "Language" >> DetectLanguage()
    identified, identify_rejects = with_lang | "Identify" >> ApplyStage(STAGE_IDENTIFY, identify)
    return identified, [lang_rejects, identify_rejects]


def _entities(articles, options: NewsbeamOptions, batch: bool):
    """Named entities (or their absence, said in provenance): ``(articles, rejects)``. Batch adds the
    run-wide alias table and spreads NER over the workers; a stream does neither."""
    if not options.entities:
        return articles | "NoEntities" >> beam.Map(_without_entities), []
    from pipeline.stages.entities import ExtractEntities

    articles, rejects = articles | "Entities" >> ExtractEntities(
        model=options.ner_model, batch_size=options.ner_batch_size, aliases=batch, distribute=batch)
    return articles, [rejects]


def _validated(articles, duplicates):
    """Every row against its JSON Schema, and the entity rows of the valid articles:
    ``(articles, duplicates, entity_rows, rejects)``."""
    articles, article_rejects = articles | "ValidateArticles" >> ValidateRecords("articles")
    duplicates, duplicate_rejects = duplicates | "ValidateDuplicates" >> ValidateRecords("duplicates")
    entity_rows = articles | "EntityRows" >> beam.FlatMap(_entity_rows)
    return articles, duplicates, entity_rows, [article_rejects, duplicate_rejects]


def _formats(options: NewsbeamOptions) -> tuple[str, ...]:
    return ("parquet", "jsonl") if options.format == "both" else (options.format,)


# --------------------------------------------------------------------------- batch


def _retry_before(options: NewsbeamOptions, run_started):
    """``--retry-now``: the run's start (unix seconds; None: now), before which a feed's stored
    back-off is not honoured (see :func:`pipeline.io.feeds.poll.poll_feed`); else None."""
    if not options.retry_now:
        return None
    import datetime as _dt
    import time

    return _dt.datetime.fromtimestamp(run_started if run_started is not None else time.time(), _dt.timezone.utc)


def _read_feeds(pipeline: beam.Pipeline, options: NewsbeamOptions, staging: str, state_dir: str):
    """Poll the listed feeds; their new state is staged and only kept if the run succeeds."""
    from pipeline.io.feeds.fetch import FetchFeeds, WriteFeedStates
    from pipeline.io.feeds.lists import read_feed_list
    from pipeline.io.feeds.state import FeedStateStore
    from pipeline.io.http import FetchSettings

    settings = FetchSettings(timeout=options.fetch_timeout, min_delay=options.host_delay,
                             allow_private_hosts=options.allow_private_hosts)
    feeds = pipeline | "Feeds" >> FetchFeeds(read_feed_list(options.feeds), FeedStateStore(state_dir).load(),
                                             settings, options.fetch_articles,
                                             retry_before=_retry_before(options, None))
    feeds["states"] | "StageFeedState" >> WriteFeedStates(staging)
    return feeds["items"], feeds["rejects"], feeds["skipped"]


def _read_inputs(pipeline: beam.Pipeline, options: NewsbeamOptions, staging: str, state_dir: str, limits):
    """Every source the options name, as ``(item parts, rejects, skipped)``; item parts are
    ``(label, items)``, each cleaned where it was read (see :class:`ReadArticleParts`)."""
    parts, rejects, skipped = [], [], []
    if options.input:
        only_items, spread_items, read_rejects, read_skipped = pipeline | "Read" >> ReadArticleParts(options.input, limits=limits)
        parts += [("Clean", only_items), ("CleanSpread", spread_items)]
        rejects.append(read_rejects)
        skipped.append(read_skipped)
    if options.feeds:
        feed_items, feed_rejects, feed_skipped = _read_feeds(pipeline, options, staging, state_dir)
        parts.append(("CleanFeeds", feed_items))
        rejects.append(feed_rejects)
        skipped.append(feed_skipped)
    if len(rejects) == 1:
        return parts, rejects[0], skipped[0]
    return (parts, rejects | "AllReadRejects" >> beam.Flatten(), skipped | "AllSkipped" >> beam.Flatten())


def _clean(parts: list, limits):
    """Clean every item part where it is, then one PCollection of cleaned articles."""
    cleaned, rejects = [], []
    for label, items in parts:
        part_cleaned, part_rejects = items | label >> Clean(limits)
        cleaned.append(part_cleaned)
        rejects.append(part_rejects)
    if len(cleaned) == 1:
        return cleaned[0], rejects[0]
    return cleaned | "AllCleaned" >> beam.Flatten(), rejects | "AllCleanRejects" >> beam.Flatten()


def build(pipeline: beam.Pipeline, options: NewsbeamOptions, staging: str, state_dir: str,
          progress: str | None = None) -> None:
    """Wire every stage; datasets are written under ``staging`` (published by the CLI).
    ``progress``: the directory the progress counting steps write to (None: no such steps)."""
    formats = _formats(options)
    limits = limits_from(options)

    item_parts, read_rejects, skipped = _read_inputs(pipeline, options, staging, state_dir, limits)
    input_parts = (*(items for _label, items in item_parts), read_rejects, skipped)
    input_parts | "CountInputs" >> WriteInputCount(staging)
    count_steps([(f"ProgressInputs{i}", INPUTS, part) for i, part in enumerate(input_parts)], progress)
    skipped | "CountSkipped" >> WriteSkipCounts(staging)

    cleaned, clean_rejects = _clean(item_parts, limits)
    cleaned, site_rejects = cleaned | "SiteBoilerplate" >> RemoveSiteBoilerplate()
    identified, identity_rejects = _language_and_identity(cleaned)

    unique, exact_duplicates = identified | "ExactDedup" >> ExactDedup()
    articles, duplicates = (unique, exact_duplicates) | "NearDedup" >> NearDedup(
        near_threshold=options.near_threshold,
        excerpt_threshold=options.excerpt_threshold,
        bands=options.lsh_bands)

    articles, entity_rejects = _entities(articles, options, batch=True)
    stage_rejects = [read_rejects, clean_rejects, site_rejects, *identity_rejects, *entity_rejects]
    if options.entities:
        # counted at the NER step's own output: the stage's output waits for its run-wide alias table
        count_steps([("ProgressEntities", ENTITIES, upstream(articles, "NER"))], progress)

    articles, story_of = articles | "Stories" >> AssignStories(
        window_days=options.story_window_days, threshold=options.story_threshold,
        max_bucket=options.story_max_bucket)
    duplicates = (duplicates, story_of) | "DuplicateStories" >> DuplicateStories()

    articles, duplicates, entity_rows, validate_rejects = _validated(articles, duplicates)
    rejects = (stage_rejects + validate_rejects) | "AllRejects" >> beam.Flatten()
    count_steps([("ProgressArticles", ARTICLES, articles), ("ProgressDuplicates", DUPLICATES, duplicates),
                 ("ProgressRejects", REJECTS, rejects)], progress)

    articles | "WriteArticles" >> WriteDataset("articles", staging, formats)
    duplicates | "WriteDuplicates" >> WriteDataset("duplicates", staging, formats)
    entity_rows | "WriteEntities" >> WriteDataset("entities", staging, formats)
    rejects | "WriteRejects" >> WriteDataset("rejects", staging, formats)


# --------------------------------------------------------------------------- streaming


def _unbounded_inputs(pipeline: beam.Pipeline, options: NewsbeamOptions, output: str, state_dir: str,
                      start: float, stop, limits, run_started=None):
    """Every unbounded source the options name, as (items, rejects, skipped)."""
    from pipeline.output.live import CountLive
    from pipeline.io.stream import PollFeedsForever, ReadPubSub, SaveFeedStates, WatchFiles

    sources = []
    if options.feeds:
        from pipeline.io.feeds.lists import read_feed_list
        from pipeline.io.feeds.state import FeedStateStore
        from pipeline.io.http import FetchSettings

        settings = FetchSettings(timeout=options.fetch_timeout, min_delay=options.host_delay,
                                 allow_private_hosts=options.allow_private_hosts)
        feeds = pipeline | "PollFeeds" >> PollFeedsForever(
            read_feed_list(options.feeds), FeedStateStore(state_dir).load(), settings,
            interval=options.poll_interval, start=start, stop=stop, fetch_articles=options.fetch_articles,
            paced=local_runner(options), retry_before=_retry_before(options, run_started if run_started else start))
        feeds["states"] | "SaveFeedState" >> SaveFeedStates(state_dir)
        feeds["states"] | "CountPolls" >> CountLive("polls", output)
        sources.append((feeds["items"], feeds["rejects"], feeds["skipped"]))
    if options.watch:
        sources.append(pipeline | "Watch" >> WatchFiles(options.watch, options.watch_interval, start, stop,
                                                        state_dir, paced=local_runner(options), scans_root=output,
                                                        limits=limits))
    if options.pubsub_subscription:
        sources.append(pipeline | "PubSub" >> ReadPubSub(options.pubsub_subscription, limits))
    if len(sources) == 1:
        return sources[0]
    return tuple(parts | f"All{name}" >> beam.Flatten()
                 for name, parts in zip(("Items", "ReadRejects", "Skipped"), zip(*sources)))


def build_streaming(pipeline: beam.Pipeline, options: NewsbeamOptions, output: str, state_dir: str,
                    start: float, stop=None, dedup_seed=None, run_started=None) -> None:
    """Wire the streaming graph; files land under ``output`` while it runs. ``dedup_seed``: what
    the dedup state starts from (:func:`pipeline.stages.dedup.streaming.seed_entries`). ``run_started``:
    when the whole run started (unix seconds; default ``start``), for ``--retry-now``: a local run
    is a series of jobs, and only back-off stored before the run is ignored."""
    from pipeline.output.live import CountLive, WriteLive
    from pipeline.io.stream import AssignEventTime
    from pipeline.stages.dedup.streaming import StreamingDedup

    formats = _formats(options)
    limits = limits_from(options)
    items, read_rejects, skipped = _unbounded_inputs(pipeline, options, output, state_dir, start, stop, limits,
                                                     run_started)
    # No Flatten on the way to the writers: the FnApiRunner (local streaming) drains a Flatten of
    # several steps only when the job ends, so each branch is counted and written on its own.
    for name, part in (("Items", items), ("ReadRejects", read_rejects), ("Skipped", skipped)):
        part | f"CountInputs{name}" >> CountLive("inputs", output)
    skipped | "CountSkipped" >> CountLive("skipped", output)

    cleaned, clean_rejects = items | "Clean" >> Clean(limits)
    identified, identity_rejects = _language_and_identity(cleaned)
    timed = identified | "EventTime" >> AssignEventTime(options.event_time_tolerance)
    articles, duplicates = timed | "StreamingDedup" >> StreamingDedup(
        horizon_seconds=options.dedup_horizon, timers=not local_runner(options), seed=dedup_seed)

    articles, entity_rejects = _entities(articles, options, batch=False)
    articles, duplicates, entity_rows, validate_rejects = _validated(articles, duplicates)
    stage_rejects = [read_rejects, clean_rejects, *identity_rejects, *entity_rejects, *validate_rejects]

    window = beam.window.FixedWindows(options.window)
    lateness = options.allowed_lateness
    outputs = [("articles", "Articles", articles), ("duplicates", "Duplicates", duplicates),
               ("entities", "Entities", entity_rows)]
    outputs += [("rejects", f"Rejects{i}", part) for i, part in enumerate(stage_rejects)]
    for dataset, label, records in outputs:
        (records
         | f"Window{label}" >> beam.WindowInto(window, allowed_lateness=lateness)
         | f"Write{label}" >> WriteLive(dataset, output, formats))
