"""Tests for pipeline.stages.language."""
from __future__ import annotations

import copy

import pytest

from pipeline.records import UNDETERMINED_LANG
from pipeline.stages import language as L
from pipeline.stages.base import Rejected
from pipeline.stages.language import add_language, detect_language

EN = ("Russian President Vladimir Putin arrived in Beijing on Tuesday for a visit that underscores "
      "China's support for Moscow during its war in Ukraine, as well as Russian backing for China's "
      "bid to expand its economic and diplomatic influence abroad.")
FR = ("Le président russe Vladimir Poutine est arrivé mardi à Pékin pour une visite qui souligne le "
      "soutien de la Chine à Moscou pendant la guerre en Ukraine, ainsi que l'appui russe aux ambitions "
      "économiques et diplomatiques de la Chine à l'étranger.")
DE = ("Der russische Präsident Wladimir Putin ist am Dienstag zu einem Besuch in Peking eingetroffen, "
      "der die Unterstützung Chinas für Moskau während des Krieges in der Ukraine unterstreicht und die "
      "wirtschaftliche Zusammenarbeit beider Länder stärken soll.")
NO_CHROME_TOP = "Norge Siste Nytt, Norge Overskrifter\n\nSiste nytt fra Norge og verden"
NO_CHROME_BOTTOM = ("Lignende nyheter: Du kan også lese nyheter som ligner på denne som vi har samlet inn "
                    "fra andre nyhetskilder.\n\nLes mer »")


@pytest.mark.parametrize("text,lang", [(EN, "en"), (FR, "fr"), (DE, "de")])
def test_detects_language(text, lang):
    code, prob = detect_language(text)
    assert code == lang
    assert 0.9 <= prob <= 1.0


def test_norwegian_chrome_around_english_article_is_english():
    text = "\n\n".join([NO_CHROME_TOP, EN, EN.replace("Tuesday", "Wednesday"), NO_CHROME_BOTTOM])
    assert detect_language(text)[0] == "en"


@pytest.mark.parametrize("text", ["", "   ", "Hello there", "Oui non", "1234 5678 91011 1213 1415", "ok ok ok"])
def test_too_short_is_undetermined(text):
    assert detect_language(text) == (UNDETERMINED_LANG, 0.0)


def test_low_probability_is_undetermined(monkeypatch):
    class Unsure:
        def classify(self, text):
            return "en", 0.31

    monkeypatch.setattr(L, "_identifier", lambda: Unsure())
    assert detect_language(EN) == (UNDETERMINED_LANG, 0.31)


def test_only_the_first_max_chars_are_used():
    english = " ".join([EN] * (L.MAX_CHARS // len(EN) + 2))
    assert detect_language(english + " " + " ".join([FR] * 40))[0] == "en"
    assert len(L._sample(english)) <= L.MAX_CHARS


def test_deterministic():
    assert detect_language(FR) == detect_language(FR) == detect_language(FR)


def test_add_language_sets_lang_and_confidence_without_mutating():
    article = {"text": FR, "title": "t", "provenance": {"input_uri": "in/a.txt", "clean": {"removed": {}}}}
    before = copy.deepcopy(article)
    out = add_language(article)
    assert article == before
    assert out["lang"] == "fr"
    assert out["provenance"]["input_uri"] == "in/a.txt" and out["provenance"]["clean"] == {"removed": {}}
    conf = out["provenance"]["lang_confidence"]
    assert conf == round(conf, 3) and 0.9 <= conf <= 1.0
    assert add_language({"text": "Hi"})["lang"] == UNDETERMINED_LANG
    assert add_language({"text": "Hi"})["provenance"] == {"lang_confidence": 0.0}


def test_add_language_rejects_an_article_without_text():
    with pytest.raises(Rejected, match="no text"):
        add_language({"title": "x"})


def test_detect_language_ptransform_counts_and_rejects():
    import apache_beam as beam
    from apache_beam.metrics.metric import MetricsFilter
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.testing.util import assert_that, equal_to

    articles = [{"text": EN, "provenance": {}}, {"text": DE, "provenance": {}}, {"text": EN + " Again.", "provenance": {}},
                {"title": "no text", "provenance": {"input_uri": "in/x.json"}}]
    p = beam.Pipeline(runner=FnApiRunner())
    good, rejects, _ = p | beam.Create(articles) | "Language" >> L.DetectLanguage()
    assert_that(good | "Langs" >> beam.Map(lambda a: a["lang"]), equal_to(["en", "de", "en"]), label="langs")
    assert_that(rejects | "Stages" >> beam.Map(lambda r: (r["stage"], r["input_uri"])),
                equal_to([("language", "in/x.json")]), label="rejects")
    result = p.run()
    result.wait_until_finish()
    counters = {c.key.metric.name: c.committed
                for c in result.metrics().query(MetricsFilter().with_namespace("language"))["counters"]}
    assert counters["lang_en"] == 2 and counters["lang_de"] == 1
    assert counters["out"] == 3 and counters["rejected"] == 1


def test_languages_without_an_iso_639_1_code_are_undetermined(monkeypatch):
    import pipeline.stages.language as language

    class Ligurian:
        def classify(self, text):
            return "lij", 0.97

    monkeypatch.setattr(language, "_identifier", lambda: Ligurian())
    assert language.detect_language("Sta chi a l'é 'na frase in lengua ligure pe-o test") == ("und", 0.97)
