"""Near copies and excerpts of stored articles (pipeline.stages.dedup.stored): the near_index row
of an article, the lookups built from stored rows, and the pure matching of a new article."""
import datetime as dt

from pipeline.schemas import validation_errors
from pipeline.stages.dedup.near import NearDedupConfig, dedup_in_memory
from pipeline.stages.dedup.stored import match_stored, near_index_row, stored_near, stored_rank
from pipeline.stages.history import near_against_history
from tests.stages.dedup.samples import article, edited, story

CONFIG = NearDedupConfig()


def stored_row(a: dict, story_id=None) -> dict:
    """The row as a later run reads it back: no dt, published_at a datetime (as pyiceberg gives it)."""
    row = near_index_row(dict(a, story_id=story_id or a["id"]), CONFIG.features(a))
    row.pop("dt")
    if row["published_at"]:
        row["published_at"] = dt.datetime.fromisoformat(row["published_at"].replace("Z", "+00:00"))
    return row


def match(new: dict, *stored: dict):
    return match_stored(CONFIG.features(new), stored_near([stored_row(s) for s in stored]),
                        CONFIG.near_threshold, CONFIG.excerpt_threshold)


FULL = story(1, 400)
A = article(FULL, url="https://a.example/full", published_at="2024-04-01T09:00:00Z")


def test_a_row_holds_rank_sketch_and_keys_and_no_text():
    row = near_index_row(dict(A, story_id="00000000000000aa"), CONFIG.features(A))
    assert validation_errors({k: v for k, v in row.items() if k != "dt"}, "near_index") == []
    assert not {"text", "title", "url"} & set(row)
    assert row["story_id"] == "00000000000000aa" and row["word_count"] == A["word_count"]
    assert len(row["sketch"]) == 128 and row["sketch"] == sorted(row["sketch"]) and row["shingles"] > 128
    assert row["keys"] == sorted(set(row["keys"])) and len(row["keys"]) > 24
    # read back (datetime), the rank is the one canonical_rank gives the article, up to its id
    assert stored_rank(stored_row(A)) == CONFIG.features(A).rank[:3]


def test_a_ten_percent_edit_at_another_url_is_a_near_copy_of_the_stored_article():
    copy = article(edited(FULL, 0.10), url="https://b.example/copy", published_at="2024-04-02T09:00:00Z")
    found = match(copy, A)
    assert found is not None and (found.stored_id, found.story_id, found.kind) == (A["id"], A["id"], "near")
    # the same similarity and kind as one run of both would give
    _kept, [dup] = dedup_in_memory([A, copy])
    assert (dup["duplicate_of"], dup["kind"], dup["similarity"]) == (A["id"], "near", round(found.similarity, 4))


def test_the_first_paragraphs_are_an_excerpt_of_the_stored_article():
    excerpt = article(" ".join(FULL.split()[:150]), url="https://c.example/teaser", published_at="2024-04-02T09:00:00Z")
    found = match(excerpt, A)
    assert found is not None and (found.stored_id, found.kind) == (A["id"], "excerpt") and found.similarity >= 0.8


def test_an_unrelated_article_matches_nothing():
    assert match(article(story(2, 400), url="https://d.example/other"), A) is None
    assert match(A, article(story(2, 400))) is None


def test_a_new_text_more_complete_than_a_stored_excerpt_is_kept():
    stored_excerpt = article(" ".join(FULL.split()[:150]), url="https://c.example/teaser")
    assert match(A, stored_excerpt) is None  # the stored row is never rewritten: both stay articles


def test_a_better_ranked_near_copy_still_points_at_the_stored_one():
    # 10% edits: the stored text is not inside the longer copy (with 5%, the sketch puts 81% of it
    # inside: that is the "new one more complete than a stored excerpt" case, kept)
    longer = article(edited(FULL, 0.10) + " " + story(3, 20), url="https://e.example/longer")
    assert longer["word_count"] > A["word_count"]
    found = match(longer, A)
    assert found is not None and (found.stored_id, found.kind) == (A["id"], "near")


def test_the_best_ranked_stored_match_wins_whatever_the_row_order():
    shorter = article(" ".join(FULL.split()[:390]), url="https://f.example/short", published_at="2024-04-01T08:00:00Z")
    copy = article(edited(FULL, 0.10), url="https://b.example/copy")
    rows = [stored_row(A), stored_row(shorter)]
    for order in (rows, rows[::-1]):
        found = match_stored(CONFIG.features(copy), stored_near(order), CONFIG.near_threshold,
                             CONFIG.excerpt_threshold)
        assert found is not None and found.stored_id == A["id"]  # more words: the better canonical


def test_a_matched_article_becomes_a_stored_duplicate_with_the_stored_story():
    copy = article(edited(FULL, 0.10), url="https://b.example/copy", published_at="2024-04-02T09:00:00Z")
    stored = stored_near([stored_row(A, story_id="00000000000000aa")])
    kind, dup = near_against_history(copy, stored, CONFIG)
    assert kind == "duplicate"
    assert (dup["duplicate_of"], dup["kind"], dup["story_id"]) == (A["id"], "near", "00000000000000aa")
    assert dup["provenance"]["decisions"][-1] == f"duplicate:near:{A['id']}:stored"
    assert near_against_history(article(story(2, 400)), stored, CONFIG)[0] == "new"
    assert near_against_history(copy, stored_near([]), CONFIG) == ("new", copy)
