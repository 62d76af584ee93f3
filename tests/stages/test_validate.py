"""Per-record validation against the JSON Schemas."""
import pytest

from pipeline.stages.base import Rejected
from pipeline.stages.dedup import as_duplicate
from pipeline.stages.validate import check, validation_errors
from tests.conftest import make_article


def test_a_complete_article_is_valid(article):
    assert validation_errors(article, "articles") == []


def test_missing_and_wrong_fields_are_reported_with_json_pointers(article):
    bad = dict(article, word_count="many")
    del bad["title"]
    errors = validation_errors(bad, "articles")
    assert any(e.startswith("/word_count:") for e in errors)
    assert any("title" in e for e in errors)


def test_unknown_fields_are_refused_so_the_contract_stays_closed(article):
    assert validation_errors(dict(article, surprise=1), "articles")


def test_lang_must_be_iso_639_1_or_und(article):
    assert validation_errors(dict(article, lang="english"), "articles")
    assert validation_errors(dict(article, lang="und"), "articles") == []


def test_rejection_names_the_schema(article):
    with pytest.raises(Rejected, match=r"article.schema.json: /published_at"):
        check(dict(article, published_at="last tuesday"), "articles")


def test_duplicates_need_their_target_and_kind(article):
    dup = as_duplicate(make_article(url="https://b.example/x"), article["id"], "near", 0.91)
    assert validation_errors(dup, "duplicates") == []
    assert validation_errors(dict(dup, kind="similar"), "duplicates")
    no_target = dict(dup)
    del no_target["duplicate_of"]
    assert validation_errors(no_target, "duplicates")
    # a duplicate field on an article is not allowed
    assert validation_errors(dup, "articles")


def test_internal_keys_are_not_part_of_the_contract(article):
    assert "dt" in article and validation_errors(article, "articles") == []
    assert validation_errors(dict(article, dt="2024-03-12", surprise=1), "articles") == [
        "/: Unevaluated properties are not allowed ('surprise' was unexpected)"]


def test_every_error_is_reported_not_only_the_first(article):
    errors = validation_errors(dict(article, word_count=0, lang="english"), "articles")
    assert [e.split(":")[0] for e in errors] == ["/lang", "/word_count"]


def test_manifest_schema_names_what_is_wrong():
    from pipeline.stages.validate import manifest_errors

    assert any(e.startswith("/:") and "status" in e for e in manifest_errors({}))
    assert any(e.startswith("/status") for e in manifest_errors({"status": "fine"}))


def test_readable_versions_include_the_version_written():
    from pipeline.records import SCHEMA_VERSION
    from pipeline.stages.validate import readable_versions

    assert SCHEMA_VERSION in readable_versions()
