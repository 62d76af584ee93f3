"""Extraction: :class:`EntityExtractor`, text -> list of :class:`~pipeline.records.Mention`
(character offsets into the given text, long texts split on paragraph boundaries by
:func:`split_spans`), post-processed by :mod:`pipeline.stages.entities.resolve`."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable, Optional, Sequence

from pipeline.records import Mention
from pipeline.stages.entities.fallback import covers, gazetteer_places
from pipeline.stages.entities.model import RUN_LOCKS, load_model, model_description, resolve_model, resolve_models
from pipeline.stages.entities.names import canonical_form
from pipeline.stages.entities.places import Gazetteer, gazetteer
from pipeline.stages.entities.resolve import dateline_mentions, propagate_surnames, resolve_document, tidy_mentions

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language

#: Labels kept by default: the OntoNotes name types. Numeric types (DATE, TIME, MONEY,
#: PERCENT, QUANTITY, ORDINAL, CARDINAL) and LANGUAGE are left out.
DEFAULT_LABELS: tuple[str, ...] = ("PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT",
                                   "PRODUCT", "WORK_OF_ART", "LAW")
NUMERIC_LABELS: tuple[str, ...] = ("DATE", "TIME", "MONEY", "PERCENT", "QUANTITY", "ORDINAL", "CARDINAL")
#: Labels of the WikiNER-trained models (fr/es/it/pt... ``*_core_news_*``) in OntoNotes terms; their
#: LOC is a GPE when the gazetteers know the place. MISC (nationalities, events, works mixed) has
#: no OntoNotes counterpart and is left out with the other labels not kept.
WIKINER_LABELS = {"PER": "PERSON", "ORG": "ORG", "LOC": "LOC", "MISC": "MISC"}

#: spaCy needs ~3 GB of RAM to run NER alone on a 1,000,000-character doc (measured, sm model);
#: texts are cut into chunks of at most this many characters (and never above nlp.max_length).
DEFAULT_CHUNK_CHARS = 100_000


# --------------------------------------------------------------------------- chunking

_CUT_SEPARATORS = ("\n\n", "\n", ". ", " ")


def cut_point(text: str, start: int, limit: int) -> int:
    """Where a span of ``text`` from ``start`` of at most ``limit`` characters ends: after the last
    paragraph break in it, else line break, sentence end, space; the whole text when it fits."""
    if len(text) - start <= limit:
        return len(text)
    window_end = start + limit
    for sep in _CUT_SEPARATORS:
        i = text.rfind(sep, start, window_end)
        if i > start:  # the last separator in the window; none: try a weaker one
            return i + len(sep)
    return window_end


def split_spans(text: str, limit: int) -> list[tuple[int, int]]:
    """Cut ``text`` into consecutive ``(start, end)`` spans of at most ``limit`` characters,
    preferring paragraph breaks, then line breaks, sentence ends, spaces. The spans cover the
    text exactly (``"".join(text[s:e] ...) == text``)."""
    if limit < 1:
        raise ValueError("limit must be positive")
    spans: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while n - start > limit:
        cut = cut_point(text, start, limit)
        spans.append((start, cut))
        start = cut
    spans.append((start, n))
    return spans


# --------------------------------------------------------------------------- line breaks

_BREAK = re.compile(r"[\r\n]+")


def split_at_breaks(mentions: Iterable[Mention]) -> list[Mention]:
    """Mentions cut at line breaks (pure): a mention whose text holds one becomes one mention per
    line piece that has a letter or digit in it, each trimmed, with the same label and the piece
    as its canonical name. The model already never crosses a line break
    (:data:`~pipeline.stages.entities.model.LINE_BREAKS`); this keeps it so after any step."""
    out: list[Mention] = []
    for m in mentions:
        text = m["text"]
        if "\n" not in text and "\r" not in text:
            out.append(m)
            continue
        pos = 0
        for piece in _BREAK.split(text):
            at = text.index(piece, pos)
            pos = at + len(piece)
            stripped = piece.strip()
            if not any(ch.isalnum() for ch in stripped):
                continue
            start = m["start"] + at + (len(piece) - len(piece.lstrip()))
            out.append(Mention(**{**m, "start": start, "end": start + len(stripped), "text": stripped,
                                  "canonical": stripped}))
    return out


# --------------------------------------------------------------------------- extraction

class EntityExtractor:
    """Named-entity mentions of texts with one spaCy model (loaded lazily, once per process).

    ``extract``/``extract_many`` return post-processed mentions (spans cut to the name,
    document-level labels and canonical names, country codes); ``raw_many`` returns the model's
    own spans (canonical = surface, for measuring what the post-processing adds).

    ``labels=None`` keeps every label. Texts longer than ``chunk_chars`` (default
    :data:`DEFAULT_CHUNK_CHARS`, never above ``nlp.max_length``) are cut on paragraph boundaries
    and the offsets shifted back, so any text length works in bounded memory.
    """

    def __init__(self, model: Optional[str] = None, labels: Optional[Iterable[str]] = DEFAULT_LABELS,
                 chunk_chars: Optional[int] = None, places: bool = True):
        self.model = resolve_model(model)
        self.labels = frozenset(labels) if labels is not None else None
        self.chunk_chars = chunk_chars
        self.places = places
        self._nlp: Optional["Language"] = None
        self._wikiner: Optional[bool] = None

    @property
    def nlp(self) -> "Language":
        if self._nlp is None:
            self._nlp = load_model(self.model)
        return self._nlp

    @property
    def wikiner(self) -> bool:
        """The model labels PER/LOC/ORG/MISC (WikiNER), not OntoNotes' PERSON/GPE/..."""
        if self._wikiner is None:
            labels = set()
            for name in self.nlp.pipe_names:
                labels |= set(getattr(self.nlp.get_pipe(name), "labels", ()) or ())
            self._wikiner = "PER" in labels and "PERSON" not in labels
        return self._wikiner

    @property
    def gazetteer(self) -> Optional[Gazetteer]:
        return gazetteer() if self.places else None

    @property
    def description(self) -> str:
        return model_description(self.nlp)

    def _limit(self) -> int:
        limit = self.nlp.max_length
        return min(limit, self.chunk_chars or DEFAULT_CHUNK_CHARS)

    def extract(self, text: str) -> list[Mention]:
        return self.extract_many([text])[0]

    def extract_many(self, texts: Sequence[str], batch_size: int = 32) -> list[list[Mention]]:
        """Post-processed mentions of each text (offsets into that text), resolved per text."""
        gaz = self.gazetteer
        out = []
        for ms, text in zip(self.raw_many(texts, batch_size), texts):
            ms = tidy_mentions(ms, text, gaz)
            if gaz is not None and (self.labels is None or "GPE" in self.labels):
                ms = dateline_mentions(ms, text, gaz)
            ms = resolve_document(ms, gaz)
            if self.labels is None or "PERSON" in self.labels:
                ms = propagate_surnames(ms, text)
            out.append(split_at_breaks(ms))
        return out

    def raw_many(self, texts: Sequence[str], batch_size: int = 32) -> list[list[Mention]]:
        """The model's spans of each text (``canonical`` = surface; no post-processing)."""
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
        wikiner = self.wikiner
        gaz = self.gazetteer if wikiner else None
        with RUN_LOCKS[self.model]:  # one Language object per process, shared by threads
            docs = nlp.pipe((c for _, _, c in chunks), batch_size=max(1, batch_size))
            for (i, offset, _), doc in zip(chunks, docs):
                text = texts[i]
                for ent in doc.ents:
                    label = ent.label_
                    if wikiner:
                        label = WIKINER_LABELS.get(label, label)
                        if label == "LOC" and gaz is not None and gaz.is_place(canonical_form(ent.text, "GPE"), local=True):
                            label = "GPE"
                    if self.labels is not None and label not in self.labels:
                        continue
                    start, end = offset + ent.start_char, offset + ent.end_char
                    surface = text[start:end]
                    if not surface.strip():
                        continue
                    raw[i].append(Mention(start=start, end=end, text=surface, label=label, canonical=surface))
        return [split_at_breaks(ms) for ms in raw]


class MultiExtractor:
    """Named entities of texts in several languages: the model of each text's detected ``lang``
    (``models``: lang -> package, default :func:`resolve_models`; each loaded on first use, once
    per process), else, with ``fallback``, the places the gazetteers confirm
    (:func:`~pipeline.stages.entities.fallback.gazetteer_places`).

    :meth:`annotate_many` gives each text its mentions and the note for ``provenance["entities"]``:
    None (a model read it), ``"fallback: ..."`` (places only) or ``"skipped: ..."``.
    """

    def __init__(self, models: Optional[dict] = None, labels: Optional[Iterable[str]] = DEFAULT_LABELS,
                 chunk_chars: Optional[int] = None, fallback: bool = True):
        self.models = dict(models) if models is not None else resolve_models()
        self.labels = labels
        self.chunk_chars = chunk_chars
        self.fallback = fallback
        self._extractors: dict[str, EntityExtractor] = {}

    def extractor(self, lang: str) -> Optional[EntityExtractor]:
        if lang not in self.models:
            return None
        if lang not in self._extractors:
            self._extractors[lang] = EntityExtractor(self.models[lang], self.labels, self.chunk_chars)
        return self._extractors[lang]

    def annotate_many(self, texts: Sequence[str], langs: Sequence[str],
                      batch_size: int = 32) -> list[tuple[list[Mention], Optional[str]]]:
        out: list = [None] * len(texts)
        groups: dict[str, list[int]] = {}
        for i, lang in enumerate(langs):
            groups.setdefault(lang, []).append(i)
        for lang, idx in sorted(groups.items()):
            ex = self.extractor(lang)
            if ex is not None:
                for i, ms in zip(idx, ex.extract_many([texts[i] for i in idx], batch_size)):
                    out[i] = (ms, None)
                continue
            for i in idx:
                out[i] = self.fallback_one(texts[i], lang)
        return out

    def fallback_one(self, text: str, lang: str) -> tuple[list[Mention], Optional[str]]:
        """Mentions and note of a text in a language no model covers."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        label = lang or "unknown"
        if not self.fallback or lang in ("", "und"):
            return [], f"skipped: language {label} not covered by the model"
        if not covers(text):
            return [], (f"skipped: language {label} not covered by a model, and its script has no capital "
                        "letters for the gazetteer fallback")
        ms = gazetteer_places(text, lang, gazetteer())
        if self.labels is not None:
            ms = [m for m in ms if m["label"] in self.labels]
        return ms, f"fallback: no model for language {label}; places only (capitalised names the gazetteers know)"

    def extract_many(self, texts: Sequence[str], langs: Sequence[str], batch_size: int = 32) -> list[list[Mention]]:
        return [ms for ms, _ in self.annotate_many(texts, langs, batch_size)]
