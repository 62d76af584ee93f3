"""Expectation suite files and their placeholders."""
import datetime as dt

from pipeline.quality import suites


def test_every_dataset_has_a_suite_with_named_expectations():
    loaded = suites.load_suites()
    assert set(loaded) == {"articles", "duplicates", "entities", "rejects"}
    for name, suite in loaded.items():
        names = [e["meta"]["name"] for e in suite["expectations"]]
        assert names and len(names) == len(set(names)), name
        assert all(e["type"].startswith("expect_") and "column" in str(e["kwargs"]) for e in suite["expectations"])


def test_every_expectation_type_exists_in_great_expectations():
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    refs = suites.Refs(ids={"articles": {"p": {"a"}}}, now=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
                       schema_versions=("1.0.0",))
    for name, suite in suites.load_suites().items():
        for e in suite["expectations"]:
            config = ExpectationConfiguration(type=e["type"], kwargs=suites.resolved_kwargs(e, refs, "p"))
            assert isinstance(config.to_domain_obj(), gx.expectations.Expectation), (name, e["type"])


def test_placeholders_resolve_to_ids_of_the_output_and_the_clock():
    refs = suites.Refs(ids={"articles": {"articles/dt=1": {"a", "b"}, "articles/dt=2": {"c"}}},
                       now=dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc), schema_versions=("1.0.0",))
    assert suites.resolve({"$ids": "articles"}, refs, "articles/dt=1") == ["a", "b", "c"]
    assert suites.resolve({"$ids": "articles", "other_partitions": True}, refs, "articles/dt=1") == ["c"]
    assert suites.resolve({"$ids": "duplicates"}, refs, "x") == []
    assert suites.resolve({"$now_plus_hours": 24}, refs, "x") == dt.datetime(2024, 5, 2, tzinfo=dt.timezone.utc)
    assert suites.resolve({"$schema_versions": True}, refs, "x") == ["1.0.0"]
    assert suites.resolve(["en", "fr"], refs, "x") == ["en", "fr"]


def test_lang_suite_knows_iso_639_1_and_und_but_not_iso_639_3():
    lang = next(e for e in suites.load_suite("articles")["expectations"] if e["kwargs"].get("column") == "lang")
    codes = set(lang["kwargs"]["value_set"])
    assert {"en", "fr", "nb", "zh", "und"} <= codes and "eng" not in codes and len(codes) == 185
