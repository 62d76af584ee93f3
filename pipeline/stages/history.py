"""Dedup against the tables: what a batch run in append mode does with items already stored.

Before exact and near dedup, every identified article is checked against the keys of the stored
``articles`` and ``duplicates`` rows (id, content_hash, story_id, provenance input_uri + offset;
never the text), read once per run as a side input with column projection:

- the same input item (same ``input_uri`` and ``offset``) with the same content hash is stored
  already: it is a skip, reason :data:`ALREADY_INGESTED` (rerunning an input commits no new rows);
- otherwise a copy whose id or content hash is a stored article's is a duplicate of that article
  (``duplicate_of`` = the stored id; kind ``exact`` for the same content hash, ``update`` for the
  same id (URL) with other text, similarity 1.0 / 0.0 (not measured: the stored text is not read),
  the stored copy kept either way);
- everything else goes on to the run's own dedup.

Rejects too: a reject whose input item, stage and reason are stored already is a skip
(:class:`StoredRejects`), so rerunning an input with bad items adds no rows either.

Which stored rows are read: those published within ``horizon_seconds`` of the input's own days
(day-partition pruning: [first day - horizon, last day + horizon]), plus every undated row. The
tables are read at the snapshots the run started from (:attr:`HistoryConfig.snapshots`), so the
same input, options and starting snapshot give the same rows.

Stories too (:class:`StoredStories`, issues 20 and 22): every batch run commits a ``story_index``
table with the articles (one row per story leader: ids, date, language, its term and entity
weights; never the text). In append mode the stories stage gets, as a side input read once per
run, the stored leaders published within ``--story-window-days`` of the input's days (plus the
undated ones), read at the run's starting snapshot of ``story_index``; a new article whose most
similar leader is a stored one (score >= threshold, within the window) takes that stored story's
id (:func:`pipeline.stages.stories.resolve_stories`). Stored rows are never rewritten: a stored
leader stays its story's leader even when a later member is more complete.

Near copies and excerpts too (:class:`NearAgainstHistory`, issue 20): every batch run commits a
``near_index`` table with the articles (one row per stored article: id, story id, the canonical
rank's word count and date, the bottom-k sketch and the candidate keys; never the text). In
append mode, after the exact/URL step above, each new article is compared with the stored rows of
the same window as the keys (read once per run at the run's starting snapshot of ``near_index``)
that share one of its candidate keys, on the sketches, with one run's
:func:`~pipeline.stages.dedup.near.classify_pair`
(:func:`pipeline.stages.dedup.stored.match_stored`): a near copy or an excerpt of a stored
article becomes its duplicate (kind ``near`` / ``excerpt``, the similarity measured on the
sketches, decision ``duplicate:<kind>:<stored id>:stored``, the stored story id); the
best-ranked stored match wins. The run's own dedup then sees only the articles that copy nothing
stored.

Not here yet: a more complete copy (the full text of a stored excerpt) replacing the stored one
(both stay articles); a near copy that ranks better than the stored one (more words) is its
duplicate all the same, as in streaming dedup (stored rows are never rewritten). An article of
the run is matched with the stored articles directly, never through another article of the run. Stored articles committed before ``near_index`` existed have no row.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.records import make_skip
from pipeline.stages.dedup.canonical import as_duplicate

if TYPE_CHECKING:
    from pipeline.stages.dedup.near import NearDedupConfig
    from pipeline.stages.dedup.stored import StoredNear
    from pipeline.stages.stories import StoredLeaders

STAGE_HISTORY = "history"
ALREADY_INGESTED = "already ingested"
#: the tables a run reads at its starting snapshots: the keys of stored articles, stored copies and
#: rejects (for "already ingested"), the story index (stored story leaders, for the stories stage)
#: and the near-duplicate index (stored sketches and keys, for :class:`NearAgainstHistory`)
KEY_TABLES = ("articles", "duplicates", "rejects", "story_index", "near_index")


@dataclass(frozen=True)
class HistoryConfig:
    """Where the stored rows are and which of them a run sees.

    ``output``: the output directory (embedded catalog) or ``catalog_options`` for another catalog;
    ``snapshots``: (dataset, snapshot id) the run started from, bound by the run (:meth:`at`);
    ``horizon_seconds``: how far from the input's days stored rows are read."""

    output: str
    horizon_seconds: float
    catalog_options: tuple[tuple[str, str], ...] = ()
    snapshots: tuple[tuple[str, Optional[int]], ...] = field(default=())

    def at(self, snapshots: dict) -> "HistoryConfig":
        from dataclasses import replace

        return replace(self, snapshots=tuple(sorted(snapshots.items())))

    @property
    def empty(self) -> bool:
        return not any(snapshot for _dataset, snapshot in self.snapshots)


class StoredIndex(NamedTuple):
    """Stored keys, as lookups: (input_uri, offset) -> content hashes; article id and content
    hash -> (stored id, its story id); the stored rejects' (input_uri, offset, stage, reason)."""

    by_input: dict
    by_id: dict
    by_hash: dict
    rejects: frozenset = frozenset()


def build_index(articles, duplicates, rejects=()) -> StoredIndex:
    """A :class:`StoredIndex` from key rows (dicts with id, content_hash, story_id, input_uri, offset)."""
    by_input: dict = {}
    by_id: dict = {}
    by_hash: dict = {}
    for row in list(articles) + list(duplicates):
        if row.get("input_uri") is not None:
            by_input.setdefault((row["input_uri"], row.get("offset") or 0), set()).add(row.get("content_hash"))
    for row in articles:
        stored = (row["id"], row.get("story_id") or row["id"])
        by_id.setdefault(row["id"], stored)
        if row.get("content_hash"):
            by_hash.setdefault(row["content_hash"], stored)
    return StoredIndex(by_input, by_id, by_hash, frozenset(tuple(r) for r in rejects))


def reject_key(reject: dict) -> tuple:
    return (reject.get("input_uri"), reject.get("offset") or 0, reject.get("stage"), reject.get("reason"))


def against_history(article: dict, index: StoredIndex):
    """``("skipped", Skip)``, ``("duplicate", duplicate row)`` or ``("new", article)``."""
    prov = article.get("provenance") or {}
    uri, offset = prov.get("input_uri"), prov.get("offset") or 0
    hashes = index.by_input.get((uri, offset))
    if hashes and article.get("content_hash") in hashes:
        return "skipped", make_skip(ALREADY_INGESTED, uri, offset)
    stored = index.by_hash.get(article.get("content_hash"))
    kind, similarity = "exact", 1.0
    if stored is None:
        stored = index.by_id.get(article.get("id"))
        kind, similarity = "update", 0.0
    if stored is None:
        return "new", article
    stored_id, story_id = stored
    return "duplicate", stored_duplicate(article, stored_id, story_id, kind, similarity)


def stored_duplicate(article: dict, stored_id: str, story_id: str, kind: str, similarity: float) -> dict:
    """The duplicate row of a new article that copies the stored ``stored_id``: its decision
    ends ``:stored`` (the canonical is in an earlier commit) and it takes the stored story id."""
    dup = as_duplicate(article, stored_id, kind, similarity)
    dup["provenance"] = dict(dup["provenance"], decisions=list(dup["provenance"]["decisions"][:-1])
                             + [f"duplicate:{kind}:{stored_id}:stored"])
    dup["story_id"] = story_id
    return dup


# --------------------------------------------------------------------------- Beam


def _day(article: dict) -> Optional[str]:
    published = article.get("published_at")
    return str(published)[:10] if published else None


class _DayRange(beam.CombineFn):
    """(first day, last day) of the dated input, as ISO strings; None when nothing is dated."""

    def create_accumulator(self):
        return None

    def add_input(self, acc, day):
        if day is None:
            return acc
        return (day, day) if acc is None else (min(acc[0], day), max(acc[1], day))

    def merge_accumulators(self, accs):
        out = None
        for acc in accs:
            if acc is not None:
                out = acc if out is None else (min(out[0], acc[0]), max(out[1], acc[1]))
        return out

    def extract_output(self, acc):
        return acc


def window_days(day_range, horizon_seconds: float, today: Optional[_dt.date] = None):
    """The stored days a run reads: its input's days widened by the horizon (the run's own day
    when no input item is dated)."""
    if day_range is None:
        first = last = today or _dt.datetime.now(_dt.timezone.utc).date()
    else:
        first, last = (_dt.date.fromisoformat(d) for d in day_range)
    margin = _dt.timedelta(seconds=horizon_seconds)
    return first - margin, last + margin


def load_index(day_range, config: HistoryConfig) -> StoredIndex:
    """The stored keys of the run's window, read at the run's starting snapshots."""
    from pipeline.output import tables

    catalog = tables.open_catalog(config.output, dict(config.catalog_options) or None)
    days = window_days(day_range, config.horizon_seconds)
    snapshots = dict(config.snapshots)
    rows = {dataset: tables.stored_keys(catalog, dataset, snapshots.get(dataset), days).to_pylist()
            for dataset in ("articles", "duplicates")}
    rejects = tables.stored_reject_keys(catalog, snapshots.get("rejects"), days)
    Metrics.counter(STAGE_HISTORY, "stored_keys_read").inc(sum(len(r) for r in rows.values()) + len(rejects))
    return build_index(rows["articles"], rows["duplicates"], rejects)


class _AgainstHistoryFn(beam.DoFn):
    def __init__(self):
        self.counters = {kind: Metrics.counter(STAGE_HISTORY, kind) for kind in ("skipped", "duplicate", "new")}

    def process(self, article, index):
        kind, row = against_history(article, index)
        self.counters[kind].inc()
        if kind == "new":
            yield row
        else:
            yield beam.pvalue.TaggedOutput(kind, row)


class HistoryOutput(NamedTuple):
    records: beam.PCollection
    duplicates: beam.PCollection
    skipped: beam.PCollection
    index: beam.PCollection  # the StoredIndex, one element (for :class:`StoredRejects`)


def _split_reject(reject: dict, index: StoredIndex):
    if reject_key(reject) in index.rejects:
        yield beam.pvalue.TaggedOutput("skipped", make_skip(ALREADY_INGESTED, reject.get("input_uri"),
                                                            reject.get("offset") or 0))
    else:
        yield reject


class StoredRejects(beam.PTransform):
    """Rejects -> (rejects not stored yet, skips of those already stored from the same input item:
    same input_uri, offset, stage and reason). Returns ``(rejects, skipped)``."""

    def __init__(self, index):
        super().__init__()
        self.index = index

    def expand(self, rejects):
        out = rejects | "Split" >> beam.FlatMap(_split_reject, beam.pvalue.AsSingleton(self.index)).with_outputs(
            "skipped", main="rejects")
        return out.rejects, out.skipped


class AgainstHistory(beam.PTransform):
    """Identified articles -> (new articles, duplicates of stored articles, already-ingested skips)."""

    def __init__(self, config: HistoryConfig):
        super().__init__()
        self.config = config

    def expand(self, articles):
        day_range = (articles
                     | "Day" >> beam.Map(_day)
                     | "DayRange" >> beam.CombineGlobally(_DayRange()))
        index = day_range | "StoredKeys" >> beam.Map(load_index, self.config)
        out = articles | "Match" >> beam.ParDo(_AgainstHistoryFn(), beam.pvalue.AsSingleton(index)).with_outputs(
            "duplicate", "skipped", main="records")
        return HistoryOutput(out.records, out.duplicate, out.skipped, index)


# --------------------------------------------------------------------------- stored stories


def load_stored_leaders(day_range, config: HistoryConfig, stories) -> "StoredLeaders":
    """The stored story leaders of the run's story window (the input's days widened by
    ``stories.window_days``, plus undated leaders), from the ``story_index`` table at the run's
    starting snapshot: what :class:`~pipeline.stages.stories.AssignStories` matches new articles
    against. Never the stored text: the index holds features only."""
    from pipeline.output import tables
    from pipeline.stages.stories import stored_leaders

    snapshot = dict(config.snapshots).get("story_index")
    rows = _Counted()
    if snapshot is not None:
        catalog = tables.open_catalog(config.output, dict(config.catalog_options) or None)
        days = window_days(day_range, stories.window_days * 86400.0)
        rows = _Counted(tables.iter_stored_index(catalog, "story_index", snapshot, days))
    leaders = stored_leaders(rows, stories.top_terms, stories.max_bucket)
    Metrics.counter(STAGE_HISTORY, "stored_leaders_read").inc(rows.count)
    return leaders


class _Counted:
    """An iterable read once, counting what went through (a stored index, a batch at a time)."""

    def __init__(self, rows=()):
        self.rows, self.count = rows, 0

    def __iter__(self):
        for row in self.rows:
            self.count += 1
            yield row


class StoredStories(beam.PTransform):
    """Articles -> one element: the :class:`~pipeline.stages.stories.StoredLeaders` of their story
    window, read once per run (a side input of the stories stage)."""

    def __init__(self, config: HistoryConfig, stories):
        super().__init__()
        self.config = config
        self.stories = stories

    def expand(self, articles):
        return (articles
                | "Day" >> beam.Map(_day)
                | "DayRange" >> beam.CombineGlobally(_DayRange())
                | "StoredLeaders" >> beam.Map(load_stored_leaders, self.config, self.stories))


# --------------------------------------------------------------------------- stored near copies


def load_stored_near(day_range, config: HistoryConfig, near: "NearDedupConfig") -> "StoredNear":
    """The ``near_index`` rows of the run's dedup window (the input's days +- the horizon, plus
    undated rows, as :func:`load_index`) at the run's starting snapshot, as lookups."""
    from pipeline.output import tables
    from pipeline.stages.dedup.stored import stored_near

    snapshot = dict(config.snapshots).get("near_index")
    rows = _Counted()
    if snapshot is not None:
        catalog = tables.open_catalog(config.output, dict(config.catalog_options) or None)
        rows = _Counted(tables.iter_stored_index(catalog, "near_index", snapshot,
                                                 window_days(day_range, config.horizon_seconds)))
    stored = stored_near(rows, near.max_bucket)
    Metrics.counter(STAGE_HISTORY, "stored_sketches_read").inc(rows.count)
    return stored


def near_against_history(article: dict, stored: "StoredNear", near: "NearDedupConfig"):
    """``("duplicate", duplicate row)`` when the article is a near copy or an excerpt of a stored
    one (:func:`~pipeline.stages.dedup.stored.match_stored`), else ``("new", article)``."""
    from pipeline.stages.dedup.stored import match_stored

    match = match_stored(near.features(article), stored, near.near_threshold, near.excerpt_threshold)
    if match is None:
        return "new", article
    return "duplicate", stored_duplicate(article, match.stored_id, match.story_id, match.kind, match.similarity)


class _NearAgainstHistoryFn(beam.DoFn):
    def __init__(self, near: "NearDedupConfig"):
        self.near = near
        self.counters = {kind: Metrics.counter(STAGE_HISTORY, f"{kind}_of_stored") for kind in ("near", "excerpt")}

    def process(self, article, stored):
        kind, row = near_against_history(article, stored, self.near)
        if kind == "new":
            yield row
        else:
            self.counters[row["kind"]].inc()
            yield beam.pvalue.TaggedOutput("duplicate", row)


class NearHistoryOutput(NamedTuple):
    records: beam.PCollection
    duplicates: beam.PCollection


class NearAgainstHistory(beam.PTransform):
    """New articles (after :class:`AgainstHistory`) -> (those that copy no stored article, near
    copies and excerpts of stored articles as their duplicates). The stored sketches of the
    window are read once per run, a side input."""

    def __init__(self, config: HistoryConfig, near: "NearDedupConfig"):
        super().__init__()
        self.config = config
        self.near = near

    def expand(self, articles):
        stored = (articles
                  | "Day" >> beam.Map(_day)
                  | "DayRange" >> beam.CombineGlobally(_DayRange())
                  | "StoredSketches" >> beam.Map(load_stored_near, self.config, self.near))
        out = articles | "Match" >> beam.ParDo(_NearAgainstHistoryFn(self.near), beam.pvalue.AsSingleton(stored)
                                               ).with_outputs("duplicate", main="records")
        return NearHistoryOutput(out.records, out.duplicate)
