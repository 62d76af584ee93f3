"""Stories against history, the pure part: what the story index keeps of a leader
(:func:`index_row`, :func:`leader_index_row`), the stored leaders built from index rows
(:func:`stored_leaders`), the edges of a new article to them (:func:`stored_edges`) and the
resolution that keeps them as fixed leaders (:func:`resolve_stories`, :func:`cluster`)."""
import random

from pipeline.schemas import validation_errors
from pipeline.stages.stories import (DEFAULT_THRESHOLD, INDEX_TERMS, MAX_TERMS, STORED_RANK, candidate_keys, cluster,
                                     leader_index_row, resolve_stories, story_features, stored_edges,
                                     stored_leaders)
from tests.stages.stories.samples import make


def stored(*articles, index_terms=INDEX_TERMS):
    """Story index rows of ``articles`` as a run commits them (each the leader of its story),
    read back as the tables give them (published_at a datetime)."""
    from pipeline.schemas import parse_datetime

    rows = []
    for article in articles:
        row = leader_index_row(dict(article, story_id=article["id"]), index_terms)
        row.pop("dt")
        if row["published_at"]:
            row["published_at"] = parse_datetime(row["published_at"])
        rows.append(row)
    return stored_leaders(rows)


def edges_of(article, leaders, **kw):
    f = story_features(article)
    return stored_edges(article["id"], f, candidate_keys(f), leaders, **kw)


def test_index_rows_are_leaders_only_without_text_and_valid():
    bridge = make("bridge", "2024-04-01T09:00:00Z")
    assert leader_index_row(dict(bridge, story_id="0" * 16)) is None  # a member: not indexed
    row = leader_index_row(dict(bridge, story_id=bridge["id"], dt="2024-04-01"))
    assert row["id"] == row["story_id"] == bridge["id"] and row["dt"] == "2024-04-01"
    assert not {"text", "title", "url"} & set(row)
    weights = [t["weight"] for t in row["terms"]]
    assert 0 < len(weights) <= INDEX_TERMS and weights == sorted(weights, reverse=True)
    assert row["date_trusted"] and len(row["entities"]) >= 3
    assert validation_errors({k: v for k, v in row.items() if k != "dt"}, "story_index") == []
    short = leader_index_row(dict(bridge, story_id=bridge["id"]), index_terms=5)
    assert [t["term"] for t in short["terms"]] == [t["term"] for t in row["terms"][:5]]


def test_a_rewrite_has_an_edge_to_the_stored_leader_and_another_event_none():
    bridge = make("bridge", "2024-04-01T09:00:00Z")
    leaders = stored(bridge, make("forum", "2024-04-01T10:00:00Z"))
    [edge] = edges_of(make("bridge_paraphrase", "2024-04-02T09:00:00Z"), leaders)
    assert edge.a == bridge["id"] and edge.rank_a == STORED_RANK and edge.score >= DEFAULT_THRESHOLD
    assert edges_of(make("fire", "2024-04-02T09:00:00Z"), leaders) == []  # same city, another event
    assert edges_of(make("bridge_paraphrase", "2024-04-12T09:00:00Z"), leaders) == []  # beyond the window
    assert len(edges_of(make("bridge_paraphrase", "2024-04-12T09:00:00Z"), leaders, window_days=14)) == 1
    assert edges_of(make("bridge_paraphrase", "2024-04-02T09:00:00Z"), leaders, threshold=0.99) == []
    assert edges_of(make("bridge_paraphrase", "2024-04-02T09:00:00Z"), stored()) == []


def test_the_score_against_a_stored_leader_is_the_in_run_score_up_to_the_dropped_terms():
    from pipeline.stages.stories import story_similarity

    bridge, follow = make("bridge", "2024-04-01T09:00:00Z"), make("bridge_rewrite", "2024-04-02T09:00:00Z")
    in_run = story_similarity(story_features(bridge), story_features(follow)).score
    assert INDEX_TERMS == MAX_TERMS
    [edge] = edges_of(follow, stored(bridge))
    assert edge.score == in_run  # every term kept: the very same score
    [fewer] = edges_of(follow, stored(bridge, index_terms=64))  # 64 of the leader's 70 terms
    assert in_run - 0.005 < fewer.score < in_run
    [capped] = edges_of(follow, stored(bridge, index_terms=16))
    assert capped.score < in_run - 0.1  # 16 terms lose 0.21 here


def test_new_articles_join_the_stored_story_others_cluster_among_themselves():
    day2 = "2024-04-02T09:00:00Z"
    bridge = make("bridge", "2024-04-01T09:00:00Z")
    new = [make(n, day2) for n in ("bridge_paraphrase", "bridge_rewrite", "fire", "forum", "moscow")]
    ids = {a["url"].rsplit("/", 1)[1]: a["id"] for a in new}
    leaders = stored(bridge)
    alone = cluster(new)
    assert alone[ids["bridge_paraphrase"]] == alone[ids["bridge_rewrite"]] != bridge["id"]  # today: a new story
    joined = cluster(new, stored=leaders)
    assert joined[ids["bridge_paraphrase"]] == joined[ids["bridge_rewrite"]] == bridge["id"]
    assert {k: v for k, v in joined.items() if k not in (ids["bridge_paraphrase"], ids["bridge_rewrite"])} == \
        {k: v for k, v in alone.items() if k not in (ids["bridge_paraphrase"], ids["bridge_rewrite"])}
    assert joined[ids["fire"]] == ids["fire"]
    shuffled = new[:]
    random.Random(7).shuffle(shuffled)
    assert cluster(shuffled, stored=leaders) == joined  # same input and stored rows, same ids


def test_resolution_keeps_stored_leaders_and_prefers_the_most_similar_leader():
    from pipeline.stages.stories import StoryEdge

    # S stored; A (best rank) leads a new story; B is closer to A than to S, C only near S
    a_rank, b_rank, c_rank = (-300,), (-200,), (-100,)
    edges = [StoryEdge(STORED_RANK, "S", 1.0, b_rank, "B", 2.0, 0.5),
             StoryEdge(a_rank, "A", 2.0, b_rank, "B", 2.0, 0.7),
             StoryEdge(STORED_RANK, "S", 1.0, c_rank, "C", 2.5, 0.45)]
    story = resolve_stories(edges, 3.0, {"S": "S"})
    assert story == {"A": ("A", 1.0), "B": ("A", 0.7), "C": ("S", 0.45)}
    assert "S" not in story  # stored rows are never rewritten
    # a stored story's window counts from its leader's date: C five days later does not join
    late = [StoryEdge(STORED_RANK, "S", 1.0, c_rank, "C", 6.0, 0.9)]
    assert resolve_stories(late, 3.0, {"S": "S"}) == {}
    # without the stored leaders, the same edges make the in-run clustering of today
    assert resolve_stories(edges[1:2], 3.0) == {"A": ("A", 1.0), "B": ("A", 0.7)}
