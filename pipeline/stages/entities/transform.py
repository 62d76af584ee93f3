"""The Beam side of the stage: :class:`ExtractEntities` (articles -> :class:`StageOutput`) and
its :class:`EntityConfig`, its DoFns, and the per-article :func:`summarise` and :func:`entity_rows`.

An article whose NER fails is not rejected (the article itself is fine): it is kept with
``entities=[]`` and the reason in ``provenance["entities"]``. NER reads at most --max-ner-chars
characters of an article (cut at a paragraph break): the rest is kept, unannotated, and
``provenance["entities"]`` says how much was read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence, Union

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.windowed_value import WindowedValue

from pipeline import limits
from pipeline.records import EntitySummary, Mention
from pipeline.stages.base import StageOutput, failure_to_reject
from pipeline.stages.entities.aliases import AliasCountsFn, alias_evidence, apply_aliases
from pipeline.stages.entities.extract import DEFAULT_LABELS, MultiExtractor, cut_point
from pipeline.stages.entities.model import resolve_models
from pipeline.stages.entities.places import Gazetteer, gazetteer

STAGE = "entities"


def summarise(mentions: Iterable[Mention]) -> list[EntitySummary]:
    """One entry per (canonical, label): first surface form, count, first offset, country code;
    sorted by (first_offset, canonical, label)."""
    entries: dict[tuple[str, str], EntitySummary] = {}
    for m in sorted(mentions, key=lambda m: (m["start"], m["end"])):
        key = (m["canonical"], m["label"])
        entry = entries.get(key)
        if entry is None:
            entries[key] = EntitySummary(text=m["text"], label=m["label"], canonical=m["canonical"],
                                         count=1, first_offset=m["start"],
                                         country_code=m.get("country_code"))
        else:
            entry["count"] += 1
            if entry["country_code"] is None and m.get("country_code"):
                entry["country_code"] = m["country_code"]
    return sorted(entries.values(), key=lambda e: (e["first_offset"], e["canonical"], e["label"]))


def entity_rows(article: dict) -> list[dict]:
    """Rows of the entities dataset for one article (one per entry of ``article["entities"]``)."""
    return [
        {"article_id": article.get("id"), "canonical": e["canonical"], "label": e["label"],
         "count": e["count"], "first_offset": e["first_offset"], "text": e["text"],
         "country_code": e.get("country_code"),
         "dt": article.get("dt"), "lang": article.get("lang"), "source": article.get("source")}
        for e in article.get("entities") or []
    ]


# --------------------------------------------------------------------------- Beam

def _language(article: dict) -> str:
    lang = article.get("lang")
    return re.split(r"[-_]", str(lang).lower())[0] if lang else ""


def ner_cut(text, max_chars: int) -> tuple[Any, Optional[str]]:
    """The part of ``text`` NER reads (at most ``max_chars`` characters, cut at a paragraph break,
    else a line, sentence or word break; 0: all) and, when that is not all, the note for
    ``provenance["entities"]``."""
    if not isinstance(text, str) or not max_chars or max_chars < 1 or len(text) <= max_chars:
        return text, None
    cut = cut_point(text, 0, max_chars)
    return text[:cut], (f"partial: named entities of the first {cut:,} of {len(text):,} characters only "
                        f"(over {limits.flag('max_ner_chars')} {max_chars:,}); the rest of the text is "
                        "not annotated; raise the limit to annotate it")


def _error_text(exc: BaseException, limit: int = 500) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[:limit] + "..."


class ExtractFn(beam.DoFn):
    """Articles -> articles with ``mentions`` and ``entities``; non-dict elements to the
    ``rejects`` output.

    Articles are handed to spaCy in batches of ``batch_size`` gathered within a bundle (the last
    partial batch in ``finish_bundle``), and each one leaves with its own timestamp and window.
    Beam's ``BatchElements`` did the batching before: in the global window it stamps every batch
    with the end of the window, so a streaming article lost its event time here and the writers'
    ``FixedWindows`` put it in a window near MAX_TIMESTAMP (``OverflowError`` in the writer).
    """

    REJECTS = "rejects"

    def __init__(self, models: Union[str, dict], languages: Optional[Sequence[str]], batch_size: int,
                 labels: Optional[Iterable[str]], max_chars: int = limits.MAX_NER_CHARS, fallback: bool = True):
        # models: lang -> package (resolved); a bare package name is the English model alone
        self.models = dict(models) if isinstance(models, dict) else {"en": models}
        self.max_chars = max_chars
        self.languages = frozenset(lang.lower() for lang in languages) if languages is not None else None
        self.fallback = fallback
        self.batch_size = batch_size
        self.labels = tuple(labels) if labels is not None else None
        self._extractor: Optional[MultiExtractor] = None
        self._articles = Metrics.counter(STAGE, "articles")
        self._mentions = Metrics.counter(STAGE, "mentions")
        self._failed = Metrics.counter(STAGE, "failed")
        self._skipped = Metrics.counter(STAGE, "skipped_language")
        self._fallback = Metrics.counter(STAGE, "fallback_language")
        self._partial = Metrics.counter(STAGE, "partial")

    def setup(self):
        models = {lang: m for lang, m in self.models.items() if self.languages is None or lang in self.languages}
        self._extractor = MultiExtractor(models, self.labels, fallback=self.fallback)
        english = self._extractor.extractor("en")
        if english is not None:
            english.nlp  # load now, once per worker (cached per process); other languages on first use
        from pipeline.stages.entities.places import gazetteer as _gazetteer

        _gazetteer()
        import wordfreq  # its English list (for stray one-word places) loads on first use: now

        wordfreq.zipf_frequency("the", "en")

    def _finish(self, article: dict, mentions: list, note: Optional[str]) -> dict:
        """``note``: why entities are missing ("skipped: ...", "failed: ..."), None when extracted."""
        out = dict(article)
        out["mentions"] = mentions
        out["entities"] = summarise(mentions)
        out["provenance"] = {**(article.get("provenance") or {}), STAGE: note}
        self._articles.inc()
        self._mentions.inc(len(mentions))
        return out

    def start_bundle(self):
        self._pending: list[WindowedValue] = []

    def process(self, article, timestamp=beam.DoFn.TimestampParam, window=beam.DoFn.WindowParam):
        self._pending.append(WindowedValue(article, timestamp, (window,)))
        if len(self._pending) >= self.batch_size:
            yield from self._flush()

    def finish_bundle(self):
        yield from self._flush()

    def _flush(self):
        """The pending articles, extracted as one batch, each in its own timestamp and window."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        for held, result in zip(pending, self._extract_batch([held.value for held in pending])):
            if isinstance(result, beam.pvalue.TaggedOutput):
                yield beam.pvalue.TaggedOutput(result.tag, held.with_value(result.value))
            else:
                yield held.with_value(result)

    def _extract_batch(self, batch: list) -> list:
        """One output per element of ``batch``, in order: an article, or a TaggedOutput reject."""
        results: list[Any] = [None] * len(batch)
        todo: list[int] = []
        for i, article in enumerate(batch):
            if not isinstance(article, dict):
                err = TypeError(f"expected an article dict, got {type(article).__name__}")
                results[i] = beam.pvalue.TaggedOutput(self.REJECTS, failure_to_reject(
                    (article, (TypeError, repr(err), "")), STAGE))
            elif self.languages is not None and _language(article) not in self.languages:
                self._skipped.inc()
                results[i] = self._finish(
                    article, [], f"skipped: language {article.get('lang') or 'unknown'} not covered by the model")
            else:
                todo.append(i)
        cuts = [ner_cut(batch[i].get("text") or "", self.max_chars) for i in todo]
        texts = [text for text, _ in cuts]
        langs = [_language(batch[i]) for i in todo]
        try:
            found = self._extractor.annotate_many(texts, langs, batch_size=self.batch_size)
        except Exception:  # one bad article must not sink the others: retry one by one
            found = []
            for text, lang in zip(texts, langs):
                try:
                    found.append(self._extractor.annotate_many([text], [lang])[0])
                except Exception as exc:  # noqa: BLE001 - recorded in provenance and counted
                    found.append(exc)
        for i, result, (_, partial) in zip(todo, found, cuts):
            if isinstance(result, BaseException):
                self._failed.inc()
                results[i] = self._finish(batch[i], [], f"failed: {_error_text(result)}")
                continue
            mentions, note = result
            if note and note.startswith("skipped"):
                self._skipped.inc()
            elif note:
                self._fallback.inc()
            if partial:
                self._partial.inc()
            notes = [n for n in (note, partial) if n]
            results[i] = self._finish(batch[i], mentions, "; ".join(notes) if notes else None)
        return results


def evidence(article: dict) -> list:
    return alias_evidence(article.get("mentions") or [])


class ApplyAliasesFn(beam.DoFn):
    """Articles -> articles whose bare names the run's alias table resolved (side input)."""

    def __init__(self):
        self._changed = Metrics.counter(STAGE, "aliased_mentions")
        self._gaz: Optional[Gazetteer] = None

    def setup(self):
        self._gaz = gazetteer()

    def process(self, article, table):
        mentions = article.get("mentions") or []
        if not mentions:
            yield article
            return
        resolved = apply_aliases(mentions, table, self._gaz)
        changed = sum(a["canonical"] != b["canonical"] for a, b in zip(mentions, resolved))
        if not changed:
            yield article
            return
        self._changed.inc(changed)
        yield dict(article, mentions=resolved, entities=summarise(resolved))


@dataclass(frozen=True)
class EntityConfig:
    """Which models find entities, in which articles, how many per call (one value per run).

    ``model`` (``--ner-model``, repeatable): ``LANG=PACKAGE`` values (a bare ``PACKAGE`` is the
    English model), None for the defaults (:func:`pipeline.stages.entities.model.resolve_models`:
    English, and French when installed); ``batch_size`` (``--ner-batch-size``): articles per
    ``nlp.pipe`` call; ``languages``: the ``lang`` codes NER reads (None: every language, by its
    model or else the gazetteer fallback); ``labels``: the entity labels kept (None: all);
    ``max_chars`` (``--max-ner-chars``): characters of an article's text NER reads (0: all);
    ``fallback``: places from the gazetteers for languages without a model (else skipped).
    """

    model: Union[None, str, tuple[str, ...]] = None
    batch_size: int = 32
    languages: Optional[tuple[str, ...]] = None
    labels: Optional[tuple[str, ...]] = DEFAULT_LABELS
    max_chars: int = limits.MAX_NER_CHARS
    fallback: bool = True

    def __post_init__(self):
        if int(self.batch_size) < 1:
            raise ValueError(f"--ner-batch-size must be at least 1, not {self.batch_size}")
        if isinstance(self.languages, str):
            object.__setattr__(self, "languages", (self.languages,))
        if isinstance(self.model, list):
            object.__setattr__(self, "model", tuple(self.model))


class ExtractEntities(beam.PTransform):
    """Articles -> :class:`StageOutput`: adds ``mentions`` and ``entities`` to every article.

    The models are resolved when the graph is built (a missing model fails the launch, and every
    worker uses the same models; ``self.models`` is lang -> resolved name and ``self.model`` the
    English one, for the run manifest). Each article is read by the model of its detected ``lang``;
    an article in a language without one gets the places the gazetteers confirm
    (``provenance["entities"]`` starts "fallback: ..."), or nothing ("skipped: ...": no capital letters
    in its script, undetermined language, or not in ``config.languages``); articles whose NER fails are
    kept with ``entities=[]``; only elements that are not articles at all go to rejects.
    ``provenance["entities"]`` also says "failed: ..." or "partial: ..." (the text was over
    --max-ner-chars), and is None when a model read the whole text (article schema).

    ``aliases=True`` (batch): after per-article resolution, every article's :func:`alias_evidence`
    is combined over the whole run into one alias table (:func:`build_alias_table`, order-free),
    which a second step applies as a side input (:func:`apply_aliases`): "Putin" in an article that
    never says "Vladimir Putin" becomes "Vladimir Putin" when the run says so. It waits for every
    article (global window), so streaming pipelines pass ``aliases=False``.

    ``distribute=True`` (batch) reshuffles the articles first, so the heaviest step is spread
    evenly over the workers (~40 us per article, against ~60 ms of NER); streaming passes False:
    its articles already arrive a few at a time and a shuffle would only add latency.

    Counters (namespace ``entities``): ``articles`` (every article out), ``mentions``, ``failed``,
    ``skipped_language``, ``fallback_language``, ``partial`` (over --max-ner-chars), ``aliased_mentions``.
    """

    def __init__(self, config: EntityConfig = EntityConfig(), *, aliases: bool = True, distribute: bool = True):
        super().__init__()
        self.config = config
        self.models = resolve_models(config.model)
        self.model = self.models["en"]
        self.aliases = aliases
        self.distribute = distribute

    def expand(self, articles):
        if self.distribute:  # the local multi-process runner splits a stage's input evenly only after a shuffle
            articles = articles | "Distribute" >> beam.Reshuffle()
        outputs = (
            articles
            # Fixed-size batches of batch_size, gathered inside the NER step (see ExtractFn, which
            # keeps each article's timestamp and window): BatchElements' adaptive sizing handed spaCy
            # ~3-13 articles per call (measured), and nlp.pipe is fastest at 32 (8: -2%, 128: -12% words/s).
            | "NER" >> beam.ParDo(ExtractFn(self.models, self.config.languages, int(self.config.batch_size),
                                            self.config.labels, int(self.config.max_chars), self.config.fallback))
            .with_outputs(ExtractFn.REJECTS, main="articles")
        )
        found = outputs.articles
        if self.aliases:
            table = (found
                     | "AliasEvidence" >> beam.Map(evidence)
                     | "AliasTable" >> beam.CombineGlobally(AliasCountsFn()))
            found = found | "ApplyAliases" >> beam.ParDo(ApplyAliasesFn(), beam.pvalue.AsSingleton(table))
        return StageOutput(found, outputs[ExtractFn.REJECTS])
