"""The whole newsbeam DAG in one place. Nothing else knows the order of the stages.

Batch (:func:`build`)::

    Read files / poll feeds -> Clean (where read) -> SiteBoilerplate -> Language -> Identify
         -> History (append mode, when the tables hold rows: already ingested -> skipped, copies of stored
            articles -> duplicates; then near copies and excerpts of stored articles -> duplicates;
            the stored story leaders of the window, for Stories)
         -> ExactDedup -> NearDedup -> Entities -> Stories (new articles join stored stories or make new ones)
         -> Validate -> Write(articles, duplicates, entities, rejects, story_index, near_index) (staged; the
            run commits them to the tables)

Streaming (:func:`build_streaming`), the same per-record stages on unbounded sources::

    Poll feeds every --poll-interval / scan folders every --watch-interval / Pub/Sub -> Clean -> Language -> Identify -> EventTime
         -> StreamingDedup (state per bucket, --dedup-horizon) -> Entities (no run-wide alias table)
         -> Validate -> FixedWindows(--window) -> WriteLive(articles, duplicates, entities, rejects)

What streaming leaves out, and why: the cross-document site boilerplate and the run-wide entity
alias table need the whole input (a global combine); story grouping needs pairs across the whole
input (each article's story_id is its own id, a duplicate's the id of its canonical).

The contracts: every reader returns a :class:`pipeline.io.source.Source` ``(items, rejects, skipped,
states)``; every stage a :class:`pipeline.stages.base.StageOutput` ``(records, rejects, duplicates)``
(the dedup and story stages take ``(records, duplicates)``). Each stage gets its frozen config from
the run's :class:`pipeline.options.RunConfig`, built once here (:func:`pipeline.options.run_config`);
no stage reads options. The per-record stages both modes share are segments
(``_language_and_identity``, ``_entities``, ``_validated``). Batch flattens every rejects output
into one dataset; streaming writes each on its own.

Progress (batch, ``progress=DIR``): leaf counting steps (:class:`pipeline.progress.CountProgress`)
on the read parts, the entity stage's output and each writer's input; they output nothing.
"""
from __future__ import annotations

import apache_beam as beam

from pipeline.io.files import ReadArticleParts
from pipeline.io.source import Source
from pipeline.options import NewsbeamOptions, RunConfig, local_runner, run_config
from pipeline.output.datasets import WriteDataset, WriteInputCount, WriteSkipCounts
from pipeline.progress import ARTICLES, DUPLICATES, ENTITIES, INPUTS, REJECTS, count_steps, upstream
from pipeline.stages.base import ApplyStage, StageOutput
from pipeline.stages.clean import Clean
from pipeline.stages.dedup import ExactDedup, NearDedup
from pipeline.stages.dedup.stored import NearIndex
from pipeline.stages.history import AgainstHistory, NearAgainstHistory, StoredRejects, StoredStories
from pipeline.stages.identify import STAGE_IDENTIFY, identify
from pipeline.stages.language import DetectLanguage
from pipeline.stages.sitelines import RemoveSiteBoilerplate
from pipeline.stages.stories import Stories, StoryIndex
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
    with_lang = cleaned | "Language" >> DetectLanguage()
    identified = with_lang.records | "Identify" >> ApplyStage(STAGE_IDENTIFY, identify)
    return identified.records, [with_lang.rejects, identified.rejects]


def _entities(articles, config: RunConfig, batch: bool):
    """Named entities (or their absence, said in provenance): ``(articles, rejects)``. Batch adds the
    run-wide alias table and spreads NER over the workers; a stream does neither."""
    if config.entities is None:
        return articles | "NoEntities" >> beam.Map(_without_entities), []
    from pipeline.stages.entities import ExtractEntities

    found = articles | "Entities" >> ExtractEntities(config.entities, aliases=batch, distribute=batch)
    return found.records, [found.rejects]


def _validated(articles, duplicates):
    """Every row against its JSON Schema, and the entity rows of the valid articles:
    ``(articles, duplicates, entity_rows, rejects)``."""
    articles = articles | "ValidateArticles" >> ValidateRecords("articles")
    duplicates = duplicates | "ValidateDuplicates" >> ValidateRecords("duplicates")
    entity_rows = articles.records | "EntityRows" >> beam.FlatMap(_entity_rows)
    return articles.records, duplicates.records, entity_rows, [articles.rejects, duplicates.rejects]


# --------------------------------------------------------------------------- batch


def _retry_before(options: NewsbeamOptions, run_started):
    """``--retry-now``: the run's start (unix seconds; None: now), before which a feed's stored
    back-off is not honoured (see :func:`pipeline.io.feeds.poll.poll_feed`); else None."""
    if not options.retry_now:
        return None
    import datetime as _dt
    import time

    return _dt.datetime.fromtimestamp(run_started if run_started is not None else time.time(), _dt.timezone.utc)


def _read_feeds(pipeline: beam.Pipeline, options: NewsbeamOptions, config: RunConfig, staging: str,
                state_dir: str) -> Source:
    """Poll the listed feeds; their new state is staged and only kept if the run succeeds."""
    from pipeline.io.feeds.fetch import FetchFeeds, WriteFeedStates
    from pipeline.io.feeds.lists import read_feed_list
    from pipeline.io.feeds.state import FeedStateStore

    feeds = pipeline | "Feeds" >> FetchFeeds(read_feed_list(options.feeds), FeedStateStore(state_dir).load(),
                                             config.fetch, options.fetch_articles,
                                             retry_before=_retry_before(options, None), limits=config.limits)
    feeds.states | "StageFeedState" >> WriteFeedStates(staging)
    return feeds


def _read_inputs(pipeline: beam.Pipeline, options: NewsbeamOptions, config: RunConfig, staging: str,
                 state_dir: str, input_parts=None, feeds: bool = True) -> tuple[list, Source]:
    """Every source the options name: ``(labelled item parts, Source of them all)``; each part is
    ``(label, items)``, cleaned where it was read (see :class:`ReadArticleParts`). ``input_parts``:
    only these parts of the input files (one segment of a run); ``feeds``: poll the feed list."""
    sources, parts = [], []
    if options.input and (input_parts is None or input_parts):
        files = pipeline | "Read" >> ReadArticleParts(options.input, limits=config.limits, field_map=config.field_map,
                                                      parts=input_parts)
        parts += zip(("Clean", "CleanSpread"), files.items)
        sources.append(files)
    if options.feeds and feeds:
        feeds = _read_feeds(pipeline, options, config, staging, state_dir)
        parts += [("CleanFeeds", feeds.items[0])]
        sources.append(feeds)
    if len(sources) == 1:
        return parts, sources[0]
    return parts, Source(tuple(items for _label, items in parts),
                         [s.rejects for s in sources] | "AllReadRejects" >> beam.Flatten(),
                         [s.skipped for s in sources] | "AllSkipped" >> beam.Flatten())


def _clean(parts: list, config: RunConfig) -> StageOutput:
    """Clean every item part where it is, then one PCollection of cleaned articles."""
    outputs = [items | label >> Clean(config.limits) for label, items in parts]
    if len(outputs) == 1:
        return outputs[0]
    return StageOutput([o.records for o in outputs] | "AllCleaned" >> beam.Flatten(),
                       [o.rejects for o in outputs] | "AllCleanRejects" >> beam.Flatten())


def build(pipeline: beam.Pipeline, options: NewsbeamOptions, staging: str, state_dir: str,
          progress: str | None = None, snapshots: dict | None = None, parts=None, feeds: bool = True) -> None:
    """Wire every stage; datasets are written under ``staging`` (committed by the run).
    ``progress``: the directory the progress counting steps write to (None: no such steps).
    ``snapshots``: dataset -> the snapshot id the run starts from (append mode: the history step
    reads the stored keys as of these; None or no snapshot: nothing stored, no history step).
    ``parts``/``feeds``: one segment of a run cut into segments (``pipeline/run/batch.py``): only
    these :class:`pipeline.io.files.segments.InputPart` of the input, and the feeds or not."""
    config = run_config(options)

    item_parts, read = _read_inputs(pipeline, options, config, staging, state_dir, parts, feeds)
    input_parts = (*read.items, read.rejects, read.skipped)
    input_parts | "CountInputs" >> WriteInputCount(staging)
    count_steps([(f"ProgressInputs{i}", INPUTS, part) for i, part in enumerate(input_parts)], progress)

    cleaned = _clean(item_parts, config)
    sited = cleaned.records | "SiteBoilerplate" >> RemoveSiteBoilerplate()
    identified, identity_rejects = _language_and_identity(sited.records)
    skipped, stored_copies, known, stored_stories = [read.skipped], [], None, None
    history = config.history.at(snapshots or {}) if config.history is not None else None
    if history is not None and not history.empty:
        known = identified | "History" >> AgainstHistory(history)
        stored_stories = identified | "StoredStories" >> StoredStories(history, config.stories)
        identified, skipped, stored_copies = known.records, skipped + [known.skipped], [known.duplicates]
        near_known = identified | "NearHistory" >> NearAgainstHistory(history, config.near_dedup)
        identified, stored_copies = near_known.records, stored_copies + [near_known.duplicates]
    exact = identified | "ExactDedup" >> ExactDedup()
    near = (exact.records, exact.duplicates) | "NearDedup" >> NearDedup(config.near_dedup)
    articles, entity_rejects = _entities(near.records, config, batch=True)
    if config.entities is not None:
        # counted at the NER step's own output: the stage's output waits for its run-wide alias table
        count_steps([("ProgressEntities", ENTITIES, upstream(articles, "NER"))], progress)
    stories = (articles, near.duplicates) | "Stories" >> Stories(config.stories, stored_stories)
    duplicates = stories.duplicates
    if stored_copies:
        duplicates = [duplicates, *stored_copies] | "WithStoredCopies" >> beam.Flatten()
    articles, duplicates, entity_rows, validate_rejects = _validated(stories.records, duplicates)

    stage_rejects = [read.rejects, cleaned.rejects, sited.rejects, *identity_rejects, exact.rejects, near.rejects,
                     *entity_rejects, stories.rejects, *validate_rejects]
    rejects = stage_rejects | "AllRejects" >> beam.Flatten()
    if known is not None:
        rejects, stored_rejects = rejects | "StoredRejects" >> StoredRejects(known.index)
        skipped.append(stored_rejects)
    (skipped | "AllSkippedItems" >> beam.Flatten() if len(skipped) > 1 else skipped[0]) \
        | "CountSkipped" >> WriteSkipCounts(staging)
    count_steps([("ProgressArticles", ARTICLES, articles), ("ProgressDuplicates", DUPLICATES, duplicates),
                 ("ProgressRejects", REJECTS, rejects)], progress)

    articles | "WriteArticles" >> WriteDataset("articles", staging, config.formats)
    duplicates | "WriteDuplicates" >> WriteDataset("duplicates", staging, config.formats)
    entity_rows | "WriteEntities" >> WriteDataset("entities", staging, config.formats)
    rejects | "WriteRejects" >> WriteDataset("rejects", staging, config.formats)
    (articles
     | "StoryIndex" >> StoryIndex(config.stories)
     | "WriteStoryIndex" >> WriteDataset("story_index", staging, ("parquet",)))
    (articles
     | "NearIndex" >> NearIndex(config.near_dedup)
     | "WriteNearIndex" >> WriteDataset("near_index", staging, ("parquet",)))


# --------------------------------------------------------------------------- streaming


def _unbounded_inputs(pipeline: beam.Pipeline, options: NewsbeamOptions, config: RunConfig, output: str,
                      state_dir: str, start: float, stop, run_started=None) -> Source:
    """Every unbounded source the options name, as one :class:`Source` (its items in one part)."""
    from pipeline.io.stream import PollFeedsForever, ReadPubSub, SaveFeedStates, WatchFiles
    from pipeline.output.live import CountLive

    sources = []
    if options.feeds:
        from pipeline.io.feeds.lists import read_feed_list
        from pipeline.io.feeds.state import FeedStateStore

        feeds = pipeline | "PollFeeds" >> PollFeedsForever(
            read_feed_list(options.feeds), FeedStateStore(state_dir).load(), config.fetch,
            interval=options.poll_interval, start=start, stop=stop, fetch_articles=options.fetch_articles,
            paced=local_runner(options), retry_before=_retry_before(options, run_started if run_started else start),
            limits=config.limits)
        feeds.states | "SaveFeedState" >> SaveFeedStates(state_dir)
        feeds.states | "CountPolls" >> CountLive("polls", output)
        sources.append(feeds)
    if options.watch:
        sources.append(pipeline | "Watch" >> WatchFiles(options.watch, options.watch_interval, start, stop,
                                                        state_dir, paced=local_runner(options), scans_root=output,
                                                        limits=config.limits))
    if options.pubsub_subscription:
        sources.append(pipeline | "PubSub" >> ReadPubSub(options.pubsub_subscription, config.limits))
    if len(sources) == 1:
        return sources[0]
    items, rejects, skipped = (parts | f"All{name}" >> beam.Flatten()
                               for name, parts in (("Items", [p for s in sources for p in s.items]),
                                                   ("ReadRejects", [s.rejects for s in sources]),
                                                   ("Skipped", [s.skipped for s in sources])))
    return Source((items,), rejects, skipped)


def build_streaming(pipeline: beam.Pipeline, options: NewsbeamOptions, output: str, state_dir: str,
                    start: float, stop=None, dedup_seed=None, run_started=None) -> None:
    """Wire the streaming graph; files land under ``output`` while it runs. ``dedup_seed``: what
    the dedup state starts from (:func:`pipeline.stages.dedup.streaming.seed_entries`). ``run_started``:
    when the whole run started (unix seconds; default ``start``), for ``--retry-now``: a local run
    is a series of jobs, and only back-off stored before the run is ignored."""
    from pipeline.io.stream import AssignEventTime
    from pipeline.output.live import CountLive, WriteLive
    from pipeline.stages.dedup.streaming import StreamingDedup

    config = run_config(options)
    read = _unbounded_inputs(pipeline, options, config, output, state_dir, start, stop, run_started)
    (items,) = read.items
    # No Flatten on the way to the writers: the FnApiRunner (local streaming) drains a Flatten of
    # several steps only when the job ends, so each branch is counted and written on its own.
    for name, part in (("Items", items), ("ReadRejects", read.rejects), ("Skipped", read.skipped)):
        part | f"CountInputs{name}" >> CountLive("inputs", output)
    read.skipped | "CountSkipped" >> CountLive("skipped", output)

    cleaned = items | "Clean" >> Clean(config.limits)
    identified, identity_rejects = _language_and_identity(cleaned.records)
    timed = identified | "EventTime" >> AssignEventTime(options.event_time_tolerance)
    deduped = timed | "StreamingDedup" >> StreamingDedup(config.streaming_dedup, seed=dedup_seed)
    articles, entity_rejects = _entities(deduped.records, config, batch=False)
    articles, duplicates, entity_rows, validate_rejects = _validated(articles, deduped.duplicates)
    stage_rejects = [read.rejects, cleaned.rejects, *identity_rejects, deduped.rejects, *entity_rejects,
                     *validate_rejects]

    window = beam.window.FixedWindows(options.window)
    lateness = options.allowed_lateness
    outputs = [("articles", "Articles", articles), ("duplicates", "Duplicates", duplicates),
               ("entities", "Entities", entity_rows)]
    outputs += [("rejects", f"Rejects{i}", part) for i, part in enumerate(stage_rejects)]
    for dataset, label, records in outputs:
        (records
         | f"Window{label}" >> beam.WindowInto(window, allowed_lateness=lateness)
         | f"Write{label}" >> WriteLive(dataset, output, config.formats))
